"""Course and plan status transitions (DOMAIN.md §1.3).

Acceptance test of the issue: every pair of statuses is tried; allowed transitions succeed
and write one history row, all others are refused and write nothing.
"""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from clinic.core.models import AccessEvent
from clinic.core.transitions import TransitionRefused
from clinic.pathway import selectors, services
from clinic.pathway.models import (
    ChecklistAnswer,
    ConsentKind,
    CourseStatus,
    CourseStatusChange,
    Drug,
    EligibilityDecision,
    FollowUpDecision,
    FollowUpKind,
    PlanStatus,
    PlanStatusChange,
    ReferralSource,
    SuicideRisk,
    TreatmentCourse,
    TreatmentPlan,
)
from tests import factories

S = CourseStatus
REASON = "Clinical reason for the change."
COURSE_PAIRS = [(src, dst) for src in S.values for dst in S.values]


def _force_status(course, status, *, changed_at=None):
    """Puts the course row in `status` directly (the course table has no lock trigger)."""
    TreatmentCourse.objects.filter(pk=course.pk).update(
        status=status, status_changed_at=changed_at or timezone.now()
    )
    course.refresh_from_db()
    return course


def course_in(status, *, walk, prescriber, nurse):
    """A course in `status` whose guards for every move out of `status` are satisfied."""
    course = _build_course_in(status, walk=walk, prescriber=prescriber, nurse=nurse)
    course.refresh_from_db()
    return course


def _build_course_in(status, *, walk, prescriber, nurse):
    if status == S.CONSULTATION:
        return walk("consultation_signed")
    if status == S.ASSESSMENT:
        return walk("assessed_eligible")
    if status == S.PLANNING:
        return walk("plan_approved")
    if status == S.CLOSED_NOT_TREATED:
        return walk("ineligible")
    course = walk("maintenance")  # signed induction review, approved plan
    if status == S.MAINTENANCE:
        return course
    if status == S.ACTIVE:
        return _force_status(course, S.ACTIVE)
    if status == S.ON_HOLD:
        return services.course_transition(
            course=course, to_status=S.ON_HOLD, by=nurse, reason="Patient travelling"
        )
    return services.course_transition(
        course=course, to_status=status, by=prescriber, reason="Course ended"
    )


def _history(course):
    return list(CourseStatusChange.objects.filter(course=course).order_by("id"))


def assert_refused(course, to_status, by, *, reason=REASON, match=None):
    """The move raises TransitionRefused, writes no history row and leaves the status."""
    course.refresh_from_db()
    before_status, before_changed_at = course.status, course.status_changed_at
    before_rows = CourseStatusChange.objects.count()
    with pytest.raises(TransitionRefused) as excinfo:
        services.course_transition(course=course, to_status=to_status, by=by, reason=reason)
    assert CourseStatusChange.objects.count() == before_rows
    stored = TreatmentCourse.objects.get(pk=course.pk)
    assert stored.status == before_status
    assert stored.status_changed_at == before_changed_at
    if match is not None:
        assert match in " ".join(excinfo.value.messages)
    return excinfo.value


def assert_moved(course, to_status, by, *, reason=REASON):
    before = _history(course)
    source = TreatmentCourse.objects.get(pk=course.pk).status
    returned = services.course_transition(course=course, to_status=to_status, by=by, reason=reason)
    after = _history(course)
    assert len(after) == len(before) + 1
    change = after[-1]
    assert (change.from_status, change.to_status, change.changed_by, change.reason) == (
        source,
        to_status,
        by,
        reason.strip(),
    )
    stored = TreatmentCourse.objects.get(pk=course.pk)
    assert stored.status == to_status == returned.status
    assert stored.status_changed_at >= change.changed_at - datetime.timedelta(seconds=5)
    return change


# --- every pair ---------------------------------------------------------------------------------


