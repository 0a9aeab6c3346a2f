from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models

from clinic.core.history import track_changes
from clinic.core.models import PublicModel
from clinic.core.signing import SignedNote


class ReferralSource(models.TextChoices):
    SELF = "self", "Self-referred"
    PSYCHIATRIST = "psychiatrist", "Psychiatrist"
    PRIMARY_CARE = "primary_care", "Primary care"
    THERAPIST = "therapist", "Therapist or counsellor"
    HOSPITAL = "hospital", "Hospital or emergency department"
    OTHER = "other", "Other"


class ConsentKind(models.TextChoices):
    OFF_LABEL = "off_label", "Off-label ketamine treatment consent"
    ESKETAMINE_REMS = "esketamine_rems", "Esketamine treatment consent and REMS enrolment"


@track_changes
class Consultation(PublicModel, SignedNote):
    """First visit: referral, history, goals and informed consent (DOMAIN.md §1.2)."""

    SIGNED_FIELDS = (
        "referral_source",
        "referred_by",
        "referral_date",
        "presenting_problem",
        "diagnoses",
        "off_label",
        "psychiatric_history",
        "medical_history",
        "substance_use_history",
        "ketamine_or_pcp_use",
        "current_medications",
        "allergies",
        "prior_treatments",
        "failed_antidepressant_trials",
        "goals",
        "consent_kind",
        "consent_version",
        "consent_signed_on",
        "consent_obtained_by",
        "notes",
    )

    course = models.OneToOneField(
        "pathway.TreatmentCourse", on_delete=models.PROTECT, related_name="consultation"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField(default=1, editable=False)

    referral_source = models.CharField(max_length=16, choices=ReferralSource.choices)
    referred_by = models.CharField(
        max_length=200, blank=True, help_text="Name and practice of the referring clinician."
    )
    referral_date = models.DateField(null=True, blank=True)
    presenting_problem = models.TextField()
    diagnoses = models.TextField(
        blank=True, help_text="Working diagnoses, one per line (ICD-10 code where known)."
    )
    off_label = models.BooleanField(
        default=True, help_text="Treatment would be off-label for this indication."
    )
    psychiatric_history = models.TextField(blank=True)
    medical_history = models.TextField(blank=True)
    substance_use_history = models.TextField(
        blank=True, help_text="Alcohol, cannabis, stimulants, opioids; amounts and dates."
    )
    ketamine_or_pcp_use = models.BooleanField(
        default=False, help_text="Any past non-medical use of ketamine or PCP."
    )
    current_medications = models.TextField(blank=True, help_text="Drug, dose and frequency.")
    allergies = models.TextField(blank=True)
    prior_treatments = models.TextField(
        blank=True,
        help_text="Antidepressant trials (drug, dose, weeks, response), psychotherapy, ECT, TMS.",
    )
    failed_antidepressant_trials = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(30)],
        help_text="Adequate trials without response in this episode.",
    )
    goals = models.TextField(blank=True, help_text="What the patient hopes treatment will change.")
    consent_kind = models.CharField(max_length=20, choices=ConsentKind.choices, blank=True)
    consent_version = models.CharField(
        max_length=40, blank=True, help_text="Version of the consent form signed."
    )
    consent_signed_on = models.DateField(null=True, blank=True)
    consent_obtained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The clinician who took consent.",
    )
    notes = models.TextField(blank=True)

    class Meta:
        # The clinician home's "awaiting your signature": an author's unsigned notes, oldest
        # first. Few notes stay unsigned, so the partial index stays small.
        indexes = [
            models.Index(
                fields=["author", "created_at"],
                condition=models.Q(signed_at__isnull=True),
                name="consultation_unsigned_idx",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(consent_signed_on__isnull=True)
                | (~models.Q(consent_version="") & ~models.Q(consent_kind="")),
                name="consultation_consent_complete",
            ),
        ]

    def __str__(self):
        return f"Consultation for {self.course}"

    @property
    def consent_recorded(self):
        return bool(self.consent_signed_on and self.consent_version and self.consent_kind)
