"""Reads behind the admin reports: the live daily aggregate the roll-ups store, and the
figures of each report page for one clinic and date range.

Every page function issues a fixed number of queries whatever the data size: aggregates are
grouped in the database (or over one day's rows, for today's live figures), lists are
bounded, and each page writes one audit event for what it showed.
"""

import datetime
import zoneinfo
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from statistics import median

from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    DateTimeField,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, NullIf, TruncDate
from django.utils import timezone

from clinic.accounts.roles import StaffRole
from clinic.core.audit import record_access
from clinic.core.models import AccessEvent
from clinic.ledger import selectors as ledger_selectors
from clinic.ledger.models import LATE_AFTER, EntryType, LedgerEntry
from clinic.ledger.selectors import ZERO, Totals
from clinic.measures import instruments
from clinic.measures.models import DueStatus, InstrumentResponse, MeasureDue, SafetyAlert
from clinic.measures.selectors import baseline_for
from clinic.monitoring.models import Grade, SideEffectReport, SideEffectTerm, VitalReading
from clinic.pathway.models import (
    CLOSED_COURSE_STATUSES,
    DOSED_SESSION_STATUSES,
    AdministrationSession,
    CourseStatus,
    FollowUp,
    FollowUpStatus,
    Route,
    SessionStatus,
    TreatmentCourse,
)
from clinic.patients.models import Clinic
from clinic.patients.selectors import clinic_ids_for_user
from clinic.reports.forms import EARLIEST_DAY
from clinic.reports.models import DailyClinicStat, Metric, RollupRun

ACKNOWLEDGED = "acknowledged"
UNACKNOWLEDGED = "unacknowledged"
# Upper bounds in seconds of the acknowledgement-latency buckets; None is "longer".
ACK_BUCKETS = (("5", 5 * 60), ("15", 15 * 60), ("60", 60 * 60), ("later", None))
ACK_BUCKET_LABELS = {
    "5": "within 5 min",
    "15": "5 to 15 min",
    "60": "15 to 60 min",
    "later": "over an hour",
}
SERIOUS_EVENTS_SHOWN = 50
NOT_HELD = (SessionStatus.CANCELLED, SessionStatus.NO_SHOW)


def _rollup_runs_for(clinic):
    """The roll-up builds that cover `clinic` (a Clinic or an OuterRef to one): its own and
    those of every clinic at once."""
    return RollupRun.objects.filter(Q(clinic=clinic) | Q(clinic__isnull=True))


def admin_clinics(user, *, with_freshness=False):
    """The active clinics `user` administers, by name. With `with_freshness` each also
    carries, read in the same query, what `freshness` needs of its roll-up builds: the last
    day they covered (`rollup_covered_through`) and when the last one finished
    (`rollup_last_run_at`); both None before the first build."""
    clinics = Clinic.objects.filter(
        pk__in=clinic_ids_for_user(user, roles=[StaffRole.ADMIN]), is_active=True
    )
    if with_freshness:
        runs = _rollup_runs_for(OuterRef("pk")).order_by()
        clinics = clinics.annotate(
            rollup_covered_through=Subquery(runs.order_by("-end").values("end")[:1]),
            rollup_last_run_at=Subquery(
                runs.order_by("-finished_at", "-id").values("finished_at")[:1]
            ),
        )
    return list(clinics.order_by("name", "id"))


def clinic_zone(clinic):
    return zoneinfo.ZoneInfo(clinic.timezone)


def clinic_today(clinic):
    return timezone.localdate(timezone=clinic_zone(clinic))


def local_bounds(clinic, start, end):
    """[start 00:00, the day after end 00:00) in the clinic's time zone."""
    zone = clinic_zone(clinic)
    return (
        datetime.datetime.combine(start, datetime.time.min, tzinfo=zone),
        datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone),
    )


def ack_bucket(seconds):
    for name, limit in ACK_BUCKETS:
        if limit is None or seconds <= limit:
            return name
    raise AssertionError("the last bucket has no limit")


# --- the daily aggregate ---------------------------------------------------------------------


