"""Forms of the treatment pathway. They check what a field can check on its own (types,
choices, ranges) and leave every clinical rule to the services, whose errors the views put
back beside the fields."""

from crispy_forms.layout import HTML, Column, Div, Field, Fieldset, Row
from django import forms
from django.utils import timezone

from clinic.core.forms import form_helper as _helper
from clinic.pathway.models import (
    Assessment,
    Consultation,
    DoseMode,
    Drug,
    FollowUp,
    FollowUpStatus,
    ItemEffect,
    Route,
    TreatmentCourse,
    TreatmentPlan,
    WeightPolicy,
    YesNoUnknown,
)
from clinic.pathway.services import (
    ASSESSMENT_FIELDS,
    CONSULTATION_FIELDS,
    FOLLOW_UP_OUTCOME_FIELDS,
    PLAN_FIELDS,
)
from clinic.patients.selectors import clinician_choices_for_clinic

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
REASON_MAX_LENGTH = 2000
ADDENDUM_MAX_LENGTH = 10000


def _textarea(rows=3):
    return forms.Textarea(attrs={"rows": rows})


class ServiceFieldsMixin:
    """`service_fields()`: the cleaned values the service takes, for the fields the form has."""

    service_field_names: tuple[str, ...] = ()

    def service_fields(self):
        return {
            name: self.cleaned_data[name]
            for name in self.service_field_names
            if name in self.fields and name in self.cleaned_data
        }


