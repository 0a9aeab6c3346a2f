"""Writes of an administration session, from booking to discharge (DOMAIN.md §1.3 Session,
§2.2, §3, §4.3, §5). Split from `services.py` to keep each module about one thing; the
conventions are the same: transactions, row locks, history rows, audit rows, clear refusals.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from clinic.accounts.roles import CLINICIAN_ROLES, StaffRole
from clinic.core.access import user_has_role
from clinic.core.audit import record_access
from clinic.core.models import AccessEvent
from clinic.core.transitions import Transition, TransitionMap, transition
from clinic.pathway import dosing, selectors, services
from clinic.pathway.models import (
    AdministrationSession,
    BodyMeasurement,
    ChecklistAnswer,
    ChecklistKind,
    ChecklistResponse,
    Consultation,
    CourseStatus,
    DoseMode,
    Drug,
    EsketamineDevice,
    ItemEffect,
    PlanStatus,
    SessionStatus,
    SessionStatusChange,
    YesNoUnknown,
)
from clinic.pathway.services import _sign

CLINICIAN = tuple(sorted(CLINICIAN_ROLES))
FRONT_DESK = (*CLINICIAN, StaffRole.ADMIN)
PRESCRIBER = (StaffRole.PRESCRIBER,)
# DOMAIN.md §5 DC-TIME (esketamine is regulatory; the others default; confirm clinically).
# Overridable per deployment in settings.SESSION_OBSERVATION_MINUTES; esketamine's 120 minutes
# is a label requirement and is never shortened.
ESKETAMINE_OBSERVATION_MINUTES = 120


def observation_minutes(kind):
    """Minimum observation for "esketamine", "iv" or "other" routes (DOMAIN.md §5 DC-TIME)."""
    minutes = settings.SESSION_OBSERVATION_MINUTES[kind]
    if kind == "esketamine":
        return max(minutes, ESKETAMINE_OBSERVATION_MINUTES)
    return minutes


# DOMAIN.md §4.3 go/no-go for baseline blood pressure.
KETAMINE_BLOCK_SYSTOLIC, KETAMINE_BLOCK_DIASTOLIC = 180, 100
ESKETAMINE_WARN_SYSTOLIC, ESKETAMINE_WARN_DIASTOLIC = 140, 90
_UNSET = object()


def _audit(user, session, detail, action=AccessEvent.Action.UPDATE):
    record_access(
        user=user,
        action=action,
        object_type="session",
        object_public_id=session.public_id,
        patient=session.course.patient,
        detail=detail[:255],
    )


def _locked(session):
    return (
        AdministrationSession.objects.select_for_update()
        .select_related("course__patient__clinic", "plan")
        .get(pk=session.pk)
    )


def _require(user, roles, session, what):
    if not user_has_role(user, roles, clinic=session.course.patient.clinic):
        names = " or ".join(sorted(roles))
        raise ValidationError(f"Only a {names} of this clinic can {what}.")


# --- guards -----------------------------------------------------------------------------------


def _nothing_drawn(session):
    from clinic.ledger import selectors as ledger

    if ledger.session_drawn_total(session) > 0:
        return (
            "Drug has been drawn for this session: record what was administered or wasted "
            "before cancelling."
        )
    return None


def _pre_checks_pass(session):
    problems = pre_checklist_problems(session)
    return " ".join(problems) if problems else None


def _ready_to_dose(session):
    from clinic.ledger import selectors as ledger

    problems = []
    if session.dose_mg is None:
        problems.append("Confirm the dose first.")
    if ledger.session_drawn_total(session) <= 0:
        problems.append("Record the draw from a lot in the controlled-substance ledger first.")
    if session.plan.drug == Drug.ESKETAMINE and not session.prescriber_on_site:
        problems.append("Esketamine is dosed only with a prescriber on site.")
    return " ".join(problems) if problems else None


def _administration_ended(session):
    if session.plan.drug == Drug.ESKETAMINE and not session.devices.exists():
        return "Record the devices given first."
    return None


def _discharge_criteria_met(session):
    problems = discharge_problems(session, for_status=SessionStatus.READY_FOR_DISCHARGE)
    return " ".join(problems) if problems else None


def _discharge_allowed(session):
    problems = discharge_problems(session, for_status=SessionStatus.DISCHARGED)
    return " ".join(problems) if problems else None


def _adverse_event_reported(session):
    if not session.side_effects.exists():
        return "An emergency transfer needs an adverse-event report first."
    return None


S = SessionStatus
SESSION_TRANSITIONS = TransitionMap.build(
    [
        ([S.SCHEDULED], [S.CHECKED_IN], Transition(FRONT_DESK)),
        ([S.SCHEDULED], [S.CANCELLED, S.NO_SHOW], Transition(FRONT_DESK, reason_required=True)),
        ([S.CHECKED_IN, S.READY], [S.CANCELLED],
         Transition(CLINICIAN, reason_required=True, guard=_nothing_drawn)),
        ([S.CHECKED_IN], [S.READY], Transition(CLINICIAN, guard=_pre_checks_pass)),
        ([S.READY], [S.DOSING], Transition(CLINICIAN, guard=_ready_to_dose)),
        ([S.DOSING], [S.MONITORING], Transition(CLINICIAN, guard=_administration_ended)),
        ([S.MONITORING], [S.READY_FOR_DISCHARGE],
         Transition(CLINICIAN, guard=_discharge_criteria_met)),
        ([S.READY_FOR_DISCHARGE], [S.DISCHARGED], Transition(CLINICIAN, guard=_discharge_allowed)),
        ([S.DOSING, S.MONITORING], [S.TRANSFERRED],
         Transition(PRESCRIBER, reason_required=True, guard=_adverse_event_reported)),
    ]
)  # fmt: skip


def _move(session, to_status, by, reason=""):
    change = transition(
        session,
        to_status=to_status,
        by=by,
        reason=reason,
        transitions=SESSION_TRANSITIONS,
        clinic=session.course.patient.clinic,
        history_model=SessionStatusChange,
        history_fk="session",
    )
    _audit(by, session, f"status {change.from_status} -> {change.to_status}")
    return session


# --- booking and check-in ---------------------------------------------------------------------


@transaction.atomic
def session_schedule(*, course, by, scheduled_at, nurse=None, prescriber=None):
    """Books the next session of a course in treatment, on its approved plan."""
    course = (
        course.__class__.objects.select_for_update()
        .select_related("patient__clinic")
        .get(pk=course.pk)
    )
    clinic = course.patient.clinic
    if not user_has_role(by, FRONT_DESK, clinic=clinic):
        raise ValidationError("Only staff of this clinic can book a session.")
    if course.status not in (CourseStatus.ACTIVE, CourseStatus.MAINTENANCE):
        raise ValidationError("Sessions are booked for a course in treatment or maintenance.")
    plan = course.plans.filter(status=PlanStatus.APPROVED).first()
    if plan is None:
        raise ValidationError("The course has no approved plan in force.")
    for field, person, roles in (
        ("nurse", nurse, CLINICIAN),
        ("prescriber", prescriber, PRESCRIBER),
    ):
        if person is not None and not user_has_role(person, roles, clinic=clinic):
            raise ValidationError({field: f"Choose a {field} of this clinic."})
    last = course.sessions.order_by("-session_number").values_list("session_number", flat=True)
    session = AdministrationSession(
        course=course,
        plan=plan,
        session_number=(last.first() or 0) + 1,
        scheduled_at=scheduled_at,
        nurse=nurse,
        prescriber=prescriber,
        route=plan.route,
        status_changed_at=timezone.now(),
    )
    session.full_clean()
    session.save()
    SessionStatusChange.objects.create(
        session=session, from_status="", to_status=session.status, changed_by=by, reason="Booked"
    )
    _audit(by, session, f"booked session {session.session_number}", AccessEvent.Action.CREATE)
    _measures_follow(course)
    return session


def _measures_follow(course):
    """Keeps the course's due questionnaires in step with its sessions."""
    from clinic.measures.services import due_sync

    due_sync(course=course)


