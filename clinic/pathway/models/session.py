"""The administration session (DOMAIN.md §1.2 "Session", §1.3, §3, §5)."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from clinic.core.history import track_changes
from clinic.core.models import PublicModel
from clinic.core.signing import SignedNote
from clinic.pathway.models.choices import Route


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CHECKED_IN = "checked_in", "Checked in"
    READY = "ready", "Ready to dose"
    DOSING = "dosing", "Dosing"
    MONITORING = "monitoring", "Monitoring"
    READY_FOR_DISCHARGE = "ready_for_discharge", "Ready for discharge"
    DISCHARGED = "discharged", "Discharged"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"
    TRANSFERRED = "transferred", "Transferred (emergency)"


FINISHED_SESSION_STATUSES = (
    SessionStatus.DISCHARGED,
    SessionStatus.CANCELLED,
    SessionStatus.NO_SHOW,
    SessionStatus.TRANSFERRED,
)
DOSED_SESSION_STATUSES = (
    SessionStatus.DOSING,
    SessionStatus.MONITORING,
    SessionStatus.READY_FOR_DISCHARGE,
    SessionStatus.DISCHARGED,
    SessionStatus.TRANSFERRED,
)


@track_changes
class AdministrationSession(PublicModel, SignedNote):
    """One dosing visit of a course, on the plan version in force when it was booked.

    The session note is signed at discharge and then locked like every clinical note.
    """

    SIGNED_FIELDS = (
        "plan",
        "session_number",
        "weight_kg",
        "weight_measured_on",
        "calculated_dose_mg",
        "dose_mg",
        "volume_ml",
        "dose_change_reason",
        "route",
        "rate_ml_per_hour",
        "devices_used",
        "dose_started_at",
        "dose_ended_at",
        "early_stop_reason",
        "ready_to_leave_at",
        "discharged_at",
        "escort_name",
        "escort_phone",
        "escort_relationship",
        "notes",
    )

    course = models.ForeignKey(
        "pathway.TreatmentCourse", on_delete=models.PROTECT, related_name="sessions"
    )
    plan = models.ForeignKey(
        "pathway.TreatmentPlan", on_delete=models.PROTECT, related_name="sessions"
    )
    session_number = models.PositiveSmallIntegerField()
    scheduled_at = models.DateTimeField()
    status = models.CharField(
        max_length=20, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    nurse = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    prescriber = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The prescriber responsible (on site for esketamine).",
    )
    pre_checklist = models.OneToOneField(
        "pathway.ChecklistResponse",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="session",
    )
    discharge_checklist = models.OneToOneField(
        "pathway.ChecklistResponse",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="discharged_session",
    )
    checked_in_at = models.DateTimeField(null=True, blank=True)
    prescriber_on_site = models.BooleanField(
        default=False, help_text="Esketamine is dosed only with a prescriber on site."
    )

    # Dosing (DOMAIN.md §3.2): the weight of the day and the plan's rule worked out with it.
    weight_kg = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(20), MaxValueValidator(350)],
    )
    weight_measured_on = models.DateField(null=True, blank=True)
    calculated_dose_mg = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    dose_mg = models.DecimalField(
        "dose given (mg)", max_digits=6, decimal_places=1, null=True, blank=True
    )
    volume_ml = models.DecimalField(
        "volume given (mL)", max_digits=7, decimal_places=2, null=True, blank=True
    )
    dose_change_reason = models.TextField(
        blank=True, help_text="Why the dose given differs from the plan's."
    )
    route = models.CharField(max_length=16, choices=Route.choices, blank=True)
    rate_ml_per_hour = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    devices_used = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(3)]
    )
    dose_started_at = models.DateTimeField(null=True, blank=True)
    dose_ended_at = models.DateTimeField(null=True, blank=True)
    early_stop_reason = models.TextField(blank=True)

    # Discharge (DOMAIN.md §5).
    ready_to_leave_at = models.DateTimeField(null=True, blank=True)
    discharged_at = models.DateTimeField(null=True, blank=True)
    escort_name = models.CharField(max_length=120, blank=True)
    escort_phone = models.CharField(max_length=32, blank=True)
    escort_relationship = models.CharField(max_length=60, blank=True)
    cancel_reason = models.TextField(blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["scheduled_at", "id"]
        indexes = [
            models.Index(fields=["course", "session_number"]),
            models.Index(fields=["scheduled_at"]),
            models.Index(fields=["status", "scheduled_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["course", "session_number"], name="session_number_unique_per_course"
            ),
            models.CheckConstraint(
                condition=models.Q(dose_ended_at__isnull=True)
                | models.Q(dose_ended_at__gte=models.F("dose_started_at")),
                name="session_dose_end_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(discharged_at__isnull=True)
                | models.Q(discharged_at__gte=models.F("ready_to_leave_at")),
                name="session_discharge_after_ready",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=SessionStatus.values), name="session_status_valid"
            ),
        ]

    def __str__(self):
        return f"Session {self.session_number} ({self.get_status_display()})"

    @property
    def is_finished(self):
        return self.status in FINISHED_SESSION_STATUSES


class SessionStatusChange(models.Model):
    session = models.ForeignKey(
        AdministrationSession, on_delete=models.PROTECT, related_name="status_changes"
    )
    from_status = models.CharField(max_length=20, choices=SessionStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=SessionStatus.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self):
        return f"{self.from_status} → {self.to_status}"


class EsketamineDevice(models.Model):
    """One nasal-spray device (28 mg) given in a session, with its time (DOMAIN.md §3.2/7)."""

    session = models.ForeignKey(
        AdministrationSession, on_delete=models.PROTECT, related_name="devices"
    )
    number = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(3)]
    )
    given_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["session", "number"]
        constraints = [
            models.UniqueConstraint(fields=["session", "number"], name="device_number_unique"),
            models.CheckConstraint(
                condition=models.Q(number__gte=1, number__lte=3), name="device_number_1_to_3"
            ),
        ]

    def __str__(self):
        return f"Device {self.number} at {self.given_at:%H:%M}"
