"""Rating-scale responses, their schedules, the mood journal, safety alerts and reminders.

Scores are computed on the server from item answers (`instruments.score`); a submitted
response or journal entry is never changed (database triggers refuse it); a patient adds a
correction note (`core.Addendum`) instead.
"""

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from clinic.core.history import track_changes
from clinic.core.models import PublicModel

DEFAULT_CRISIS_RESOURCES = (
    "If you are thinking about harming yourself, or you feel unsafe right now:\n"
    "• Call or text 988, the Suicide & Crisis Lifeline, at any time of day or night.\n"
    "• Call 911 or go to the nearest emergency department if you are in immediate danger.\n"
    "• You can also call the clinic; we will get back to you the same day."
)
DEFAULT_JOURNAL_TAGS = [
    "treatment day",
    "therapy",
    "conflict",
    "alcohol",
    "exercise",
    "missed medication",
    "nausea",
    "headache",
    "urinary symptoms",
]
JOURNAL_NOTE_MAX = 2000
JOURNAL_BACKFILL_DAYS = 2
DEFAULT_REMINDER_TIME = datetime.time(19, 0)

zero_to_ten = [MinValueValidator(0), MaxValueValidator(10)]


def validate_half_hours(value):
    if value is not None and (value * 2) % 1:
        raise ValidationError("Use whole or half hours, e.g. 6.5.")


def default_journal_tags():
    return list(DEFAULT_JOURNAL_TAGS)


@track_changes
class ClinicMeasureSettings(PublicModel):
    """Per-clinic choices about measures: crisis text, licensed instruments, journal tags."""

    clinic = models.OneToOneField(
        "patients.Clinic", on_delete=models.PROTECT, related_name="measure_settings"
    )
    crisis_resources = models.TextField(
        default=DEFAULT_CRISIS_RESOURCES,
        help_text="Shown to a patient at once when an answer suggests they may be at risk.",
    )
    licensed_instruments = models.JSONField(
        default=list,
        blank=True,
        help_text="Codes of instruments whose licence terms the clinic has confirmed.",
    )
    journal_tags = models.JSONField(default=default_journal_tags, blank=True)

    class Meta:
        verbose_name = "clinic measure settings"
        verbose_name_plural = "clinic measure settings"
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(crisis_resources=""), name="measure_settings_crisis_not_blank"
            ),
        ]

    def __str__(self):
        return f"Measure settings of {self.clinic}"

    def enabled_codes(self):
        from clinic.measures import instruments

        licensed = set(self.licensed_instruments or [])
        return [
            instrument.code
            for instrument in instruments.all_instruments()
            if instrument.enabled_by_default or instrument.code in licensed
        ]

    def clean(self):
        super().clean()
        from clinic.measures import instruments

        unknown = sorted(set(self.licensed_instruments or []) - set(instruments.codes()))
        if unknown:
            raise ValidationError({"licensed_instruments": f"Unknown instruments: {unknown}."})
        if not self.crisis_resources.strip():
            raise ValidationError({"crisis_resources": "Patients at risk must be shown these."})


class Mode(models.TextChoices):
    SELF = "self", "Self-report"
    ASSISTED = "assisted", "Self-report with staff help"
    PROXY = "proxy", "Answered by a proxy"
    CLINICIAN = "clinician", "Clinician-rated"


class Timepoint(models.TextChoices):
    BASELINE = "baseline", "Baseline"
    PRE_SESSION = "pre_session", "Before a session"
    POST_SESSION = "post_session", "After a session"
    FOLLOW_UP = "follow_up", "Follow-up"
    SCHEDULED = "scheduled", "Scheduled"
    AD_HOC = "ad_hoc", "Unscheduled"


