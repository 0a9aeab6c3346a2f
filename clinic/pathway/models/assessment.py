from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from clinic.core.history import track_changes
from clinic.core.models import PublicModel
from clinic.core.signing import SignedNote


class EligibilityDecision(models.TextChoices):
    ELIGIBLE = "eligible", "Eligible"
    ELIGIBLE_WITH_PRECAUTIONS = "eligible_with_precautions", "Eligible with precautions"
    INELIGIBLE = "ineligible", "Not eligible"
    DEFERRED = "deferred", "Deferred"


ELIGIBLE_DECISIONS = (EligibilityDecision.ELIGIBLE, EligibilityDecision.ELIGIBLE_WITH_PRECAUTIONS)


class PregnancyTest(models.TextChoices):
    NOT_APPLICABLE = "not_applicable", "Not applicable"
    NEGATIVE = "negative", "Negative"
    POSITIVE = "positive", "Positive"
    NOT_DONE = "not_done", "Not done"


class SuicideRisk(models.TextChoices):
    """C-SSRS screener risk level, recorded from the clinic's own licensed form (§7.1)."""

    NONE = "none", "None"
    LOW = "low", "Low"
    MODERATE = "moderate", "Moderate"
    HIGH = "high", "High"


def _range(low, high):
    return [MinValueValidator(low), MaxValueValidator(high)]


@track_changes
class Assessment(PublicModel, SignedNote):
    """Eligibility screening: checklist, baseline measurements, and the prescriber's decision.

    A course may be re-assessed (for example after a long hold); the latest signed one counts.
    """

    SIGNED_FIELDS = (
        "checklist",
        "assessed_on",
        "height_cm",
        "weight_kg",
        "systolic_1",
        "diastolic_1",
        "systolic_2",
        "diastolic_2",
        "heart_rate",
        "spo2",
        "respiratory_rate",
        "pregnancy_test",
        "suicide_risk",
        "baseline_phq9",
        "rems_enrolled_on",
        "decision",
        "decision_reason",
        "notes",
    )

    course = models.ForeignKey(
        "pathway.TreatmentCourse", on_delete=models.PROTECT, related_name="assessments"
    )
    checklist = models.OneToOneField(
        "pathway.ChecklistResponse", on_delete=models.PROTECT, related_name="assessment"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField(default=1, editable=False)
    assessed_on = models.DateField()
    height_cm = models.DecimalField(
        max_digits=4, decimal_places=1, null=True, blank=True, validators=_range(100, 250)
    )
    weight_kg = models.DecimalField(
        max_digits=4, decimal_places=1, null=True, blank=True, validators=_range(20, 350)
    )
    systolic_1 = models.PositiveSmallIntegerField(
        "systolic BP, first reading", null=True, blank=True, validators=_range(50, 300)
    )
    diastolic_1 = models.PositiveSmallIntegerField(
        "diastolic BP, first reading", null=True, blank=True, validators=_range(20, 200)
    )
    systolic_2 = models.PositiveSmallIntegerField(
        "systolic BP, second reading", null=True, blank=True, validators=_range(50, 300)
    )
    diastolic_2 = models.PositiveSmallIntegerField(
        "diastolic BP, second reading", null=True, blank=True, validators=_range(20, 200)
    )
    heart_rate = models.PositiveSmallIntegerField(
        "heart rate (/min)", null=True, blank=True, validators=_range(20, 250)
    )
    spo2 = models.PositiveSmallIntegerField(
        "SpO₂ (%)", null=True, blank=True, validators=_range(50, 100)
    )
    respiratory_rate = models.PositiveSmallIntegerField(
        "respiratory rate (/min)", null=True, blank=True, validators=_range(2, 60)
    )
    pregnancy_test = models.CharField(
        max_length=16, choices=PregnancyTest.choices, default=PregnancyTest.NOT_APPLICABLE
    )
    suicide_risk = models.CharField(
        "C-SSRS risk level", max_length=10, choices=SuicideRisk.choices, blank=True
    )
    baseline_phq9 = models.PositiveSmallIntegerField(
        "baseline PHQ-9 total", null=True, blank=True, validators=_range(0, 27)
    )
    rems_enrolled_on = models.DateField(
        "REMS enrolment date", null=True, blank=True, help_text="Esketamine only."
    )
    decision = models.CharField(max_length=32, choices=EligibilityDecision.choices, blank=True)
    decision_reason = models.TextField(blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-assessed_on", "-id"]
        # The clinician home's "awaiting your signature": a clinic's unsigned assessments
        # (every prescriber may sign them), oldest first; a small partial index.
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(signed_at__isnull=True),
                name="assessment_unsigned_idx",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(systolic_1__isnull=True)
                | models.Q(diastolic_1__isnull=True)
                | models.Q(systolic_1__gt=models.F("diastolic_1")),
                name="assessment_bp1_systolic_above_diastolic",
            ),
            models.CheckConstraint(
                condition=models.Q(systolic_2__isnull=True)
                | models.Q(diastolic_2__isnull=True)
                | models.Q(systolic_2__gt=models.F("diastolic_2")),
                name="assessment_bp2_systolic_above_diastolic",
            ),
            models.CheckConstraint(
                condition=models.Q(signed_at__isnull=True) | ~models.Q(decision=""),
                name="assessment_signed_has_decision",
            ),
        ]

    def __str__(self):
        return f"Assessment on {self.assessed_on}"

    def signed_payload(self):
        """The checklist's answers are part of what the prescriber signs. A page that has
        read them as stored (`selectors.checklist_answers`, in item order) sets them on
        `loaded_answers` so checking the hash reads nothing again."""
        payload = super().signed_payload()
        loaded = getattr(self, "loaded_answers", None)
        if loaded is not None:
            rows = [(a.item.code, a.answer, a.justification) for a in loaded]
        else:
            rows = self.checklist.answers.order_by("item__position").values_list(
                "item__code", "answer", "justification"
            )
        payload["answers"] = [
            f"{code}={answer}|{justification}" for code, answer, justification in rows
        ]
        return payload

    def clean(self):
        from django.core.exceptions import ValidationError

        errors = {}
        for systolic, diastolic in (("systolic_1", "diastolic_1"), ("systolic_2", "diastolic_2")):
            high, low = getattr(self, systolic), getattr(self, diastolic)
            if high is not None and low is not None and high <= low:
                errors[systolic] = "Systolic must be higher than diastolic; measure again."
        if errors:
            raise ValidationError(errors)
