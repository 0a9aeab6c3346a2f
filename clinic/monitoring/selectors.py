"""Reads of vitals and side effects for a session the caller already fetched through an
access-checked selector, and the reading schedule a session runner shows."""

import datetime
from dataclasses import dataclass

from django.db.models import FilteredRelation
from django.utils import timezone

from clinic.monitoring.limits import Vital
from clinic.monitoring.models import ReadingPhase, SideEffectReport
from clinic.pathway.models import Drug, SessionStatus

# DOMAIN.md §4.1 (default; confirm clinically): on time within 5 minutes of the plan.
ON_TIME_MINUTES = 5
POST_DOSE_INTERVAL_MINUTES = 15
BP_PEAK_MINUTES = 40
SCHEDULE_HORIZON_MINUTES = 180


def readings_with_acknowledgment(session):
    """The session's readings by time, in one query, as a list: each reading's acknowledgment (a
    reading has one at most, `one_acknowledgment_per_reading`) and who gave it come by a
    join, on `reading.acknowledgment` (None when there is none)."""
    readings = list(
        session.readings.annotate(ack=FilteredRelation("acknowledgments"))
        .select_related("entered_by", "ack__acknowledged_by")
        .order_by("taken_at", "id")
    )
    for reading in readings:
        reading.acknowledgment = getattr(reading, "ack", None)
    return readings


def side_effects_for_session(session):
    return SideEffectReport.objects.filter(session=session).select_related("reporter")


@dataclass(frozen=True)
class PlannedReading:
    at: datetime.datetime
    phase: str
    label: str
    state: str  # "done", "due", "overdue", "upcoming"


def reading_schedule(session, readings, *, now=None):
    """The readings the plan asks for, timed against the dose start (DOMAIN.md §4.1), each
    marked done (a reading within 5 minutes), due now, overdue or upcoming."""
    now = now or timezone.now()
    start = session.dose_started_at
    if start is None:
        return []
    plan = session.plan
    interval = plan.monitoring_interval_minutes
    planned = []
    dose_end = session.dose_ended_at or (
        start + datetime.timedelta(minutes=plan.infusion_minutes or 0)
    )
    minute = interval
    while start + datetime.timedelta(minutes=minute) <= dose_end:
        planned.append((minute, ReadingPhase.INTRA, f"{minute} min"))
        minute += interval
    near_peak = any(abs(m - BP_PEAK_MINUTES) <= ON_TIME_MINUTES for m, _, _ in planned)
    if (plan.drug == Drug.ESKETAMINE or session.route == "iv") and not near_peak:
        planned.append((BP_PEAK_MINUTES, ReadingPhase.POST, "40 min (BP peak)"))
    last = max([m for m, _, _ in planned] + [int((dose_end - start).total_seconds() // 60)])
    minute = last + POST_DOSE_INTERVAL_MINUTES
    finished = session.status in (SessionStatus.READY_FOR_DISCHARGE, SessionStatus.DISCHARGED)
    while minute <= SCHEDULE_HORIZON_MINUTES and not finished:
        planned.append((minute, ReadingPhase.POST, f"{minute} min"))
        minute += POST_DOSE_INTERVAL_MINUTES
    taken = [r.taken_at for r in readings if not r.entered_in_error and r.phase != "baseline"]
    window = datetime.timedelta(minutes=ON_TIME_MINUTES)
    schedule = []
    for minute, phase, label in sorted(planned):
        at = start + datetime.timedelta(minutes=minute)
        if any(abs(taken_at - at) <= window for taken_at in taken):
            state = "done"
        elif now > at + window:
            state = "overdue"
        elif now >= at - window:
            state = "due"
        else:
            state = "upcoming"
        schedule.append(PlannedReading(at=at, phase=phase, label=label, state=state))
    return schedule


def chart_series(session, readings):
    """Minutes from dose start (or from the first reading) and values, for the readings chart."""
    valid = [r for r in readings if not r.entered_in_error]
    origin = session.dose_started_at or (valid[0].taken_at if valid else None)
    series = {vital: [] for vital in (Vital.SYSTOLIC, Vital.DIASTOLIC, Vital.HEART_RATE,
                                      Vital.SPO2)}  # fmt: skip
    for reading in valid:
        minute = round((reading.taken_at - origin).total_seconds() / 60)
        for vital in series:
            value = getattr(reading, vital)
            if value is not None:
                series[vital].append({"x": minute, "y": int(value)})
    return {"labels": {v: Vital(v).label for v in series}, "series": series}
