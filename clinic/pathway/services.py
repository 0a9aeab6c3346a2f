"""Writes along the treatment pathway. Each service validates, writes its history and audit
rows in one transaction, and is the only code that changes these records."""

import datetime
import math

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from clinic.accounts.roles import CLINICIAN_ROLES, StaffRole
from clinic.core.access import user_has_role
from clinic.core.audit import record_access
from clinic.core.models import AccessEvent
from clinic.core.services import addendum_write
from clinic.core.transitions import (
    Transition,
    TransitionMap,
    transition,
)
from clinic.pathway import dosing, selectors
from clinic.pathway.models import (
    ELIGIBLE_DECISIONS,
    Assessment,
    BodyMeasurement,
    ChecklistAnswer,
    ChecklistItem,
    ChecklistKind,
    ChecklistResponse,
    ChecklistTemplate,
    Consultation,
    CourseStatus,
    CourseStatusChange,
    DoseMode,
    Drug,
    EligibilityDecision,
    FollowUp,
    FollowUpDecision,
    FollowUpKind,
    FollowUpStatus,
    ItemEffect,
    PlanStatus,
    PlanStatusChange,
    TreatmentCourse,
    TreatmentPlan,
    WeightPolicy,
    YesNoUnknown,
)
from clinic.patients.services import StaleEditError

PRESCRIBER = (StaffRole.PRESCRIBER,)
CLINICIAN = tuple(sorted(CLINICIAN_ROLES))
# DOMAIN.md §1.3 and the plan gate of §1.2 (both default; confirm clinically).
ELIGIBILITY_VALID_DAYS = 90
RESCREEN_AFTER_HOLD_DAYS = 90
MAINTENANCE_REVIEW_DEFAULT_WEEKS = 4


def _audit(user, action, obj, patient, detail=""):
    record_access(
        user=user,
        action=action,
        object_type=obj._meta.model_name,
        object_public_id=obj.public_id,
        patient=patient,
        detail=detail,
    )


def _require_role(user, roles, clinic, what):
    if not user_has_role(user, roles, clinic=clinic):
        names = " or ".join(sorted(roles))
        raise ValidationError(f"Only a {names} of this clinic can {what}.")


def _measures_follow(course):
    """Keeps the course's due questionnaires in step with what just changed."""
    from clinic.measures.services import due_sync

    due_sync(course=course)


def _require_open(course):
    if course.is_closed:
        raise ValidationError(f"This course is {course.get_status_display().lower()}.")


def _check_version(current, expected_version, field="version"):
    if expected_version is not None and getattr(current, field) != expected_version:
        raise StaleEditError(
            "Someone else saved this record while you were editing. Reload the page to see "
            "their changes, then make yours again."
        )


def _apply(instance, fields, allowed):
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"Unexpected fields: {sorted(unknown)}")
    changed = sorted(name for name, value in fields.items() if getattr(instance, name) != value)
    for name, value in fields.items():
        setattr(instance, name, value)
    return changed


# --- course status ----------------------------------------------------------------------------


def _consultation_ready(course):
    consultation = selectors.course_consultation(course)
    if consultation is None or not consultation.is_signed:
        return "The consultation must be signed first."
    if not consultation.consent_recorded:
        return "Informed consent (form, version and date) must be recorded in the consultation."
    return None


def _eligible_assessment(course):
    assessment = selectors.latest_signed_assessment(course)
    if assessment is None or assessment.decision not in ELIGIBLE_DECISIONS:
        return "A prescriber must sign an assessment that finds the patient eligible."
    return None


def _plan_approved(course):
    if not selectors.has_approved_plan(course):
        return "A prescriber must approve a treatment plan first."
    return None


def _induction_reviewed(course):
    if not selectors.induction_review_signed(course):
        return "The end-of-induction review must be completed and signed first."
    return None


def _rescreened_if_long_hold(course):
    held_since = course.status_changed_at or course.updated_at
    if timezone.now() - held_since <= datetime.timedelta(days=RESCREEN_AFTER_HOLD_DAYS):
        return None
    assessment = selectors.latest_signed_assessment(course)
    if (
        assessment
        and assessment.signed_at > held_since
        and assessment.decision in (ELIGIBLE_DECISIONS)
    ):
        return None
    return (
        f"The course has been on hold for more than {RESCREEN_AFTER_HOLD_DAYS} days: "
        "re-assess eligibility first."
    )