def _start_checklist(session, kind):
    template = selectors.active_checklist_template(kind, session.course.patient.clinic)
    if template is None:
        raise ValidationError(f"No {kind.replace('_', '-')} checklist is active; ask an admin.")
    response = ChecklistResponse.objects.create(
        template=template, course=session.course, drug=session.plan.drug
    )
    ChecklistAnswer.objects.bulk_create(
        ChecklistAnswer(response=response, item=item) for item in template.items.all()
    )
    return response


@transaction.atomic
def session_check_in(*, session, by, identity_confirmed):
    session = _locked(session)
    if not identity_confirmed:
        raise ValidationError(
            {"identity_confirmed": "Confirm the patient's identity with 2 identifiers."}
        )
    _move(session, SessionStatus.CHECKED_IN, by)
    session.checked_in_at = timezone.now()
    session.nurse = session.nurse or (by if user_has_role(by, CLINICIAN) else None)
    session.pre_checklist = _start_checklist(session, ChecklistKind.PRE_SESSION)
    session.save(update_fields=["checked_in_at", "nurse", "pre_checklist", "updated_at"])
    answer = session.pre_checklist.answers.get(item__code="PS-ID")
    _answer(answer, YesNoUnknown.YES, by)
    # The items answered from the record, as the record stands at check-in; the runner shows
    # them as they stand when it is shown, and the POSTs that act on them save them again.
    refresh_pre_checklist(session)
    return session