def _live_rows_query(clinic, since, until):
    """The clinical rows behind one clinic's daily figures over [since, until), as one
    UNION ALL of three reads, each what it would be alone (PostgreSQL runs them one after
    the other): sessions counted by local day, booked route and status; side effects by
    local day, term and grade; and each critical reading with its acknowledgement time.
    Columns: kind, day, a, b, n, serious, taken_at, acknowledged_at (unused ones NULL, cast
    so that every branch names the same types)."""
    zone = clinic_zone(clinic)
    no_text = Cast(Value(None), CharField())
    no_time = Cast(Value(None), DateTimeField())
    columns = ("kind", "day", "a", "b", "n", "serious", "taken_at_", "acknowledged_at_")
    sessions = (
        AdministrationSession.objects.filter(
            course__patient__clinic=clinic, scheduled_at__gte=since, scheduled_at__lt=until
        )
        .order_by()
        # Before dosing a session has no route of its own: the plan's is the one booked.
        .annotate(
            kind=Value(Metric.SESSIONS, output_field=CharField()),
            day=TruncDate("scheduled_at", tzinfo=zone),
            a=Coalesce(NullIf("route", Value("")), F("plan__route")),
            b=F("status"),
        )
        .values("kind", "day", "a", "b")
        .annotate(
            n=Count("id"),
            serious=Value(0, output_field=IntegerField()),
            taken_at_=no_time,
            acknowledged_at_=no_time,
        )
        .values_list(*columns)
    )
    side_effects = (
        SideEffectReport.objects.filter(
            course__patient__clinic=clinic, onset_at__gte=since, onset_at__lt=until
        )
        .order_by()
        .annotate(
            kind=Value(Metric.SIDE_EFFECTS, output_field=CharField()),
            day=TruncDate("onset_at", tzinfo=zone),
            a=F("term"),
            b=Cast("grade", CharField()),
        )
        .values("kind", "day", "a", "b")
        .annotate(
            n=Count("id"),
            serious=Count("id", filter=Q(serious=True)),
            taken_at_=no_time,
            acknowledged_at_=no_time,
        )
        .values_list(*columns)
    )
    # Latency is worked out in Python rather than in SQL: duration arithmetic differs
    # between PostgreSQL and SQLite, and critical readings are few.
    critical = (
        VitalReading.objects.filter(
            session__course__patient__clinic=clinic,
            has_critical=True,
            entered_in_error=False,
            taken_at__gte=since,
            taken_at__lt=until,
        )
        .order_by()
        .annotate(
            kind=Value(Metric.CRITICAL_VITALS, output_field=CharField()),
            day=Cast(Value(None), DateField()),
            a=no_text,
            b=no_text,
            n=Value(1, output_field=IntegerField()),
            serious=Value(0, output_field=IntegerField()),
            taken_at_=F("taken_at"),
            acknowledged_at_=F("acknowledgments__acknowledged_at"),
        )
        .values_list(*columns)
    )
    return sessions.union(side_effects, critical, all=True)


def live_daily_rows(clinic, start, end):
    """The figures `DailyClinicStat` stores, computed from the clinical tables for the
    clinic-local days `start`..`end`: {(day, metric, dimension): [count, value_sum, value_max]}.
    One query whatever the range."""
    zone = clinic_zone(clinic)
    since, until = local_bounds(clinic, start, end)
    rows = {}

    def add(day, metric, dimension, count=1, value=None):
        row = rows.setdefault((day, metric, dimension), [0, None, None])
        row[0] += count
        if value is not None:
            row[1] = (row[1] or 0) + value
            row[2] = value if row[2] is None else max(row[2], value)

    for kind, day, a, b, n, serious, taken_at, acknowledged_at in _live_rows_query(
        clinic, since, until
    ):
        if kind == Metric.SESSIONS:
            add(day, Metric.SESSIONS, f"{a}:{b}", n)
        elif kind == Metric.SIDE_EFFECTS:
            add(day, Metric.SIDE_EFFECTS, f"{a}:{b}", n)
            if serious:
                add(day, Metric.SERIOUS_SIDE_EFFECTS, a, serious)
        else:
            day = taken_at.astimezone(zone).date()
            if acknowledged_at is None:
                add(day, Metric.CRITICAL_VITALS, UNACKNOWLEDGED)
                continue
            seconds = max(0, int((acknowledged_at - taken_at).total_seconds()))
            add(day, Metric.CRITICAL_VITALS, ACKNOWLEDGED, value=seconds)
            add(day, Metric.ACK_LATENCY, ack_bucket(seconds))
    return rows