@track_changes
class InstrumentResponse(PublicModel):
    """One completed questionnaire or clinician rating, scored on the server; read-only."""

    Mode = Mode
    Timepoint = Timepoint

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="instrument_responses"
    )
    course = models.ForeignKey(
        "pathway.TreatmentCourse",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="instrument_responses",
    )
    session = models.ForeignKey(
        "pathway.AdministrationSession",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="instrument_responses",
    )
    instrument_code = models.CharField(max_length=16)
    instrument_version = models.CharField(max_length=80)
    answers = models.JSONField(help_text="Item answers in item order.")
    total = models.SmallIntegerField()
    band = models.CharField(max_length=40, blank=True)
    safety_alert = models.BooleanField(default=False)
    subscales = models.JSONField(default=dict, blank=True)
    flags = models.JSONField(default=dict, blank=True)
    mode = models.CharField(max_length=10, choices=Mode.choices)
    timepoint = models.CharField(max_length=12, choices=Timepoint.choices)
    completed_at = models.DateTimeField(default=timezone.now)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submission_key = models.UUIDField(
        unique=True, help_text="Sent with the form, so a double tap or a resend saves once."
    )

    class Meta:
        ordering = ["-completed_at", "-id"]
        indexes = [
            models.Index(
                fields=["patient", "instrument_code", "-completed_at"],
                name="response_patient_code_time",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(total__gte=0), name="response_total_min"),
            models.CheckConstraint(
                condition=models.Q(mode__in=Mode.values), name="response_mode_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(timepoint__in=Timepoint.values),
                name="response_timepoint_valid",
            ),
        ]

    def __str__(self):
        return f"{self.instrument_code} {self.total} ({self.completed_at:%Y-%m-%d})"

    @property
    def instrument(self):
        from clinic.measures import instruments

        return instruments.get(self.instrument_code)

    def item_rows(self):
        """(item, answer, option label) for display, in item order."""
        rows = []
        for item, answer in zip(self.instrument.items, self.answers, strict=False):
            label = next((o.label for o in item.options if o.value == answer), "")
            rows.append((item, answer, label))
        return rows


