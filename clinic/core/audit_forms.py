"""The audit viewer's filters. Every value is checked here, against the clinic being
viewed, before any of it reaches a query."""

from django import forms
from django.db.models import Exists, OuterRef

from clinic.accounts.models import User
from clinic.core.forms import ClinicChoiceMixin
from clinic.core.models import AccessEvent
from clinic.patients.models import ClinicMembership, Patient

ISO_DATE = ["%Y-%m-%d"]


def _date_field(label):
    return forms.DateField(
        label=label,
        required=False,
        input_formats=ISO_DATE,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
        error_messages={"invalid": "Enter a date as YYYY-MM-DD."},
    )


class AuditFilterForm(ClinicChoiceMixin, forms.Form):
    clinic = forms.ChoiceField(
        label="Clinic", required=False, widget=forms.Select(attrs={"class": "form-select"})
    )
    patient = forms.CharField(
        label="Patient MRN",
        required=False,
        max_length=24,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )
    user = forms.CharField(
        label="User name",
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )
    action = forms.ChoiceField(
        label="Action",
        required=False,
        choices=[("", "Any action"), *AccessEvent.Action.choices],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    outcome = forms.ChoiceField(
        label="Outcome",
        required=False,
        choices=[("", "Any outcome"), *AccessEvent.Outcome.choices],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    start = _date_field("From")
    end = _date_field("To (included)")

    def clean(self):
        cleaned = super().clean()
        clinic = cleaned.get("clinic")
        mrn = (cleaned.get("patient") or "").strip()
        username = (cleaned.get("user") or "").strip()
        cleaned["patient"] = cleaned["user"] = None
        if clinic is not None and mrn:
            patient = Patient.objects.filter(clinic=clinic, medical_record_number__iexact=mrn)
            cleaned["patient"] = patient.first()
            if cleaned["patient"] is None:
                self.add_error("patient", f"No patient of {clinic.name} has the MRN “{mrn}”.")
        if clinic is not None and username:
            # Staff of the clinic, or anyone its log names (a portal patient, an outsider
            # who was refused): never a way to learn who has an account elsewhere.
            known_here = User.objects.filter(username=username).filter(
                Exists(ClinicMembership.objects.filter(user=OuterRef("pk"), clinic=clinic))
                | Exists(AccessEvent.objects.filter(user=OuterRef("pk"), clinic=clinic))
            )
            cleaned["user"] = known_here.first()
            if cleaned["user"] is None:
                self.add_error("user", f"Nobody called “{username}” appears in this clinic's log.")
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            self.add_error("end", "The end date must be on or after the start date.")
        return cleaned

    def is_filtered(self):
        return any(
            self.cleaned_data.get(name)
            for name in ("patient", "user", "action", "outcome", "start", "end")
        )