def covered_through(clinic):
    """The last day a finished roll-up build covered for `clinic`, or None."""
    return _rollup_runs_for(clinic).aggregate(last=Max("end"))["last"]


def last_run(clinic):
    return _rollup_runs_for(clinic).order_by("-finished_at", "-id").first()


@dataclass
class Freshness:
    last_run_at: datetime.datetime | None
    covered_through: datetime.date | None
    live_from: datetime.date
    today: datetime.date


def freshness(clinic):
    """Which days of `clinic` the stored roll-ups answer and which are counted live; from
    what `admin_clinics(with_freshness=True)` read with the clinic, else queried."""
    today = clinic_today(clinic)
    if hasattr(clinic, "rollup_last_run_at"):
        through, last_run_at = clinic.rollup_covered_through, clinic.rollup_last_run_at
    else:
        through = covered_through(clinic)
        run = last_run(clinic)
        last_run_at = run.finished_at if run else None
    # Today is always live: a build during the day has only part of it. Days no build has
    # reached yet (a new clinic, a stopped beat) are live as well, never shown as zero.
    if through is None:
        live_from = EARLIEST_DAY
    else:
        live_from = min(through + datetime.timedelta(days=1), today)
    return Freshness(last_run_at, through, live_from, today)


def daily_rows(clinic, start, end, fresh):
    """Stored roll-ups for the days before `fresh.live_from`, live figures from then on."""
    rows = {}
    stored_end = min(end, fresh.live_from - datetime.timedelta(days=1))
    if start <= stored_end:
        for stat in DailyClinicStat.objects.filter(
            clinic=clinic, day__gte=start, day__lte=stored_end
        ).values_list("day", "metric", "dimension", "count", "value_sum", "value_max"):
            rows[stat[:3]] = list(stat[3:])
    live_start = max(start, fresh.live_from)
    if live_start <= end:
        rows.update(live_daily_rows(clinic, live_start, end))
    return rows


# --- dashboard --------------------------------------------------------------------------------


def week_of(day):
    return day - datetime.timedelta(days=day.weekday())


@dataclass
class Dashboard:
    clinic: object
    start: datetime.date
    end: datetime.date
    fresh: Freshness
    weeks: list
    routes: list
    session_totals: dict
    side_effect_rows: list
    side_effect_totals: dict
    grades: list
    critical: dict
    serious_events: list
    serious_total: int
    courses_by_status: list
    now: dict
    chart: dict = field(default_factory=dict)


def _sessions_figures(rows, start, end):
    by_week = defaultdict(Counter)
    statuses = Counter()
    for (day, metric, dimension), (count, _sum, _max) in rows.items():
        if metric != Metric.SESSIONS:
            continue
        route, status = dimension.split(":", 1)
        statuses[status] += count
        if status in DOSED_SESSION_STATUSES:
            by_week[week_of(day)][route] += count
    routes = [r for r in Route if any(r.value in week for week in by_week.values())]
    weeks = []
    monday = week_of(start)
    while monday <= end:
        counts = by_week.get(monday, Counter())
        weeks.append(
            {
                "monday": monday,
                "counts": [counts[r.value] for r in routes],
                "total": sum(counts.values()),
            }
        )
        monday += datetime.timedelta(days=7)
    booked = sum(statuses.values())
    dosed = sum(statuses[s] for s in DOSED_SESSION_STATUSES)
    totals = {
        "booked": booked,
        "dosed": dosed,
        "no_show": statuses[SessionStatus.NO_SHOW],
        "cancelled": statuses[SessionStatus.CANCELLED],
        "still_open": booked - dosed - sum(statuses[s] for s in NOT_HELD),
        "no_show_percent": _percent(statuses[SessionStatus.NO_SHOW], booked),
        "cancelled_percent": _percent(statuses[SessionStatus.CANCELLED], booked),
    }
    return weeks, routes, totals


