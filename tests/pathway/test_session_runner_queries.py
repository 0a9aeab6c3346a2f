"""The session runner reads what it shows in at most 8 queries in every state of a session,
and another clinic sees none of it."""

import datetime
import os
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.ledger import selectors as ledger_selectors
from clinic.ledger import services as ledger
from clinic.ledger.models import Lot
from clinic.monitoring import services as monitoring
from clinic.pathway import session_selectors
from clinic.pathway import session_services as ss
from clinic.pathway.demo import walk_course
from clinic.pathway.demo_sessions import demo_past_session
from clinic.pathway.models import Drug
from tests import factories
from tests.factories import PASSWORD
from tests.ledger.conftest import receive
from tests.pathway.sessions import (
    MINUTE,
    book,
    draw_and_account,
    fresh,
    passing_answers,
    run_iv_session,
    to_ready,
)

pytestmark = pytest.mark.django_db


def _monitoring(clinic, prescriber, nurse, lot, *, started_minutes_ago=50, acknowledge=True):
    """An IV session in monitoring: baseline, readings, a critical one (acknowledged unless
    told otherwise), a side effect, the discharge criteria partly answered."""
    session = to_ready(book(clinic, prescriber, nurse), nurse)
    session = ss.session_confirm_dose(session=fresh(session), by=nurse, dose_mg=Decimal("36.0"))
    draw_and_account(session, nurse, prescriber, lot, draw=Decimal("4.00"),
                     give=Decimal("3.60"), waste=Decimal("0.40"))  # fmt: skip
    start = timezone.now() - started_minutes_ago * MINUTE
    ss.session_start_dosing(session=fresh(session), by=nurse, started_at=start)
    critical = monitoring.vital_record(
        session=session, by=nurse, phase="intra", taken_at=start + 10 * MINUTE,
        systolic=182, diastolic=96, heart_rate=88, spo2=96,
    )  # fmt: skip
    if acknowledge:
        monitoring.vital_acknowledge(reading=critical, by=prescriber, action_taken="BP rechecked.")
    monitoring.side_effect_report(
        course=session.course, session=session, by=nurse, term="NAUSEA",
        onset_at=start + 15 * MINUTE, grade=1, relatedness="probable", action_taken="none",
        outcome="recovering", verbatim="Queasy",
    )  # fmt: skip
    ss.session_end_dosing(session=fresh(session), by=nurse, ended_at=start + 40 * MINUTE)
    ss.checklist_answer(session=fresh(session), by=nurse, answers={"DC-MOAAS": "yes"})
    return fresh(session)


def _sessions(clinic, prescriber, nurse):
    lot = receive(
        clinic, prescriber, lot_number="RQ10", concentration="10", container_ml="10", count=5
    )
    receive(clinic, prescriber, lot_number="RQES", drug=Drug.ESKETAMINE, count=6)
    scheduled = book(clinic, prescriber, nurse)
    checked_in = ss.session_check_in(
        session=book(clinic, prescriber, nurse), by=nurse, identity_confirmed=True
    )
    ready = to_ready(book(clinic, prescriber, nurse), nurse)
    dosing = to_ready(book(clinic, prescriber, nurse), nurse)
    dosing = ss.session_confirm_dose(session=fresh(dosing), by=nurse, dose_mg=Decimal("36.0"))
    draw_and_account(dosing, nurse, prescriber, lot, draw=Decimal("4.00"), give=Decimal("3.60"))
    ss.session_start_dosing(session=fresh(dosing), by=nurse)
    monitoring_session = _monitoring(clinic, prescriber, nurse, lot)
    ready_to_leave = _monitoring(clinic, prescriber, nurse, lot, started_minutes_ago=100)
    ss.checklist_answer(
        session=ready_to_leave, by=nurse,
        answers=passing_answers(ready_to_leave.discharge_checklist),
    )  # fmt: skip
    ss.session_ready_for_discharge(session=fresh(ready_to_leave), by=nurse)
    discharged, _ = run_iv_session(book(clinic, prescriber, nurse), nurse, prescriber, lot=lot)
    course = walk_course(
        patient=factories.PatientFactory(clinic=clinic), prescriber=prescriber, nurse=nurse,
        stage="active", drug=Drug.ESKETAMINE,
    )  # fmt: skip
    esketamine = demo_past_session(
        course=course, prescriber=prescriber, nurse=nurse, witness_password=PASSWORD,
        day=timezone.localdate() - datetime.timedelta(days=1), critical=True, side_effect=True,
    )  # fmt: skip
    cancelled = ss.session_cancel(
        session=book(clinic, prescriber, nurse), by=nurse, status="cancelled", reason="Unwell"
    )
    return {
        "scheduled": scheduled,
        "checked_in": checked_in,
        "ready": ready,
        "dosing": dosing,
        "monitoring": monitoring_session,
        "ready_for_discharge": ready_to_leave,
        "discharged": discharged,
        "esketamine": esketamine,
        "cancelled": cancelled,
    }


def test_the_runner_reads_every_session_state_in_at_most_8_queries(
    client, clinic, prescriber, nurse, other_clinician
):
    sessions = _sessions(clinic, prescriber, nurse)
    show = os.environ.get("QUERY_COUNT_SHOW", "")
    counts = {}
    for user in (nurse, prescriber):
        client.force_login(user)
        for state, session in sessions.items():
            runner = reverse("pathway:session_run", args=[session.public_id])
            client.get(runner)  # warm caches (content types)
            with CaptureQueriesContext(connection) as queries:
                response = client.get(runner)
            assert response.status_code == 200, state
            counts[(user.pk, state)] = len(queries)
            if state in show.split(","):
                print(f"\n{state}: {len(queries)}")
                for query in queries.captured_queries:
                    sql = query["sql"]
                    print("  ", sql[:60], "...", sql[sql.find(" FROM ") :][:200])
    # Dosing with a draw still open (the draw form and a waste form) included: the ledger is
    # read with the session.
    over = {key: count for key, count in counts.items() if count > 8}
    assert not over, counts

    client.force_login(other_clinician)
    for session in sessions.values():
        response = client.get(reverse("pathway:session_run", args=[session.public_id]))
        assert response.status_code == 404
        assert session.course.patient.family_name not in response.content.decode()