def test_map_covers_domain_table():
    """The map is DOMAIN.md §1.3 exactly: 14 course moves."""
    expected = {
        (S.CONSULTATION, S.ASSESSMENT),
        (S.CONSULTATION, S.CLOSED_NOT_TREATED),
        (S.ASSESSMENT, S.CLOSED_NOT_TREATED),
        (S.ASSESSMENT, S.PLANNING),
        (S.PLANNING, S.ACTIVE),
        (S.ACTIVE, S.MAINTENANCE),
        (S.ACTIVE, S.ON_HOLD),
        (S.MAINTENANCE, S.ON_HOLD),
        (S.ON_HOLD, S.ACTIVE),
        (S.ON_HOLD, S.MAINTENANCE),
        (S.ACTIVE, S.COMPLETED),
        (S.ACTIVE, S.DISCONTINUED),
        (S.MAINTENANCE, S.COMPLETED),
        (S.MAINTENANCE, S.DISCONTINUED),
        (S.ON_HOLD, S.COMPLETED),
        (S.ON_HOLD, S.DISCONTINUED),
    }
    assert set(services.COURSE_TRANSITIONS.allowed) == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("source", "target"), COURSE_PAIRS, ids=[f"{a}->{b}" for a, b in COURSE_PAIRS]
)
def test_every_course_status_pair(source, target, walk, prescriber, nurse):
    course = course_in(source, walk=walk, prescriber=prescriber, nurse=nurse)
    assert course.status == source
    if (source, target) in services.COURSE_TRANSITIONS.allowed:
        change = assert_moved(course, target, prescriber)
        event = AccessEvent.objects.filter(
            object_type="treatmentcourse", object_public_id=course.public_id
        ).first()
        assert event.action == AccessEvent.Action.UPDATE
        assert event.detail == f"status {source} -> {target}"
        assert change.course_id == course.pk
    else:
        events_before = AccessEvent.objects.count()
        assert_refused(course, target, prescriber, match="cannot go from")
        assert AccessEvent.objects.count() == events_before


@pytest.mark.django_db
def test_opening_a_course_writes_its_first_history_row(patient, nurse):
    course = services.course_open(
        patient=patient, opened_by=nurse, indication="TRD", drug=Drug.KETAMINE
    )
    [change] = _history(course)
    assert (change.from_status, change.to_status, change.changed_by) == ("", S.CONSULTATION, nurse)


@pytest.mark.django_db
def test_unknown_status_is_refused(walk, prescriber):
    course = walk("consultation_signed")
    assert_refused(course, "teleported", prescriber, match="cannot go from")


# --- guards -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_assessment_needs_signed_consultation(walk, prescriber):
    course = walk("consultation_draft")
    assert_refused(course, S.ASSESSMENT, prescriber, match="The consultation must be signed first.")


@pytest.mark.django_db
def test_assessment_needs_recorded_consent(patient, prescriber):
    course = services.course_open(
        patient=patient, opened_by=prescriber, indication="TRD", drug=Drug.KETAMINE
    )
    consultation = services.consultation_save(
        course=course,
        by=prescriber,
        referral_source=ReferralSource.SELF,
        presenting_problem="Low mood.",
    )
    services.consultation_sign(consultation=consultation, by=prescriber)
    assert_refused(course, S.ASSESSMENT, prescriber, match="Informed consent")


@pytest.mark.django_db
def test_planning_needs_a_signed_assessment(walk, prescriber):
    course = walk("assessment_draft")
    assert_refused(course, S.PLANNING, prescriber, match="finds the patient eligible")


def _sign_assessment(course, prescriber, *, decision, reason="", answers=None):
    assessment = services.assessment_start(course=course, by=prescriber)
    all_no = {
        a.item.code: ("no", "")
        for a in ChecklistAnswer.objects.filter(response=assessment.checklist).select_related(
            "item"
        )
    }
    all_no.update(answers or {})
    assessment = services.assessment_save(
        assessment=assessment,
        by=prescriber,
        answers=all_no,
        assessed_on=timezone.localdate(),
        height_cm=Decimal("170.0"),
        weight_kg=Decimal("70.0"),
        suicide_risk=SuicideRisk.LOW,
        baseline_phq9=18,
        rems_enrolled_on=timezone.localdate() if course.drug == Drug.ESKETAMINE else None,
        decision=decision,
        decision_reason=reason,
    )
    return services.assessment_sign(assessment=assessment, by=prescriber)


@pytest.mark.django_db
@pytest.mark.parametrize("decision", [EligibilityDecision.INELIGIBLE, EligibilityDecision.DEFERRED])
def test_planning_refused_unless_decision_is_eligible(decision, walk, prescriber):
    course = walk("consultation_signed")
    services.course_transition(course=course, to_status=S.ASSESSMENT, by=prescriber)
    _sign_assessment(course, prescriber, decision=decision, reason="Needs cardiology review.")
    assert_refused(course, S.PLANNING, prescriber, match="finds the patient eligible")