def _percent(part, whole):
    return round(100 * part / whole, 1) if whole else None


def _side_effect_figures(rows):
    by_term = defaultdict(Counter)
    serious = Counter()
    for (_day, metric, dimension), (count, _sum, _max) in rows.items():
        if metric == Metric.SIDE_EFFECTS:
            term, grade = dimension.split(":", 1)
            by_term[term][int(grade)] += count
        elif metric == Metric.SERIOUS_SIDE_EFFECTS:
            serious[dimension] += count
    labels = dict(SideEffectTerm.choices)
    table = [
        {
            "term": term,
            "label": labels.get(term, term),
            "grades": [by_term[term][grade] for grade in Grade.values],
            "total": sum(by_term[term].values()),
            "serious": serious[term],
        }
        for term in SideEffectTerm.values
        if by_term[term]
    ]
    totals = {
        "grades": [sum(row["grades"][i] for row in table) for i in range(len(Grade.values))],
        "total": sum(row["total"] for row in table),
        "serious": sum(serious.values()),
    }
    return table, totals


def duration_text(seconds):
    minutes = seconds / 60
    if minutes < 120:
        return f"{minutes:.1f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 60 / 24:.1f} days"


def _critical_figures(rows):
    total = acknowledged = seconds_sum = 0
    seconds_max = None
    buckets = Counter()
    for (_day, metric, dimension), (count, value_sum, value_max) in rows.items():
        if metric == Metric.CRITICAL_VITALS:
            total += count
            if dimension == ACKNOWLEDGED:
                acknowledged += count
                seconds_sum += value_sum or 0
                if value_max is not None:
                    seconds_max = value_max if seconds_max is None else max(seconds_max, value_max)
        elif metric == Metric.ACK_LATENCY:
            buckets[dimension] += count
    # The bucket holding the 90th centile: the first whose running total reaches 90%.
    p90 = None
    running = 0
    for name, _limit in ACK_BUCKETS:
        running += buckets[name]
        if acknowledged and running * 10 >= acknowledged * 9:
            p90 = ACK_BUCKET_LABELS[name]
            break
    return {
        "total": total,
        "acknowledged": acknowledged,
        "mean_seconds": round(seconds_sum / acknowledged) if acknowledged else None,
        "max_seconds": seconds_max,
        "mean_text": duration_text(seconds_sum / acknowledged) if acknowledged else None,
        "max_text": duration_text(seconds_max) if seconds_max is not None else None,
        "p90": p90,
        "buckets": [
            {"label": ACK_BUCKET_LABELS[name], "count": buckets[name]} for name, _ in ACK_BUCKETS
        ],
    }


NOW_COUNTS = ("overdue_follow_ups", "overdue_questionnaires", "open_alerts")


