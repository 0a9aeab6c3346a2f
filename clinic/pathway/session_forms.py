"""Forms of the session runner. They parse what a field can check on its own; the session,
monitoring and ledger services hold every clinical rule and the views put their errors back
beside the fields."""

from django import forms
from django.db.models import Exists, OuterRef
from django.utils import timezone

from clinic.accounts.roles import StaffRole
from clinic.monitoring.models import (
    ActionTaken,
    Grade,
    Outcome,
    ReadingPhase,
    Relatedness,
    SeriousCriterion,
    SideEffectTerm,
)
from clinic.pathway.models import ItemEffect, SessionStatus, YesNoUnknown
from clinic.patients.models import ClinicMembership
from clinic.patients.selectors import clinician_choices_for_clinic

REASON_MAX_LENGTH = 2000
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


def _datetime_widget():
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT)


def _reason(label="Reason", required=True, rows=2):
    return forms.CharField(
        label=label,
        required=required,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.display_name


class _ListedChoiceIterator(forms.models.ModelChoiceIterator):
    """The choices of a `ListedUserChoiceField` from its `listed()` rows when it has them,
    so several fields can show one query's rows; its queryset still validates input."""

    def __iter__(self):
        if self.field.listed is None:
            yield from super().__iter__()
            return
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.field.listed():
            yield self.choice(obj)

    def __len__(self):
        if self.field.listed is None:
            return super().__len__()
        return len(self.field.listed()) + (1 if self.field.empty_label is not None else 0)

    def __bool__(self):
        return self.field.empty_label is not None or bool(len(self))


class ListedUserChoiceField(UserChoiceField):
    iterator = _ListedChoiceIterator
    listed = None


class SessionBookForm(forms.Form):
    scheduled_at = forms.DateTimeField(
        label="Date and time", widget=_datetime_widget(), input_formats=[DATETIME_FORMAT]
    )
    nurse = ListedUserChoiceField(queryset=None, required=False, empty_label="Not chosen yet")
    prescriber = ListedUserChoiceField(
        queryset=None,
        required=False,
        empty_label="Not chosen yet",
        help_text="Responsible; on site for esketamine.",
    )

    def __init__(self, *args, clinic, **kwargs):
        super().__init__(*args, **kwargs)
        clinicians = (
            clinician_choices_for_clinic(clinic)
            .annotate(
                prescribes_here=Exists(
                    ClinicMembership.objects.filter(
                        user=OuterRef("pk"), clinic=clinic, role=StaffRole.PRESCRIBER
                    )
                )
            )
            .order_by("last_name", "first_name")
        )
        self.fields["nurse"].queryset = clinicians
        self.fields["prescriber"].queryset = clinicians.filter(prescribes_here=True)
        # Both lists come from one read of the clinic's clinicians, made when first shown.
        rows = []

        def everyone():
            if not rows:
                rows.append(list(clinicians))
            return rows[0]

        self.fields["nurse"].listed = everyone
        self.fields["prescriber"].listed = lambda: [u for u in everyone() if u.prescribes_here]


class CheckInForm(forms.Form):
    identity_confirmed = forms.BooleanField(
        label="Identity confirmed with 2 identifiers (name and date of birth)",
        required=False,
    )

    def clean_identity_confirmed(self):
        # Only the checkbox's own value counts: any other text is not a confirmation.
        return self.data.get("identity_confirmed") in ("on", "true", "True", "1")


class ChecklistForm(forms.Form):
    """One yes/no/unknown radio per clinician item of an open checklist; system items are
    shown read-only by the page and never posted."""

    def __init__(self, *args, answers, **kwargs):
        super().__init__(*args, **kwargs)
        for answer in answers:
            item = answer.item
            if item.system:
                continue
            name = f"answer__{item.code}"
            self.fields[name] = forms.ChoiceField(
                label=item.prompt,
                choices=YesNoUnknown.choices,
                initial=answer.answer,
                widget=forms.RadioSelect(attrs={"class": "btn-check", "autocomplete": "off"}),
            )

    def answers(self):
        return {
            name.removeprefix("answer__"): value
            for name, value in self.cleaned_data.items()
            if name.startswith("answer__")
        }


class ChecklistOverrideForm(forms.Form):
    item_code = forms.CharField(max_length=24, widget=forms.HiddenInput)
    reason = _reason("Reason for the override")


class VitalsForm(forms.Form):
    """Numbers are parsed by `monitoring.services.vital_record`, which knows each vital's
    limits; here they are short text so its messages land beside the fields."""

    VITALS = (
        ("systolic", "Systolic", "mmHg"),
        ("diastolic", "Diastolic", "mmHg"),
        ("heart_rate", "Heart rate", "/min"),
        ("spo2", "SpO₂", "%"),
        ("respiratory_rate", "Resp. rate", "/min"),
        ("temperature_c", "Temp.", "°C"),
        ("moaas", "MOAA/S", "0-5"),
        ("cadss", "CADSS", "0-92"),
    )

    phase = forms.ChoiceField(label="When", choices=ReadingPhase.choices)
    symptoms = forms.CharField(
        label="Symptoms",
        required=False,
        max_length=200,
        help_text="Chest pain, severe headache, new neurological signs, confusion.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label, unit in self.VITALS:
            decimal = name == "temperature_c"
            self.fields[name] = forms.CharField(
                label=f"{label} ({unit})" if unit else label,
                required=False,
                max_length=8,
                widget=forms.TextInput(
                    attrs={
                        "inputmode": "decimal" if decimal else "numeric",
                        "autocomplete": "off",
                        "class": "vital-input",
                    }
                ),
            )
        self.order_fields(["phase", *(name for name, _, _ in self.VITALS), "symptoms"])

    def service_fields(self):
        data = self.cleaned_data
        values = {name: data[name].strip() or None for name, _, _ in self.VITALS}
        return {"phase": data["phase"], "symptoms": data["symptoms"], **values}

    @property
    def vital_fields(self):
        return [self[name] for name, _, _ in self.VITALS]


def phase_for(session):
    return {
        SessionStatus.DOSING: ReadingPhase.INTRA,
        SessionStatus.MONITORING: ReadingPhase.POST,
        SessionStatus.READY_FOR_DISCHARGE: ReadingPhase.DISCHARGE,
    }.get(session.status, ReadingPhase.BASELINE)


class AcknowledgeForm(forms.Form):
    reading = forms.UUIDField(widget=forms.HiddenInput)
    action_taken = forms.CharField(
        label="Action taken", max_length=REASON_MAX_LENGTH, widget=forms.TextInput()
    )


class EnteredInErrorForm(forms.Form):
    reading = forms.UUIDField(widget=forms.HiddenInput)
    reason = forms.CharField(label="Why is it wrong?", max_length=REASON_MAX_LENGTH)


class DoseForm(forms.Form):
    weight_kg = forms.DecimalField(
        label="Weight today (kg)",
        required=False,
        max_digits=4,
        decimal_places=1,
        min_value=20,
        max_value=350,
        widget=forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal"}),
        help_text="Leave empty to use the latest recorded weight.",
    )
    dose_mg = forms.DecimalField(
        label="Dose to give (mg)",
        max_digits=6,
        decimal_places=1,
        min_value=0,
        max_value=10000,
        widget=forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal"}),
    )
    dose_change_reason = _reason("Reason if different from the calculated dose", required=False)
    prescriber_on_site = forms.BooleanField(
        label="Prescriber on site (required for esketamine)", required=False
    )

    def __init__(self, *args, esketamine=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not esketamine:
            del self.fields["prescriber_on_site"]
        else:
            del self.fields["weight_kg"]


class EndDosingForm(forms.Form):
    early_stop_reason = _reason("Stopped early? Say why", required=False)


class SideEffectForm(forms.Form):
    term = forms.ChoiceField(choices=[("", "Choose"), *SideEffectTerm.choices])
    other_term = forms.CharField(label="Other term", required=False, max_length=120)
    verbatim = forms.CharField(
        label="In the patient's words",
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    onset_at = forms.DateTimeField(
        label="Onset", widget=_datetime_widget(), input_formats=[DATETIME_FORMAT]
    )
    resolved_at = forms.DateTimeField(
        label="Resolved",
        required=False,
        widget=_datetime_widget(),
        input_formats=[DATETIME_FORMAT],
    )
    grade = forms.TypedChoiceField(
        coerce=int, choices=Grade.choices, widget=forms.RadioSelect, label="Grade (CTCAE-style)"
    )
    serious = forms.BooleanField(required=False, label="Serious")
    serious_criteria = forms.MultipleChoiceField(
        required=False,
        choices=SeriousCriterion.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Seriousness criteria",
    )
    relatedness = forms.ChoiceField(choices=[("", "Choose"), *Relatedness.choices])
    action_taken = forms.ChoiceField(choices=[("", "Choose"), *ActionTaken.choices])
    treatment_given = forms.CharField(label="Treatment given", required=False, max_length=200)
    outcome = forms.ChoiceField(choices=[("", "Choose"), *Outcome.choices])

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"onset_at": timezone.localtime().strftime(DATETIME_FORMAT)})
        super().__init__(*args, **kwargs)

    def service_fields(self):
        return dict(self.cleaned_data)


class DischargeForm(forms.Form):
    escort_name = forms.CharField(label="Escort's name", max_length=120)
    escort_relationship = forms.CharField(label="Relationship", max_length=60)
    escort_phone = forms.CharField(label="Escort's phone", max_length=32, required=False)
    notes = forms.CharField(
        label="Discharge notes",
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class CancelForm(forms.Form):
    status = forms.ChoiceField(
        label="Outcome",
        choices=[(SessionStatus.CANCELLED, "Cancelled"), (SessionStatus.NO_SHOW, "No-show")],
    )
    reason = _reason()


class TransferForm(forms.Form):
    reason = _reason("Reason for the emergency transfer")


def checklist_rows(answers, form=None):
    """(answer, bound field or None, effect) per item, system items with their value."""
    rows = []
    for answer in answers:
        field = None
        if form is not None and not answer.item.system:
            field = form[f"answer__{answer.item.code}"]
        effect = answer.effect
        rows.append(
            {
                "answer": answer,
                "item": answer.item,
                "field": field,
                "effect": effect,
                "blocking": effect == ItemEffect.BLOCK and not answer.is_overridden,
                "can_override": effect == ItemEffect.BLOCK
                and answer.item.overridable
                and not answer.is_overridden,
            }
        )
    return rows
