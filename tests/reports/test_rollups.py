"""The daily roll-ups: equal to the live data, idempotent, re-runnable for any range."""

import datetime
import zoneinfo
from collections import defaultdict

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from clinic.monitoring.models import SideEffectReport, VitalReading
from clinic.pathway.models import AdministrationSession
from clinic.reports import services
from clinic.reports.models import DailyClinicStat, RollupRun
from clinic.reports.selectors import clinic_today, live_daily_rows
from clinic.reports.tasks import build_nightly_rollups
from tests import factories
from tests.reports.conftest import History, local

DAY = datetime.timedelta(days=1)


def expected_rows(clinic, start, end):
    """The figures worked out object by object in plain Python, independently of the
    aggregate queries under test."""
    zone = zoneinfo.ZoneInfo(clinic.timezone)
    rows = defaultdict(lambda: [0, None, None])

    def add(key, value=None):
        rows[key][0] += 1
        if value is not None:
            rows[key][1] = (rows[key][1] or 0) + value
            rows[key][2] = value if rows[key][2] is None else max(rows[key][2], value)

    for session in AdministrationSession.objects.filter(course__patient__clinic=clinic):
        day = session.scheduled_at.astimezone(zone).date()
        if start <= day <= end:
            route = session.route or session.plan.route
            add((day, "sessions", f"{route}:{session.status}"))
    for report in SideEffectReport.objects.filter(course__patient__clinic=clinic):
        day = report.onset_at.astimezone(zone).date()
        if start <= day <= end:
            add((day, "side_effects", f"{report.term}:{report.grade}"))
            if report.serious:
                add((day, "serious_side_effects", report.term))
    for reading in VitalReading.objects.filter(session__course__patient__clinic=clinic):
        day = reading.taken_at.astimezone(zone).date()
        if not (start <= day <= end) or not reading.has_critical or reading.entered_in_error:
            continue
        ack = reading.acknowledgments.first()
        if ack is None:
            add((day, "critical_vitals", "unacknowledged"))
            continue
        seconds = int((ack.acknowledged_at - reading.taken_at).total_seconds())
        add((day, "critical_vitals", "acknowledged"), seconds)
        bucket = "5" if seconds <= 300 else "15" if seconds <= 900 else "60"
        add((day, "ack_latency", bucket if seconds <= 3600 else "later"))
    return {key: list(value) for key, value in rows.items()}


def stored_rows(clinic):
    return {
        (s.day, s.metric, s.dimension): [s.count, s.value_sum, s.value_max]
        for s in DailyClinicStat.objects.filter(clinic=clinic)
    }


@pytest.fixture
def eight_days(history, today, other_clinic):
    first = today - datetime.timedelta(days=7)
    history.days(first, 8, per_day=4)
    # Another clinic's history, which must never count here.
    outsider = History(
        other_clinic,
        factories.make_staff(clinic=other_clinic, role="prescriber"),
        factories.make_staff(clinic=other_clinic, role="nurse"),
    )
    outsider.days(first, 3, per_day=2)
    return first, today


def test_the_roll_up_equals_the_live_aggregate_figure_by_figure(clinic, eight_days):
    first, last = eight_days
    run = services.rollups_build(clinic=clinic, start=first, end=last)
    expected = expected_rows(clinic, first, last)
    # The data covers every dimension the reports split by, so the comparison means something.
    metrics = {key[1] for key in expected}
    assert metrics == {
        "sessions", "side_effects", "serious_side_effects", "critical_vitals", "ack_latency",
    }  # fmt: skip
    assert {key[2].split(":")[0] for key in expected if key[1] == "sessions"} >= {"iv", "im"}
    assert len({key[2] for key in expected if key[1] == "ack_latency"}) >= 3
    assert stored_rows(clinic) == expected
    assert live_daily_rows(clinic, first, last) == expected
    assert run.rows_written == len(expected) and run.clinic == clinic
    assert (run.start, run.end) == (first, last)


def test_a_late_evening_session_counts_on_its_local_day(clinic, history, today):
    day = today - datetime.timedelta(days=3)
    history.session(local(clinic, day, 23, 30), route="iv")  # 04:30 UTC the next day
    services.rollups_build(clinic=clinic, start=day - DAY, end=day + DAY)
    assert stored_rows(clinic) == {(day, "sessions", "iv:discharged"): [1, None, None]}


