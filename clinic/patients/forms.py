from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Column, Fieldset, Layout, Row, Submit
from django import forms

from clinic.patients.models import CareTeamMember, Patient
from clinic.patients.selectors import clinician_choices_for_clinic
from clinic.patients.services import PATIENT_EDITABLE_FIELDS


class PatientSearchForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={
                "placeholder": "Name or MRN",
                "type": "search",
                "autocomplete": "off",
                "class": "form-control",
            }
        ),
    )
    clinic = forms.ChoiceField(
        label="Clinic", required=False, widget=forms.Select(attrs={"class": "form-select"})
    )
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("", "Any status"), *Patient.Status.choices],
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, clinics, **kwargs):
        super().__init__(*args, **kwargs)
        self.clinics = {str(clinic.public_id): clinic for clinic in clinics}
        self.fields["clinic"].choices = [("", "All my clinics")] + [
            (key, clinic.name) for key, clinic in self.clinics.items()
        ]
        if len(self.clinics) < 2:
            self.fields["clinic"].widget = forms.HiddenInput()

    def selected_clinic(self):
        return self.clinics.get(self.cleaned_data.get("clinic") or "")


class PatientForm(forms.ModelForm):
    """Demographics. `version` carries the record version the edit started from."""

    clinic = forms.ModelChoiceField(queryset=None, empty_label=None)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Patient
        fields = PATIENT_EDITABLE_FIELDS
        widgets = {
            "date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "address": forms.Textarea(attrs={"rows": 3}),
            "email": forms.EmailInput(attrs={"autocomplete": "off"}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
            "emergency_contact_phone": forms.TextInput(attrs={"type": "tel"}),
        }
        labels = {"sex_at_birth": "Sex assigned at birth"}

    def __init__(self, *args, clinics, **kwargs):
        super().__init__(*args, **kwargs)
        editing = self.instance.pk is not None
        if editing:
            del self.fields["clinic"]
            self.fields["version"].initial = self.instance.version
        else:
            del self.fields["version"]
            del self.fields["status"]
            self.fields["clinic"].queryset = clinics
            self.only_clinic = clinics.first() if clinics.count() == 1 else None
            if self.only_clinic is not None:
                # One clinic: nothing to choose, so the field is hidden and optional.
                self.fields["clinic"].widget = forms.HiddenInput()
                self.fields["clinic"].required = False
                self.fields["clinic"].initial = self.only_clinic
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            *(["clinic"] if not editing else ["version"]),
            Fieldset(
                "Identity",
                Row(Column("given_name"), Column("family_name")),
                Row(Column("preferred_name"), Column("date_of_birth")),
                Row(Column("sex_at_birth"), Column("gender_identity"), Column("pronouns")),
                *(["status"] if editing else []),
            ),
            Fieldset("Contact", Row(Column("email"), Column("phone")), "address"),
            Fieldset(
                "Emergency contact",
                Row(
                    Column("emergency_contact_name"),
                    Column("emergency_contact_relationship"),
                    Column("emergency_contact_phone"),
                ),
            ),
            HTML('<div class="d-flex gap-2 mt-3">'),
            Submit("save", "Save details" if editing else "Register patient"),
            HTML("</div>"),
        )

    def clean_clinic(self):
        return self.cleaned_data.get("clinic") or self.only_clinic

    def clean(self):
        cleaned = super().clean()
        clinic_field = self.fields.get("clinic")
        if clinic_field is not None and clinic_field.widget.is_hidden and self.has_error("clinic"):
            self.add_error(
                None, "Select a valid choice: you can register patients only in your own clinics."
            )
        for name in ("given_name", "family_name"):
            value = cleaned.get(name)
            if value is not None and not value.strip():
                self.add_error(name, "This field cannot be blank.")
        return cleaned

    def service_fields(self):
        return {name: self.cleaned_data[name] for name in self._meta.fields if name in self.fields}


class CareTeamAddForm(forms.Form):
    """Validates the chart's care-team POST. The chart writes its two selects out from
    what it already read (`selectors.care_team_and_choices`); the queryset here decides what
    may be submitted."""

    user = forms.ModelChoiceField(label="Clinician", queryset=None)
    responsibility = forms.ChoiceField(choices=CareTeamMember.Responsibility.choices)

    def __init__(self, *args, patient, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["user"]
        current = patient.care_team.filter(is_active=True).values("user_id")
        field.queryset = (
            clinician_choices_for_clinic(patient.clinic)
            .exclude(pk__in=current)
            .order_by("last_name", "first_name")
        )
        field.label_from_instance = lambda user: user.display_name
