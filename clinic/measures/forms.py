"""Forms for questionnaires, the mood journal, alerts, schedules and reminders.

They check types, choices and ranges; completeness, safety rules, dates and permissions
are the services' to decide, and their errors come back beside the fields.
"""

import datetime
import uuid

from crispy_forms.layout import Field
from django import forms

from clinic.core.forms import form_helper
from clinic.measures import instruments
from clinic.measures.models import (
    JOURNAL_NOTE_MAX,
    ReminderPreference,
    SafetyAlert,
    ScheduleTiming,
    validate_half_hours,
)

YES_NO = [("no", "No"), ("yes", "Yes")]


def item_field_name(item):
    return f"item_{item.number}"


class SubmissionKeyMixin(forms.Form):
    """A key minted when the form is shown, so a double tap or a resend saves once."""

    submission_key = forms.UUIDField(widget=forms.HiddenInput)

    @classmethod
    def fresh_key(cls):
        return uuid.uuid4()

    def full_clean(self):
        super().full_clean()
        if self.is_bound and "submission_key" in self._errors:
            # A missing or mangled key: say so where the user looks, and mint a fresh one so
            # that sending the (kept) answers again works.
            del self._errors["submission_key"]
            self.data = self.data.copy()
            self.data["submission_key"] = str(self.fresh_key())
            self.add_error(None, "This form had expired. Check your answers and send it again.")


class QuestionnaireForm(SubmissionKeyMixin):
    """One radio group per item. Blank items are not refused here: the service must see a
    partial questionnaire, so that its safety rules run on whatever was answered."""

    def __init__(self, *args, instrument, **kwargs):
        super().__init__(*args, **kwargs)
        self.instrument = instrument
        for item in instrument.items:
            self.fields[item_field_name(item)] = forms.TypedChoiceField(
                label=item.text or item.label,
                choices=[(o.value, o.label) for o in item.options],
                coerce=int,
                empty_value=None,
                required=False,
                widget=forms.RadioSelect,
            )

    def item_fields(self):
        return [(item, self[item_field_name(item)]) for item in self.instrument.items]

    def answers(self):
        return [self.cleaned_data.get(item_field_name(item)) for item in self.instrument.items]

    def mark_blank_items(self):
        for item in self.instrument.scored_items:
            name = item_field_name(item)
            if self.cleaned_data.get(name) is None:
                self.add_error(name, "Answer this question.")


class ClinicianRatingForm(QuestionnaireForm):
    """A clinician's rating, or a patient questionnaire entered with or for the patient."""

    mode = forms.ChoiceField(
        choices=[("assisted", "The patient answered; I entered it"), ("proxy", "A proxy answered")],
        required=False,
    )
    session = forms.ChoiceField(label="During or after session", required=False)

    def __init__(self, *args, sessions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["session"].choices = [("", "Not tied to a session")] + [
            (str(s.public_id), f"Session {s.session_number}, {s.scheduled_at:%d %b %Y}")
            for s in sessions
        ]
        self.sessions = {str(s.public_id): s for s in sessions}
        if self.instrument.rater == "clinician":
            del self.fields["mode"]

    def chosen_session(self):
        return self.sessions.get(self.cleaned_data.get("session") or "")

    def chosen_mode(self):
        if self.instrument.rater == "clinician":
            return "clinician"
        return self.cleaned_data.get("mode") or "assisted"


class ScoreRadioSelect(forms.RadioSelect):
    """0 to 10 as a row of buttons: one tap on a phone, no slider to fiddle with; the
    anchors under the ends say which way is better."""

    template_name = "measures/widgets/score_buttons.html"

    def __init__(self, *, low, high, **kwargs):
        super().__init__(**kwargs)
        self.low, self.high = low, high

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"].update(low=self.low, high=self.high)
        return context


def _score_field(label, *, low, high, required=True):
    return forms.TypedChoiceField(
        label=label,
        choices=[(n, str(n)) for n in range(11)],
        coerce=int,
        empty_value=None,
        required=required,
        widget=ScoreRadioSelect(low=low, high=high),
        error_messages={"required": "Tap a number from 0 to 10."},
    )


class JournalForm(SubmissionKeyMixin):
    entry_date = forms.TypedChoiceField(label="Which day is this about?", coerce=str)
    mood = _score_field("Mood", low="0 · the worst", high="10 · the best")
    energy = _score_field("Energy", low="0 · none", high="10 · full of energy")
    anxiety = _score_field("Anxiety", low="0 · none", high="10 · the most")
    sleep_hours = forms.DecimalField(
        label="Hours of sleep last night",
        min_value=0,
        max_value=24,
        decimal_places=1,
        validators=[validate_half_hours],
        widget=forms.NumberInput(attrs={"step": "0.5", "inputmode": "decimal"}),
        error_messages={"invalid": "Enter a number of hours, e.g. 7 or 6.5."},
    )
    sleep_quality = _score_field(
        "Sleep quality (optional)", low="0 · very poor", high="10 · very good", required=False
    )
    tags = forms.MultipleChoiceField(
        label="Anything that applies today? (optional)",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(
        label="Note (optional)",
        required=False,
        max_length=JOURNAL_NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": JOURNAL_NOTE_MAX}),
    )
    safety_thoughts = forms.ChoiceField(
        label="Have you had thoughts of harming yourself today?",
        choices=YES_NO,
        widget=forms.RadioSelect,
        error_messages={"required": "Please answer this question."},
    )

    def __init__(self, *args, allowed_dates, tags, **kwargs):
        super().__init__(*args, **kwargs)
        names = {0: "Today", 1: "Yesterday"}
        self.fields["entry_date"].choices = [
            (day.isoformat(), f"{names.get(back, f'{day:%A}')} ({day:%a %d %b})")
            for back, day in enumerate(allowed_dates)
        ]
        self.fields["tags"].choices = [(tag, tag) for tag in tags]

    def service_fields(self):
        data = self.cleaned_data
        return {
            "entry_date": datetime.date.fromisoformat(data["entry_date"]),
            "mood": data["mood"],
            "energy": data["energy"],
            "anxiety": data["anxiety"],
            "sleep_hours": data["sleep_hours"],
            "sleep_quality": data.get("sleep_quality"),
            "tags": data.get("tags") or [],
            "note": data.get("note", "").strip(),
            "safety_thoughts": data["safety_thoughts"] == "yes",
        }


class CorrectionForm(forms.Form):
    text = forms.CharField(
        label="Add a correction or a note",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 2000}),
        help_text="Your entry stays as it was; this note is shown with it.",
    )

    helper = form_helper()


