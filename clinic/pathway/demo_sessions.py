"""Past administration sessions for the demo, written through the real services.

The services stamp their rows with `timezone.now()` (check-in, status changes, ledger
`recorded_at`, signatures); `demo_clock` sets that clock to the past moment each step
happened, so a seeded session reads like one recorded live days ago. Demo seeding only:
nothing else moves the clock.
"""

import contextlib
import datetime
from decimal import ROUND_UP, Decimal
from unittest import mock

from django.utils import timezone

from clinic.ledger import selectors as ledger_selectors
from clinic.ledger import services as ledger
from clinic.monitoring import services as monitoring
from clinic.pathway import session_services as ss
from clinic.pathway.models import AdministrationSession, Drug, YesNoUnknown

MINUTE = datetime.timedelta(minutes=1)
WASTE_ML = Decimal("0.20")


class _Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@contextlib.contextmanager
def demo_clock(at):
    """Within the block `timezone.now()` is `clock.now`, which the caller may move on."""
    clock = _Clock(at)
    with mock.patch.object(timezone, "now", clock):
        yield clock


def _fresh(session):
    return AdministrationSession.objects.get(pk=session.pk)


def _passing(response):
    return {
        answer.item.code: YesNoUnknown.NO if answer.item.trigger_answer == "yes" else "yes"
        for answer in response.answers.select_related("item")
        if not answer.item.system
    }


def _draw(session, nurse, prescriber, witness_password):
    """Draws the confirmed dose (plus a little to waste, for vials) from the first usable
    lot that holds enough, administers it and records the witnessed waste."""
    for lot in ledger_selectors.usable_lots_for_session(session):
        if lot.is_device:
            units = session.devices_used
            if lot.balance < units:
                continue
            draw = ledger.draw_for_session(lot=lot, session=session, actor=nurse, units=units)
            ledger.administer(draw=draw, actor=nurse, units=units)
            return
        volume = (session.dose_mg / lot.concentration_mg_per_ml).quantize(
            Decimal("0.01"), rounding=ROUND_UP
        )
        if lot.balance < volume + WASTE_ML:
            continue
        draw = ledger.draw_for_session(lot=lot, session=session, actor=nurse, ml=volume + WASTE_ML)
        ledger.administer(draw=draw, actor=nurse, ml=volume)
        ledger.waste(
            draw=draw, actor=nurse, witness=prescriber, witness_password=witness_password,
            ml=WASTE_ML, reason="Left in the syringe and line",
        )  # fmt: skip
        return
    raise RuntimeError(f"No demo lot holds enough for session {session.pk}")


def demo_past_session(
    *, course, prescriber, nurse, witness_password, day, critical=False, side_effect=False
):
    """A whole session on `day` (10:00 clinic time) from booking to signed discharge."""
    import zoneinfo

    tz = zoneinfo.ZoneInfo(course.patient.clinic.timezone)
    t0 = datetime.datetime.combine(day, datetime.time(10, 0), tzinfo=tz)
    esketamine = course.drug == Drug.ESKETAMINE
    with demo_clock(t0 - 30 * MINUTE) as clock, timezone.override(tz):
        session = ss.session_schedule(
            course=course, by=nurse, scheduled_at=t0, nurse=nurse, prescriber=prescriber
        )
        clock.now = t0
        session = ss.session_check_in(session=session, by=nurse, identity_confirmed=True)
        ss.checklist_answer(
            session=session, by=nurse, answers=_passing(_fresh(session).pre_checklist)
        )
        clock.now = t0 + 5 * MINUTE
        monitoring.vital_record(
            session=session, by=nurse, phase="baseline", systolic=126, diastolic=80,
            heart_rate=72, spo2=98, respiratory_rate=14, temperature_c="36.7", moaas=5, cadss=0,
        )  # fmt: skip
        clock.now = t0 + 7 * MINUTE
        ss.session_mark_ready(session=_fresh(session), by=nurse)
        calculation, _, _ = ss.session_dose_calculation(_fresh(session))
        ss.session_confirm_dose(
            session=_fresh(session), by=nurse, dose_mg=calculation.dose_mg,
            prescriber_on_site=esketamine,
        )  # fmt: skip
        session = _fresh(session)
        _draw(session, nurse, prescriber, witness_password)
        start = t0 + 10 * MINUTE
        clock.now = start
        ss.session_start_dosing(session=_fresh(session), by=nurse, started_at=start)
        if esketamine:
            for number in range(session.devices_used):
                clock.now = start + number * 6 * MINUTE
                ss.esketamine_device_given(session=_fresh(session), by=nurse)
            end = clock.now + MINUTE
        else:
            end = start + (session.plan.infusion_minutes or 40) * MINUTE
        readings = [
            (10, "intra", {"systolic": 134, "diastolic": 84, "heart_rate": 78, "spo2": 97,
                           "moaas": 4, "cadss": 14}),
            (20, "intra", {"systolic": 182 if critical else 140, "diastolic": 94,
                           "heart_rate": 84, "spo2": 96, "moaas": 4, "cadss": 18}),
            (40, "post" if esketamine else "intra",
             {"systolic": 138, "diastolic": 86, "heart_rate": 80, "spo2": 97, "moaas": 5,
              "cadss": 6}),
        ]  # fmt: skip
        for minutes, phase, values in readings:
            clock.now = start + minutes * MINUTE
            if clock.now > end and phase == "intra":
                phase = "post"
            reading = monitoring.vital_record(session=session, by=nurse, phase=phase, **values)
            if reading.has_critical:
                clock.now += 2 * MINUTE
                monitoring.vital_acknowledge(
                    reading=reading, by=prescriber,
                    action_taken="Infusion slowed for 10 minutes; BP rechecked and falling.",
                )  # fmt: skip
        clock.now = max(end, clock.now)
        ss.session_end_dosing(session=_fresh(session), by=nurse, ended_at=end)
        if side_effect:
            clock.now += 2 * MINUTE
            monitoring.side_effect_report(
                course=course, session=session, by=nurse, term="DISSOC",
                verbatim="Felt far away and floaty; settled by the end.",
                onset_at=start + 15 * MINUTE, resolved_at=start + 45 * MINUTE, grade=1,
                relatedness="probable", action_taken="none", outcome="recovered",
            )  # fmt: skip
        ready_at = ss.observation_ends_at(_fresh(session)) + 5 * MINUTE
        clock.now = ready_at - 2 * MINUTE
        monitoring.vital_record(
            session=session, by=nurse, phase="discharge", systolic=124, diastolic=78,
            heart_rate=72, spo2=98, moaas=5, cadss=0,
        )  # fmt: skip
        clock.now = ready_at
        ss.checklist_answer(session=_fresh(session), by=nurse, answers={"DC-MOAAS": "yes"})
        ss.checklist_answer(
            session=_fresh(session), by=nurse,
            answers=_passing(_fresh(session).discharge_checklist),
        )  # fmt: skip
        ss.session_ready_for_discharge(session=_fresh(session), by=nurse)
        clock.now = ready_at + 5 * MINUTE
        return ss.session_discharge(
            session=_fresh(session), by=nurse, escort_name="Jordan Example",
            escort_relationship="Partner", escort_phone="+1 555 0150",
            notes="Alert, walking steadily; left with partner.",
        )  # fmt: skip