@track_changes
class MoodJournalEntry(PublicModel):
    """A patient's daily mood journal entry; one a day, read-only once submitted."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="journal_entries"
    )
    entry_date = models.DateField(help_text="The patient's local date the entry is about.")
    mood = models.PositiveSmallIntegerField(validators=zero_to_ten)
    energy = models.PositiveSmallIntegerField(validators=zero_to_ten)
    anxiety = models.PositiveSmallIntegerField(validators=zero_to_ten)
    sleep_hours = models.DecimalField(
        max_digits=3,
        decimal_places=1,
        validators=[
            MinValueValidator(Decimal("0")),
            MaxValueValidator(Decimal("24")),
            validate_half_hours,
        ],
    )
    sleep_quality = models.PositiveSmallIntegerField(null=True, blank=True, validators=zero_to_ten)
    tags = models.JSONField(default=list, blank=True)
    note = models.TextField(blank=True, validators=[MaxLengthValidator(JOURNAL_NOTE_MAX)])
    safety_thoughts = models.BooleanField("thoughts of harming yourself today", default=False)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submission_key = models.UUIDField(unique=True)

    class Meta:
        ordering = ["-entry_date", "-id"]
        verbose_name_plural = "mood journal entries"
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "entry_date"], name="journal_one_entry_per_day"
            ),
            models.CheckConstraint(
                condition=models.Q(mood__lte=10, energy__lte=10, anxiety__lte=10),
                name="journal_scores_in_range",
            ),
            models.CheckConstraint(
                condition=models.Q(sleep_hours__gte=0, sleep_hours__lte=24),
                name="journal_sleep_hours_in_range",
            ),
            models.CheckConstraint(
                condition=models.Q(sleep_quality__isnull=True) | models.Q(sleep_quality__lte=10),
                name="journal_sleep_quality_in_range",
            ),
        ]

    def __str__(self):
        return f"Journal {self.entry_date}: mood {self.mood}"


class AlertSource(models.TextChoices):
    QUESTIONNAIRE = "questionnaire", "Questionnaire answer"
    JOURNAL = "journal", "Mood journal"
    WORSENING = "worsening", "Worsening score"
    CLINICIAN_SCALE = "clinician_scale", "Clinician rating"


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACTIONED = "actioned", "Action recorded"


class AlertAction(models.TextChoices):
    CONTACTED = "contacted", "Contacted the patient and assessed risk"
    SAFETY_PLAN = "safety_plan", "Reviewed the safety plan with the patient"
    VISIT = "visit", "Arranged an urgent visit"
    EMERGENCY = "emergency", "Sent the patient to emergency care"
    PRESCRIBER_REVIEW = "prescriber_review", "Prescriber reviewed; treatment held"
    NO_RISK = "no_risk", "Reviewed; no current risk found"


@track_changes
class SafetyAlert(PublicModel):
    """An answer that suggests risk. Stays open until a clinician records what they did."""

    Source = AlertSource
    Status = AlertStatus
    Action = AlertAction

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="safety_alerts"
    )
    source = models.CharField(max_length=16, choices=AlertSource.choices)
    instrument_code = models.CharField(max_length=16, blank=True)
    response = models.ForeignKey(
        InstrumentResponse,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="safety_alerts",
    )
    journal_entry = models.ForeignKey(
        MoodJournalEntry,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="safety_alerts",
    )
    reason = models.CharField(max_length=300)
    submission_key = models.UUIDField(
        null=True,
        blank=True,
        db_index=True,
        help_text="The form that raised it, so that sending the form again raises nothing new.",
    )
    raised_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=AlertStatus.choices, default="open")
    action = models.CharField(max_length=20, choices=AlertAction.choices, blank=True)
    action_note = models.TextField(blank=True)
    actioned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    actioned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        indexes = [models.Index(fields=["status", "-raised_at"], name="alert_status_time")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=AlertStatus.values), name="alert_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status="open", actioned_by__isnull=True, action="")
                | (
                    models.Q(
                        status="actioned", actioned_by__isnull=False, actioned_at__isnull=False
                    )
                    & ~models.Q(action="")
                ),
                name="alert_actioned_has_action",
            ),
        ]

    def __str__(self):
        return f"Safety alert for {self.patient}: {self.reason}"

    @property
    def is_open(self):
        return self.status == AlertStatus.OPEN


class ScheduleTiming(models.TextChoices):
    BASELINE = "baseline", "At baseline"
    SESSIONS = "sessions", "Before sessions"
    END_OF_INDUCTION = "end_of_induction", "At the end of induction"
    FOLLOW_UP = "follow_up", "At each follow-up"
    INTERVAL = "interval", "Every N days in maintenance"


@track_changes
class ScheduleRule(PublicModel):
    """When one instrument is due during one course."""

    Timing = ScheduleTiming

    course = models.ForeignKey(
        "pathway.TreatmentCourse", on_delete=models.PROTECT, related_name="measure_rules"
    )
    instrument_code = models.CharField(max_length=16)
    timing = models.CharField(max_length=20, choices=ScheduleTiming.choices)
    every_n_sessions = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    interval_days = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(7), MaxValueValidator(180)]
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["instrument_code", "timing"]
        constraints = [
            models.UniqueConstraint(
                fields=["course", "instrument_code", "timing"],
                condition=models.Q(is_active=True),
                name="schedule_rule_unique_active",
            ),
            models.CheckConstraint(
                condition=~models.Q(timing="sessions") | models.Q(every_n_sessions__gte=1),
                name="schedule_rule_sessions_need_n",
            ),
            models.CheckConstraint(
                condition=~models.Q(timing="interval") | models.Q(interval_days__gte=7),
                name="schedule_rule_interval_needs_days",
            ),
        ]

    def __str__(self):
        return f"{self.instrument_code} {self.describe()}"

    def describe(self):
        if self.timing == ScheduleTiming.SESSIONS:
            if self.every_n_sessions == 1:
                return "before every session"
            return f"before every {self.every_n_sessions}th session (from the first)"
        if self.timing == ScheduleTiming.INTERVAL:
            return f"every {self.interval_days} days in maintenance"
        return self.get_timing_display().lower()

    def clean(self):
        super().clean()
        from clinic.measures import instruments

        if self.instrument_code not in instruments.codes():
            raise ValidationError({"instrument_code": "Choose an instrument from the list."})
        if self.timing == ScheduleTiming.SESSIONS and not self.every_n_sessions:
            raise ValidationError({"every_n_sessions": "Say how often, e.g. 1 for every session."})
        if self.timing == ScheduleTiming.INTERVAL and not self.interval_days:
            raise ValidationError({"interval_days": "Say how many days apart, e.g. 28."})


class DueStatus(models.TextChoices):
    OPEN = "open", "Due"
    COMPLETED = "completed", "Completed"
    MISSED = "missed", "Missed"
    CANCELLED = "cancelled", "No longer needed"


class MeasureDue(PublicModel):
    """One occasion on which an instrument is due, derived from the course's rules."""

    Status = DueStatus

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="measures_due"
    )
    course = models.ForeignKey(
        "pathway.TreatmentCourse", on_delete=models.PROTECT, related_name="measures_due"
    )
    rule = models.ForeignKey(ScheduleRule, on_delete=models.PROTECT, related_name="due_items")
    instrument_code = models.CharField(max_length=16)
    slot = models.CharField(max_length=64, help_text="What the occasion is, e.g. a session id.")
    label = models.CharField(max_length=120)
    due_on = models.DateField()
    status = models.CharField(max_length=10, choices=DueStatus.choices, default=DueStatus.OPEN)
    response = models.ForeignKey(
        InstrumentResponse, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    last_reminded_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["due_on", "instrument_code"]
        indexes = [models.Index(fields=["status", "due_on"], name="due_status_date")]
        constraints = [
            models.UniqueConstraint(
                fields=["course", "instrument_code", "slot"], name="due_unique_slot"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=DueStatus.values), name="due_status_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="completed") | models.Q(response__isnull=False),
                name="due_completed_has_response",
            ),
        ]

    def __str__(self):
        return f"{self.instrument_code} due {self.due_on} ({self.get_status_display()})"