@pytest.mark.django_db
def test_planning_allowed_with_precautions(walk, prescriber):
    course = walk("consultation_signed")
    services.course_transition(course=course, to_status=S.ASSESSMENT, by=prescriber)
    _sign_assessment(
        course,
        prescriber,
        decision=EligibilityDecision.ELIGIBLE_WITH_PRECAUTIONS,
        reason="Treated hypertension, controlled.",
        answers={"REL-CV": ("yes", "BP controlled on amlodipine; monitor closely.")},
    )
    assert_moved(course, S.PLANNING, prescriber)


@pytest.mark.django_db
def test_active_needs_an_approved_plan(walk, prescriber):
    course = walk("plan_draft")
    assert_refused(course, S.ACTIVE, prescriber, match="approve a treatment plan")


@pytest.mark.django_db
def test_active_refused_while_the_only_plan_is_suspended(walk, prescriber):
    course = walk("plan_approved")
    course.refresh_from_db()
    plan = course.plans.get()
    services.plan_transition(plan=plan, to_status=PlanStatus.SUSPENDED, by=prescriber, reason="BP")
    assert_refused(course, S.ACTIVE, prescriber, match="approve a treatment plan")


@pytest.mark.django_db
def test_maintenance_needs_a_signed_induction_review(walk, prescriber):
    course = walk("active")
    assert_refused(course, S.MAINTENANCE, prescriber, match="end-of-induction review")
    review = course.follow_ups.get(kind=FollowUpKind.INDUCTION_REVIEW)
    services.follow_up_record(
        follow_up=review,
        by=prescriber,
        completed_on=timezone.localdate(),
        decision=FollowUpDecision.MAINTENANCE,
    )
    # Recorded but not signed is not enough.
    assert_refused(course, S.MAINTENANCE, prescriber, match="end-of-induction review")
    services.follow_up_sign(follow_up=review, by=prescriber)
    assert_moved(course, S.MAINTENANCE, prescriber)


def _on_hold(walk, nurse):
    course = walk("maintenance")
    services.course_transition(course=course, to_status=S.ON_HOLD, by=nurse, reason="Travelling")
    course.refresh_from_db()
    return course


@pytest.fixture
def days_later(monkeypatch):
    """days_later(n): from now on the clock reads `n` days after the real time."""

    real_now = timezone.now

    def _move(days):
        monkeypatch.setattr(timezone, "now", lambda: real_now() + datetime.timedelta(days=days))

    return _move


@pytest.mark.django_db
@pytest.mark.parametrize("target", [S.ACTIVE, S.MAINTENANCE])
def test_resume_after_long_hold_needs_reassessment(target, walk, prescriber, nurse, days_later):
    course = _on_hold(walk, nurse)
    days_later(91)
    assert_refused(course, target, prescriber, match="re-assess eligibility first")


@pytest.mark.django_db
@pytest.mark.parametrize("target", [S.ACTIVE, S.MAINTENANCE])
def test_resume_after_short_hold_needs_nothing(target, walk, prescriber, nurse, days_later):
    course = _on_hold(walk, nurse)
    days_later(89)
    assert_moved(course, target, prescriber)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("held", "allowed"),
    [
        (datetime.timedelta(days=90, minutes=1), False),
        (datetime.timedelta(days=89, hours=23), True),
        (datetime.timedelta(days=60), True),
    ],
    ids=["90d+1min", "89d23h", "60d"],
)
def test_hold_length_counts_from_status_changed_at(
    held, allowed, walk, prescriber, nurse, days_later
):
    """The course was assessed 100 days ago; its hold is back-dated through
    `status_changed_at` (the time the guard measures the hold from)."""
    days_later(-100)
    course = _on_hold(walk, nurse)
    days_later(0)
    _force_status(course, S.ON_HOLD, changed_at=timezone.now() - held)
    if allowed:
        assert_moved(course, S.ACTIVE, prescriber)
    else:
        assert_refused(course, S.ACTIVE, prescriber, match="more than 90 days")


@pytest.mark.django_db
def test_resume_after_long_hold_with_new_eligible_assessment(walk, prescriber, nurse, days_later):
    course = _on_hold(walk, nurse)
    days_later(120)
    _sign_assessment(course, prescriber, decision=EligibilityDecision.ELIGIBLE)
    assert_moved(course, S.ACTIVE, prescriber)


