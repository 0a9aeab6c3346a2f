from django.conf import settings
from django.db import models

from clinic.core.history import track_changes
from clinic.core.models import PublicModel
from clinic.pathway.models.choices import Drug


class CourseStatus(models.TextChoices):
    CONSULTATION = "consultation", "Consultation"
    ASSESSMENT = "assessment", "Assessment"
    PLANNING = "planning", "Planning"
    ACTIVE = "active", "In treatment"
    MAINTENANCE = "maintenance", "Maintenance"
    ON_HOLD = "on_hold", "On hold"
    COMPLETED = "completed", "Completed"
    DISCONTINUED = "discontinued", "Discontinued"
    CLOSED_NOT_TREATED = "closed_not_treated", "Closed, not treated"


CLOSED_COURSE_STATUSES = (
    CourseStatus.COMPLETED,
    CourseStatus.DISCONTINUED,
    CourseStatus.CLOSED_NOT_TREATED,
)


@track_changes
class TreatmentCourse(PublicModel):
    """One course of treatment for one indication and period; a patient may have several
    over the years. Its status moves only through `services.course_transition`."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="treatment_courses"
    )
    indication = models.CharField(
        max_length=200, help_text="What is being treated, e.g. treatment-resistant depression."
    )
    drug = models.CharField(
        max_length=16,
        choices=Drug.choices,
        help_text="The drug intended; the approved plan fixes the drug actually used.",
    )
    status = models.CharField(
        max_length=24, choices=CourseStatus.choices, default=CourseStatus.CONSULTATION
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "-created_at"]),
            models.Index(fields=["status"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(indication=""), name="course_indication_not_blank"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=CourseStatus.values), name="course_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(drug__in=Drug.values), name="course_drug_valid"
            ),
        ]

    def __str__(self):
        return f"{self.indication} ({self.get_status_display()})"

    @property
    def is_closed(self):
        return self.status in CLOSED_COURSE_STATUSES


class CourseStatusChange(models.Model):
    """Who moved a course from which status to which, when and why; append-only."""

    course = models.ForeignKey(
        TreatmentCourse, on_delete=models.PROTECT, related_name="status_changes"
    )
    # Empty on the row that opens the course: it came from no status.
    from_status = models.CharField(max_length=24, choices=CourseStatus.choices, blank=True)
    to_status = models.CharField(max_length=24, choices=CourseStatus.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [models.Index(fields=["course", "changed_at"])]

    def __str__(self):
        return f"{self.from_status} → {self.to_status}"