S = CourseStatus
COURSE_TRANSITIONS = TransitionMap.build(
    [
        ([S.CONSULTATION], [S.ASSESSMENT], Transition(CLINICIAN, guard=_consultation_ready)),
        ([S.CONSULTATION, S.ASSESSMENT], [S.CLOSED_NOT_TREATED],
         Transition(CLINICIAN, reason_required=True)),
        ([S.ASSESSMENT], [S.PLANNING], Transition(PRESCRIBER, guard=_eligible_assessment)),
        ([S.PLANNING], [S.ACTIVE], Transition(PRESCRIBER, guard=_plan_approved)),
        ([S.ACTIVE], [S.MAINTENANCE], Transition(PRESCRIBER, guard=_induction_reviewed)),
        ([S.ACTIVE, S.MAINTENANCE], [S.ON_HOLD], Transition(CLINICIAN, reason_required=True)),
        ([S.ON_HOLD], [S.ACTIVE, S.MAINTENANCE],
         Transition(PRESCRIBER, guard=_rescreened_if_long_hold)),
        ([S.ACTIVE, S.MAINTENANCE, S.ON_HOLD], [S.COMPLETED, S.DISCONTINUED],
         Transition(PRESCRIBER, reason_required=True)),
    ]
)  # fmt: skip


def course_guard_problems(course, to_status):
    """Why the course cannot move to `to_status` now (ignoring who asks), as sentences."""
    rule = COURSE_TRANSITIONS.rule(course.status, to_status)
    if rule is None:
        return [f"Not reachable from {course.get_status_display().lower()}."]
    problem = rule.guard(course) if rule.guard else None
    return [problem] if problem else []


def course_targets_for_user(course, user):
    """The statuses `user` may try to move the course to (guards aside)."""
    labels = dict(CourseStatus.choices)
    return [
        (target, labels[target])
        for target in COURSE_TRANSITIONS.targets_from(course.status)
        if user_has_role(
            user, COURSE_TRANSITIONS.rule(course.status, target).roles, clinic=course.patient.clinic
        )
    ]


@transaction.atomic
def course_open(*, patient, opened_by, indication, drug):
    _require_role(opened_by, CLINICIAN, patient.clinic, "open a treatment course")
    course = TreatmentCourse(
        patient=patient,
        indication=indication.strip(),
        drug=drug,
        opened_by=opened_by,
        status_changed_at=timezone.now(),
    )
    course.full_clean()
    course.save()
    CourseStatusChange.objects.create(
        course=course,
        from_status="",
        to_status=course.status,
        changed_by=opened_by,
        reason="Course opened",
    )
    _audit(opened_by, AccessEvent.Action.CREATE, course, patient)
    return course


@transaction.atomic
def course_transition(*, course, to_status, by, reason=""):
    """Moves the course along COURSE_TRANSITIONS; anything else is refused and writes nothing."""
    course = (
        TreatmentCourse.objects.select_for_update()
        .select_related("patient__clinic")
        .get(pk=course.pk)
    )
    change = transition(
        course,
        to_status=to_status,
        by=by,
        reason=reason,
        transitions=COURSE_TRANSITIONS,
        clinic=course.patient.clinic,
        history_model=CourseStatusChange,
        history_fk="course",
    )
    _audit(
        by,
        AccessEvent.Action.UPDATE,
        course,
        course.patient,
        f"status {change.from_status} -> {change.to_status}",
    )
    _measures_follow(course)
    return course


# --- signing ----------------------------------------------------------------------------------


def _sign(note, *, by, patient):
    if note.is_signed:
        raise ValidationError("This note is already signed.")
    note.signed_at = timezone.now()
    note.signed_by = by
    note.content_hash = note.compute_content_hash()
    note.save(update_fields=["signed_at", "signed_by", "content_hash", "updated_at"])
    _audit(by, AccessEvent.Action.SIGN, note, patient, f"sha256 {note.content_hash[:12]}")
    return note