class CourseOpenForm(ServiceFieldsMixin, forms.ModelForm):
    service_field_names = ("indication", "drug")

    class Meta:
        model = TreatmentCourse
        fields = ("indication", "drug")
        labels = {"drug": "Intended drug"}
        widgets = {"drug": forms.RadioSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["indication"].initial = "Treatment-resistant depression"
        self.fields["drug"].choices = Drug.choices
        self.helper = _helper("indication", "drug")

    def clean_indication(self):
        value = self.cleaned_data["indication"].strip()
        if not value:
            raise forms.ValidationError("Say what is being treated.")
        return value


class ConsultationForm(ServiceFieldsMixin, forms.ModelForm):
    """Every field of the consultation; `version` is the record version the edit started from."""

    service_field_names = CONSULTATION_FIELDS
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Consultation
        fields = CONSULTATION_FIELDS
        widgets = {
            "referral_date": DATE_WIDGET,
            "consent_signed_on": DATE_WIDGET,
            "presenting_problem": _textarea(3),
            "diagnoses": _textarea(2),
            "psychiatric_history": _textarea(3),
            "medical_history": _textarea(2),
            "substance_use_history": _textarea(2),
            "current_medications": _textarea(2),
            "allergies": _textarea(1),
            "prior_treatments": _textarea(3),
            "goals": _textarea(2),
            "notes": _textarea(2),
        }
        labels = {
            "ketamine_or_pcp_use": "Past non-medical ketamine or PCP use",
            "off_label": "Off-label use",
            "consent_kind": "Consent form",
        }

    def __init__(self, *args, clinic, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["consent_obtained_by"]
        field.queryset = clinician_choices_for_clinic(clinic).order_by("last_name", "first_name")
        field.label_from_instance = lambda user: user.display_name
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
        self.helper = _helper(
            "version",
            Fieldset(
                "Referral",
                Row(Column("referral_source"), Column("referred_by"), Column("referral_date")),
            ),
            Fieldset(
                "Presenting problem and diagnoses",
                "presenting_problem",
                "diagnoses",
                "off_label",
            ),
            Fieldset(
                "History",
                Row(Column("psychiatric_history"), Column("medical_history")),
                Row(Column("substance_use_history"), Column("ketamine_or_pcp_use")),
                Row(Column("current_medications"), Column("allergies")),
                Row(
                    Column("prior_treatments", css_class="col-md-8"),
                    Column("failed_antidepressant_trials"),
                ),
            ),
            Fieldset(
                "Informed consent",
                Row(Column("consent_kind"), Column("consent_version")),
                Row(Column("consent_signed_on"), Column("consent_obtained_by")),
            ),
            Fieldset("Goals and notes", Row(Column("goals"), Column("notes"))),
        )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("consent_signed_on"):
            for name, message in (
                ("consent_kind", "Choose the consent form that was signed."),
                ("consent_version", "Give the version of the consent form."),
            ):
                if name in cleaned and not cleaned[name]:
                    self.add_error(name, message)
        if cleaned.get("consent_signed_on") and cleaned["consent_signed_on"] > timezone.localdate():
            self.add_error("consent_signed_on", "The consent date cannot be in the future.")
        return cleaned


ANSWER_PREFIX = "answer__"
JUSTIFICATION_PREFIX = "justification__"


class ChecklistRow:
    """One checklist item as the template shows it: the item, its effect for the course's
    drug, and its two bound fields."""

    def __init__(self, form, answer):
        self.answer = answer
        self.item = answer.item
        self.effect = answer.item.effect_for(answer.response.drug)
        self.effect_label = {ItemEffect.BLOCK: "ABS", ItemEffect.WARN: "REL"}.get(self.effect, "")
        self.field = form[ANSWER_PREFIX + answer.item.code]
        self.justification = form[JUSTIFICATION_PREFIX + answer.item.code]

    @property
    def errors(self):
        return [*self.field.errors, *self.justification.errors]


class AssessmentForm(ServiceFieldsMixin, forms.ModelForm):
    """Measurements, the decision (prescribers only) and one yes/no/unknown answer with a
    justification per checklist item."""

    service_field_names = ASSESSMENT_FIELDS
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Assessment
        fields = ASSESSMENT_FIELDS
        widgets = {
            "assessed_on": DATE_WIDGET,
            "rems_enrolled_on": DATE_WIDGET,
            "decision": forms.RadioSelect,
            "decision_reason": _textarea(2),
            "notes": _textarea(2),
        }
        labels = {
            "height_cm": "Height (cm)",
            "weight_kg": "Weight (kg)",
            "systolic_1": "Systolic 1",
            "diastolic_1": "Diastolic 1",
            "systolic_2": "Systolic 2",
            "diastolic_2": "Diastolic 2",
            "heart_rate": "Heart rate (/min)",
            "respiratory_rate": "Resp. rate (/min)",
            "baseline_phq9": "Baseline PHQ-9",
            "decision": "Eligibility",
            "decision_reason": "Reason",
        }

    def __init__(self, *args, answers, can_decide, drug, **kwargs):
        super().__init__(*args, **kwargs)
        self.can_decide = can_decide
        if not can_decide:
            del self.fields["decision"]
            del self.fields["decision_reason"]
        else:
            self.fields["decision"].choices = self.fields["decision"].choices[1:]
            self.fields["decision"].required = False
        if drug != Drug.ESKETAMINE:
            del self.fields["rems_enrolled_on"]
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
        self.answers = list(answers)
        for answer in self.answers:
            code = answer.item.code
            self.fields[ANSWER_PREFIX + code] = forms.ChoiceField(
                label=answer.item.prompt,
                choices=YesNoUnknown.choices,
                initial=answer.answer,
                widget=forms.RadioSelect(attrs={"class": "btn-check", "autocomplete": "off"}),
            )
            self.fields[JUSTIFICATION_PREFIX + code] = forms.CharField(
                label=f"Justification for {code}",
                required=False,
                max_length=REASON_MAX_LENGTH,
                initial=answer.justification,
                widget=forms.TextInput(
                    attrs={
                        "class": "form-control form-control-sm",
                        "aria-label": f"Justification for {code}",
                        "placeholder": "Why treatment may go ahead",
                    }
                ),
            )
        self.measurements_helper = _helper(
            "version",
            Fieldset(
                "Measurements",
                Row(Column("assessed_on"), Column("height_cm"), Column("weight_kg")),
                Row(
                    Column("systolic_1", css_class="col-6 col-md-3"),
                    Column("diastolic_1", css_class="col-6 col-md-3"),
                    Column("systolic_2", css_class="col-6 col-md-3"),
                    Column("diastolic_2", css_class="col-6 col-md-3"),
                ),
                Row(Column("heart_rate"), Column("spo2"), Column("respiratory_rate")),
                Row(
                    Column("pregnancy_test"),
                    Column("suicide_risk"),
                    Column("baseline_phq9"),
                    *([Column("rems_enrolled_on")] if "rems_enrolled_on" in self.fields else []),
                ),
            ),
        )

    def checklist_rows(self):
        return [ChecklistRow(self, answer) for answer in self.answers]

    def service_answers(self):
        """{item code: (answer, justification)} for `services.assessment_save`."""
        return {
            answer.item.code: (
                self.cleaned_data[ANSWER_PREFIX + answer.item.code],
                self.cleaned_data.get(JUSTIFICATION_PREFIX + answer.item.code, ""),
            )
            for answer in self.answers
        }

    def add_service_error(self, key, messages):
        """Service errors keyed by item code go beside that item's answer."""
        if ANSWER_PREFIX + key in self.fields:
            self.add_error(ANSWER_PREFIX + key, messages)
        else:
            self.add_error(key if key in self.fields else None, messages)


# Which plan fields matter for which choice: the rest are hidden by plan-form.js, cleared on
# save, and left out of the plan page.
PLAN_MG_PER_KG_FIELDS = (
    "mg_per_kg",
    "mg_per_kg_min",
    "mg_per_kg_max",
    "titration_step_mg_per_kg",
    "weight_policy",
    "weight_cap_kg",
)
PLAN_IV_FIELDS = ("final_volume_ml", "infusion_minutes")
PLAN_KETAMINE_ONLY = (
    *PLAN_MG_PER_KG_FIELDS,
    "fixed_dose_mg",
    "concentration_mg_per_ml",
    *PLAN_IV_FIELDS,
)


def _group_label(text):
    return HTML(
        f'<p class="plan-group-label small fw-semibold text-body-secondary mb-1">{text}</p>'
    )


class PlanForm(ServiceFieldsMixin, forms.ModelForm):
    """A draft plan. The drug is the course's; the fields shown follow the route and the
    dose mode (all of them without JavaScript, each marked with when it applies)."""

    service_field_names = tuple(name for name in PLAN_FIELDS if name != "drug")
    edit_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = TreatmentPlan
        fields = tuple(name for name in PLAN_FIELDS if name != "drug")
        widgets = {
            "fasting_instructions": _textarea(2),
            "stop_criteria": _textarea(2),
            "notes": _textarea(2),
        }

    def __init__(self, *args, drug, **kwargs):
        super().__init__(*args, **kwargs)
        self.drug = drug
        if self.instance.pk:
            self.fields["edit_version"].initial = self.instance.edit_version
        if drug == Drug.ESKETAMINE:
            for name in PLAN_KETAMINE_ONLY:
                del self.fields[name]
            self.fields["route"].choices = [(Route.INTRANASAL, Route.INTRANASAL.label)]
            self.fields["dose_mode"].choices = [(DoseMode.DEVICES, DoseMode.DEVICES.label)]
            self.fields["route"].initial = Route.INTRANASAL
            self.fields["dose_mode"].initial = DoseMode.DEVICES
            dose = [Row(Column("device_count"), Column("max_dose_mg"))]
        else:
            del self.fields["device_count"]
            self.fields["route"].choices = Route.choices
            self.fields["dose_mode"].choices = [
                c for c in DoseMode.choices if c[0] != DoseMode.DEVICES
            ]
            self.fields["mg_per_kg_min"].help_text = "Within the route's range."
            self.fields["weight_cap_kg"].help_text = "Only with a capped weight policy."
            dose = [
                Div(
                    _group_label("Weight-based dose (mg/kg mode only)"),
                    Row(Column("mg_per_kg"), Column("mg_per_kg_min"), Column("mg_per_kg_max")),
                    Row(
                        Column("titration_step_mg_per_kg"),
                        Column("weight_policy"),
                        Column("weight_cap_kg"),
                    ),
                    css_class="plan-group",
                    data_show_mode="mg_per_kg",
                ),
                Div(
                    _group_label("Fixed dose (fixed-dose mode only)"),
                    Row(Column("fixed_dose_mg", css_class="col-md-4")),
                    css_class="plan-group",
                    data_show_mode="fixed_mg",
                ),
                Row(Column("max_dose_mg"), Column("concentration_mg_per_ml")),
                Div(
                    _group_label("Infusion (IV only)"),
                    Row(Column("final_volume_ml"), Column("infusion_minutes")),
                    css_class="plan-group",
                    data_show_route="iv",
                ),
            ]
        for name in ("route", "dose_mode"):
            if len(self.fields[name].choices) == 1:
                self.fields[name].widget = forms.HiddenInput()
        self.helper = _helper(
            "edit_version",
            Fieldset("Drug and dose", Row(Column("route"), Column("dose_mode")), *dose),
            Fieldset(
                "Schedule",
                Row(
                    Column("induction_sessions"),
                    Column("sessions_per_week"),
                    Column("review_after_sessions"),
                ),
                Row(Column("maintenance_interval_weeks"), Column("monitoring_interval_minutes")),
            ),
            Fieldset(
                "Instructions",
                Field("fasting_instructions"),
                Field("stop_criteria"),
                Field("notes"),
            ),
        )

    def clean(self):
        cleaned = super().clean()
        mode, route = cleaned.get("dose_mode"), cleaned.get("route")
        if self.drug == Drug.ESKETAMINE:
            return cleaned
        if mode == DoseMode.MG_PER_KG:
            if "mg_per_kg" in cleaned and cleaned["mg_per_kg"] is None:
                self.add_error("mg_per_kg", "Enter the target dose in mg/kg.")
            if cleaned.get("weight_policy") != WeightPolicy.CAPPED:
                cleaned["weight_cap_kg"] = None
        elif mode:
            for name in PLAN_MG_PER_KG_FIELDS:
                cleaned[name] = None
            cleaned["weight_policy"] = WeightPolicy.ACTUAL
        if mode == DoseMode.FIXED_MG:
            if "fixed_dose_mg" in cleaned and cleaned["fixed_dose_mg"] is None:
                self.add_error("fixed_dose_mg", "Enter the dose in mg.")
        elif mode:
            cleaned["fixed_dose_mg"] = None
        if route and route != Route.IV:
            for name in PLAN_IV_FIELDS:
                cleaned[name] = None
        return cleaned


class FollowUpOutcomeForm(ServiceFieldsMixin, forms.ModelForm):
    service_field_names = FOLLOW_UP_OUTCOME_FIELDS

    class Meta:
        model = FollowUp
        fields = FOLLOW_UP_OUTCOME_FIELDS
        widgets = {
            "completed_on": DATE_WIDGET,
            "decision": forms.RadioSelect,
            "side_effects_between": _textarea(2),
            "outcome_notes": _textarea(3),
        }
        labels = {"completed_on": "Date of the visit"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["completed_on"].required = True
        self.fields["decision"].required = True
        self.fields["decision"].choices = self.fields["decision"].choices[1:]
        if not self.instance.completed_on:
            self.initial["completed_on"] = timezone.localdate()
        self.helper = _helper(
            Row(Column("completed_on", css_class="col-md-4")),
            "decision",
            "side_effects_between",
            "outcome_notes",
        )

    def clean_completed_on(self):
        value = self.cleaned_data["completed_on"]
        if value and value > timezone.localdate():
            raise forms.ValidationError("The visit date cannot be in the future.")
        return value


class FollowUpScheduleForm(forms.ModelForm):
    class Meta:
        model = FollowUp
        fields = ("kind", "due_on")
        widgets = {"due_on": DATE_WIDGET}
        labels = {"due_on": "Due on"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(Row(Column("kind"), Column("due_on")))


class CourseTransitionForm(forms.Form):
    to_status = forms.ChoiceField(label="Move the course to")
    reason = forms.CharField(
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=_textarea(2),
        help_text="Needed when closing, holding or ending a course.",
    )

    def __init__(self, *args, targets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_status"].choices = list(targets)
        self.helper = _helper("to_status", "reason")


class PlanTransitionForm(forms.Form):
    to_status = forms.ChoiceField(label="Change the plan to")
    reason = forms.CharField(max_length=REASON_MAX_LENGTH, widget=_textarea(2))

    def __init__(self, *args, targets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_status"].choices = list(targets)
        self.helper = _helper("to_status", "reason")


class AddendumForm(forms.Form):
    text = forms.CharField(
        label="Addendum",
        max_length=ADDENDUM_MAX_LENGTH,
        widget=_textarea(3),
        help_text="Signed with your name and the time when you add it; it cannot be changed.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("text")

    def clean_text(self):
        text = self.cleaned_data["text"].strip()
        if not text:
            raise forms.ValidationError("Write the addendum.")
        return text


class FollowUpCloseForm(forms.Form):
    status = forms.ChoiceField(
        label="Mark as",
        choices=[
            (FollowUpStatus.MISSED, FollowUpStatus.MISSED.label),
            (FollowUpStatus.CANCELLED, FollowUpStatus.CANCELLED.label),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(max_length=REASON_MAX_LENGTH, widget=_textarea(2))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("status", "reason")
