from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from clinic.core.history import track_changes
from clinic.core.models import PublicModel
from clinic.monitoring.limits import CRITICAL_FLAGS, Vital

VITAL_FIELDS = tuple(Vital.values)


@track_changes
class VitalLimit(models.Model):
    """A clinic's own critical and normal limits for one vital (absolute limits stay the
    product's: they guard against typing errors, not clinical judgement)."""

    clinic = models.ForeignKey(
        "patients.Clinic", on_delete=models.PROTECT, related_name="vital_limits"
    )
    vital = models.CharField(max_length=20, choices=Vital.choices)
    critical_below = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    critical_from = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    normal_low = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    normal_high = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic", "vital"], name="vital_limit_unique"),
            models.CheckConstraint(
                condition=models.Q(normal_low__isnull=True)
                | models.Q(normal_high__isnull=True)
                | models.Q(normal_low__lte=models.F("normal_high")),
                name="vital_limit_normal_ordered",
            ),
        ]

    def __str__(self):
        return f"{self.clinic}: {self.get_vital_display()}"


class ReadingPhase(models.TextChoices):
    BASELINE = "baseline", "Baseline"
    INTRA = "intra", "During dosing"
    POST = "post", "After dosing"
    DISCHARGE = "discharge", "Pre-discharge"


@track_changes
class VitalReading(PublicModel):
    """One set of vitals taken together at a time in a session. Never changed: a mistake is
    marked entered-in-error and the reading taken again."""

    session = models.ForeignKey(
        "pathway.AdministrationSession", on_delete=models.PROTECT, related_name="readings"
    )
    phase = models.CharField(max_length=12, choices=ReadingPhase.choices)
    planned_at = models.DateTimeField(null=True, blank=True)
    taken_at = models.DateTimeField(default=timezone.now)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    systolic = models.PositiveSmallIntegerField("systolic (mmHg)", null=True, blank=True)
    diastolic = models.PositiveSmallIntegerField("diastolic (mmHg)", null=True, blank=True)
    heart_rate = models.PositiveSmallIntegerField("heart rate (/min)", null=True, blank=True)
    spo2 = models.PositiveSmallIntegerField("SpO₂ (%)", null=True, blank=True)
    respiratory_rate = models.PositiveSmallIntegerField(
        "respiratory rate (/min)", null=True, blank=True
    )
    temperature_c = models.DecimalField(
        "temperature (°C)", max_digits=3, decimal_places=1, null=True, blank=True
    )
    moaas = models.PositiveSmallIntegerField(
        "MOAA/S", null=True, blank=True, validators=[MaxValueValidator(5)]
    )
    cadss = models.PositiveSmallIntegerField(
        "CADSS total", null=True, blank=True, validators=[MaxValueValidator(92)]
    )
    symptoms = models.CharField(
        max_length=200,
        blank=True,
        help_text="Chest pain, severe headache, new neurological signs, confusion.",
    )
    # Worked out by the server from the clinic's limits when the reading is saved.
    flags = models.JSONField(default=dict, blank=True)
    has_critical = models.BooleanField(default=False)
    entered_in_error = models.BooleanField(default=False)
    entered_in_error_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["taken_at", "id"]
        indexes = [
            models.Index(fields=["session", "taken_at"]),
            # The vitals export streams a clinic's readings oldest first: in this order the
            # first rows arrive at once, where a sort would first read the whole range.
            models.Index(fields=["taken_at", "id"], name="reading_taken_at_idx"),
            models.Index(
                fields=["has_critical"],
                condition=models.Q(has_critical=True),
                name="reading_critical_idx",
            ),
            # The admin dashboard's critical readings of a date range (today's, live; those
            # of the whole range nobody acknowledged): found by time, and with what those
            # queries join and filter on, read from the index alone.
            models.Index(
                fields=["taken_at", "session", "entered_in_error", "id"],
                condition=models.Q(has_critical=True),
                name="reading_critical_taken_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(systolic__isnull=True)
                | models.Q(diastolic__isnull=True)
                | models.Q(systolic__gt=models.F("diastolic")),
                name="reading_systolic_above_diastolic",
            ),
            models.CheckConstraint(
                condition=models.Q(systolic__isnull=True)
                | models.Q(systolic__gte=50, systolic__lte=300),
                name="reading_systolic_plausible",
            ),
            models.CheckConstraint(
                condition=models.Q(diastolic__isnull=True)
                | models.Q(diastolic__gte=20, diastolic__lte=200),
                name="reading_diastolic_plausible",
            ),
            models.CheckConstraint(
                condition=models.Q(heart_rate__isnull=True)
                | models.Q(heart_rate__gte=20, heart_rate__lte=250),
                name="reading_heart_rate_plausible",
            ),
            models.CheckConstraint(
                condition=models.Q(spo2__isnull=True) | models.Q(spo2__gte=50, spo2__lte=100),
                name="reading_spo2_plausible",
            ),
            models.CheckConstraint(
                condition=models.Q(respiratory_rate__isnull=True)
                | models.Q(respiratory_rate__gte=2, respiratory_rate__lte=60),
                name="reading_respiratory_rate_plausible",
            ),
            models.CheckConstraint(
                condition=models.Q(temperature_c__isnull=True)
                | models.Q(temperature_c__gte=30, temperature_c__lte=45),
                name="reading_temperature_plausible",
            ),
            models.CheckConstraint(
                condition=models.Q(moaas__isnull=True) | models.Q(moaas__lte=5),
                name="reading_moaas_plausible",
            ),
            models.CheckConstraint(
                condition=models.Q(cadss__isnull=True) | models.Q(cadss__lte=92),
                name="reading_cadss_plausible",
            ),
        ]

    def __str__(self):
        return f"{self.get_phase_display()} vitals at {self.taken_at:%H:%M}"

    def values(self):
        return {
            name: getattr(self, name) for name in VITAL_FIELDS if getattr(self, name) is not None
        }

    def critical_vitals(self):
        return [vital for vital, flag in self.flags.items() if flag in CRITICAL_FLAGS]