@transaction.atomic
def addendum_add(*, note, author, text):
    """A signed addendum to a signed note: the way to correct or add to it after signing."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write the addendum."})
    if not note.is_signed:
        raise ValidationError("Edit the note itself: it is not signed yet.")
    course = note.course
    _require_role(author, CLINICIAN, course.patient.clinic, "add an addendum")
    addendum = addendum_write(
        target=note,
        author=author,
        text=text,
        bound_to={
            "note": f"{note._meta.label_lower}:{note.public_id}",
            "note_hash": note.content_hash,
        },
    )
    _audit(author, AccessEvent.Action.SIGN, addendum, course.patient, "addendum")
    return addendum


# --- consultation -----------------------------------------------------------------------------

CONSULTATION_FIELDS = Consultation.SIGNED_FIELDS


@transaction.atomic
def consultation_save(*, course, by, expected_version=None, **fields):
    """Creates or changes the course's unsigned consultation."""
    course = TreatmentCourse.objects.select_related("patient__clinic").get(pk=course.pk)
    _require_role(by, CLINICIAN, course.patient.clinic, "write the consultation")
    _require_open(course)
    consultation = Consultation.objects.select_for_update().filter(course=course).first()
    creating = consultation is None
    if creating:
        consultation = Consultation(course=course, author=by)
    else:
        _check_version(consultation, expected_version)
        if consultation.is_signed:
            raise ValidationError("The consultation is signed; add an addendum instead.")
    changed = _apply(consultation, fields, CONSULTATION_FIELDS)
    obtained_by = consultation.consent_obtained_by
    if obtained_by is not None and not user_has_role(
        obtained_by, CLINICIAN, clinic=course.patient.clinic
    ):
        raise ValidationError({"consent_obtained_by": "Choose a clinician of this clinic."})
    consultation.full_clean()
    if creating:
        consultation.save()
    elif changed:
        consultation.version = F("version") + 1
        consultation.save()
        consultation.refresh_from_db()
    action = AccessEvent.Action.CREATE if creating else AccessEvent.Action.UPDATE
    _audit(by, action, consultation, course.patient, ", ".join(changed)[:200])
    return consultation


@transaction.atomic
def consultation_sign(*, consultation, by):
    consultation = Consultation.objects.select_for_update().get(pk=consultation.pk)
    course = consultation.course
    _require_role(by, CLINICIAN, course.patient.clinic, "sign the consultation")
    if consultation.author_id != by.pk:
        raise ValidationError("Only the author of the consultation can sign it.")
    if not consultation.presenting_problem.strip():
        raise ValidationError({"presenting_problem": "Describe the presenting problem."})
    return _sign(consultation, by=by, patient=course.patient)


# --- assessment -------------------------------------------------------------------------------

ASSESSMENT_FIELDS = (
    "assessed_on",
    "height_cm",
    "weight_kg",
    "systolic_1",
    "diastolic_1",
    "systolic_2",
    "diastolic_2",
    "heart_rate",
    "spo2",
    "respiratory_rate",
    "pregnancy_test",
    "suicide_risk",
    "baseline_phq9",
    "rems_enrolled_on",
    "decision",
    "decision_reason",
    "notes",
)


@transaction.atomic
def assessment_start(*, course, by):
    """The course's unsigned assessment, or a new one on the clinic's active eligibility
    checklist with every item answered "unknown"."""
    course = (
        TreatmentCourse.objects.select_for_update()
        .select_related("patient__clinic")
        .get(pk=course.pk)
    )
    _require_role(by, CLINICIAN, course.patient.clinic, "assess eligibility")
    _require_open(course)
    existing = course.assessments.filter(signed_at__isnull=True).first()
    if existing is not None:
        return existing
    if course.status not in (CourseStatus.ASSESSMENT, CourseStatus.ON_HOLD):
        raise ValidationError("Assessment starts once the course has moved to assessment.")
    template = selectors.active_checklist_template(ChecklistKind.ELIGIBILITY, course.patient.clinic)
    if template is None:
        raise ValidationError("No eligibility checklist is active; ask a clinic admin.")
    response = ChecklistResponse.objects.create(template=template, course=course, drug=course.drug)
    ChecklistAnswer.objects.bulk_create(
        ChecklistAnswer(response=response, item=item) for item in template.items.all()
    )
    assessment = Assessment(
        course=course, checklist=response, author=by, assessed_on=timezone.localdate()
    )
    assessment.full_clean()
    assessment.save()
    _audit(by, AccessEvent.Action.CREATE, assessment, course.patient)
    return assessment