@pytest.mark.django_db
def test_resume_after_long_hold_with_new_ineligible_assessment_refused(
    walk, prescriber, nurse, days_later
):
    course = _on_hold(walk, nurse)
    days_later(120)
    _sign_assessment(
        course,
        prescriber,
        decision=EligibilityDecision.INELIGIBLE,
        reason="New aneurysm.",
        answers={"CI-ANEURYSM": ("yes", "")},
    )
    assert_refused(course, S.ACTIVE, prescriber, match="re-assess eligibility first")


@pytest.mark.django_db
def test_guard_problems_explain_without_moving(walk, prescriber):
    course = walk("plan_draft")
    rows = CourseStatusChange.objects.count()
    assert services.course_guard_problems(course, S.ACTIVE) == [
        "A prescriber must approve a treatment plan first."
    ]
    assert services.course_guard_problems(course, S.COMPLETED) == ["Not reachable from planning."]
    assert CourseStatusChange.objects.count() == rows


# --- roles --------------------------------------------------------------------------------------

ROLE_CASES = [
    # (status the course is in, target, role, allowed)
    (S.CONSULTATION, S.ASSESSMENT, "nurse", True),
    (S.CONSULTATION, S.ASSESSMENT, "admin", False),
    (S.CONSULTATION, S.CLOSED_NOT_TREATED, "nurse", True),
    (S.CONSULTATION, S.CLOSED_NOT_TREATED, "admin", False),
    (S.ASSESSMENT, S.PLANNING, "nurse", False),
    (S.ASSESSMENT, S.PLANNING, "admin", False),
    (S.PLANNING, S.ACTIVE, "nurse", False),
    (S.ACTIVE, S.MAINTENANCE, "nurse", False),
    (S.ACTIVE, S.ON_HOLD, "nurse", True),
    (S.MAINTENANCE, S.ON_HOLD, "admin", False),
    (S.ON_HOLD, S.ACTIVE, "nurse", False),
    (S.ON_HOLD, S.MAINTENANCE, "nurse", False),
    (S.ACTIVE, S.COMPLETED, "nurse", False),
    (S.MAINTENANCE, S.DISCONTINUED, "nurse", False),
    (S.ON_HOLD, S.DISCONTINUED, "admin", False),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("source", "target", "role", "allowed"),
    ROLE_CASES,
    ids=[f"{a}->{b}-{r}" for a, b, r, _ in ROLE_CASES],
)
def test_role_rules(source, target, role, allowed, walk, prescriber, nurse, clinic_admin):
    course = course_in(source, walk=walk, prescriber=prescriber, nurse=nurse)
    user = {"nurse": nurse, "admin": clinic_admin}[role]
    if allowed:
        assert_moved(course, target, user)
    else:
        assert_refused(course, target, user, match="Only a")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("source", "target"),
    [(S.CONSULTATION, S.ASSESSMENT), (S.ASSESSMENT, S.PLANNING), (S.MAINTENANCE, S.ON_HOLD)],
)
def test_other_clinics_prescriber_refused(source, target, walk, prescriber, nurse, other_clinician):
    course = course_in(source, walk=walk, prescriber=prescriber, nurse=nurse)
    assert_refused(course, target, other_clinician, match="of this clinic")


@pytest.mark.django_db
def test_prescriber_elsewhere_nurse_here_is_a_nurse_here(walk, prescriber, clinic, other_clinic):
    user = factories.make_staff(clinic=other_clinic, role="prescriber")
    factories.MembershipFactory(user=user, clinic=clinic, role="nurse")
    course = walk("assessed_eligible")
    assert_refused(course, S.PLANNING, user, match="Only a prescriber")


@pytest.mark.django_db
def test_inactive_membership_refused(walk, prescriber, clinic):
    user = factories.make_staff(clinic=clinic, role="prescriber")
    user.clinic_memberships.update(is_active=False)
    course = walk("assessed_eligible")
    assert_refused(course, S.PLANNING, user, match="Only a prescriber")


# --- reasons ------------------------------------------------------------------------------------

REASON_CASES = [
    (src, dst)
    for (src, dst), rule in services.COURSE_TRANSITIONS.allowed.items()
    if rule.reason_required
]