@track_changes
class VitalAcknowledgment(models.Model):
    """A clinician's review of a critical reading: who, when, and what was done."""

    reading = models.ForeignKey(
        VitalReading, on_delete=models.PROTECT, related_name="acknowledgments"
    )
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(default=timezone.now)
    action_taken = models.TextField()

    class Meta:
        ordering = ["acknowledged_at"]
        constraints = [
            models.UniqueConstraint(fields=["reading"], name="one_acknowledgment_per_reading"),
            models.CheckConstraint(
                condition=~models.Q(action_taken=""), name="acknowledgment_action_not_blank"
            ),
        ]

    def __str__(self):
        return f"Acknowledged by {self.acknowledged_by} at {self.acknowledged_at:%H:%M}"


class SideEffectTerm(models.TextChoices):
    """DOMAIN.md §6.1 catalogue."""

    DISSOC = "DISSOC", "Dissociation"
    SEDATION = "SEDATION", "Sedation, somnolence"
    LOC = "LOC", "Loss of consciousness"
    NAUSEA = "NAUSEA", "Nausea, vomiting"
    BP_HR = "BP-HR", "Raised blood pressure or heart rate"
    RESP = "RESP", "Respiratory depression, desaturation"
    DIZZY = "DIZZY", "Dizziness, vertigo"
    HEADACHE = "HEADACHE", "Headache"
    ANXIETY = "ANXIETY", "Anxiety, panic, agitation"
    PSYCHOTIC = "PSYCHOTIC", "Hallucinations, paranoia, disorganised thinking"
    SENSORY = "SENSORY", "Blurred or double vision, numbness, taste change"
    URINARY = "URINARY", "Urinary frequency, urgency, pain, blood"
    SI = "SI", "New or worse suicidal thoughts"
    MISUSE = "MISUSE", "Cravings, drug-seeking, use outside clinic"
    ALLERGY = "ALLERGY", "Allergic or infusion-site reaction"
    FALL = "FALL", "Fall or injury after discharge"
    OTHER = "OTHER", "Other (describe)"


UNEXPECTED_TERMS = {"RESP", "SI", "MISUSE", "ALLERGY", "FALL"}
EMERGENCY_TERMS = {"LOC", "RESP", "SI", "ALLERGY"}