@transaction.atomic
def assessment_save(*, assessment, by, expected_version=None, answers=None, **fields):
    """Saves measurements, the decision and checklist answers of an unsigned assessment.

    `answers` maps item codes to (answer, justification).
    """
    assessment = Assessment.objects.select_for_update().get(pk=assessment.pk)
    course = assessment.course
    _require_role(by, CLINICIAN, course.patient.clinic, "edit the assessment")
    _check_version(assessment, expected_version)
    if assessment.is_signed:
        raise ValidationError("The assessment is signed; add an addendum instead.")
    if ("decision" in fields or "decision_reason" in fields) and not user_has_role(
        by, PRESCRIBER, clinic=course.patient.clinic
    ):
        if fields.get("decision", assessment.decision) != assessment.decision:
            raise ValidationError({"decision": "Only a prescriber can record the decision."})
        fields.pop("decision", None)
        fields.pop("decision_reason", None)
    changed = _apply(assessment, fields, ASSESSMENT_FIELDS)
    assessment.full_clean()
    now = timezone.now()
    for answer in ChecklistAnswer.objects.filter(response=assessment.checklist).select_related(
        "item"
    ):
        if answers is None or answer.item.code not in answers:
            continue
        value, justification = answers[answer.item.code]
        if value not in YesNoUnknown.values:
            raise ValidationError({answer.item.code: "Answer yes, no or unknown."})
        justification = (justification or "").strip()
        if (value, justification) != (answer.answer, answer.justification):
            answer.answer, answer.justification = value, justification
            answer.answered_by, answer.answered_at = by, now
            answer.save()
            changed.append(answer.item.code)
    if changed:
        assessment.version = F("version") + 1
        assessment.save()
        assessment.refresh_from_db()
        _audit(by, AccessEvent.Action.UPDATE, assessment, course.patient, ", ".join(changed)[:200])
    return assessment


def assessment_sign_problems(assessment):
    """Everything that stops a prescriber signing this assessment (DOMAIN.md §2.1)."""
    course = assessment.course
    problems = []
    answers = selectors.checklist_answers(assessment.checklist)
    unknown = [a.item.code for a in answers if a.answer == YesNoUnknown.UNKNOWN]
    if unknown:
        problems.append(f"Answer every checklist item; still unknown: {', '.join(unknown)}.")
    blocks = [a.item.code for a in answers if a.effect == ItemEffect.BLOCK]
    warns = [a for a in answers if a.effect == ItemEffect.WARN]
    decision = assessment.decision
    if not decision:
        problems.append("Record the eligibility decision.")
    if decision in ELIGIBLE_DECISIONS:
        if blocks:
            problems.append(
                f"Absolute contraindication present ({', '.join(blocks)}): the patient cannot "
                "be found eligible."
            )
        unjustified = [a.item.code for a in warns if not a.justification.strip()]
        if unjustified:
            problems.append(
                "Document why treatment may go ahead despite each relative contraindication: "
                + ", ".join(unjustified)
                + "."
            )
        if warns and decision == EligibilityDecision.ELIGIBLE:
            problems.append(
                "Relative contraindications are present: choose “Eligible with precautions”."
            )
        missing = [
            label
            for label, value in (
                ("weight", assessment.weight_kg),
                ("height", assessment.height_cm),
                ("baseline PHQ-9", assessment.baseline_phq9),
                ("C-SSRS risk level", assessment.suicide_risk or None),
            )
            if value is None
        ]
        if missing:
            problems.append(f"Record the {', '.join(missing)}.")
        consultation = Consultation.objects.filter(course=course).first()
        if consultation is None or not consultation.diagnoses.strip():
            problems.append("The consultation records no diagnosis.")
        if course.drug == Drug.ESKETAMINE and not assessment.rems_enrolled_on:
            problems.append("Esketamine needs the REMS enrolment date.")
        if (
            course.drug == Drug.ESKETAMINE
            and consultation is not None
            and consultation.failed_antidepressant_trials < 2
            and not assessment.decision_reason.strip()
        ):
            problems.append(
                "Fewer than 2 failed antidepressant trials are recorded: explain the decision."
            )
    if (
        decision
        and decision != EligibilityDecision.ELIGIBLE
        and not (assessment.decision_reason.strip())
    ):
        problems.append("Give the reason for this decision.")
    return problems


@transaction.atomic
def assessment_sign(*, assessment, by):
    """The prescriber's signature on the eligibility decision; records the weight and height
    in the patient's measurements."""
    assessment = Assessment.objects.select_for_update().get(pk=assessment.pk)
    course = assessment.course
    _require_role(by, PRESCRIBER, course.patient.clinic, "sign the eligibility decision")
    problems = assessment_sign_problems(assessment)
    if problems:
        raise ValidationError(problems)
    if assessment.weight_kg is not None:
        BodyMeasurement.objects.create(
            patient=course.patient,
            measured_on=assessment.assessed_on,
            weight_kg=assessment.weight_kg,
            height_cm=assessment.height_cm,
            recorded_by=by,
        )
    return _sign(assessment, by=by, patient=course.patient)