def test_the_runner_names_a_critical_reading_nobody_acknowledged_until_someone_does(
    client, clinic, prescriber, nurse
):
    lot = receive(clinic, prescriber, lot_number="RQAK", concentration="10", container_ml="10")
    session = _monitoring(clinic, prescriber, nurse, lot, acknowledge=False)
    runner = reverse("pathway:session_run", args=[session.public_id])
    client.force_login(nurse)
    problem = "A critical vital sign is not acknowledged yet."
    assert problem in client.get(runner).content.decode()
    critical = session.readings.get(has_critical=True)
    monitoring.vital_acknowledge(reading=critical, by=prescriber, action_taken="BP rechecked.")
    assert problem not in client.get(runner).content.decode()


def _entry_values(entry):
    return (
        {field.attname: getattr(entry, field.attname) for field in entry._meta.concrete_fields},
        {field.attname: getattr(entry.lot, field.attname) for field in Lot._meta.concrete_fields},
        entry.actor.display_name,
        entry.witness.display_name if entry.witness else None,
    )


def test_the_runner_reads_the_ledger_with_the_session_as_the_ledger_selector_does(
    clinic, prescriber, nurse
):
    lot = receive(clinic, prescriber, lot_number="RQLG", concentration="10", container_ml="10")
    other = receive(clinic, prescriber, lot_number="RQLH", concentration="50", container_ml="10")
    session = to_ready(book(clinic, prescriber, nurse), nurse)
    session = ss.session_confirm_dose(session=fresh(session), by=nurse, dose_mg=Decimal("36.0"))
    # A draw reversed after its administration was; a draw partly used, one of its uses
    # reversed; a draw of another lot, wasted in full; and a draw nothing was used of yet.
    mistaken = draw_and_account(session, nurse, prescriber, lot, draw=Decimal("1.00"),
                                give=Decimal("1.00"))  # fmt: skip
    ledger.reverse(entry=mistaken.uses.get(), actor=nurse, reason="Wrong draw")
    ledger.reverse(entry=mistaken, actor=nurse, reason="Wrong draw")
    kept = draw_and_account(session, nurse, prescriber, lot, draw=Decimal("4.00"),
                            give=Decimal("2.50"), waste=Decimal("0.33"))  # fmt: skip
    ledger.reverse(entry=kept.uses.get(entry_type="waste"), actor=nurse, reason="Miscounted")
    ledger.administer(draw=kept, actor=nurse, ml=Decimal("0.70"))
    draw_and_account(session, nurse, prescriber, other, draw=Decimal("0.20"),
                     give=Decimal("0.10"), waste=Decimal("0.10"))  # fmt: skip
    ledger.draw_for_session(lot=lot, session=session, actor=nurse, ml=Decimal("0.50"))

    draws, uses = ledger_selectors.session_draws_and_uses(session)
    with CaptureQueriesContext(connection) as queries:
        reloaded = session_selectors.session_reload_for_runner(session)
        read = (reloaded.ledger_draws, reloaded.ledger_uses)
        values = [[_entry_values(entry) for entry in entries] for entries in read]
        used = [draw.used_mg for draw in read[0]]
    assert len(queries) == 1
    assert values == [[_entry_values(entry) for entry in entries] for entries in (draws, uses)]
    assert (
        used
        == [draw.used_mg for draw in draws]
        == [Decimal("32.00"), Decimal("10.00"), Decimal("0.00")]
    )
    assert len(draws) == 3 and len(uses) == 4
    assert all(isinstance(value, Decimal) for value in used)
    assert [entry.quantity for entry in uses] == [entry.quantity for entry in read[1]]


def _top_level(sql):
    """The SQL outside every parenthesis: the statement's own FROM, joins and clauses."""
    depth, kept = 0, []
    for char in sql:
        depth += char == "("
        if depth == 0:
            kept.append(char)
        depth -= char == ")"
    return "".join(kept)


def test_the_runner_s_session_row_joins_few_tables_and_asks_no_order(
    client, clinic, prescriber, nurse
):
    """PostgreSQL searches the join orders of a query's tables while planning it: with the
    people and checklists joined the runner's session query had eleven, and planned for 6 to
    12 ms on every page (tests/perf measures plans on seeded data; this keeps the shape). The
    lookup of one row by its public id asks no ORDER BY either, which doubled the planning.
    The page still names the nurse, the prescriber and the signer."""
    session = _sessions(clinic, prescriber, nurse)["discharged"]
    client.force_login(nurse)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("pathway:session_run", args=[session.public_id]))
    table = session._meta.db_table
    (statement,) = [
        _top_level(query["sql"])
        for query in queries.captured_queries
        if _top_level(query["sql"]).split(" FROM ", 1)[-1].startswith(f'"{table}"')
    ]
    assert statement.count(" JOIN ") <= 5, statement[statement.find(" FROM ") :]
    assert " ORDER BY " not in statement
    text = page.content.decode()
    signed = fresh(session)
    for person in (signed.nurse, signed.prescriber, signed.signed_by):
        assert person is not None and person.display_name in text