class RowCount(Subquery):
    """The number of rows of a queryset, as a scalar subquery. Naming no outer column, it is
    computed once per query (PostgreSQL: an InitPlan), with the plan it would have alone."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) counted)"
    output_field = IntegerField()
    empty_result_set_value = 0

    def __init__(self, queryset, **extra):
        super().__init__(queryset.order_by().values("pk"), **extra)


def _current_counts(clinic, since, until, today):
    """How things stand now at `clinic`, in one query of one row: its open courses counted
    by status (one scan of them, as the count grouped by status was) and, as subqueries each
    computed once, its critical readings taken in [since, until) that nobody has acknowledged
    yet and each of `NOW_COUNTS`. Returns ({open status: courses}, unacknowledged readings,
    {name in NOW_COUNTS: count})."""
    open_statuses = [s for s in CourseStatus.values if s not in CLOSED_COURSE_STATUSES]
    unacknowledged = VitalReading.objects.filter(
        session__course__patient__clinic=clinic,
        has_critical=True,
        entered_in_error=False,
        taken_at__gte=since,
        taken_at__lt=until,
        acknowledgments__isnull=True,
    )
    follow_ups = FollowUp.objects.filter(
        course__patient__clinic=clinic, status=FollowUpStatus.SCHEDULED, due_on__lt=today
    )
    questionnaires = MeasureDue.objects.filter(
        patient__clinic=clinic, status=DueStatus.OPEN, due_on__lt=today
    )
    alerts = SafetyAlert.objects.filter(patient__clinic=clinic, status=SafetyAlert.Status.OPEN)
    by_status = {
        f"courses_{status}": Count("pk", filter=Q(status=status)) for status in open_statuses
    }
    others = {
        "unacknowledged": RowCount(unacknowledged),
        "overdue_follow_ups": RowCount(follow_ups),
        "overdue_questionnaires": RowCount(questionnaires),
        "open_alerts": RowCount(alerts),
    }
    row = (
        TreatmentCourse.objects.filter(patient__clinic=clinic)
        .exclude(status__in=CLOSED_COURSE_STATUSES)
        .order_by()
        # Grouped by a constant, that is not at all: one row, even with no open course.
        .annotate(whole_clinic=Value(1))
        .values("whole_clinic")
        .annotate(**by_status, **others)
        .get()
    )
    return (
        {status: row[f"courses_{status}"] for status in open_statuses},
        row["unacknowledged"],
        {name: row[name] for name in NOW_COUNTS},
    )


def dashboard(user, clinic, start, end):
    fresh = freshness(clinic)
    rows = daily_rows(clinic, start, end, fresh)
    weeks, routes, session_totals = _sessions_figures(rows, start, end)
    side_effect_rows, side_effect_totals = _side_effect_figures(rows)
    critical = _critical_figures(rows)
    since, until = local_bounds(clinic, start, end)
    serious_events = list(
        SideEffectReport.objects.filter(
            course__patient__clinic=clinic, serious=True, onset_at__gte=since, onset_at__lt=until
        )
        .select_related("course__patient", "session")
        .order_by("-onset_at", "-id")[:SERIOUS_EVENTS_SHOWN]
    )
    open_courses, critical["unacknowledged_now"], now = _current_counts(
        clinic, since, until, fresh.today
    )
    courses_by_status = [
        {"status": status, "label": label, "count": open_courses[status]}
        for status, label in CourseStatus.choices
        if open_courses.get(status)
    ]
    record_access(
        user=user,
        action=AccessEvent.Action.LIST,
        object_type="report_dashboard",
        clinic=clinic,
        detail=f"{start}..{end}; {len(serious_events)} serious events listed",
    )
    chart = {
        "labels": [week["monday"].isoformat() for week in weeks],
        "datasets": [
            {"label": route.label, "route": route.value, "data": [w["counts"][i] for w in weeks]}
            for i, route in enumerate(routes)
        ],
    }
    return Dashboard(
        clinic=clinic,
        start=start,
        end=end,
        fresh=fresh,
        weeks=weeks,
        routes=routes,
        session_totals=session_totals,
        side_effect_rows=side_effect_rows,
        side_effect_totals=side_effect_totals,
        grades=list(Grade.values),
        critical=critical,
        serious_events=serious_events,
        serious_total=side_effect_totals["serious"],
        courses_by_status=courses_by_status,
        now=now,
        chart=chart,
    )


# --- outcomes ---------------------------------------------------------------------------------


@dataclass
class InstrumentOutcome:
    instrument: object
    courses: int = 0
    with_follow_up: int = 0
    responders: int = 0
    remitters: int = 0
    remission_defined: bool = False
    days_to_response: list = field(default_factory=list)
    sessions_to_response: list = field(default_factory=list)

    @property
    def response_percent(self):
        return _percent(self.responders, self.with_follow_up)

    @property
    def remission_percent(self):
        return _percent(self.remitters, self.with_follow_up) if self.remission_defined else None

    @property
    def median_days(self):
        return median(self.days_to_response) if self.days_to_response else None

    @property
    def median_sessions(self):
        return median(self.sessions_to_response) if self.sessions_to_response else None


def _course_outcome(code, responses, doses, until):
    """(baseline, latest, outcome, first responding response, dose count by then) of one
    course for one instrument, with the measures app's baseline rule and response test."""
    first_dose_at = doses[0]
    baseline = baseline_for(responses, first_dose_at)
    after = [r for r in responses if first_dose_at < r.completed_at < until]
    if baseline is None or not after:
        return baseline, None, None, None, None
    latest = after[-1]
    outcome = instruments.response_status(code, baseline.total, latest.total)
    first_response = next(
        (r for r in after if instruments.response_status(code, baseline.total, r.total).response),
        None,
    )
    doses_by_then = (
        sum(1 for dose in doses if dose <= first_response.completed_at) if first_response else None
    )
    return baseline, latest, outcome, first_response, doses_by_then