# --- treatment plan ---------------------------------------------------------------------------

PLAN_FIELDS = (
    "drug",
    "route",
    "dose_mode",
    "mg_per_kg",
    "mg_per_kg_min",
    "mg_per_kg_max",
    "fixed_dose_mg",
    "device_count",
    "max_dose_mg",
    "weight_policy",
    "weight_cap_kg",
    "concentration_mg_per_ml",
    "final_volume_ml",
    "infusion_minutes",
    "titration_step_mg_per_kg",
    "induction_sessions",
    "sessions_per_week",
    "review_after_sessions",
    "maintenance_interval_weeks",
    "monitoring_interval_minutes",
    "fasting_instructions",
    "stop_criteria",
    "notes",
)


def latest_weight(patient):
    return BodyMeasurement.objects.filter(patient=patient).order_by("-measured_on", "-id").first()


def plan_calculate(plan, *, on_date=None):
    """The plan's dose worked out per DOMAIN.md §3.2, with the patient's latest weight.

    Raises ValidationError (keyed by plan field) when the plan or the weight does not allow
    a dose; returns the DoseCalculation otherwise.
    """
    on_date = on_date or timezone.localdate()
    errors = {}
    if plan.drug == Drug.ESKETAMINE and (
        plan.route != "intranasal" or plan.dose_mode != DoseMode.DEVICES
    ):
        errors["dose_mode"] = "Esketamine is given as nasal-spray devices (28 mg each)."
    if plan.drug == Drug.KETAMINE and plan.dose_mode == DoseMode.DEVICES:
        errors["dose_mode"] = "Devices are for esketamine; choose mg/kg or a fixed dose."
    if plan.dose_mode == DoseMode.MG_PER_KG:
        try:
            dosing.validate_plan_mg_per_kg(
                plan.route,
                mg_per_kg=plan.mg_per_kg,
                min_mg_per_kg=plan.mg_per_kg_min,
                max_mg_per_kg=plan.mg_per_kg_max,
            )
        except ValidationError as exc:
            renamed = {"min_mg_per_kg": "mg_per_kg_min", "max_mg_per_kg": "mg_per_kg_max"}
            for key, messages in exc.message_dict.items():
                errors.setdefault(renamed.get(key, key), []).extend(messages)
        if plan.weight_policy == WeightPolicy.CAPPED and plan.weight_cap_kg is None:
            errors["weight_cap_kg"] = "Give the weight cap, or use actual body weight."
    if plan.drug == Drug.KETAMINE and not plan.concentration_mg_per_ml:
        errors["concentration_mg_per_ml"] = "Give the concentration to draw from, in mg/mL."
    if plan.route == "iv" and not (plan.final_volume_ml and plan.infusion_minutes):
        errors["infusion_minutes"] = "An IV plan needs the final volume and infusion duration."
    if errors:
        raise ValidationError(errors)

    weight = weight_on = None
    if plan.dose_mode == DoseMode.MG_PER_KG:
        measurement = latest_weight(plan.course.patient)
        if measurement is None:
            raise ValidationError({"mg_per_kg": "No weight is recorded for this patient."})
        weight, weight_on = measurement.weight_kg, measurement.measured_on
        if plan.weight_policy == WeightPolicy.CAPPED and weight > plan.weight_cap_kg:
            weight = plan.weight_cap_kg
    try:
        result = dosing.calculate_dose(
            mode=plan.dose_mode,
            weight_kg=weight,
            weight_measured_on=weight_on,
            on_date=on_date,
            mg_per_kg=plan.mg_per_kg,
            fixed_dose_mg=plan.fixed_dose_mg,
            devices=plan.device_count,
            max_dose_mg=plan.max_dose_mg,
            concentration_mg_per_ml=(
                plan.concentration_mg_per_ml if plan.dose_mode != DoseMode.DEVICES else None
            ),
            final_volume_ml=plan.final_volume_ml if plan.route == "iv" else None,
            infusion_minutes=plan.infusion_minutes if plan.route == "iv" else None,
        )
    except ValidationError as exc:
        renamed = {
            "weight_kg": "mg_per_kg",
            "weight_measured_on": "mg_per_kg",
            "devices": "device_count",
            "max_dose_mg": "max_dose_mg",
        }
        raise ValidationError(
            {renamed.get(key, key): messages for key, messages in exc.message_dict.items()}
        ) from exc
    plan.weight_kg_used, plan.weight_measured_on = weight, weight_on
    plan.dose_mg, plan.volume_ml = result.dose_mg, result.volume_ml
    plan.rate_ml_per_hour, plan.dose_capped = result.rate_ml_per_hour, result.capped
    return result