@transaction.atomic
def session_cancel(*, session, by, status, reason):
    """Cancels a session or records a no-show; nothing may have been drawn for it."""
    session = _locked(session)
    if status not in (SessionStatus.CANCELLED, SessionStatus.NO_SHOW):
        raise ValidationError("Choose cancelled or no-show.")
    _move(session, status, by, reason)
    session.cancel_reason = reason.strip()
    session.save(update_fields=["cancel_reason", "updated_at"])
    _measures_follow(session.course)
    return session


# --- checklists -------------------------------------------------------------------------------


def _answer(answer, value, by):
    answer.answer = value
    answer.answered_by = by
    answer.answered_at = timezone.now()
    answer.save(update_fields=["answer", "answered_by", "answered_at"])


@transaction.atomic
def checklist_answer(*, session, by, answers):
    """Records a clinician's answers ({item code: "yes"/"no"/"unknown"}) on the session's
    open checklist (pre-session before dosing, discharge after)."""
    session = _locked(session)
    _require(by, CLINICIAN, session, "answer the checklist")
    response = _open_checklist(session)
    rows = {a.item.code: a for a in response.answers.select_related("item")}
    errors = {}
    for code, value in answers.items():
        row = rows.get(code)
        if row is None or row.item.system:
            errors[code] = "This item is answered from the record."
        elif value not in YesNoUnknown.values:
            errors[code] = "Answer yes, no or unknown."
    if errors:
        raise ValidationError(errors)
    for code, value in answers.items():
        if rows[code].answer != value:
            _answer(rows[code], value, by)
            if rows[code].overridden_by_id:  # a new answer voids an override of the old one
                ChecklistAnswer.objects.filter(pk=rows[code].pk).update(
                    overridden_by=None, override_reason=""
                )
    # The items answered from the record are saved with the clinician's answers.
    if response.pk == session.pre_checklist_id:
        refresh_pre_checklist(session)
    else:
        refresh_discharge_checklist(session)
    _audit(by, session, f"{response.template.kind} checklist answered")
    return response


def _open_checklist(session):
    if session.status in (SessionStatus.CHECKED_IN, SessionStatus.READY):
        return session.pre_checklist
    if session.status in (SessionStatus.MONITORING, SessionStatus.READY_FOR_DISCHARGE):
        if session.discharge_checklist is None:
            session.discharge_checklist = _start_checklist(session, ChecklistKind.DISCHARGE)
            session.save(update_fields=["discharge_checklist", "updated_at"])
        return session.discharge_checklist
    raise ValidationError("No checklist is open at this point of the session.")