def outcomes(user, clinic, start, end):
    """Response and remission of the courses dosed in the range (baseline before each
    course's first dose, latest score up to the end of the range), time to response, and
    dropout (courses discontinued in the range) by the number of sessions given."""
    since, until = local_bounds(clinic, start, end)
    dosed = list(
        AdministrationSession.objects.filter(
            course__patient__clinic=clinic,
            status__in=DOSED_SESSION_STATUSES,
            dose_started_at__isnull=False,
            dose_started_at__lt=until,
        )
        .order_by("dose_started_at", "id")
        .values_list("course_id", "course__patient_id", "course__drug", "dose_started_at")
    )
    doses = defaultdict(list)
    course_patient = {}
    course_drug = {}
    for course_id, patient_id, drug, started in dosed:
        doses[course_id].append(started)
        course_patient[course_id] = patient_id
        course_drug[course_id] = drug
    in_range = [c for c, times in doses.items() if any(since <= t < until for t in times)]
    patient_ids = {course_patient[c] for c in in_range}
    responses = defaultdict(list)
    for response in InstrumentResponse.objects.filter(
        patient_id__in=patient_ids, completed_at__lt=until
    ).order_by("completed_at", "id"):
        responses[(response.patient_id, response.instrument_code)].append(response)

    rows = {}
    by_drug = defaultdict(lambda: Counter())
    for instrument in instruments.all_instruments():
        rows[instrument.code] = InstrumentOutcome(
            instrument, remission_defined=instrument.remission_max is not None
        )
    for course_id in in_range:
        patient_id = course_patient[course_id]
        for instrument in instruments.all_instruments():
            series = responses.get((patient_id, instrument.code))
            if not series:
                continue
            baseline, _latest, outcome, first_response, doses_by_then = _course_outcome(
                instrument.code, series, doses[course_id], until
            )
            if baseline is None:
                continue
            row = rows[instrument.code]
            row.courses += 1
            if outcome is None:
                continue
            row.with_follow_up += 1
            row.responders += bool(outcome.response)
            row.remitters += bool(outcome.remission)
            if first_response is not None:
                started = doses[course_id][0]
                row.days_to_response.append((first_response.completed_at - started).days)
                row.sessions_to_response.append(doses_by_then)
            if instrument.code == "PHQ-9":
                counts = by_drug[course_drug[course_id]]
                counts["with_follow_up"] += 1
                counts["responders"] += bool(outcome.response)
                counts["remitters"] += bool(outcome.remission)
    instrument_rows = [row for row in rows.values() if row.courses]

    dropouts = Counter(
        TreatmentCourse.objects.filter(
            patient__clinic=clinic,
            status=CourseStatus.DISCONTINUED,
            status_changed_at__gte=since,
            status_changed_at__lt=until,
        )
        .annotate(given=Count("sessions", filter=Q(sessions__status__in=DOSED_SESSION_STATUSES)))
        .values_list("given", flat=True)
    )
    dropout_rows = [{"sessions": n, "courses": dropouts[n]} for n in sorted(dropouts)]
    drug_labels = dict(TreatmentCourse._meta.get_field("drug").choices)
    drug_rows = [
        {
            "drug": drug_labels.get(drug, drug),
            "with_follow_up": counts["with_follow_up"],
            "response_percent": _percent(counts["responders"], counts["with_follow_up"]),
            "remission_percent": _percent(counts["remitters"], counts["with_follow_up"]),
        }
        for drug, counts in sorted(by_drug.items())
    ]
    record_access(
        user=user,
        action=AccessEvent.Action.LIST,
        object_type="report_outcomes",
        clinic=clinic,
        detail=f"{start}..{end}; {len(in_range)} courses",
    )
    chart = {
        "instruments": [row.instrument.code for row in instrument_rows],
        "response": [row.response_percent or 0 for row in instrument_rows],
        "remission": [row.remission_percent or 0 for row in instrument_rows],
        "dropout_labels": [str(row["sessions"]) for row in dropout_rows],
        "dropout": [row["courses"] for row in dropout_rows],
    }
    return {
        "courses_dosed": len(in_range),
        "instrument_rows": instrument_rows,
        "drug_rows": drug_rows,
        "dropout_rows": dropout_rows,
        "dropout_total": sum(dropouts.values()),
        "chart": chart,
    }