@transaction.atomic
def plan_draft_create(*, course, by, **fields):
    """A new draft version of the course's plan; fields default to the current plan's."""
    course = (
        TreatmentCourse.objects.select_for_update()
        .select_related("patient__clinic")
        .get(pk=course.pk)
    )
    _require_role(by, CLINICIAN, course.patient.clinic, "write a treatment plan")
    _require_open(course)
    if course.status in (CourseStatus.CONSULTATION, CourseStatus.ASSESSMENT):
        raise ValidationError("A plan is written once the patient has been found eligible.")
    if course.plans.filter(status=PlanStatus.DRAFT).exists():
        raise ValidationError("This course already has a draft plan; edit that one.")
    previous = selectors.current_plan(course)
    last_version = course.plans.order_by("-version").values_list("version", flat=True).first()
    plan = TreatmentPlan(
        course=course,
        author=by,
        version=(last_version or 0) + 1,
        previous_version=previous,
        drug=course.drug,
    )
    if previous is not None:
        for name in PLAN_FIELDS:
            setattr(plan, name, getattr(previous, name))
    _apply(plan, fields, PLAN_FIELDS)
    plan.full_clean(exclude=["dose_mg", "volume_ml", "rate_ml_per_hour"])
    plan_calculate(plan)
    plan.save()
    _audit(by, AccessEvent.Action.CREATE, plan, course.patient, f"version {plan.version}")
    return plan


@transaction.atomic
def plan_draft_update(*, plan, by, expected_version=None, **fields):
    plan = (
        TreatmentPlan.objects.select_for_update()
        .select_related("course__patient__clinic")
        .get(pk=plan.pk)
    )
    _require_role(by, CLINICIAN, plan.course.patient.clinic, "edit a treatment plan")
    if plan.status != PlanStatus.DRAFT:
        raise ValidationError("An approved plan cannot change; make a new version instead.")
    _check_version(plan, expected_version, "edit_version")
    changed = _apply(plan, fields, PLAN_FIELDS)
    plan.full_clean(exclude=["dose_mg", "volume_ml", "rate_ml_per_hour"])
    plan_calculate(plan)
    plan.edit_version = F("edit_version") + 1
    plan.save()
    plan.refresh_from_db()
    _audit(by, AccessEvent.Action.UPDATE, plan, plan.course.patient, ", ".join(changed)[:200])
    return plan


def plan_approval_problems(plan, *, on_date=None):
    """What stops a prescriber approving this draft now (DOMAIN.md §1.2, plan gate)."""
    course = plan.course
    problems = []
    if plan.status != PlanStatus.DRAFT:
        problems.append("Only a draft plan can be approved.")
    if course.status not in (
        CourseStatus.PLANNING,
        CourseStatus.ACTIVE,
        CourseStatus.MAINTENANCE,
        CourseStatus.ON_HOLD,
    ):
        problems.append("The course must be in planning or treatment to approve a plan.")
    assessment = selectors.latest_signed_assessment(course)
    today = on_date or timezone.localdate()
    if assessment is None or assessment.decision not in ELIGIBLE_DECISIONS:
        problems.append("No signed eligible assessment.")
    elif (today - assessment.assessed_on).days > ELIGIBILITY_VALID_DAYS:
        problems.append(
            f"The eligibility decision is more than {ELIGIBILITY_VALID_DAYS} days old; "
            "re-assess first."
        )
    consultation = Consultation.objects.filter(course=course).first()
    if consultation is None or not consultation.consent_recorded:
        problems.append("No informed consent is recorded.")
    if plan.drug != course.drug:
        problems.append("The plan's drug differs from the course's.")
    try:
        plan_calculate(plan, on_date=today)
    except ValidationError as exc:
        problems.extend(exc.messages)
    return problems