class ReminderPreferenceForm(forms.ModelForm):
    class Meta:
        model = ReminderPreference
        fields = ["journal_enabled", "journal_time", "questionnaires_enabled", "visits_enabled"]
        widgets = {"journal_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}
        labels = {"journal_time": "Journal reminder time"}

    helper = form_helper()


class AlertActionForm(forms.Form):
    action = forms.ChoiceField(
        label="What did you do?",
        choices=SafetyAlert.Action.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what you did."},
    )
    note = forms.CharField(
        label="Note (optional)",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    helper = form_helper()


class ScheduleRuleForm(forms.Form):
    instrument_code = forms.ChoiceField(label="Instrument")
    timing = forms.ChoiceField(choices=ScheduleTiming.choices)
    every_n_sessions = forms.IntegerField(
        label="Every N sessions", required=False, min_value=1, max_value=20,
        help_text="For 'before sessions': 1 means every session.",
    )  # fmt: skip
    interval_days = forms.IntegerField(
        label="Every N days", required=False, min_value=7, max_value=180,
        help_text="For 'every N days in maintenance'.",
    )  # fmt: skip

    helper = form_helper(
        Field("instrument_code"), Field("timing"), Field("every_n_sessions"), Field("interval_days")
    )

    def __init__(self, *args, enabled_codes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["instrument_code"].choices = [
            (code, f"{code} · {instruments.get(code).name}") for code in enabled_codes
        ]

    def clean(self):
        data = super().clean()
        if data.get("timing") == ScheduleTiming.SESSIONS and not data.get("every_n_sessions"):
            self.add_error("every_n_sessions", "Say how often, e.g. 1 for every session.")
        if data.get("timing") == ScheduleTiming.INTERVAL and not data.get("interval_days"):
            self.add_error("interval_days", "Say how many days apart, e.g. 28.")
        return data


class MeasureSettingsForm(forms.Form):
    crisis_resources = forms.CharField(
        label="Crisis resources shown to patients",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Shown at once when an answer suggests risk, and on every patient's "
        "Support page. Include local crisis lines and the clinic's own number.",
    )
    licensed_instruments = forms.MultipleChoiceField(
        label="Licensed instruments this clinic has confirmed terms for",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    journal_tags = forms.CharField(
        label="Mood journal tags, one per line",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )

    helper = form_helper()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["licensed_instruments"].choices = [
            (i.code, f"{i.code} · {i.name} ({i.licence})")
            for i in instruments.all_instruments()
            if not i.enabled_by_default
        ]

    def clean_journal_tags(self):
        tags = [line.strip() for line in self.cleaned_data["journal_tags"].splitlines()]
        tags = [tag for tag in tags if tag]
        if any(len(tag) > 40 for tag in tags):
            raise forms.ValidationError("Keep each tag under 40 characters.")
        if len(tags) > 30:
            raise forms.ValidationError("Up to 30 tags.")
        return list(dict.fromkeys(tags))