# --- controlled substances --------------------------------------------------------------------


@dataclass
class LotReconciliation:
    """One lot over the range, in the shape of `ledger.selectors.Reconciliation` (amounts in
    the lot's unit and in mg; outflows positive), plus the recorded balance today against the
    balance the ledger rows add up to, the last count and the draws still open."""

    lot: object
    opening: Totals
    closing: Totals
    received: Totals = field(default_factory=Totals)
    drawn: Totals = field(default_factory=Totals)
    administered: Totals = field(default_factory=Totals)
    wasted: Totals = field(default_factory=Totals)
    returned: Totals = field(default_factory=Totals)
    disposed: Totals = field(default_factory=Totals)
    lost: Totals = field(default_factory=Totals)
    adjusted: Totals = field(default_factory=Totals)
    expected_now: Totals = field(default_factory=Totals)
    wastes: int = 0
    witnessed_wastes: int = 0
    entries: int = 0
    late: int = 0
    open_draws: int = 0
    last_count_at: datetime.datetime | None = None
    last_count_discrepancy_mg: Decimal | None = None

    AMOUNTS = (
        "opening", "closing", "received", "drawn", "administered", "wasted", "returned",
        "disposed", "lost", "adjusted", "expected_now",
    )  # fmt: skip

    def normalise(self):
        """Sums to the ledger's precision (SQLite hands decimal sums back as floats)."""
        places = Decimal("1") if self.lot.is_device else Decimal("0.01")
        for name in self.AMOUNTS:
            totals = getattr(self, name)
            totals.quantity = Decimal(totals.quantity).quantize(places)
            totals.mg = Decimal(totals.mg).quantize(Decimal("0.01"))

    @property
    def balance_differs(self):
        return self.expected_now.mg != self.lot.balance_mg

    @property
    def count_differs(self):
        return bool(self.last_count_discrepancy_mg)

    @property
    def has_discrepancy(self):
        return self.balance_differs or self.count_differs or self.witnessed_wastes < self.wastes