@transaction.atomic
def plan_approve(*, plan, by):
    """The prescriber's approval: the plan is signed and locked, the previous approved
    version is superseded, and the follow-ups its schedule implies are booked."""
    plan = (
        TreatmentPlan.objects.select_for_update()
        .select_related("course__patient__clinic")
        .get(pk=plan.pk)
    )
    course = plan.course
    _require_role(by, PRESCRIBER, course.patient.clinic, "approve a treatment plan")
    problems = plan_approval_problems(plan)
    if problems:
        raise ValidationError(problems)
    for previous in course.plans.select_for_update().filter(
        status__in=[PlanStatus.APPROVED, PlanStatus.SUSPENDED]
    ):
        _plan_move(previous, PlanStatus.SUPERSEDED, by, f"Superseded by version {plan.version}")
    plan.save()  # the dose worked out just now, with today's weight
    _sign(plan, by=by, patient=course.patient)
    _plan_move(plan, PlanStatus.APPROVED, by, "Approved")
    _schedule_follow_ups(course, plan, by)
    _measures_follow(course)
    return plan


def _plan_move(plan, to_status, by, reason):
    change = PlanStatusChange.objects.create(
        plan=plan, from_status=plan.status, to_status=to_status, changed_by=by, reason=reason
    )
    plan.status, plan.status_changed_at = to_status, timezone.now()
    plan.save(update_fields=["status", "status_changed_at", "updated_at"])
    return change


P = PlanStatus
PLAN_TRANSITIONS = TransitionMap.build(
    [
        ([P.APPROVED], [P.SUSPENDED], Transition(PRESCRIBER, reason_required=True)),
        ([P.SUSPENDED], [P.APPROVED], Transition(PRESCRIBER, reason_required=True)),
        ([P.APPROVED, P.SUSPENDED], [P.ENDED], Transition(PRESCRIBER, reason_required=True)),
    ]
)


@transaction.atomic
def plan_transition(*, plan, to_status, by, reason=""):
    """Suspends, resumes or ends an approved plan; approval is `plan_approve`. A draft is not
    ended: it is edited, or left for the next version to replace."""
    plan = (
        TreatmentPlan.objects.select_for_update()
        .select_related("course__patient__clinic")
        .get(pk=plan.pk)
    )
    transition(
        plan,
        to_status=to_status,
        by=by,
        reason=reason,
        transitions=PLAN_TRANSITIONS,
        clinic=plan.course.patient.clinic,
        history_model=PlanStatusChange,
        history_fk="plan",
    )
    _audit(by, AccessEvent.Action.UPDATE, plan, plan.course.patient, f"status -> {to_status}")
    return plan


# --- follow-up --------------------------------------------------------------------------------


def induction_review_due(plan, start):
    """The end-of-induction review: after the induction sessions at the plan's frequency."""
    weeks = math.ceil(plan.induction_sessions / plan.sessions_per_week)
    return start + datetime.timedelta(weeks=weeks)


def _schedule_follow_ups(course, plan, by):
    open_follow_ups = course.follow_ups.filter(status=FollowUpStatus.SCHEDULED)
    if course.status in (CourseStatus.PLANNING, CourseStatus.ACTIVE) and not (
        course.follow_ups.filter(kind=FollowUpKind.INDUCTION_REVIEW).exists()
    ):
        FollowUp.objects.create(
            course=course,
            plan=plan,
            kind=FollowUpKind.INDUCTION_REVIEW,
            due_on=induction_review_due(plan, timezone.localdate()),
            scheduled_by=by,
        )
    elif course.status == CourseStatus.MAINTENANCE and not open_follow_ups.exists():
        weeks = plan.maintenance_interval_weeks or MAINTENANCE_REVIEW_DEFAULT_WEEKS
        FollowUp.objects.create(
            course=course,
            plan=plan,
            kind=FollowUpKind.MAINTENANCE_REVIEW,
            due_on=timezone.localdate() + datetime.timedelta(weeks=weeks),
            scheduled_by=by,
        )


@transaction.atomic
def follow_up_schedule(*, course, by, kind, due_on):
    course = TreatmentCourse.objects.select_related("patient__clinic").get(pk=course.pk)
    _require_role(by, CLINICIAN, course.patient.clinic, "schedule a follow-up")
    _require_open(course)
    follow_up = FollowUp(
        course=course,
        plan=selectors.current_plan(course),
        kind=kind,
        due_on=due_on,
        scheduled_by=by,
    )
    follow_up.full_clean()
    follow_up.save()
    _audit(by, AccessEvent.Action.CREATE, follow_up, course.patient)
    _measures_follow(course)
    return follow_up


FOLLOW_UP_OUTCOME_FIELDS = ("completed_on", "decision", "side_effects_between", "outcome_notes")


