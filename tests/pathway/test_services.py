"""Pathway services: assessment rules (DOMAIN.md §2.1), plan rules (§1.2, §3), follow-ups,
optimistic concurrency, audit rows and checklist versions."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinic.core.models import AccessEvent, Addendum
from clinic.pathway import selectors, services
from clinic.pathway.demo import walk_course
from clinic.pathway.models import (
    Assessment,
    BodyMeasurement,
    ChecklistAnswer,
    ChecklistKind,
    ChecklistTemplate,
    Consultation,
    CourseStatus,
    DoseMode,
    Drug,
    EligibilityDecision,
    FollowUp,
    FollowUpDecision,
    FollowUpKind,
    FollowUpStatus,
    PlanStatus,
    PlanStatusChange,
    SuicideRisk,
    TreatmentPlan,
)
from clinic.patients.services import StaleEditError
from tests import factories

E = EligibilityDecision
TODAY = timezone.localdate

KETAMINE_IV = {
    "route": "iv",
    "dose_mode": DoseMode.MG_PER_KG,
    "mg_per_kg": Decimal("0.5"),
    "mg_per_kg_min": Decimal("0.5"),
    "mg_per_kg_max": Decimal("0.75"),
    "max_dose_mg": Decimal("90"),
    "concentration_mg_per_ml": Decimal("10"),
    "final_volume_ml": Decimal("100"),
    "infusion_minutes": 40,
}


def messages(excinfo):
    return " ".join(excinfo.value.messages)


# --- assessment -------------------------------------------------------------------------------


def start_assessment(course, by, **consultation_changes):
    """Signs the (draft) consultation with `consultation_changes`, moves to assessment and
    starts the assessment."""
    if consultation_changes:
        services.consultation_save(course=course, by=by, **consultation_changes)
    services.consultation_sign(consultation=Consultation.objects.get(course=course), by=by)
    services.course_transition(course=course, to_status=CourseStatus.ASSESSMENT, by=by)
    return services.assessment_start(course=course, by=by)


@pytest.fixture
def draft_assessment(walk, prescriber):
    """draft_assessment(drug=..., **consultation_changes) -> an unsigned assessment."""

    def _make(drug=Drug.KETAMINE, **consultation_changes):
        course = walk("consultation_draft", drug=drug)
        return start_assessment(course, prescriber, **consultation_changes)

    return _make


def fill(assessment, by, *, answers=None, **fields):
    """Every item "no" unless overridden, complete measurements, eligible decision."""
    course = assessment.course
    values = {
        a.item.code: ("no", "")
        for a in ChecklistAnswer.objects.filter(response=assessment.checklist).select_related(
            "item"
        )
    }
    values.update(answers or {})
    defaults = {
        "height_cm": Decimal("170.0"),
        "weight_kg": Decimal("70.0"),
        "suicide_risk": SuicideRisk.LOW,
        "baseline_phq9": 18,
        "rems_enrolled_on": TODAY() if course.drug == Drug.ESKETAMINE else None,
        "decision": E.ELIGIBLE,
    }
    defaults.update(fields)
    return services.assessment_save(assessment=assessment, by=by, answers=values, **defaults)


def assert_sign_refused(assessment, by, match):
    with pytest.raises(ValidationError) as excinfo:
        services.assessment_sign(assessment=assessment, by=by)
    assert match in messages(excinfo)
    stored = Assessment.objects.get(pk=assessment.pk)
    assert (stored.signed_at, stored.content_hash) == (None, "")
    assert not BodyMeasurement.objects.filter(patient=assessment.course.patient).exists()


@pytest.mark.django_db
def test_new_assessment_starts_all_unknown_on_the_default_checklist(draft_assessment):
    assessment = draft_assessment()
    answers = ChecklistAnswer.objects.filter(response=assessment.checklist)
    assert answers.count() == 26
    assert set(answers.values_list("answer", flat=True)) == {"unknown"}
    assert assessment.checklist.template.code == "eligibility"


@pytest.mark.django_db
@pytest.mark.parametrize("decision", [E.ELIGIBLE, E.INELIGIBLE])
def test_unknown_answer_blocks_signing(decision, draft_assessment, prescriber):
    assessment = fill(
        draft_assessment(),
        prescriber,
        answers={"CI-AVM": ("unknown", ""), "REL-COG": ("unknown", "")},
        decision=decision,
        decision_reason="Reason.",
    )
    assert_sign_refused(assessment, prescriber, "still unknown: CI-AVM, REL-COG")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("drug", "code", "blocks"),
    [
        (Drug.KETAMINE, "CI-HTN", True),
        (Drug.ESKETAMINE, "CI-HTN", False),
        (Drug.KETAMINE, "CI-PSYCHOSIS", True),
        (Drug.ESKETAMINE, "CI-PSYCHOSIS", False),
        (Drug.KETAMINE, "CI-HEP", False),
        (Drug.ESKETAMINE, "CI-HEP", True),
        (Drug.ESKETAMINE, "CI-AVM", True),
    ],
)
def test_absolute_contraindication_blocks_eligibility_per_drug(
    drug, code, blocks, draft_assessment, prescriber
):
    assessment = fill(
        draft_assessment(drug=drug),
        prescriber,
        answers={code: ("yes", "Reviewed with cardiology; precautions in place.")},
        decision=E.ELIGIBLE_WITH_PRECAUTIONS,
        decision_reason="Relative contraindication, managed.",
    )
    if blocks:
        assert_sign_refused(assessment, prescriber, f"Absolute contraindication present ({code})")
    else:
        services.assessment_sign(assessment=assessment, by=prescriber)
        assert Assessment.objects.get(pk=assessment.pk).is_signed


@pytest.mark.django_db
def test_absolute_contraindication_allows_an_ineligible_decision(draft_assessment, prescriber):
    assessment = fill(
        draft_assessment(),
        prescriber,
        answers={"CI-HTN": ("yes", "")},
        decision=E.INELIGIBLE,
        decision_reason="Uncontrolled hypertension.",
    )
    services.assessment_sign(assessment=assessment, by=prescriber)
    assert Assessment.objects.get(pk=assessment.pk).decision == E.INELIGIBLE


@pytest.mark.django_db
@pytest.mark.parametrize("drug", [Drug.KETAMINE, Drug.ESKETAMINE])
def test_relative_contraindication_needs_justification_and_precautions(
    drug, draft_assessment, prescriber
):
    assessment = fill(
        draft_assessment(drug=drug),
        prescriber,
        answers={"REL-CV": ("yes", "")},
        decision=E.ELIGIBLE_WITH_PRECAUTIONS,
        decision_reason="Treated hypertension.",
    )
    assert_sign_refused(assessment, prescriber, "relative contraindication: REL-CV")

    assessment = fill(
        assessment,
        prescriber,
        answers={"REL-CV": ("yes", "BP 132/84 on amlodipine.")},
        decision=E.ELIGIBLE,
        decision_reason="",
    )
    assert_sign_refused(assessment, prescriber, "choose “Eligible with precautions”")

    assessment = fill(
        assessment,
        prescriber,
        answers={"REL-CV": ("yes", "BP 132/84 on amlodipine.")},
        decision=E.ELIGIBLE_WITH_PRECAUTIONS,
        decision_reason="Treated hypertension.",
    )
    services.assessment_sign(assessment=assessment, by=prescriber)
    stored = Assessment.objects.get(pk=assessment.pk)
    assert stored.is_signed
    assert stored.checklist.answers.get(item__code="REL-CV").justification == (
        "BP 132/84 on amlodipine."
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "empty", "label"),
    [
        ("weight_kg", None, "weight"),
        ("height_cm", None, "height"),
        ("baseline_phq9", None, "baseline PHQ-9"),
        ("suicide_risk", "", "C-SSRS risk level"),
    ],
)
def test_missing_baseline_blocks_eligibility(field, empty, label, draft_assessment, prescriber):
    assessment = fill(draft_assessment(), prescriber, **{field: empty})
    assert_sign_refused(assessment, prescriber, f"Record the {label}.")


@pytest.mark.django_db
def test_missing_diagnosis_blocks_eligibility(draft_assessment, prescriber):
    assessment = fill(draft_assessment(diagnoses=""), prescriber)
    assert_sign_refused(assessment, prescriber, "no diagnosis")


@pytest.mark.django_db
def test_esketamine_needs_rems_date(draft_assessment, prescriber):
    assessment = fill(draft_assessment(drug=Drug.ESKETAMINE), prescriber, rems_enrolled_on=None)
    assert_sign_refused(assessment, prescriber, "REMS enrolment date")


@pytest.mark.django_db
def test_ketamine_needs_no_rems_date(draft_assessment, prescriber):
    assessment = fill(draft_assessment(), prescriber, rems_enrolled_on=None)
    services.assessment_sign(assessment=assessment, by=prescriber)
    assert Assessment.objects.get(pk=assessment.pk).is_signed


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("drug", "trials", "reason", "refused"),
    [
        (Drug.ESKETAMINE, 1, "", True),
        (Drug.ESKETAMINE, 0, "", True),
        (Drug.ESKETAMINE, 1, "Acute suicidal ideation indication.", False),
        (Drug.ESKETAMINE, 2, "", False),
        (Drug.KETAMINE, 1, "", False),
    ],
)
def test_esketamine_with_fewer_than_two_failed_trials_needs_a_reason(
    drug, trials, reason, refused, draft_assessment, prescriber
):
    assessment = fill(
        draft_assessment(drug=drug, failed_antidepressant_trials=trials),
        prescriber,
        decision_reason=reason,
    )
    if refused:
        assert_sign_refused(assessment, prescriber, "Fewer than 2 failed antidepressant trials")
    else:
        services.assessment_sign(assessment=assessment, by=prescriber)


@pytest.mark.django_db
@pytest.mark.parametrize("decision", [E.INELIGIBLE, E.DEFERRED, E.ELIGIBLE_WITH_PRECAUTIONS])
def test_decision_other_than_eligible_needs_a_reason(decision, draft_assessment, prescriber):
    assessment = fill(draft_assessment(), prescriber, decision=decision, decision_reason="  ")
    assert_sign_refused(assessment, prescriber, "Give the reason for this decision.")


@pytest.mark.django_db
def test_nurse_measures_but_cannot_decide_or_sign(draft_assessment, nurse, prescriber):
    assessment = draft_assessment()
    with pytest.raises(ValidationError) as excinfo:
        fill(assessment, nurse)
    assert "decision" in excinfo.value.message_dict
    assert Assessment.objects.get(pk=assessment.pk).decision == ""

    # Measurements and answers without a decision are fine.
    assessment = fill(assessment, nurse, decision="")
    stored = Assessment.objects.get(pk=assessment.pk)
    assert (stored.weight_kg, stored.decision) == (Decimal("70.0"), "")
    assert stored.checklist.answers.get(item__code="CI-AVM").answered_by == nurse

    with pytest.raises(ValidationError, match="Only a prescriber"):
        services.assessment_sign(assessment=assessment, by=nurse)

    fill(assessment, prescriber)  # the prescriber decides ...
    with pytest.raises(ValidationError, match="Only a prescriber"):
        services.assessment_sign(assessment=assessment, by=nurse)
    # ... and a nurse's later save keeps that decision and its reason
    services.assessment_save(
        assessment=assessment, by=nurse, decision=E.ELIGIBLE, decision_reason="Changed by nurse"
    )
    stored = Assessment.objects.get(pk=assessment.pk)
    assert (stored.decision, stored.decision_reason) == (E.ELIGIBLE, "")
    services.assessment_sign(assessment=assessment, by=prescriber)
    assert Assessment.objects.get(pk=assessment.pk).signed_by == prescriber


@pytest.mark.django_db
def test_signing_records_a_body_measurement(draft_assessment, prescriber, patient):
    assessment = fill(
        draft_assessment(),
        prescriber,
        assessed_on=TODAY() - datetime.timedelta(days=3),
        weight_kg=Decimal("81.3"),
        height_cm=Decimal("180.5"),
    )
    services.assessment_sign(assessment=assessment, by=prescriber)
    [measurement] = BodyMeasurement.objects.filter(patient=patient)
    assert (
        measurement.measured_on,
        measurement.weight_kg,
        measurement.height_cm,
        measurement.recorded_by,
    ) == (TODAY() - datetime.timedelta(days=3), Decimal("81.3"), Decimal("180.5"), prescriber)


@pytest.mark.django_db
def test_invalid_answer_refused(draft_assessment, prescriber):
    assessment = draft_assessment()
    with pytest.raises(ValidationError) as excinfo:
        services.assessment_save(
            assessment=assessment, by=prescriber, answers={"CI-AVM": ("maybe", "")}
        )
    assert "CI-AVM" in excinfo.value.message_dict
    assert assessment.checklist.answers.get(item__code="CI-AVM").answer == "unknown"


@pytest.mark.django_db
def test_assessment_cannot_start_before_the_course_reaches_assessment(walk, nurse):
    course = walk("consultation_signed")
    with pytest.raises(ValidationError, match="moved to assessment"):
        services.assessment_start(course=course, by=nurse)
    assert not Assessment.objects.filter(course=course).exists()


# --- plan ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_d1_dose_stored_on_the_plan(walk):
    course = walk("plan_draft", weight_kg="70.0")
    plan = TreatmentPlan.objects.get(course=course)
    assert (str(plan.dose_mg), str(plan.volume_ml), str(plan.rate_ml_per_hour)) == (
        "35.0",
        "3.50",
        "150.0",
    )
    assert plan.dose_capped is False
    assert plan.weight_kg_used == Decimal("70.0")
    assert plan.weight_measured_on == TODAY() - datetime.timedelta(days=7)


@pytest.mark.django_db
def test_d4_dose_capped_at_plan_maximum(walk, prescriber):
    course = walk("plan_draft", weight_kg="130.0")
    plan = services.plan_draft_update(
        plan=course.plans.get(), by=prescriber, mg_per_kg=Decimal("0.75")
    )
    stored = TreatmentPlan.objects.get(pk=plan.pk)
    assert (str(stored.dose_mg), str(stored.volume_ml), stored.dose_capped) == (
        "90.0",
        "9.00",
        True,
    )
    services.plan_approve(plan=stored, by=prescriber)
    approved = TreatmentPlan.objects.get(pk=plan.pk)
    assert (str(approved.dose_mg), approved.dose_capped) == ("90.0", True)


@pytest.mark.django_db
def test_weight_cap_policy_uses_the_capped_weight(walk, prescriber):
    course = walk("plan_draft", weight_kg="130.0")
    plan = services.plan_draft_update(
        plan=course.plans.get(), by=prescriber, weight_policy="capped", weight_cap_kg=Decimal("100")
    )
    assert (plan.weight_kg_used, str(plan.dose_mg)) == (Decimal("100.0"), "50.0")


@pytest.mark.django_db
def test_fixed_dose_above_maximum_refused(walk, prescriber):
    plan = walk("plan_draft").plans.get()
    with pytest.raises(ValidationError) as excinfo:
        services.plan_draft_update(
            plan=plan,
            by=prescriber,
            dose_mode=DoseMode.FIXED_MG,
            fixed_dose_mg=Decimal("120"),
            max_dose_mg=Decimal("90"),
        )
    assert "fixed_dose_mg" in excinfo.value.message_dict
    stored = TreatmentPlan.objects.get(pk=plan.pk)
    assert (stored.dose_mode, stored.fixed_dose_mg, stored.edit_version) == (
        DoseMode.MG_PER_KG,
        None,
        1,
    )


@pytest.mark.django_db
def test_fixed_dose_within_maximum_accepted(walk, prescriber):
    plan = walk("plan_draft").plans.get()
    plan = services.plan_draft_update(
        plan=plan, by=prescriber, dose_mode=DoseMode.FIXED_MG, fixed_dose_mg=Decimal("50")
    )
    assert (str(plan.dose_mg), str(plan.volume_ml)) == ("50.0", "5.00")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"mg_per_kg": Decimal("1.5"), "mg_per_kg_max": None}, "mg_per_kg"),
        ({"mg_per_kg": Decimal("0.05"), "mg_per_kg_min": None}, "mg_per_kg"),
        ({"mg_per_kg_min": Decimal("0.05")}, "mg_per_kg_min"),
        ({"mg_per_kg_max": Decimal("1.2")}, "mg_per_kg_max"),
        ({"mg_per_kg": Decimal("0.8")}, "mg_per_kg"),  # above the plan's own maximum 0.75
    ],
)
def test_mg_per_kg_outside_range_refused_on_the_field(changes, field, walk, prescriber):
    plan = walk("plan_draft").plans.get()
    with pytest.raises(ValidationError) as excinfo:
        services.plan_draft_update(plan=plan, by=prescriber, **changes)
    assert field in excinfo.value.message_dict
    assert TreatmentPlan.objects.get(pk=plan.pk).mg_per_kg == Decimal("0.500")


@pytest.mark.django_db
def test_mg_per_kg_outside_route_range_refused_at_creation(walk, prescriber):
    course = walk("assessed_eligible")
    services.course_transition(course=course, to_status=CourseStatus.PLANNING, by=prescriber)
    with pytest.raises(ValidationError) as excinfo:
        services.plan_draft_create(
            course=course, by=prescriber, **{**KETAMINE_IV, "mg_per_kg": Decimal("2")}
        )
    assert "mg_per_kg" in excinfo.value.message_dict
    assert not course.plans.exists()


@pytest.mark.django_db
def test_plan_needs_an_eligible_course(walk, prescriber):
    course = walk("assessed_eligible")  # still in assessment
    with pytest.raises(ValidationError, match="found eligible"):
        services.plan_draft_create(course=course, by=prescriber, **KETAMINE_IV)
    assert not course.plans.exists()


def _assert_not_approved(plan, by, match):
    rows = PlanStatusChange.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        services.plan_approve(plan=plan, by=by)
    assert match in messages(excinfo)
    stored = TreatmentPlan.objects.get(pk=plan.pk)
    assert (stored.status, stored.signed_at) == (PlanStatus.DRAFT, None)
    assert PlanStatusChange.objects.count() == rows
    assert not stored.course.follow_ups.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("age", "approved"), [(31, False), (45, False), (30, True)])
def test_weight_older_than_30_days_refuses_approval(age, approved, walk, prescriber, patient):
    plan = walk("plan_draft").plans.get()
    BodyMeasurement.objects.filter(patient=patient).update(
        measured_on=TODAY() - datetime.timedelta(days=age)
    )
    if approved:
        services.plan_approve(plan=plan, by=prescriber)
        assert TreatmentPlan.objects.get(pk=plan.pk).weight_measured_on == (
            TODAY() - datetime.timedelta(days=age)
        )
    else:
        _assert_not_approved(plan, prescriber, f"measured {age} days ago")


def _planning_course_assessed(days_ago, walk, prescriber, patient):
    course = walk("consultation_signed")
    services.course_transition(course=course, to_status=CourseStatus.ASSESSMENT, by=prescriber)
    assessment = services.assessment_start(course=course, by=prescriber)
    assessment = fill(
        assessment, prescriber, assessed_on=TODAY() - datetime.timedelta(days=days_ago)
    )
    services.assessment_sign(assessment=assessment, by=prescriber)
    # A fresh weight, so that only the eligibility's age matters.
    BodyMeasurement.objects.create(
        patient=patient, measured_on=TODAY(), weight_kg=Decimal("70.0"), recorded_by=prescriber
    )
    services.course_transition(course=course, to_status=CourseStatus.PLANNING, by=prescriber)
    return course


@pytest.mark.django_db
@pytest.mark.parametrize(("days_ago", "approved"), [(91, False), (90, True)])
def test_eligibility_older_than_90_days_refuses_approval(
    days_ago, approved, walk, prescriber, patient
):
    course = _planning_course_assessed(days_ago, walk, prescriber, patient)
    plan = services.plan_draft_create(course=course, by=prescriber, **KETAMINE_IV)
    if approved:
        services.plan_approve(plan=plan, by=prescriber)
        assert TreatmentPlan.objects.get(pk=plan.pk).status == PlanStatus.APPROVED
    else:
        _assert_not_approved(plan, prescriber, "more than 90 days old")


@pytest.mark.django_db
@pytest.mark.parametrize("user", ["nurse", "clinic_admin", "other_clinician"])
def test_only_this_clinics_prescriber_approves(user, walk, request):
    plan = walk("plan_draft").plans.get()
    _assert_not_approved(plan, request.getfixturevalue(user), "Only a prescriber")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sessions", "per_week", "weeks"), [(6, 3, 2), (7, 3, 3), (8, 2, 4), (1, 7, 1), (12, 5, 3)]
)
def test_approval_schedules_the_induction_review(sessions, per_week, weeks, walk, prescriber):
    course = walk("plan_draft")
    plan = services.plan_draft_update(
        plan=course.plans.get(),
        by=prescriber,
        induction_sessions=sessions,
        sessions_per_week=per_week,
        review_after_sessions=sessions,
    )
    services.plan_approve(plan=plan, by=prescriber)
    [review] = FollowUp.objects.filter(course=course)
    assert (review.kind, review.status, review.plan, review.scheduled_by) == (
        FollowUpKind.INDUCTION_REVIEW,
        FollowUpStatus.SCHEDULED,
        plan,
        prescriber,
    )
    assert review.due_on == TODAY() + datetime.timedelta(weeks=weeks)


@pytest.mark.django_db
def test_plan_change_after_approval_is_a_new_version(walk, prescriber):
    course = walk("plan_approved")
    v1 = course.plans.get()
    v2 = services.plan_draft_create(course=course, by=prescriber, mg_per_kg=Decimal("0.6"))
    assert (v2.version, v2.previous_version, v2.status) == (2, v1, PlanStatus.DRAFT)
    for name in services.PLAN_FIELDS:
        if name != "mg_per_kg":
            assert getattr(v2, name) == getattr(v1, name), name
    assert (v2.mg_per_kg, str(v2.dose_mg)) == (Decimal("0.6"), "43.2")
    assert selectors.draft_plan(course) == v2
    assert selectors.current_plan(course) == v1

    services.plan_approve(plan=v2, by=prescriber)
    old = TreatmentPlan.objects.get(pk=v1.pk)
    assert old.status == PlanStatus.SUPERSEDED
    assert (old.mg_per_kg, str(old.dose_mg)) == (Decimal("0.500"), "36.0")  # kept as approved
    assert old.hash_is_intact()
    assert selectors.current_plan(course) == TreatmentPlan.objects.get(pk=v2.pk)
    # The induction review booked with v1 is not booked again.
    assert course.follow_ups.filter(kind=FollowUpKind.INDUCTION_REVIEW).count() == 1


@pytest.mark.django_db
def test_only_one_draft_at_a_time(walk, prescriber):
    course = walk("plan_approved")
    services.plan_draft_create(course=course, by=prescriber, notes="First change")
    with pytest.raises(ValidationError, match="already has a draft"):
        services.plan_draft_create(course=course, by=prescriber, notes="Second change")
    assert list(course.plans.values_list("version", "status").order_by("version")) == [
        (1, PlanStatus.APPROVED),
        (2, PlanStatus.DRAFT),
    ]


@pytest.mark.django_db
def test_drafts_edit_approved_plans_do_not(walk, prescriber, nurse):
    course = walk("plan_draft")
    plan = course.plans.get()
    edited = services.plan_draft_update(
        plan=plan, by=nurse, expected_version=1, notes="Check BP at 20 min."
    )
    assert (edited.notes, edited.edit_version) == ("Check BP at 20 min.", 2)
    with pytest.raises(StaleEditError):
        services.plan_draft_update(plan=plan, by=prescriber, expected_version=1, notes="Stale")
    assert TreatmentPlan.objects.get(pk=plan.pk).notes == "Check BP at 20 min."

    services.plan_approve(plan=plan, by=prescriber)
    with pytest.raises(ValidationError, match="approved plan cannot change"):
        services.plan_draft_update(plan=plan, by=prescriber, notes="After approval")
    stored = TreatmentPlan.objects.get(pk=plan.pk)
    assert stored.notes == "Check BP at 20 min."
    assert stored.hash_is_intact()


@pytest.mark.django_db
def test_plan_draft_update_rejects_unknown_fields(walk, prescriber):
    plan = walk("plan_draft").plans.get()
    with pytest.raises(TypeError):
        services.plan_draft_update(plan=plan, by=prescriber, status=PlanStatus.APPROVED)
    assert TreatmentPlan.objects.get(pk=plan.pk).status == PlanStatus.DRAFT


@pytest.mark.django_db
def test_esketamine_plan_is_devices(walk, prescriber):
    course = walk("plan_draft", drug=Drug.ESKETAMINE)
    plan = course.plans.get()
    assert (plan.dose_mode, str(plan.dose_mg), plan.volume_ml) == (DoseMode.DEVICES, "56.0", None)
    with pytest.raises(ValidationError) as excinfo:
        services.plan_draft_update(plan=plan, by=prescriber, device_count=3, max_dose_mg=56)
    assert excinfo.value.message_dict


# --- follow-ups ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_follow_up_record_then_sign(walk, prescriber, second_prescriber):
    course = walk("active")
    review = course.follow_ups.get(kind=FollowUpKind.INDUCTION_REVIEW)
    services.follow_up_record(
        follow_up=review,
        by=prescriber,
        completed_on=TODAY() - datetime.timedelta(days=1),
        decision=FollowUpDecision.CONTINUE,
        outcome_notes="PHQ-9 19 to 15.",
    )
    stored = FollowUp.objects.get(pk=review.pk)
    assert (stored.status, stored.completed_by, stored.is_signed) == (
        FollowUpStatus.COMPLETED,
        prescriber,
        False,
    )
    with pytest.raises(ValidationError, match="Another clinician"):
        services.follow_up_sign(follow_up=review, by=second_prescriber)
    services.follow_up_sign(follow_up=review, by=prescriber)
    stored = FollowUp.objects.get(pk=review.pk)
    assert (stored.signed_by, stored.hash_is_intact()) == (prescriber, True)
    # "continue" books no maintenance review
    assert not course.follow_ups.filter(kind=FollowUpKind.MAINTENANCE_REVIEW).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("drug", "weeks"), [(Drug.KETAMINE, 4), (Drug.ESKETAMINE, 2)])
def test_induction_review_maintenance_books_a_maintenance_review(drug, weeks, walk, prescriber):
    course = walk("active", drug=drug)
    plan = selectors.current_plan(course)
    assert plan.maintenance_interval_weeks == weeks
    review = course.follow_ups.get(kind=FollowUpKind.INDUCTION_REVIEW)
    completed_on = TODAY() - datetime.timedelta(days=2)
    services.follow_up_record(
        follow_up=review,
        by=prescriber,
        sign=True,
        completed_on=completed_on,
        decision=FollowUpDecision.MAINTENANCE,
    )
    [booked] = course.follow_ups.filter(kind=FollowUpKind.MAINTENANCE_REVIEW)
    assert (booked.due_on, booked.status, booked.plan) == (
        completed_on + datetime.timedelta(weeks=weeks),
        FollowUpStatus.SCHEDULED,
        plan,
    )


@pytest.mark.django_db
def test_maintenance_decision_without_signing_books_nothing(walk, prescriber):
    course = walk("active")
    review = course.follow_ups.get(kind=FollowUpKind.INDUCTION_REVIEW)
    services.follow_up_record(
        follow_up=review, by=prescriber, completed_on=TODAY(), decision=FollowUpDecision.MAINTENANCE
    )
    assert not course.follow_ups.filter(kind=FollowUpKind.MAINTENANCE_REVIEW).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"decision": FollowUpDecision.CONTINUE}, "completed_on"),
        ({"completed_on": "future", "decision": FollowUpDecision.CONTINUE}, "completed_on"),
        ({"completed_on": "today"}, "decision"),
    ],
)
def test_follow_up_record_needs_date_and_decision(fields, key, walk, prescriber):
    course = walk("active")
    review = course.follow_ups.get(kind=FollowUpKind.INDUCTION_REVIEW)
    dates = {"future": TODAY() + datetime.timedelta(days=1), "today": TODAY()}
    fields = {k: dates.get(v, v) if k == "completed_on" else v for k, v in fields.items()}
    with pytest.raises(ValidationError) as excinfo:
        services.follow_up_record(follow_up=review, by=prescriber, **fields)
    assert key in excinfo.value.message_dict
    assert FollowUp.objects.get(pk=review.pk).status == FollowUpStatus.SCHEDULED


@pytest.mark.django_db
@pytest.mark.parametrize("reason", ["", "   "])
def test_close_as_missed_needs_a_reason(reason, walk, prescriber):
    course = walk("active")
    review = course.follow_ups.get(kind=FollowUpKind.INDUCTION_REVIEW)
    with pytest.raises(ValidationError) as excinfo:
        services.follow_up_close(
            follow_up=review, by=prescriber, status=FollowUpStatus.MISSED, reason=reason
        )
    assert "reason" in excinfo.value.message_dict
    stored = FollowUp.objects.get(pk=review.pk)
    assert (stored.status, stored.is_signed) == (FollowUpStatus.SCHEDULED, False)


@pytest.mark.django_db
def test_close_as_missed_signs_with_the_reason(walk, nurse):
    course = walk("active")
    review = course.follow_ups.get(kind=FollowUpKind.INDUCTION_REVIEW)
    services.follow_up_close(
        follow_up=review, by=nurse, status=FollowUpStatus.MISSED, reason=" No answer by phone. "
    )
    stored = FollowUp.objects.get(pk=review.pk)
    assert (stored.status, stored.outcome_notes, stored.signed_by) == (
        FollowUpStatus.MISSED,
        "No answer by phone.",
        nurse,
    )
    assert stored.hash_is_intact()
    with pytest.raises(ValidationError):
        services.follow_up_record(
            follow_up=review, by=nurse, completed_on=TODAY(), decision=FollowUpDecision.CONTINUE
        )
    with pytest.raises(ValidationError, match="missed or cancelled"):
        services.follow_up_close(
            follow_up=review, by=nurse, status=FollowUpStatus.COMPLETED, reason="x"
        )


# --- concurrency --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_stale_consultation_edit_refused(walk, prescriber, nurse):
    course = walk("consultation_draft")
    consultation = Consultation.objects.get(course=course)
    assert consultation.version == 1
    saved = services.consultation_save(
        course=course, by=nurse, expected_version=1, goals="Sleep better."
    )
    assert saved.version == 2
    with pytest.raises(StaleEditError):
        services.consultation_save(
            course=course, by=prescriber, expected_version=1, goals="Overwrite."
        )
    stored = Consultation.objects.get(pk=consultation.pk)
    assert (stored.goals, stored.version) == ("Sleep better.", 2)
    # An unchanged save does not bump the version.
    services.consultation_save(
        course=course, by=prescriber, expected_version=2, goals="Sleep better."
    )
    assert Consultation.objects.get(pk=consultation.pk).version == 2


@pytest.mark.django_db
def test_stale_assessment_edit_refused(draft_assessment, prescriber, nurse):
    assessment = draft_assessment()
    services.assessment_save(
        assessment=assessment, by=nurse, expected_version=1, weight_kg=Decimal("70.0")
    )
    with pytest.raises(StaleEditError):
        services.assessment_save(
            assessment=assessment, by=prescriber, expected_version=1, weight_kg=Decimal("90.0")
        )
    assert Assessment.objects.get(pk=assessment.pk).weight_kg == Decimal("70.0")


@pytest.mark.django_db
def test_consent_taker_must_be_a_clinician_of_the_clinic(walk, prescriber, other_clinician):
    course = walk("consultation_draft")
    with pytest.raises(ValidationError) as excinfo:
        services.consultation_save(
            course=course, by=prescriber, consent_obtained_by=other_clinician
        )
    assert "consent_obtained_by" in excinfo.value.message_dict


@pytest.mark.django_db
def test_consultation_on_closed_course_refused(walk, prescriber):
    course = walk("consultation_draft")
    services.course_transition(
        course=course, to_status=CourseStatus.CLOSED_NOT_TREATED, by=prescriber, reason="Declined"
    )
    with pytest.raises(ValidationError, match="closed"):
        services.consultation_save(course=course, by=prescriber, goals="x")


# --- audit --------------------------------------------------------------------------------------


def _events(obj):
    return list(
        AccessEvent.objects.filter(object_public_id=obj.public_id)
        .order_by("occurred_at", "id")
        .values_list("action", "user", "patient", "outcome", "object_type")
    )


@pytest.mark.django_db
def test_every_service_writes_an_access_event(patient, prescriber, nurse):
    course = walk_course(patient=patient, prescriber=prescriber, nurse=nurse, stage="maintenance")
    consultation = Consultation.objects.get(course=course)
    assessment = Assessment.objects.get(course=course)
    plan = course.plans.get()
    review = course.follow_ups.get(kind=FollowUpKind.INDUCTION_REVIEW)
    p, n, pt = prescriber.pk, nurse.pk, patient.pk
    A = AccessEvent.Action

    assert _events(consultation) == [
        (A.CREATE, p, pt, "allowed", "consultation"),
        (A.SIGN, p, pt, "allowed", "consultation"),
    ]
    assert _events(assessment) == [
        (A.CREATE, n, pt, "allowed", "assessment"),
        (A.UPDATE, p, pt, "allowed", "assessment"),
        (A.SIGN, p, pt, "allowed", "assessment"),
    ]
    assert _events(plan) == [
        (A.CREATE, p, pt, "allowed", "treatmentplan"),
        (A.SIGN, p, pt, "allowed", "treatmentplan"),
    ]
    assert _events(review) == [
        (A.UPDATE, p, pt, "allowed", "followup"),
        (A.SIGN, p, pt, "allowed", "followup"),
    ]
    assert _events(course) == [
        (A.CREATE, n, pt, "allowed", "treatmentcourse"),
        (A.UPDATE, n, pt, "allowed", "treatmentcourse"),  # -> assessment
        (A.UPDATE, p, pt, "allowed", "treatmentcourse"),  # -> planning
        (A.UPDATE, p, pt, "allowed", "treatmentcourse"),  # -> active
        (A.UPDATE, p, pt, "allowed", "treatmentcourse"),  # -> maintenance
    ]

    services.plan_draft_create(course=course, by=nurse, notes="v2")
    v2 = course.plans.get(version=2)
    services.plan_draft_update(plan=v2, by=prescriber, notes="v2, checked")
    addendum = services.addendum_add(note=consultation, author=nurse, text="Addendum.")
    later = services.follow_up_schedule(
        course=course, by=nurse, kind=FollowUpKind.CHECK_IN, due_on=TODAY()
    )
    assert _events(v2) == [
        (A.CREATE, n, pt, "allowed", "treatmentplan"),
        (A.UPDATE, p, pt, "allowed", "treatmentplan"),
    ]
    assert _events(addendum) == [(A.SIGN, n, pt, "allowed", "addendum")]
    assert _events(later) == [(A.CREATE, n, pt, "allowed", "followup")]
    assert AccessEvent.objects.filter(patient=patient).exclude(clinic=patient.clinic).count() == 0
    assert Addendum.objects.count() == 1


@pytest.mark.django_db
def test_refused_service_call_writes_no_audit_row(walk, nurse):
    plan = walk("plan_draft").plans.get()
    before = AccessEvent.objects.count()
    with pytest.raises(ValidationError):
        services.plan_approve(plan=plan, by=nurse)
    assert AccessEvent.objects.count() == before


# --- checklist versions -------------------------------------------------------------------------


@pytest.mark.django_db
def test_checklist_template_new_version(walk, prescriber, nurse, clinic):
    course = walk("assessed_eligible")
    old_response = Assessment.objects.get(course=course).checklist
    v1 = old_response.template
    assert (v1.version, v1.is_active, v1.in_use) == (1, True, True)

    v2 = services.checklist_template_new_version(template=v1)
    v1.refresh_from_db()
    assert (v2.version, v2.is_active, v2.previous_version, v2.code, v2.kind, v2.clinic) == (
        2,
        True,
        v1,
        v1.code,
        v1.kind,
        None,
    )
    assert v1.is_active is False
    fields = (
        "position",
        "code",
        "prompt",
        "trigger_answer",
        "effect_ketamine",
        "effect_esketamine",
    )
    assert list(v2.items.values_list(*fields)) == list(v1.items.values_list(*fields))
    assert not set(v2.items.values_list("pk", flat=True)) & set(
        v1.items.values_list("pk", flat=True)
    )
    assert selectors.active_checklist_template(ChecklistKind.ELIGIBILITY, clinic) == v2

    # Old answers keep pointing at v1's items; the signed assessment stays intact.
    old_response.refresh_from_db()
    assert old_response.template == v1
    assert set(old_response.answers.values_list("item__template", flat=True)) == {v1.pk}
    assert Assessment.objects.get(course=course).hash_is_intact()

    # A new assessment answers v2.
    other = factories.PatientFactory(clinic=clinic)
    new_course = walk("assessment_draft", patient=other)
    new_response = Assessment.objects.get(course=new_course).checklist
    assert new_response.template == v2
    assert set(new_response.answers.values_list("item__template", flat=True)) == {v2.pk}

    v3 = services.checklist_template_new_version(template=v2)
    assert v3.version == 3
    assert list(ChecklistTemplate.objects.filter(code=v1.code, clinic=None, is_active=True)) == [v3]