def test_running_twice_is_idempotent_and_a_rerun_picks_up_changes(clinic, history, today):
    first = today - datetime.timedelta(days=4)
    history.days(first, 5, per_day=3)
    services.rollups_build(clinic=clinic, start=first, end=today)
    once = stored_rows(clinic)
    services.rollups_build(clinic=clinic, start=first, end=today)
    assert stored_rows(clinic) == once
    assert RollupRun.objects.count() == 2
    history.session(local(clinic, first, 10), status="no_show", route="im")
    services.rollups_build(clinic=clinic, start=first, end=today)
    again = stored_rows(clinic)
    assert again == expected_rows(clinic, first, today)
    assert (
        again[(first, "sessions", "im:no_show")][0]
        == once.get((first, "sessions", "im:no_show"), [0])[0] + 1
    )


def test_a_one_day_range_rebuilds_that_day_only(clinic, history, today):
    first = today - datetime.timedelta(days=2)
    history.days(first, 3, per_day=2)
    services.rollups_build(clinic=clinic, start=first, end=today)
    before = stored_rows(clinic)
    middle = first + DAY
    history.session(local(clinic, middle, 12), route="im", status="cancelled")
    history.session(local(clinic, today, 12), route="im", status="cancelled")
    run = services.rollups_build(clinic=clinic, start=middle, end=middle)
    after = stored_rows(clinic)
    key = (middle, "sessions", "im:cancelled")
    assert after[key][0] == before.get(key, [0])[0] + 1
    # Today was not in the range: its new session waits for the next build.
    assert after.get((today, "sessions", "im:cancelled")) == before.get(
        (today, "sessions", "im:cancelled")
    )
    assert run.rows_written == len([k for k in after if k[0] == middle])


def test_an_empty_range_writes_nothing_but_records_the_run(clinic, history, today):
    history.days(today - datetime.timedelta(days=1), 2)
    long_ago = today - datetime.timedelta(days=400)
    run = services.rollups_build(clinic=clinic, start=long_ago, end=long_ago + 6 * DAY)
    assert run.rows_written == 0
    assert not DailyClinicStat.objects.exists()


def test_a_reversed_range_is_refused(clinic, today):
    with pytest.raises(ValidationError):
        services.rollups_build(clinic=clinic, start=today, end=today - DAY)
    assert not RollupRun.objects.exists()


def test_without_a_clinic_every_active_clinic_is_built(clinic, eight_days, other_clinic):
    first, last = eight_days
    run = services.rollups_build(start=first, end=last)
    assert run.clinic is None
    assert stored_rows(clinic) == expected_rows(clinic, first, last)
    assert stored_rows(other_clinic) == expected_rows(other_clinic, first, last)
    assert stored_rows(other_clinic)


def test_the_nightly_task_builds_yesterday_and_today_of_each_clinic(clinic, history, today):
    history.days(today - datetime.timedelta(days=3), 4, per_day=2)
    build_nightly_rollups.delay()
    run = RollupRun.objects.get(clinic=clinic)
    assert (run.start, run.end) == (today - DAY, today) == (clinic_today(clinic) - DAY, today)
    assert {key[0] for key in stored_rows(clinic)} == {today - DAY, today}
    assert stored_rows(clinic) == expected_rows(clinic, today - DAY, today)


def test_the_command_rebuilds_any_range(clinic, history, today):
    history.days(today - datetime.timedelta(days=9), 10)
    start = (today - datetime.timedelta(days=9)).isoformat()
    call_command(
        "rollup_reports", "--start", start, "--end", today.isoformat(),
        "--clinic", str(clinic.public_id),
    )  # fmt: skip
    assert stored_rows(clinic) == expected_rows(clinic, today - datetime.timedelta(days=9), today)
    with pytest.raises(CommandError, match="No clinic"):
        call_command("rollup_reports", "--start", start, "--end", start, "--clinic", "nope")
    with pytest.raises(CommandError, match="on or after"):
        call_command("rollup_reports", "--start", today.isoformat(), "--end", start)