@transaction.atomic
def follow_up_record(*, follow_up, by, sign=False, **fields):
    """Records the visit's outcome (and signs it when `sign`); a maintenance decision at the
    end-of-induction review books the first maintenance review."""
    follow_up = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
    course = follow_up.course
    _require_role(by, CLINICIAN, course.patient.clinic, "record a follow-up")
    if follow_up.is_signed:
        raise ValidationError("This follow-up is signed; add an addendum instead.")
    if follow_up.status not in (FollowUpStatus.SCHEDULED, FollowUpStatus.COMPLETED):
        raise ValidationError(f"This follow-up was {follow_up.get_status_display().lower()}.")
    if follow_up.completed_by_id not in (None, by.pk):
        raise ValidationError("Another clinician recorded this follow-up; they sign it.")
    changed = _apply(follow_up, fields, FOLLOW_UP_OUTCOME_FIELDS)
    errors = {}
    if not follow_up.completed_on:
        errors["completed_on"] = "Give the date of the visit."
    elif follow_up.completed_on > timezone.localdate():
        errors["completed_on"] = "The visit date cannot be in the future."
    if not follow_up.decision:
        errors["decision"] = "Record the decision."
    if errors:
        raise ValidationError(errors)
    follow_up.status, follow_up.completed_by = FollowUpStatus.COMPLETED, by
    follow_up.full_clean()
    follow_up.save()
    _audit(by, AccessEvent.Action.UPDATE, follow_up, course.patient, ", ".join(changed)[:200])
    if sign:
        _sign(follow_up, by=by, patient=course.patient)
        plan = selectors.current_plan(course)
        if (
            follow_up.kind == FollowUpKind.INDUCTION_REVIEW
            and follow_up.decision == FollowUpDecision.MAINTENANCE
            and plan is not None
        ):
            weeks = plan.maintenance_interval_weeks or MAINTENANCE_REVIEW_DEFAULT_WEEKS
            FollowUp.objects.create(
                course=course,
                plan=plan,
                kind=FollowUpKind.MAINTENANCE_REVIEW,
                due_on=follow_up.completed_on + datetime.timedelta(weeks=weeks),
                scheduled_by=by,
            )
    return follow_up


@transaction.atomic
def follow_up_sign(*, follow_up, by):
    follow_up = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
    if follow_up.status != FollowUpStatus.COMPLETED:
        raise ValidationError("Record the outcome before signing.")
    return follow_up_record(follow_up=follow_up, by=by, sign=True)


@transaction.atomic
def follow_up_close(*, follow_up, by, status, reason):
    """Marks a scheduled follow-up missed or cancelled; the reason is kept in its notes."""
    follow_up = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
    course = follow_up.course
    _require_role(by, CLINICIAN, course.patient.clinic, "change a follow-up")
    if status not in (FollowUpStatus.MISSED, FollowUpStatus.CANCELLED):
        raise ValidationError("A follow-up can only be marked missed or cancelled here.")
    if follow_up.status != FollowUpStatus.SCHEDULED:
        raise ValidationError("Only a scheduled follow-up can be marked missed or cancelled.")
    if not (reason or "").strip():
        raise ValidationError({"reason": "Give a reason."})
    follow_up.status = status
    follow_up.outcome_notes = reason.strip()
    follow_up.completed_by = by
    follow_up.save()
    _sign(follow_up, by=by, patient=course.patient)
    _measures_follow(course)
    return follow_up


# --- checklist templates ----------------------------------------------------------------------


@transaction.atomic
def checklist_template_new_version(*, template, clinic=None):
    """A copy of `template` (items included) as the next version, active in its place.

    Used when a template someone has answered needs a change: answers keep pointing at the
    version they were given against. With `clinic`, a default template is copied into that
    clinic's own series, which from then on takes precedence over the default there.
    """
    template = ChecklistTemplate.objects.select_for_update().get(pk=template.pk)
    owner = clinic if clinic is not None else template.clinic
    siblings = ChecklistTemplate.objects.filter(code=template.code, clinic=owner)
    last_version = siblings.order_by("-version").values_list("version", flat=True).first()
    siblings.filter(is_active=True).update(is_active=False)
    copy = ChecklistTemplate.objects.create(
        kind=template.kind,
        code=template.code,
        title=template.title,
        version=(last_version or 0) + 1,
        clinic=owner,
        is_active=True,
        previous_version=template,
    )
    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            template=copy,
            position=item.position,
            code=item.code,
            prompt=item.prompt,
            trigger_answer=item.trigger_answer,
            effect_ketamine=item.effect_ketamine,
            effect_esketamine=item.effect_esketamine,
            help_text=item.help_text,
        )
        for item in template.items.all()
    )
    return copy