@transaction.atomic
def checklist_override(*, session, by, item_code, reason):
    """A prescriber lets the session go on despite a blocking answer, with a reason."""
    session = _locked(session)
    _require(by, PRESCRIBER, session, "override a checklist item")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Give the reason for the override."})
    response = _open_checklist(session)
    answer = response.answers.select_related("item", "response").filter(item__code=item_code)
    answer = answer.first()
    # Keyed to the item, which the page sends in a hidden field: a code that names no
    # blocking item of this checklist has no row to show the error beside.
    if answer is None:
        raise ValidationError({"item_code": "No such checklist item."})
    if not answer.item.overridable:
        raise ValidationError({"item_code": f"{answer.item.code} cannot be overridden."})
    if answer.effect != ItemEffect.BLOCK:
        raise ValidationError(
            {"item_code": f"{answer.item.code} does not block; nothing to override."}
        )
    answer.overridden_by, answer.override_reason = by, reason
    answer.save(update_fields=["overridden_by", "override_reason"])
    _audit(by, session, f"override {answer.item.code}")
    return answer


# --- system answers ---------------------------------------------------------------------------


def baseline_reading(session):
    return (
        session.readings.filter(phase="baseline", entered_in_error=False)
        .order_by("-taken_at")
        .first()
    )


def baseline_of(readings):
    """`baseline_reading` from the session's readings already loaded (oldest first)."""
    baseline = [r for r in readings if r.phase == "baseline" and not r.entered_in_error]
    return max(baseline, key=lambda r: r.taken_at, default=None)


def baseline_vitals_problem(session, *, reading=_UNSET):
    """DOMAIN.md §4.3: ("block" | "warn" | None, message). `reading`: the baseline reading
    when the caller has it already (None for none), else it is read."""
    if reading is _UNSET:
        reading = baseline_reading(session)
    if reading is None or reading.systolic is None:
        return "block", "Record baseline vitals with blood pressure."
    if session.plan.drug == Drug.KETAMINE and (
        reading.systolic > KETAMINE_BLOCK_SYSTOLIC or reading.diastolic > KETAMINE_BLOCK_DIASTOLIC
    ):
        return "block", (
            f"Baseline BP {reading.systolic}/{reading.diastolic} is above 180/100 "
            "(uncontrolled hypertension)."
        )
    if reading.has_critical:
        return "block", "A baseline vital is in the critical range."
    if session.plan.drug == Drug.ESKETAMINE and (
        reading.systolic > ESKETAMINE_WARN_SYSTOLIC or reading.diastolic > ESKETAMINE_WARN_DIASTOLIC
    ):
        return "warn", (
            f"Baseline BP {reading.systolic}/{reading.diastolic} is above 140/90: consider "
            "delaying."
        )
    return None, ""


@dataclass(frozen=True)
class PreSessionRecord:
    """What the pre-session system items are answered from: the course's consultation, the
    patient's latest weight, the latest signed assessment (each None when there is none) and
    the session's baseline reading."""

    consultation: object
    weight: object
    assessment: object
    baseline: object


def pre_session_record(session):
    """The record of `PreSessionRecord`, read from the database (four queries)."""
    course = session.course
    return PreSessionRecord(
        consultation=Consultation.objects.filter(course=course).first(),
        weight=services.latest_weight(course.patient),
        assessment=selectors.latest_signed_assessment(course),
        baseline=baseline_reading(session),
    )


