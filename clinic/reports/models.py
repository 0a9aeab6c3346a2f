"""Daily roll-ups behind the admin reports.

`DailyClinicStat` holds one figure per clinic, clinic-local day, metric and dimension (for
example sessions on 3 March by route and status "iv:discharged"). Rows are derived data: the
roll-up service deletes and re-inserts a clinic's days in one transaction, so they may be
rebuilt for any range at any time. `RollupRun` records each build, so a page can say how
fresh its figures are.
"""

from django.core.validators import MinValueValidator
from django.db import models


class Metric(models.TextChoices):
    # dimension "route:status"
    SESSIONS = "sessions", "Sessions by route and status"
    # dimension "TERM:grade"
    SIDE_EFFECTS = "side_effects", "Side effects by term and grade"
    # dimension "TERM"
    SERIOUS_SIDE_EFFECTS = "serious_side_effects", "Serious side effects by term"
    # dimension "acknowledged" (value_sum/value_max: seconds to acknowledgement) or
    # "unacknowledged" at the time of the build
    CRITICAL_VITALS = "critical_vitals", "Critical vital readings"
    # dimension: the latency bucket the acknowledgement fell in (ACK_BUCKETS)
    ACK_LATENCY = "ack_latency", "Acknowledgements by time taken"


class DailyClinicStat(models.Model):
    clinic = models.ForeignKey(
        "patients.Clinic", on_delete=models.CASCADE, related_name="daily_stats"
    )
    day = models.DateField(help_text="The clinic's local date.")
    metric = models.CharField(max_length=24, choices=Metric.choices)
    dimension = models.CharField(max_length=48, blank=True)
    count = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    value_sum = models.BigIntegerField(null=True, blank=True)
    value_max = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["clinic", "day", "metric", "dimension"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "day", "metric", "dimension"], name="daily_stat_unique"
            ),
            models.CheckConstraint(condition=models.Q(count__gte=1), name="daily_stat_count_min"),
            models.CheckConstraint(
                condition=models.Q(metric__in=Metric.values), name="daily_stat_metric_valid"
            ),
        ]

    def __str__(self):
        return f"{self.clinic_id} {self.day} {self.metric} {self.dimension}: {self.count}"


class RollupRun(models.Model):
    """One build of the roll-ups: which clinic (blank: all), which days, how long, rows."""

    clinic = models.ForeignKey(
        "patients.Clinic",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="rollup_runs",
    )
    start = models.DateField()
    end = models.DateField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    rows_written = models.PositiveIntegerField()

    class Meta:
        ordering = ["-finished_at", "-id"]
        indexes = [models.Index(fields=["-finished_at"], name="rollup_run_finished")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gte=models.F("start")), name="rollup_run_range_ordered"
            ),
            models.CheckConstraint(
                condition=models.Q(finished_at__gte=models.F("started_at")),
                name="rollup_run_finish_after_start",
            ),
        ]

    def __str__(self):
        return f"Roll-up {self.start} to {self.end} at {self.finished_at:%Y-%m-%d %H:%M}"

    @property
    def duration(self):
        return self.finished_at - self.started_at