def test_reason_required_where_domain_says():
    assert sorted(REASON_CASES) == sorted(
        [
            (S.CONSULTATION, S.CLOSED_NOT_TREATED),
            (S.ASSESSMENT, S.CLOSED_NOT_TREATED),
            (S.ACTIVE, S.ON_HOLD),
            (S.MAINTENANCE, S.ON_HOLD),
        ]
        + [
            (src, dst)
            for src in (S.ACTIVE, S.MAINTENANCE, S.ON_HOLD)
            for dst in (S.COMPLETED, S.DISCONTINUED)
        ]
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("source", "target"), REASON_CASES, ids=[f"{a}->{b}" for a, b in REASON_CASES]
)
@pytest.mark.parametrize("reason", ["", "   \n"])
def test_reason_required(source, target, reason, walk, prescriber, nurse):
    course = course_in(source, walk=walk, prescriber=prescriber, nurse=nurse)
    error = assert_refused(course, target, prescriber, reason=reason)
    assert "reason" in error.message_dict


@pytest.mark.django_db
def test_reason_is_stripped_and_kept(walk, prescriber):
    course = walk("consultation_signed")
    change = assert_moved(course, S.CLOSED_NOT_TREATED, prescriber, reason="  Moved away.  ")
    assert change.reason == "Moved away."


@pytest.mark.django_db
def test_move_without_reason_rule_accepts_empty_reason(walk, prescriber):
    course = walk("consultation_signed")
    change = assert_moved(course, S.ASSESSMENT, prescriber, reason="")
    assert change.reason == ""


# --- plan transitions ---------------------------------------------------------------------------

P = PlanStatus
PLAN_PAIRS = [(src, dst) for src in P.values for dst in P.values]


def plan_in(status, *, walk, prescriber):
    if status == P.DRAFT:
        return walk("plan_draft").plans.get()
    course = walk("plan_approved")
    plan = course.plans.get()
    if status == P.APPROVED:
        return plan
    if status in (P.SUSPENDED, P.ENDED):
        services.plan_transition(plan=plan, to_status=status, by=prescriber, reason="Set-up")
        return TreatmentPlan.objects.get(pk=plan.pk)
    # superseded: a newer version approved
    newer = services.plan_draft_create(course=course, by=prescriber, mg_per_kg=Decimal("0.6"))
    services.plan_approve(plan=newer, by=prescriber)
    return TreatmentPlan.objects.get(pk=plan.pk)


def test_plan_map_matches_domain():
    assert set(services.PLAN_TRANSITIONS.allowed) == {
        (P.APPROVED, P.SUSPENDED),
        (P.SUSPENDED, P.APPROVED),
        (P.APPROVED, P.ENDED),
        (P.SUSPENDED, P.ENDED),
    }


@pytest.mark.django_db
@pytest.mark.parametrize(("source", "target"), PLAN_PAIRS, ids=[f"{a}->{b}" for a, b in PLAN_PAIRS])
def test_every_plan_status_pair(source, target, walk, prescriber):
    plan = plan_in(source, walk=walk, prescriber=prescriber)
    assert plan.status == source
    rows_before = list(PlanStatusChange.objects.filter(plan=plan).order_by("id"))
    all_rows = PlanStatusChange.objects.count()
    if (source, target) in services.PLAN_TRANSITIONS.allowed:
        services.plan_transition(plan=plan, to_status=target, by=prescriber, reason=REASON)
        rows = list(PlanStatusChange.objects.filter(plan=plan).order_by("id"))
        assert len(rows) == len(rows_before) + 1
        change = rows[-1]
        assert (change.from_status, change.to_status, change.changed_by, change.reason) == (
            source,
            target,
            prescriber,
            REASON,
        )
        stored = TreatmentPlan.objects.get(pk=plan.pk)
        assert stored.status == target
        # Status is not content: the signature still holds.
        assert stored.hash_is_intact()
    else:
        # Approval is plan_approve's job; a draft cannot be ended (it is edited instead).
        with pytest.raises(TransitionRefused):
            services.plan_transition(plan=plan, to_status=target, by=prescriber, reason=REASON)
        assert PlanStatusChange.objects.count() == all_rows
        assert TreatmentPlan.objects.get(pk=plan.pk).status == source


