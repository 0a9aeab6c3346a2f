"""Helpers that walk an administration session through the real services, for the session
service and view tests."""

import datetime
from decimal import Decimal

from django.utils import timezone

from clinic.ledger import services as ledger
from clinic.monitoring import services as monitoring
from clinic.pathway import session_services as ss
from clinic.pathway.demo import walk_course
from clinic.pathway.models import Drug
from tests import factories
from tests.factories import PASSWORD
from tests.ledger.conftest import receive

MINUTE = datetime.timedelta(minutes=1)


def passing_answers(response):
    """The answer to each clinician item of a checklist that neither blocks nor warns."""
    return {
        answer.item.code: "no" if answer.item.trigger_answer == "yes" else "yes"
        for answer in response.answers.select_related("item")
        if not answer.item.system
    }


def book(clinic, prescriber, nurse, *, drug=Drug.KETAMINE, patient=None, stage="active"):
    course = walk_course(
        patient=patient or factories.PatientFactory(clinic=clinic),
        prescriber=prescriber,
        nurse=nurse,
        stage=stage,
        drug=drug,
    )
    return ss.session_schedule(
        course=course,
        by=nurse,
        scheduled_at=timezone.now() - 150 * MINUTE,
        nurse=nurse,
        prescriber=prescriber,
    )


def fresh(session):
    return type(session).objects.get(pk=session.pk)


def to_ready(session, nurse, *, baseline=None, taken_at=None):
    """Checks in, answers the pre-session checklist, takes baseline vitals, marks ready."""
    session = ss.session_check_in(session=session, by=nurse, identity_confirmed=True)
    ss.checklist_answer(
        session=session, by=nurse, answers=passing_answers(fresh(session).pre_checklist)
    )
    monitoring.vital_record(
        session=session,
        by=nurse,
        phase="baseline",
        taken_at=taken_at or timezone.now() - 140 * MINUTE,
        **(baseline or {"systolic": 122, "diastolic": 78, "heart_rate": 70, "spo2": 98,
                        "respiratory_rate": 14, "temperature_c": "36.6", "moaas": 5,
                        "cadss": 0}),
    )  # fmt: skip
    return ss.session_mark_ready(session=fresh(session), by=nurse)


def draw_and_account(session, nurse, witness, lot, *, draw, give, waste=None):
    """Draws from `lot`, administers `give` and wastes `waste` witnessed by `witness`."""
    unit = "units" if lot.is_device else "ml"
    entry = ledger.draw_for_session(lot=lot, session=session, actor=nurse, **{unit: draw})
    ledger.administer(draw=entry, actor=nurse, **{unit: give})
    if waste:
        ledger.waste(
            draw=entry, actor=nurse, witness=witness, witness_password=PASSWORD,
            reason="Left in the syringe", **{unit: waste},
        )  # fmt: skip
    return entry


def run_iv_session(session, nurse, prescriber, *, lot=None, now=None):
    """A whole IV ketamine session, dose started 100 min ago, through every service:
    returns (session, readings)."""
    now = now or timezone.now()
    clinic = session.course.patient.clinic
    lot = lot or receive(clinic, prescriber, lot_number="IV-FLOW", concentration="10",
                         container_ml="10")  # fmt: skip
    session = to_ready(session, nurse)
    session = ss.session_confirm_dose(session=fresh(session), by=nurse, dose_mg=Decimal("36.0"))
    draw_and_account(session, nurse, prescriber, lot, draw=Decimal("4.00"),
                     give=Decimal("3.60"), waste=Decimal("0.40"))  # fmt: skip
    start = now - 100 * MINUTE
    ss.session_start_dosing(session=fresh(session), by=nurse, started_at=start)
    readings = []
    for minutes, values in (
        (10, {"systolic": 130, "diastolic": 82, "heart_rate": 76, "spo2": 97, "moaas": 4}),
        (20, {"systolic": 138, "diastolic": 86, "heart_rate": 80, "spo2": 96, "moaas": 4,
              "cadss": 12}),
        (30, {"systolic": 182, "diastolic": 96, "heart_rate": 88, "spo2": 96}),
        (75, {"systolic": 124, "diastolic": 80, "heart_rate": 72, "spo2": 98, "moaas": 5,
              "cadss": 1}),
    ):  # fmt: skip
        readings.append(
            monitoring.vital_record(
                session=session,
                by=nurse,
                phase="intra" if minutes <= 40 else "post",
                taken_at=start + minutes * MINUTE,
                **values,
            )
        )
    monitoring.vital_acknowledge(
        reading=readings[2], by=prescriber, action_taken="Infusion slowed; BP rechecked."
    )
    monitoring.side_effect_report(
        course=session.course,
        session=session,
        by=nurse,
        term="DISSOC",
        onset_at=start + 15 * MINUTE,
        resolved_at=start + 60 * MINUTE,
        grade=1,
        relatedness="probable",
        action_taken="none",
        outcome="recovered",
        verbatim="Felt floaty",
    )
    ss.session_end_dosing(session=fresh(session), by=nurse, ended_at=start + 40 * MINUTE)
    session = fresh(session)
    ss.checklist_answer(session=session, by=nurse, answers={"DC-MOAAS": "yes"})
    session = fresh(session)
    ss.checklist_answer(
        session=session, by=nurse, answers=passing_answers(session.discharge_checklist)
    )
    ss.session_ready_for_discharge(session=fresh(session), by=nurse)
    session = ss.session_discharge(
        session=fresh(session),
        by=nurse,
        escort_name="Sam Example",
        escort_relationship="Partner",
        escort_phone="+1 555 0199",
        notes="Left with partner.",
    )
    return session, readings