def controlled_substances(user, clinic, start, end):
    """Per-lot reconciliation of the clinic's lots over the range, in four queries whatever
    the number of lots or ledger rows (the ledger's own `reconciliation` is per lot)."""
    since, until = local_bounds(clinic, start, end)
    lots = {lot.pk: lot for lot in ledger_selectors.clinic_lots_for_user(user, clinic)}
    clinic_entries = LedgerEntry.objects.filter(lot__clinic=clinic)
    # Reversals count against the type they reverse, as in the ledger's reconciliation.
    kind = Case(
        When(entry_type=EntryType.REVERSAL, then=F("reverses__entry_type")),
        default=F("entry_type"),
    )
    # One pass over the clinic's ledger rows, grouped by lot and kind: what moved in the
    # range, and the balance-changing sums before it, up to its end and altogether (added up
    # over the kinds below). One scan and one join where two queries each made their own.
    in_range = Q(event_at__gte=since, event_at__lt=until)
    changes = ledger_selectors._changes_balance_q()
    balance_sums = {
        f"{name}_{amount}": Sum(amount, filter=changes & condition)
        for name, condition in (
            ("opening", Q(event_at__lt=since)),
            ("closing", Q(event_at__lt=until)),
            ("all", Q()),
        )
        for amount in ("ml", "units", "mg")
    }
    rows = (
        clinic_entries.annotate(kind=kind)
        .values("lot_id", "kind")
        .annotate(
            range_ml=Sum("ml", filter=in_range),
            range_units=Sum("units", filter=in_range),
            range_mg=Sum("mg", filter=in_range),
            n=Count("id", filter=in_range),
            witnessed=Count("id", filter=in_range & Q(witness__isnull=False)),
            late=Count("id", filter=in_range & Q(recorded_at__gt=F("event_at") + LATE_AFTER)),
            **balance_sums,
        )
    )
    results = {}

    def result_for(lot_id):
        if lot_id not in results:
            results[lot_id] = LotReconciliation(
                lot=lots[lot_id], opening=Totals(), closing=Totals()
            )
        return results[lot_id]

    balances = defaultdict(Counter)
    for row in rows:
        if row["lot_id"] not in lots:
            continue
        lot = lots[row["lot_id"]]
        result = result_for(lot.pk)
        balances[lot.pk].update({name: Decimal(row[name] or 0) for name in balance_sums})
        if not row["n"]:
            continue
        result.entries += row["n"]
        result.late += row["late"]
        if row["kind"] == EntryType.COUNT:
            continue
        bucket = ledger_selectors._BUCKET[row["kind"]]
        sign = -1 if bucket in ledger_selectors._OUTFLOW else 1
        quantity = row["range_units"] if lot.is_device else row["range_ml"]
        getattr(result, bucket).add(
            sign * Decimal(quantity or 0), sign * Decimal(row["range_mg"] or 0)
        )
        if row["kind"] == EntryType.WASTE:
            result.wastes += row["n"]
            result.witnessed_wastes += row["witnessed"]
    for lot_id, sums in balances.items():
        lot, result = lots[lot_id], results[lot_id]
        for name in ("opening", "closing", "all"):
            quantity = sums[f"{name}_units"] if lot.is_device else sums[f"{name}_ml"]
            totals = Totals(Decimal(quantity), Decimal(sums[f"{name}_mg"]))
            setattr(result, "expected_now" if name == "all" else name, totals)
    last_counts = (
        clinic_entries.filter(entry_type=EntryType.COUNT, event_at__lt=until)
        .order_by("lot_id", "-event_at", "-id")
        .values_list("lot_id", "event_at", "discrepancy_mg")
    )
    for lot_id, event_at, discrepancy_mg in last_counts:
        if lot_id in results and results[lot_id].last_count_at is None:
            results[lot_id].last_count_at = event_at
            results[lot_id].last_count_discrepancy_mg = discrepancy_mg
    # The standing draws with drug still to account for (`ledger_selectors.draw_open_mg`
    # above 0: a draw's mg is negative), picked out by the database, not sent over to be.
    open_draws = (
        clinic_entries.filter(entry_type=EntryType.DRAW, reversed_by__isnull=True)
        .annotate(used_mg=Coalesce(Sum("uses__mg"), ZERO))
        .filter(mg__lt=-F("used_mg"))
        .values_list("lot_id", flat=True)
    )
    for lot_id in open_draws:
        if lot_id in results:
            results[lot_id].open_draws += 1
    # Lots with nothing in the range and nothing in stock at its start stay off the report.
    shown = [result for result in results.values() if result.entries or result.opening.mg]
    for result in shown:
        result.normalise()
    shown.sort(key=lambda r: (r.lot.drug, r.lot.expiry_date, r.lot.lot_number, r.lot.pk))
    return {
        "lots": shown,
        "discrepancies": sum(1 for result in shown if result.has_discrepancy),
    }