def _system_answers(session, today, record=None):
    """The values the record gives for the pre-session system items (True = passes)."""
    record = record or pre_session_record(session)
    course = session.course
    consultation, weight, assessment = record.consultation, record.weight, record.assessment
    plan = session.plan
    vitals_effect, _ = baseline_vitals_problem(session, reading=record.baseline)
    return {
        "PS-CONSENT": bool(consultation and consultation.consent_recorded),
        "PS-REMS": plan.drug != Drug.ESKETAMINE or bool(assessment and assessment.rems_enrolled_on),
        "PS-PLAN": plan.status == PlanStatus.APPROVED and plan.course_id == course.pk,
        "PS-WEIGHT": plan.dose_mode != DoseMode.MG_PER_KG
        or bool(weight and (today - weight.measured_on).days <= dosing.MAX_WEIGHT_AGE_DAYS),
        "PS-VITALS": vitals_effect != "block",
        # The measures and safety-alert features answer these once they exist; until then
        # the baseline assessment's C-SSRS level stands in for both.
        "PS-MEASURES": bool(assessment and assessment.suicide_risk),
        "PS-SAFETY": not (assessment and assessment.suicide_risk == "high"),
    }


def apply_system_answers(answers, values):
    """Sets the system items among `answers` (in memory) to what the record gives; returns
    the answers that changed. Nothing is saved: a page shows them, a POST saves them."""
    changed = []
    for answer in answers:
        if not answer.item.system or answer.item.code not in values:
            continue
        value = YesNoUnknown.YES if values[answer.item.code] else YesNoUnknown.NO
        if answer.answer != value:
            answer.answer, answer.answered_at = value, timezone.now()
            answer.answered_by = None
            changed.append(answer)
    return changed


def _refresh_system_answers(response, values, by):
    answers = response.answers.select_related("item").filter(item__system=True)
    for answer in apply_system_answers(answers, values):
        answer.save(update_fields=["answer", "answered_by", "answered_at"])


def _checklist_problems(response, answers=None):
    """(problems, warnings) of a checklist: of `answers` when given (loaded with their item
    and response, in item order), else of the response's answers read now."""
    problems, warnings = [], []
    if answers is None:
        answers = response.answers.select_related("item", "response").order_by("item__position")
    for answer in answers:
        if answer.answer == YesNoUnknown.UNKNOWN:
            if answer.item.effect_for(response.drug) != ItemEffect.NONE:
                problems.append(f"{answer.item.code}: not answered.")
            continue
        effect = answer.effect
        if effect == ItemEffect.BLOCK and not answer.is_overridden:
            problems.append(f"{answer.item.code}: {answer.item.prompt}.")
        elif effect == ItemEffect.WARN:
            warnings.append(f"{answer.item.code}: {answer.item.prompt}.")
    return problems, warnings


def pre_checklist_problems(session, *, today=None):
    """What stops dosing: unanswered items and blocking answers not overridden."""
    if session.pre_checklist is None:
        return ["Check the patient in first."]
    _refresh_system_answers(
        session.pre_checklist, _system_answers(session, today or timezone.localdate()), None
    )
    problems, _ = _checklist_problems(session.pre_checklist)
    return problems


def pre_checklist_warnings(session):
    if session.pre_checklist is None:
        return []
    _, warnings = _checklist_problems(session.pre_checklist)
    effect, message = baseline_vitals_problem(session)
    if effect == "warn":
        warnings.append(message)
    return warnings


def pre_checklist_review(session, answers, record, *, today=None):
    """For a page, without writing: the pre-session checklist's `answers` (loaded with item
    and response, in item order) get the system values `record` gives (in memory), and
    (problems, warnings) come back as `pre_checklist_problems` and `pre_checklist_warnings`
    would give them. The POSTs that act on the answers save them (check-in, answers, ready).
    """
    if session.pre_checklist is None:
        return ["Check the patient in first."], []
    values = _system_answers(session, today or timezone.localdate(), record)
    apply_system_answers(answers, values)
    problems, warnings = _checklist_problems(session.pre_checklist, answers)
    effect, message = baseline_vitals_problem(session, reading=record.baseline)
    if effect == "warn":
        warnings.append(message)
    return problems, warnings


def refresh_pre_checklist(session, *, today=None):
    """Saves the pre-session checklist's system answers as the record gives them now."""
    if session.pre_checklist is not None:
        _refresh_system_answers(
            session.pre_checklist, _system_answers(session, today or timezone.localdate()), None
        )


