from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from clinic.core.history import track_changes
from clinic.core.models import PublicModel
from clinic.core.signing import SignedNote
from clinic.pathway.models.choices import Drug, Route


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    APPROVED = "approved", "Approved"
    SUSPENDED = "suspended", "Suspended"
    SUPERSEDED = "superseded", "Superseded"
    ENDED = "ended", "Ended"


class DoseMode(models.TextChoices):
    MG_PER_KG = "mg_per_kg", "Weight-based (mg/kg)"
    FIXED_MG = "fixed_mg", "Fixed dose (mg)"
    DEVICES = "devices", "Esketamine devices (28 mg each)"


class WeightPolicy(models.TextChoices):
    ACTUAL = "actual", "Actual body weight"
    CAPPED = "capped", "Actual weight, capped"


def _range(low, high):
    return [MinValueValidator(low), MaxValueValidator(high)]


@track_changes
class TreatmentPlan(PublicModel, SignedNote):
    """A version of the course's treatment plan. Approval is the prescriber's signature:
    an approved plan never changes (a change is a new draft version); only its status moves
    (suspended, superseded by a newer approved version, or ended)."""

    SIGNED_FIELDS = (
        "version",
        "drug",
        "route",
        "dose_mode",
        "mg_per_kg",
        "mg_per_kg_min",
        "mg_per_kg_max",
        "fixed_dose_mg",
        "device_count",
        "max_dose_mg",
        "weight_policy",
        "weight_cap_kg",
        "weight_kg_used",
        "weight_measured_on",
        "concentration_mg_per_ml",
        "final_volume_ml",
        "infusion_minutes",
        "titration_step_mg_per_kg",
        "induction_sessions",
        "sessions_per_week",
        "review_after_sessions",
        "maintenance_interval_weeks",
        "monitoring_interval_minutes",
        "fasting_instructions",
        "stop_criteria",
        "notes",
        "dose_mg",
        "volume_ml",
        "rate_ml_per_hour",
        "dose_capped",
    )

    course = models.ForeignKey(
        "pathway.TreatmentCourse", on_delete=models.PROTECT, related_name="plans"
    )
    version = models.PositiveSmallIntegerField(editable=False)
    status = models.CharField(max_length=12, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    previous_version = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    edit_version = models.PositiveIntegerField(default=1, editable=False)

    drug = models.CharField(max_length=16, choices=Drug.choices)
    route = models.CharField(max_length=16, choices=Route.choices)
    dose_mode = models.CharField(max_length=12, choices=DoseMode.choices)
    mg_per_kg = models.DecimalField(
        "target dose (mg/kg)", max_digits=5, decimal_places=3, null=True, blank=True
    )
    mg_per_kg_min = models.DecimalField(
        "lowest dose (mg/kg)", max_digits=5, decimal_places=3, null=True, blank=True
    )
    mg_per_kg_max = models.DecimalField(
        "highest dose (mg/kg)", max_digits=5, decimal_places=3, null=True, blank=True
    )
    fixed_dose_mg = models.DecimalField(
        "fixed dose (mg)", max_digits=6, decimal_places=1, null=True, blank=True
    )
    device_count = models.PositiveSmallIntegerField(
        "devices per session", null=True, blank=True, validators=_range(1, 3)
    )
    max_dose_mg = models.DecimalField(
        "maximum dose per session (mg)",
        max_digits=6,
        decimal_places=1,
        validators=[MinValueValidator(1)],
    )
    weight_policy = models.CharField(
        max_length=8, choices=WeightPolicy.choices, default=WeightPolicy.ACTUAL
    )
    weight_cap_kg = models.DecimalField(
        "weight cap (kg)", max_digits=4, decimal_places=1, null=True, blank=True,
        validators=_range(20, 350),
    )  # fmt: skip
    weight_kg_used = models.DecimalField(
        "weight used (kg)", max_digits=4, decimal_places=1, null=True, blank=True
    )
    weight_measured_on = models.DateField("weight measured on", null=True, blank=True)
    concentration_mg_per_ml = models.DecimalField(
        "concentration (mg/mL)", max_digits=6, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )  # fmt: skip
    final_volume_ml = models.DecimalField(
        "final infusion volume (mL)", max_digits=6, decimal_places=1, null=True, blank=True,
        validators=_range(1, 1000),
    )  # fmt: skip
    infusion_minutes = models.PositiveSmallIntegerField(
        "infusion duration (min)", null=True, blank=True, validators=_range(1, 240)
    )
    titration_step_mg_per_kg = models.DecimalField(
        "titration step (mg/kg)", max_digits=4, decimal_places=3, null=True, blank=True
    )
    induction_sessions = models.PositiveSmallIntegerField(
        "sessions in induction", default=6, validators=_range(1, 24)
    )
    sessions_per_week = models.PositiveSmallIntegerField(
        "sessions per week", default=3, validators=_range(1, 7)
    )
    review_after_sessions = models.PositiveSmallIntegerField(
        "review after session", default=6, validators=_range(1, 24)
    )
    maintenance_interval_weeks = models.PositiveSmallIntegerField(
        "maintenance interval (weeks)", null=True, blank=True, validators=_range(1, 26)
    )
    monitoring_interval_minutes = models.PositiveSmallIntegerField(
        "vitals every (min) during the session", default=15, validators=_range(5, 60)
    )
    fasting_instructions = models.TextField(blank=True)
    stop_criteria = models.TextField(blank=True)
    notes = models.TextField(blank=True)

    # Worked out by the service from the fields above whenever a draft is saved, and frozen
    # with the approval.
    dose_mg = models.DecimalField(max_digits=6, decimal_places=1, null=True, editable=False)
    volume_ml = models.DecimalField(max_digits=7, decimal_places=2, null=True, editable=False)
    rate_ml_per_hour = models.DecimalField(
        max_digits=7, decimal_places=1, null=True, editable=False
    )
    dose_capped = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["course", "-version"]
        indexes = [models.Index(fields=["course", "status"])]
        constraints = [
            models.UniqueConstraint(fields=["course", "version"], name="plan_version_unique"),
            models.UniqueConstraint(
                fields=["course"],
                condition=models.Q(status="approved"),
                name="plan_one_approved_per_course",
            ),
            models.UniqueConstraint(
                fields=["course"],
                condition=models.Q(status="draft"),
                name="plan_one_draft_per_course",
            ),
            models.CheckConstraint(
                condition=~models.Q(drug="esketamine")
                | (models.Q(route="intranasal") & models.Q(dose_mode="devices")),
                name="plan_esketamine_is_intranasal_devices",
            ),
            models.CheckConstraint(
                condition=~models.Q(dose_mode="mg_per_kg") | models.Q(mg_per_kg__isnull=False),
                name="plan_weight_based_has_mg_per_kg",
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(signed_at__isnull=False),
                name="plan_not_draft_is_approved",
            ),
            models.CheckConstraint(
                condition=models.Q(dose_mg__isnull=True)
                | models.Q(dose_mg__lte=models.F("max_dose_mg")),
                name="plan_dose_within_maximum",
            ),
        ]

    def __str__(self):
        return f"Plan v{self.version} ({self.get_status_display()})"

    @property
    def approved_by(self):
        return self.signed_by

    @property
    def approved_at(self):
        return self.signed_at


class PlanStatusChange(models.Model):
    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=12, choices=PlanStatus.choices)
    to_status = models.CharField(max_length=12, choices=PlanStatus.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self):
        return f"{self.from_status} → {self.to_status}"
