import datetime

from django import forms

ISO_DATE = ["%Y-%m-%d"]
DEFAULT_DAYS = 30
PRESET_DAYS = ((7, "Last 7 days"), (30, "Last 30 days"), (90, "Last 90 days"), (365, "1 year"))
# About five years: longer ranges are a typo or a job for the CSV exports.
MAX_RANGE_DAYS = 5 * 366
# Wide enough for any record, narrow enough that a typo such as year 20026 is refused before
# the day arithmetic overflows.
EARLIEST_DAY = datetime.date(1900, 1, 1)
LATEST_DAY = datetime.date(2999, 12, 30)


def default_range(today):
    return today - datetime.timedelta(days=DEFAULT_DAYS - 1), today


def preset_ranges(today):
    return [
        {"label": label, "start": today - datetime.timedelta(days=days - 1), "end": today}
        for days, label in PRESET_DAYS
    ]


def _date_field(label):
    return forms.DateField(
        label=label,
        required=False,
        input_formats=ISO_DATE,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
        error_messages={"invalid": "Enter a date as YYYY-MM-DD."},
    )


class ReportRangeForm(forms.Form):
    """`start` and `end`, ISO dates, both included (the names the CSV exports use too).

    A value left out takes the default (the 30 days to today); a bad one is reported beside
    its field and the page shows the default range rather than failing."""

    start = _date_field("From")
    end = _date_field("To (included)")

    def __init__(self, *args, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def _clean_day(self, name):
        day = self.cleaned_data.get(name)
        if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
            raise forms.ValidationError(
                f"Enter a date between {EARLIEST_DAY.isoformat()} and {LATEST_DAY.isoformat()}."
            )
        return day

    def clean_start(self):
        return self._clean_day("start")

    def clean_end(self):
        return self._clean_day("end")

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        end = cleaned.get("end") or self.today
        start = cleaned.get("start") or end - datetime.timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            self.add_error("end", "The end date must be on or after the start date.")
        elif (end - start).days >= MAX_RANGE_DAYS:
            self.add_error("start", "Choose a range of at most five years.")
        cleaned["start"], cleaned["end"] = start, end
        return cleaned

    def date_range(self):
        """The range to show: the form's when valid, else the default."""
        if self.is_valid():
            return self.cleaned_data["start"], self.cleaned_data["end"]
        return default_range(self.today)