# --- dosing -----------------------------------------------------------------------------------


@transaction.atomic
def session_mark_ready(*, session, by):
    session = _locked(session)
    return _move(session, SessionStatus.READY, by)


def session_dose_calculation(session, *, weight_kg=None, today=None, latest=_UNSET):
    """The plan's dose for today, with today's weight when given (DOMAIN.md §3.2). `latest`:
    the patient's latest weight (or None) when the caller has it already."""
    plan = session.plan
    today = today or timezone.localdate()
    weight_on = today if weight_kg is not None else None
    if plan.dose_mode == DoseMode.MG_PER_KG and weight_kg is None:
        if latest is _UNSET:
            latest = services.latest_weight(session.course.patient)
        if latest is not None:
            weight_kg, weight_on = latest.weight_kg, latest.measured_on
    if plan.dose_mode == DoseMode.MG_PER_KG and plan.weight_policy == "capped" and weight_kg:
        weight_kg = min(Decimal(weight_kg), plan.weight_cap_kg)
    return (
        dosing.calculate_dose(
            mode=plan.dose_mode,
            weight_kg=weight_kg,
            weight_measured_on=weight_on,
            on_date=today,
            mg_per_kg=plan.mg_per_kg,
            fixed_dose_mg=plan.fixed_dose_mg,
            devices=plan.device_count,
            max_dose_mg=plan.max_dose_mg,
            concentration_mg_per_ml=(
                plan.concentration_mg_per_ml if plan.dose_mode != DoseMode.DEVICES else None
            ),
            final_volume_ml=plan.final_volume_ml if plan.route == "iv" else None,
            infusion_minutes=plan.infusion_minutes if plan.route == "iv" else None,
        ),
        weight_kg,
        weight_on,
    )


@transaction.atomic
def session_confirm_dose(
    *, session, by, dose_mg, weight_kg=None, dose_change_reason="", prescriber_on_site=False
):
    """Records the weight of the day and the dose to give; a dose different from the plan's
    needs a reason, and one above the plan's maximum is refused."""
    session = _locked(session)
    _require(by, CLINICIAN, session, "confirm the dose")
    if session.status != SessionStatus.READY:
        raise ValidationError("The dose is confirmed once the pre-session checks pass.")
    plan = session.plan
    if weight_kg not in (None, ""):
        weight_kg = dosing.to_decimal(str(weight_kg))
        if not Decimal("20") <= weight_kg <= Decimal("350"):
            raise ValidationError({"weight_kg": "Weight must be 20 to 350 kg; weigh again."})
        BodyMeasurement.objects.create(
            patient=session.course.patient,
            measured_on=timezone.localdate(),
            weight_kg=weight_kg,
            recorded_by=by,
        )
    else:
        weight_kg = None
    calculation, used_weight, weight_on = session_dose_calculation(session, weight_kg=weight_kg)
    try:
        dose_mg = dosing.round_mg(dosing.to_decimal(str(dose_mg)))
    except (TypeError, ValueError) as exc:
        raise ValidationError({"dose_mg": "Enter the dose in mg."}) from exc
    if dose_mg <= 0:
        raise ValidationError({"dose_mg": "Enter the dose in mg."})
    if dose_mg > plan.max_dose_mg:
        raise ValidationError(
            {"dose_mg": f"{dose_mg} mg is above the plan's maximum of {plan.max_dose_mg} mg."}
        )
    if plan.dose_mode == DoseMode.DEVICES and dose_mg not in dosing.ESKETAMINE_DOSES_MG:
        raise ValidationError({"dose_mg": "Esketamine doses are 28, 56 or 84 mg."})
    reason = (dose_change_reason or "").strip()
    if dose_mg != calculation.dose_mg and not reason:
        raise ValidationError(
            {
                "dose_change_reason": f"The plan gives {calculation.dose_mg} mg: say why the dose "
                "differs."
            }
        )
    session.weight_kg, session.weight_measured_on = used_weight, weight_on
    session.calculated_dose_mg = calculation.dose_mg
    session.dose_mg = dose_mg
    session.dose_change_reason = reason
    if plan.dose_mode != DoseMode.DEVICES:
        session.volume_ml = dosing.round_ml(dose_mg / plan.concentration_mg_per_ml)
    session.rate_ml_per_hour = calculation.rate_ml_per_hour
    session.devices_used = (
        int(dose_mg / dosing.ESKETAMINE_DEVICE_MG) if plan.dose_mode == DoseMode.DEVICES else None
    )
    session.prescriber_on_site = bool(prescriber_on_site)
    session.version = F("version") + 1
    session.save()
    session.refresh_from_db()
    _audit(by, session, f"dose confirmed {dose_mg} mg")
    return session