@pytest.mark.django_db
@pytest.mark.parametrize("user", ["nurse", "clinic_admin", "other_clinician"])
def test_plan_suspend_is_for_this_clinics_prescriber(user, walk, prescriber, request):
    plan = plan_in(P.APPROVED, walk=walk, prescriber=prescriber)
    rows = PlanStatusChange.objects.count()
    with pytest.raises(TransitionRefused, match="Only a prescriber"):
        services.plan_transition(
            plan=plan, to_status=P.SUSPENDED, by=request.getfixturevalue(user), reason=REASON
        )
    assert PlanStatusChange.objects.count() == rows
    assert TreatmentPlan.objects.get(pk=plan.pk).status == P.APPROVED


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("source", "target"),
    [(P.APPROVED, P.SUSPENDED), (P.SUSPENDED, P.APPROVED), (P.APPROVED, P.ENDED)],
)
def test_plan_moves_need_a_reason(source, target, walk, prescriber):
    plan = plan_in(source, walk=walk, prescriber=prescriber)
    rows = PlanStatusChange.objects.count()
    with pytest.raises(TransitionRefused) as excinfo:
        services.plan_transition(plan=plan, to_status=target, by=prescriber, reason=" ")
    assert "reason" in excinfo.value.message_dict
    assert PlanStatusChange.objects.count() == rows


@pytest.mark.django_db
def test_plan_approve_cannot_be_bypassed_by_transition(walk, prescriber):
    plan = plan_in(P.DRAFT, walk=walk, prescriber=prescriber)
    with pytest.raises(TransitionRefused, match="cannot go from"):
        services.plan_transition(plan=plan, to_status=P.APPROVED, by=prescriber, reason=REASON)
    plan.refresh_from_db()
    assert (plan.status, plan.signed_at) == (P.DRAFT, None)


@pytest.mark.django_db
def test_approving_v2_supersedes_v1_with_history(walk, prescriber):
    course = walk("plan_approved")
    v1 = course.plans.get()
    v2 = services.plan_draft_create(course=course, by=prescriber, mg_per_kg=Decimal("0.6"))
    assert TreatmentPlan.objects.get(pk=v1.pk).status == P.APPROVED  # until v2 is approved
    services.plan_approve(plan=v2, by=prescriber)
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert (v1.status, v2.status) == (P.SUPERSEDED, P.APPROVED)
    assert selectors.current_plan(course) == v2
    assert [
        (c.from_status, c.to_status, c.changed_by, c.reason)
        for c in v1.status_changes.order_by("id")
    ] == [
        (P.DRAFT, P.APPROVED, prescriber, "Approved"),
        (P.APPROVED, P.SUPERSEDED, prescriber, "Superseded by version 2"),
    ]
    assert [(c.from_status, c.to_status) for c in v2.status_changes.order_by("id")] == [
        (P.DRAFT, P.APPROVED)
    ]
    assert v1.hash_is_intact() and v2.hash_is_intact()


@pytest.mark.django_db
def test_approving_v2_supersedes_a_suspended_v1(walk, prescriber):
    course = walk("plan_approved")
    v1 = course.plans.get()
    services.plan_transition(plan=v1, to_status=P.SUSPENDED, by=prescriber, reason="Raised BP")
    v2 = services.plan_draft_create(course=course, by=prescriber, mg_per_kg=Decimal("0.55"))
    services.plan_approve(plan=v2, by=prescriber)
    assert [(c.from_status, c.to_status) for c in v1.status_changes.order_by("id")] == [
        (P.DRAFT, P.APPROVED),
        (P.APPROVED, P.SUSPENDED),
        (P.SUSPENDED, P.SUPERSEDED),
    ]
    assert TreatmentPlan.objects.filter(course=course, status=P.APPROVED).get() == v2


@pytest.mark.django_db
def test_esketamine_course_walks_the_whole_pathway(walk, prescriber):
    course = walk("maintenance", drug=Drug.ESKETAMINE)
    assert [(c.from_status, c.to_status) for c in _history(course)] == [
        ("", S.CONSULTATION),
        (S.CONSULTATION, S.ASSESSMENT),
        (S.ASSESSMENT, S.PLANNING),
        (S.PLANNING, S.ACTIVE),
        (S.ACTIVE, S.MAINTENANCE),
    ]
    assert course.consultation.consent_kind == ConsentKind.ESKETAMINE_REMS
