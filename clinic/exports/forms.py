import datetime

from django import forms

from clinic.core.forms import ClinicChoiceMixin
from clinic.exports.kinds import KINDS

# Wide enough for any clinical record, narrow enough that a typo such as year 20026 (or a
# day past the calendar's end) is refused instead of overflowing the date arithmetic.
EARLIEST_DAY = datetime.date(1900, 1, 1)
LATEST_DAY = datetime.date(2999, 12, 30)
ISO_DATE = ["%Y-%m-%d"]


class DateRangeFields(forms.Form):
    """`start` and `end`, ISO dates, both included (the dashboard's parameter names)."""

    start = forms.DateField(
        label="From",
        input_formats=ISO_DATE,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
        error_messages={"invalid": "Enter a date as YYYY-MM-DD."},
    )
    end = forms.DateField(
        label="To (included)",
        input_formats=ISO_DATE,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
        error_messages={"invalid": "Enter a date as YYYY-MM-DD."},
    )

    def _clean_day(self, name):
        day = self.cleaned_data[name]
        if not EARLIEST_DAY <= day <= LATEST_DAY:
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
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            self.add_error("end", "The end date must be on or after the start date.")
        return cleaned


class ExportForm(ClinicChoiceMixin, DateRangeFields):
    clinic = forms.ChoiceField(
        label="Clinic", required=False, widget=forms.Select(attrs={"class": "form-select"})
    )
    kind = forms.ChoiceField(
        label="Export",
        choices=[(slug, kind.title) for slug, kind in KINDS.items()],
        widget=forms.Select(attrs={"class": "form-select"}),
        error_messages={"invalid_choice": "Choose one of the exports listed."},
    )
    field_order = ["clinic", "kind", "start", "end"]

    no_clinic_message = "You hold no role in a clinic that can export."

    def clean_kind(self):
        return KINDS[self.cleaned_data["kind"]]