@transaction.atomic
def session_start_dosing(*, session, by, started_at=None):
    session = _locked(session)
    _move(session, SessionStatus.DOSING, by)
    session.dose_started_at = started_at or timezone.now()
    session.save(update_fields=["dose_started_at", "updated_at"])
    return session


@transaction.atomic
def esketamine_device_given(*, session, by, given_at=None):
    """Records the next nasal-spray device; returns the warnings of DOMAIN.md §3.2 rule 7."""
    session = _locked(session)
    _require(by, CLINICIAN, session, "record a device")
    if session.status != SessionStatus.DOSING or session.plan.drug != Drug.ESKETAMINE:
        raise ValidationError("Devices are recorded while dosing esketamine.")
    given = list(session.devices.values_list("given_at", flat=True))
    if len(given) >= (session.devices_used or 0):
        raise ValidationError(f"All {session.devices_used} devices are recorded.")
    given_at = given_at or timezone.now()
    EsketamineDevice.objects.create(
        session=session, number=len(given) + 1, given_at=given_at, recorded_by=by
    )
    _audit(by, session, f"device {len(given) + 1}")
    return dosing.esketamine_device_warnings([*given, given_at])


@transaction.atomic
def session_end_dosing(*, session, by, ended_at=None, early_stop_reason=""):
    session = _locked(session)
    _move(session, SessionStatus.MONITORING, by)
    session.dose_ended_at = ended_at or timezone.now()
    session.early_stop_reason = (early_stop_reason or "").strip()
    session.save(update_fields=["dose_ended_at", "early_stop_reason", "updated_at"])
    return session


# --- discharge --------------------------------------------------------------------------------


def observation_ends_at(session, *, devices=None):
    """The earliest discharge time of DC-TIME. `devices`: the session's devices when the
    caller has them already."""
    if session.plan.drug == Drug.ESKETAMINE:
        if devices is None:
            first = session.devices.order_by("number").values_list("given_at", flat=True).first()
        else:
            first = min(devices, key=lambda d: d.number).given_at if devices else None
        start = first or session.dose_started_at
        minutes = observation_minutes("esketamine")
    elif session.route == "iv":
        start, minutes = session.dose_ended_at, observation_minutes("iv")
    else:
        start, minutes = session.dose_started_at, observation_minutes("other")
    return start + datetime.timedelta(minutes=minutes) if start else None


def _discharge_system_answers(session, now, *, ends=_UNSET, side_effects=None, reconciled=None):
    """The values the record gives for the discharge system items; `ends`, `side_effects`
    and `reconciled` when the caller has them already."""
    from clinic.ledger import selectors as ledger
    from clinic.monitoring.models import SideEffectReport

    if ends is _UNSET:
        ends = observation_ends_at(session)
    if side_effects is None:
        no_unknown = not SideEffectReport.objects.filter(
            session=session, outcome="unknown"
        ).exists()
    else:
        no_unknown = not any(effect.outcome == "unknown" for effect in side_effects)
    return {
        "DC-TIME": bool(ends and now >= ends),
        "DC-AE": no_unknown,
        "DC-LEDGER": ledger.draw_is_reconciled(session) if reconciled is None else reconciled,
    }


