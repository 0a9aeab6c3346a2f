from django.conf import settings
from django.db import models

from clinic.core.history import track_changes
from clinic.core.models import PublicModel
from clinic.core.signing import SignedNote


class FollowUpKind(models.TextChoices):
    INDUCTION_REVIEW = "induction_review", "End-of-induction review"
    MAINTENANCE_REVIEW = "maintenance_review", "Maintenance review"
    CHECK_IN = "check_in", "Check-in"


class FollowUpStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    COMPLETED = "completed", "Completed"
    MISSED = "missed", "Missed"
    CANCELLED = "cancelled", "Cancelled"


class FollowUpDecision(models.TextChoices):
    CONTINUE = "continue", "Continue as planned"
    CHANGE_DOSE = "change_dose", "Change dose or frequency"
    MAINTENANCE = "maintenance", "Move to maintenance"
    TAPER = "taper", "Taper"
    STOP = "stop", "Stop treatment"


@track_changes
class FollowUp(PublicModel, SignedNote):
    """A follow-up visit: scheduled from the plan, completed with an outcome and signed."""

    SIGNED_FIELDS = (
        "kind",
        "due_on",
        "status",
        "completed_on",
        "decision",
        "side_effects_between",
        "outcome_notes",
    )

    course = models.ForeignKey(
        "pathway.TreatmentCourse", on_delete=models.PROTECT, related_name="follow_ups"
    )
    plan = models.ForeignKey(
        "pathway.TreatmentPlan",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
        help_text="The plan whose schedule set the due date.",
    )
    kind = models.CharField(max_length=20, choices=FollowUpKind.choices)
    due_on = models.DateField()
    status = models.CharField(
        max_length=12, choices=FollowUpStatus.choices, default=FollowUpStatus.SCHEDULED
    )
    scheduled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    completed_on = models.DateField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decision = models.CharField(max_length=16, choices=FollowUpDecision.choices, blank=True)
    side_effects_between = models.TextField("side effects since the last visit", blank=True)
    outcome_notes = models.TextField(blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["status", "due_on"]),
            models.Index(fields=["course"]),
            # The clinician home's "awaiting your signature": recorded, unsigned follow-ups.
            models.Index(
                fields=["completed_by", "created_at"],
                condition=models.Q(signed_at__isnull=True, status=FollowUpStatus.COMPLETED),
                name="follow_up_unsigned_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="completed")
                | (models.Q(completed_on__isnull=False) & ~models.Q(decision="")),
                name="follow_up_completed_has_outcome",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} due {self.due_on}"