class Grade(models.IntegerChoices):
    MILD = 1, "1 Mild: observation only"
    MODERATE = 2, "2 Moderate: simple treatment; limits instrumental daily activities"
    SEVERE = 3, "3 Severe or medically significant: hospital care or disabling; limits self-care"
    LIFE_THREATENING = 4, "4 Life-threatening: urgent intervention"
    DEATH = 5, "5 Death"


class Relatedness(models.TextChoices):
    NOT_RELATED = "not_related", "Not related"
    UNLIKELY = "unlikely", "Unlikely"
    POSSIBLE = "possible", "Possible"
    PROBABLE = "probable", "Probable"
    CERTAIN = "certain", "Certain"
    NOT_ASSESSABLE = "not_assessable", "Not assessable"


class ActionTaken(models.TextChoices):
    NONE = "none", "None"
    SLOWED = "slowed", "Infusion slowed"
    INTERRUPTED = "interrupted", "Interrupted"
    STOPPED = "stopped", "Stopped"
    NEXT_DOSE_REDUCED = "next_dose_reduced", "Next dose reduced"
    COURSE_SUSPENDED = "course_suspended", "Course suspended"
    COURSE_DISCONTINUED = "course_discontinued", "Course discontinued"
    TREATMENT_GIVEN = "treatment_given", "Treatment given"


class Outcome(models.TextChoices):
    RECOVERED = "recovered", "Recovered"
    RECOVERING = "recovering", "Recovering"
    NOT_RECOVERED = "not_recovered", "Not recovered"
    RECOVERED_WITH_SEQUELAE = "recovered_with_sequelae", "Recovered with sequelae"
    FATAL = "fatal", "Fatal"
    UNKNOWN = "unknown", "Unknown"


class SeriousCriterion(models.TextChoices):
    DEATH = "death", "Death"
    LIFE_THREATENING = "life_threatening", "Life-threatening"
    HOSPITALISATION = "hospitalisation", "Hospitalisation or longer stay"
    DISABILITY = "disability", "Persistent or significant disability"
    CONGENITAL = "congenital", "Congenital anomaly"
    OTHER_IMPORTANT = "other_important", "Other important medical event"


@track_changes
class SideEffectReport(PublicModel):
    """A side effect or adverse event (DOMAIN.md §6.2), in a session or between sessions."""

    course = models.ForeignKey(
        "pathway.TreatmentCourse", on_delete=models.PROTECT, related_name="side_effects"
    )
    session = models.ForeignKey(
        "pathway.AdministrationSession",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="side_effects",
    )
    term = models.CharField(max_length=12, choices=SideEffectTerm.choices)
    other_term = models.CharField(max_length=120, blank=True)
    verbatim = models.TextField(blank=True, help_text="In the patient's words.")
    onset_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    grade = models.PositiveSmallIntegerField(
        choices=Grade.choices, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    serious = models.BooleanField(default=False)
    serious_criteria = models.JSONField(default=list, blank=True)
    relatedness = models.CharField(max_length=16, choices=Relatedness.choices)
    action_taken = models.CharField(max_length=24, choices=ActionTaken.choices)
    treatment_given = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=24, choices=Outcome.choices)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["onset_at", "id"]
        indexes = [models.Index(fields=["course", "onset_at"]), models.Index(fields=["session"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(grade__gte=1, grade__lte=5), name="side_effect_grade_1_to_5"
            ),
            models.CheckConstraint(
                condition=models.Q(resolved_at__isnull=True)
                | models.Q(resolved_at__gte=models.F("onset_at")),
                name="side_effect_resolved_after_onset",
            ),
            models.CheckConstraint(
                condition=~models.Q(grade=5) | (models.Q(outcome="fatal") & models.Q(serious=True)),
                name="side_effect_grade5_fatal_serious",
            ),
            models.CheckConstraint(
                condition=~models.Q(term="OTHER") | ~models.Q(other_term=""),
                name="side_effect_other_described",
            ),
        ]

    def __str__(self):
        return f"{self.term_label} (grade {self.grade})"

    @property
    def term_label(self):
        return self.other_term if self.term == SideEffectTerm.OTHER else self.get_term_display()

    @property
    def expected(self):
        return self.term not in UNEXPECTED_TERMS

    @property
    def needs_immediate_alert(self):
        return self.serious or self.grade >= 3

    @property
    def is_emergency(self):
        return self.grade >= 4 or self.term in EMERGENCY_TERMS