def _discharge_problems(session, for_status, now, checklist_problems, unacknowledged, ends):
    problems = list(checklist_problems)
    if unacknowledged:
        problems.append("A critical vital sign is not acknowledged yet.")
    if for_status == SessionStatus.DISCHARGED:
        if not (session.escort_name and session.escort_relationship):
            problems.append("Confirm the escort (name and relationship).")
        if ends and now < ends:
            problems.append(f"Observation continues until {timezone.localtime(ends):%H:%M}.")
    return problems


def discharge_problems(session, *, for_status, now=None):
    """What stops the patient being judged ready to leave, or being discharged."""
    from clinic.monitoring.services import unacknowledged_critical_readings

    now = now or timezone.now()
    if session.discharge_checklist is None:
        return ["Complete the discharge criteria."]
    _refresh_system_answers(
        session.discharge_checklist, _discharge_system_answers(session, now), None
    )
    checklist_problems, _ = _checklist_problems(session.discharge_checklist)
    unacknowledged = unacknowledged_critical_readings(session).exists()
    ends = observation_ends_at(session) if for_status == SessionStatus.DISCHARGED else None
    return _discharge_problems(session, for_status, now, checklist_problems, unacknowledged, ends)


def discharge_review(
    session, answers, *, for_status, readings, side_effects, devices, reconciled, now=None
):
    """For a page, without writing: `discharge_problems` from what the page has loaded. The
    discharge checklist's `answers` (with item and response, in item order) get their
    system values in memory; `readings` come from `readings_with_acknowledgment`,
    `devices` are the session's (or [] when none can be given yet), `reconciled` is
    `draw_is_reconciled`."""
    now = now or timezone.now()
    if session.discharge_checklist is None:
        return ["Complete the discharge criteria."]
    ends = observation_ends_at(session, devices=devices)
    values = _discharge_system_answers(
        session, now, ends=ends, side_effects=side_effects, reconciled=reconciled
    )
    apply_system_answers(answers, values)
    checklist_problems, _ = _checklist_problems(session.discharge_checklist, answers)
    unacknowledged = any(
        r.has_critical and not r.entered_in_error and r.acknowledgment is None for r in readings
    )
    return _discharge_problems(session, for_status, now, checklist_problems, unacknowledged, ends)


def refresh_discharge_checklist(session, *, now=None):
    """Saves the discharge checklist's system answers as the record gives them now."""
    if session.discharge_checklist is not None:
        _refresh_system_answers(
            session.discharge_checklist,
            _discharge_system_answers(session, now or timezone.now()),
            None,
        )


@transaction.atomic
def session_ready_for_discharge(*, session, by, ready_to_leave_at=None):
    session = _locked(session)
    _open_checklist(session)
    _move(session, SessionStatus.READY_FOR_DISCHARGE, by)
    session.ready_to_leave_at = ready_to_leave_at or timezone.now()
    session.save(update_fields=["ready_to_leave_at", "updated_at"])
    return session


@transaction.atomic
def session_discharge(*, session, by, escort_name, escort_relationship, escort_phone="", notes=""):
    """Discharges the patient and signs the session record, which then locks."""
    session = _locked(session)
    session.escort_name = (escort_name or "").strip()
    session.escort_relationship = (escort_relationship or "").strip()
    session.escort_phone = (escort_phone or "").strip()
    session.notes = (notes or "").strip()
    session.save(
        update_fields=["escort_name", "escort_relationship", "escort_phone", "notes", "updated_at"]
    )
    _move(session, SessionStatus.DISCHARGED, by)
    session.discharged_at = max(timezone.now(), session.ready_to_leave_at)
    session.save(update_fields=["discharged_at", "updated_at"])
    _sign(session, by=by, patient=session.course.patient)
    _measures_follow(session.course)
    return session


@transaction.atomic
def session_transfer(*, session, by, reason):
    """Emergency transfer out of the clinic; an adverse-event report must exist."""
    session = _locked(session)
    return _move(session, SessionStatus.TRANSFERRED, by, reason)