class ReminderPreference(models.Model):
    """How a patient wants to be reminded; they change it in the portal."""

    patient = models.OneToOneField(
        "patients.Patient", on_delete=models.PROTECT, related_name="reminder_preference"
    )
    journal_enabled = models.BooleanField("remind me to write my journal", default=True)
    journal_time = models.TimeField("at", default=DEFAULT_REMINDER_TIME)
    questionnaires_enabled = models.BooleanField(
        "remind me of questionnaires that are due", default=True
    )
    visits_enabled = models.BooleanField("remind me of follow-up visits", default=True)
    journal_paused_on = models.DateField(
        null=True,
        blank=True,
        help_text="Set after three missed days; cleared by the next entry.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Reminders for {self.patient}"


class ReminderKind(models.TextChoices):
    JOURNAL = "journal", "Mood journal"
    QUESTIONNAIRE = "questionnaire", "Questionnaire due"
    VISIT = "visit", "Follow-up visit"
    JOURNAL_LAPSE = "journal_lapse", "Journal reminders stopped"


class ReminderSent(models.Model):
    """The record that makes reminders idempotent: one row per reminder, ever, keyed by what
    it is about; a second run of the task finds the row and sends nothing."""

    Kind = ReminderKind

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="reminders_sent"
    )
    kind = models.CharField(max_length=16, choices=ReminderKind.choices)
    key = models.CharField(max_length=80)
    sent_at = models.DateTimeField(default=timezone.now)
    email = models.ForeignKey(
        "core.OutboundEmail", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="reminder_sent_once"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} reminder {self.key}"
