"""A whole administration session through the services, and the refusals that keep it safe
(DOMAIN.md §1.3 Session, §3, §4.3, §5)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinic.ledger import selectors as ledger_selectors
from clinic.ledger import services as ledger
from clinic.monitoring import services as monitoring
from clinic.pathway import session_services as ss
from clinic.pathway.models import Drug, SessionStatus
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


@pytest.fixture
def iv(clinic, prescriber, nurse):
    return book(clinic, prescriber, nurse)


@pytest.fixture
def iv_lot(clinic, prescriber):
    return receive(clinic, prescriber, lot_number="K10", concentration="10", container_ml="10")


@pytest.fixture
def device_lot(clinic, prescriber):
    return receive(clinic, prescriber, lot_number="SPV", drug=Drug.ESKETAMINE, count=6)


def test_a_whole_iv_session_ends_discharged_signed_and_locked(iv, nurse, prescriber, iv_lot):
    session, readings = run_iv_session(iv, nurse, prescriber, lot=iv_lot)
    assert session.status == SessionStatus.DISCHARGED
    assert session.is_signed and session.hash_is_intact()
    assert session.dose_mg == Decimal("36.0") and session.volume_ml == Decimal("3.60")
    assert session.rate_ml_per_hour == Decimal("150.0")
    assert session.discharged_at >= session.ready_to_leave_at
    assert session.readings.count() == 5
    assert readings[2].has_critical and readings[2].acknowledgments.exists()
    assert not monitoring.unacknowledged_critical_readings(session).exists()
    assert ledger_selectors.draw_is_reconciled(session)
    assert ledger_selectors.session_drawn_total(session) == Decimal("40.00")
    assert session.side_effects.count() == 1
    statuses = list(session.status_changes.values_list("to_status", flat=True))
    assert statuses == [
        "scheduled", "checked_in", "ready", "dosing", "monitoring", "ready_for_discharge",
        "discharged",
    ]  # fmt: skip
    # Locked: nothing more is recorded on a discharged session.
    with pytest.raises(ValidationError):
        monitoring.vital_record(session=session, by=nurse, phase="post", heart_rate=70)


def test_esketamine_session_records_devices_and_keeps_the_120_minute_rule(
    clinic, prescriber, nurse, device_lot
):
    session = book(clinic, prescriber, nurse, drug=Drug.ESKETAMINE)
    session = to_ready(session, nurse)
    ss.session_confirm_dose(session=fresh(session), by=nurse, dose_mg=56)
    draw_and_account(session, nurse, prescriber, device_lot, draw=2, give=2)
    with pytest.raises(ValidationError, match="prescriber on site"):
        ss.session_start_dosing(session=fresh(session), by=nurse)
    session = ss.session_confirm_dose(
        session=fresh(session), by=nurse, dose_mg=56, prescriber_on_site=True
    )
    assert session.devices_used == 2
    now = timezone.now()
    first = now - 30 * MINUTE
    ss.session_start_dosing(session=fresh(session), by=nurse, started_at=first)
    assert ss.esketamine_device_given(session=fresh(session), by=nurse, given_at=first) == []
    warnings = ss.esketamine_device_given(
        session=fresh(session), by=nurse, given_at=first + 4 * MINUTE
    )
    assert warnings  # DOMAIN.md §3.2 rule 7: under 5 minutes after the previous device
    with pytest.raises(ValidationError, match="All 2 devices"):
        ss.esketamine_device_given(session=fresh(session), by=nurse)
    ss.session_end_dosing(session=fresh(session), by=nurse, ended_at=first + 5 * MINUTE)
    session = fresh(session)
    assert ss.observation_ends_at(session) == first + 120 * MINUTE
    ss.checklist_answer(session=session, by=nurse, answers={"DC-MOAAS": "yes"})
    ss.checklist_answer(
        session=fresh(session), by=nurse,
        answers=passing_answers(fresh(session).discharge_checklist),
    )  # fmt: skip
    # 30 minutes after the first device: DC-TIME (no override) holds the patient.
    with pytest.raises(ValidationError, match="DC-TIME"):
        ss.session_ready_for_discharge(session=fresh(session), by=nurse)
    assert "DC-TIME" in " ".join(
        ss.discharge_problems(fresh(session), for_status=SessionStatus.DISCHARGED)
    )
    # At 121 minutes the same session may be discharged.
    later = first + 121 * MINUTE
    assert not ss.discharge_problems(
        fresh(session), for_status=SessionStatus.READY_FOR_DISCHARGE, now=later
    )


def test_dosing_without_a_draw_is_refused(iv, nurse):
    session = to_ready(iv, nurse)
    ss.session_confirm_dose(session=fresh(session), by=nurse, dose_mg=Decimal("36.0"))
    with pytest.raises(ValidationError, match="draw from a lot"):
        ss.session_start_dosing(session=fresh(session), by=nurse)
    assert fresh(session).status == SessionStatus.READY


def test_a_dose_above_the_plan_maximum_is_refused(iv, nurse):
    session = to_ready(iv, nurse)
    with pytest.raises(ValidationError) as refused:
        ss.session_confirm_dose(
            session=fresh(session), by=nurse, dose_mg="95", dose_change_reason="More"
        )
    assert "maximum" in refused.value.message_dict["dose_mg"][0]
    assert fresh(session).dose_mg is None


def test_a_dose_different_from_the_plan_needs_a_reason(iv, nurse):
    session = to_ready(iv, nurse)
    with pytest.raises(ValidationError) as refused:
        ss.session_confirm_dose(session=fresh(session), by=nurse, dose_mg="40")
    assert "dose_change_reason" in refused.value.message_dict


def test_cancelling_after_a_draw_is_refused(iv, nurse, iv_lot):
    session = to_ready(iv, nurse)
    ss.session_confirm_dose(session=fresh(session), by=nurse, dose_mg=Decimal("36.0"))
    ledger.draw_for_session(lot=iv_lot, session=session, actor=nurse, ml=Decimal("4.00"))
    with pytest.raises(ValidationError, match="drawn"):
        ss.session_cancel(
            session=fresh(session), by=nurse, status=SessionStatus.CANCELLED, reason="Unwell"
        )
    assert fresh(session).status == SessionStatus.READY


def test_a_scheduled_session_can_be_cancelled_or_marked_no_show_with_a_reason(iv, nurse):
    with pytest.raises(ValidationError):
        ss.session_cancel(session=iv, by=nurse, status=SessionStatus.NO_SHOW, reason=" ")
    session = ss.session_cancel(session=iv, by=nurse, status=SessionStatus.NO_SHOW, reason="No")
    assert session.status == SessionStatus.NO_SHOW and session.cancel_reason == "No"


def _to_monitoring(iv, nurse, prescriber, iv_lot, *, ended_minutes_ago):
    session = to_ready(iv, nurse)
    ss.session_confirm_dose(session=fresh(session), by=nurse, dose_mg=Decimal("36.0"))
    draw_and_account(session, nurse, prescriber, iv_lot, draw=Decimal("3.60"),
                     give=Decimal("3.60"))  # fmt: skip
    now = timezone.now()
    ss.session_start_dosing(
        session=fresh(session), by=nurse, started_at=now - (ended_minutes_ago + 40) * MINUTE
    )
    ss.session_end_dosing(
        session=fresh(session), by=nurse, ended_at=now - ended_minutes_ago * MINUTE
    )
    session = fresh(session)
    ss.checklist_answer(session=session, by=nurse, answers={"DC-MOAAS": "yes"})
    ss.checklist_answer(
        session=fresh(session), by=nurse,
        answers=passing_answers(fresh(session).discharge_checklist),
    )  # fmt: skip
    return fresh(session)


def test_discharge_with_an_unacknowledged_critical_reading_is_refused(
    iv, nurse, prescriber, iv_lot
):
    session = _to_monitoring(iv, nurse, prescriber, iv_lot, ended_minutes_ago=45)
    monitoring.vital_record(session=session, by=nurse, phase="post", spo2=88)
    with pytest.raises(ValidationError, match="critical vital sign"):
        ss.session_ready_for_discharge(session=fresh(session), by=nurse)
    assert fresh(session).status == SessionStatus.MONITORING


def test_discharge_before_the_observation_time_is_refused(iv, nurse, prescriber, iv_lot):
    session = _to_monitoring(iv, nurse, prescriber, iv_lot, ended_minutes_ago=10)
    with pytest.raises(ValidationError, match="DC-TIME"):
        ss.session_ready_for_discharge(session=fresh(session), by=nurse)
    problems = ss.discharge_problems(fresh(session), for_status=SessionStatus.DISCHARGED)
    assert any("Observation continues until" in problem for problem in problems)


def test_discharge_needs_the_escort_and_a_reconciled_draw(iv, nurse, prescriber, iv_lot):
    session = _to_monitoring(iv, nurse, prescriber, iv_lot, ended_minutes_ago=45)
    ss.session_ready_for_discharge(session=fresh(session), by=nurse)
    with pytest.raises(ValidationError, match="escort"):
        ss.session_discharge(session=fresh(session), by=nurse, escort_name="",
                             escort_relationship="")  # fmt: skip
    assert not fresh(session).is_signed


def test_transfer_needs_a_prescriber_and_an_adverse_event_report(iv, nurse, prescriber, iv_lot):
    session = to_ready(iv, nurse)
    ss.session_confirm_dose(session=fresh(session), by=nurse, dose_mg=Decimal("36.0"))
    ledger.draw_for_session(lot=iv_lot, session=session, actor=nurse, ml=Decimal("3.60"))
    ss.session_start_dosing(session=fresh(session), by=nurse)
    with pytest.raises(ValidationError, match="prescriber"):
        ss.session_transfer(session=fresh(session), by=nurse, reason="Chest pain")
    with pytest.raises(ValidationError, match="adverse-event"):
        ss.session_transfer(session=fresh(session), by=prescriber, reason="Chest pain")
    monitoring.side_effect_report(
        course=session.course, session=session, by=prescriber, term="BP-HR",
        onset_at=timezone.now() - MINUTE, grade=3, relatedness="probable",
        action_taken="stopped", outcome="not_recovered",
    )  # fmt: skip
    session = ss.session_transfer(session=fresh(session), by=prescriber, reason="Chest pain")
    assert session.status == SessionStatus.TRANSFERRED
