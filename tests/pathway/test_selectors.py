"""Pathway selectors: scoped lookups that 404 and audit, home-page lists, next step, timeline."""

import datetime
import uuid

import pytest
from django.http import Http404
from django.utils import timezone

from clinic.accounts.roles import CLINICIAN_ROLES
from clinic.core.models import AccessEvent
from clinic.pathway import selectors, services
from clinic.pathway.demo import STAGES
from clinic.pathway.models import (
    Assessment,
    Consultation,
    CourseStatus,
    FollowUp,
    FollowUpDecision,
    FollowUpKind,
    FollowUpStatus,
    ReferralSource,
)
from tests import factories

TODAY = timezone.localdate

# selector, how to find its object on a course walked to maintenance, audited object type
GETTERS = {
    "course": (selectors.course_get_for_user, lambda c: c, "treatment_course"),
    "plan": (selectors.plan_get_for_user, lambda c: c.plans.get(), "treatment_plan"),
    "assessment": (
        selectors.assessment_get_for_user,
        lambda c: Assessment.objects.get(course=c),
        "assessment",
    ),
    "follow_up": (
        selectors.follow_up_get_for_user,
        lambda c: c.follow_ups.get(kind=FollowUpKind.INDUCTION_REVIEW),
        "follow_up",
    ),
    "consultation": (
        selectors.consultation_get_for_user,
        lambda c: Consultation.objects.get(course=c),
        "consultation",
    ),
}


def _last_event():
    return AccessEvent.objects.order_by("-id").first()


@pytest.fixture(params=list(GETTERS))
def getter(request, walk):
    selector, find, object_type = GETTERS[request.param]
    course = walk("maintenance")
    return selector, find(course), object_type


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["prescriber", "nurse", "clinic_admin"])
def test_own_clinic_staff_see_it_and_are_audited(who, getter, request, patient):
    selector, obj, object_type = getter
    user = request.getfixturevalue(who)
    before = AccessEvent.objects.count()
    found = selector(user, obj.public_id)
    assert found == obj
    assert AccessEvent.objects.count() == before + 1
    event = _last_event()
    assert (
        event.user,
        event.action,
        event.outcome,
        event.object_type,
        event.object_public_id,
        event.patient,
        event.clinic,
    ) == (user, "view", "allowed", object_type, obj.public_id, patient, patient.clinic)


@pytest.mark.django_db
def test_clinician_roles_exclude_the_clinic_admin(getter, clinic_admin, prescriber):
    selector, obj, _type = getter
    assert selector(prescriber, obj.public_id, roles=CLINICIAN_ROLES) == obj
    with pytest.raises(Http404):
        selector(clinic_admin, obj.public_id, roles=CLINICIAN_ROLES)
    assert _last_event().outcome == "denied"


@pytest.mark.django_db
def test_other_clinics_clinician_gets_404_and_denied_event(getter, other_clinician, patient):
    selector, obj, object_type = getter
    before = AccessEvent.objects.count()
    with pytest.raises(Http404):
        selector(other_clinician, obj.public_id)
    assert AccessEvent.objects.count() == before + 1
    event = _last_event()
    assert (
        event.user,
        event.outcome,
        event.object_type,
        event.object_public_id,
        event.patient,
    ) == (other_clinician, "denied", object_type, obj.public_id, patient)
    # The denied read is visible to the patient's clinic.
    assert event.clinic == patient.clinic


@pytest.mark.django_db
def test_patient_user_gets_404(request, prescriber, nurse, portal_patient):
    """Even for their own course: patients use the portal, not these selectors."""
    from clinic.pathway.demo import walk_course

    course = walk_course(
        patient=portal_patient, prescriber=prescriber, nurse=nurse, stage="maintenance"
    )
    for selector, find, _object_type in GETTERS.values():
        obj = find(course)
        with pytest.raises(Http404):
            selector(portal_patient.user, obj.public_id)
        event = _last_event()
        assert (event.user, event.outcome, event.patient) == (
            portal_patient.user,
            "denied",
            portal_patient,
        )


@pytest.mark.django_db
def test_staff_member_who_is_the_patient_gets_404(clinic, prescriber, nurse):
    """A nurse who is also a patient of her clinic does not read her own record here."""
    own = factories.PatientFactory(clinic=clinic, user=nurse)
    from clinic.pathway.demo import walk_course

    course = walk_course(patient=own, prescriber=prescriber, nurse=nurse, stage="plan_approved")
    assert selectors.course_get_for_user(prescriber, course.public_id) == course
    with pytest.raises(Http404):
        selectors.course_get_for_user(nurse, course.public_id)


@pytest.mark.django_db
@pytest.mark.parametrize("bad_id", ["not-a-uuid", "", "1", "' OR 1=1 --", None])
@pytest.mark.parametrize("name", list(GETTERS))
def test_malformed_id_is_404_and_audited(name, bad_id, prescriber):
    selector = GETTERS[name][0]
    with pytest.raises(Http404):
        selector(prescriber, bad_id)
    event = _last_event()
    assert (event.user, event.outcome, event.object_public_id, event.patient) == (
        prescriber,
        "denied",
        None,
        None,
    )


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(GETTERS))
def test_unknown_id_is_404_without_patient(name, prescriber):
    selector = GETTERS[name][0]
    missing = uuid.uuid4()
    with pytest.raises(Http404):
        selector(prescriber, missing)
    event = _last_event()
    assert (event.outcome, event.object_public_id, event.patient) == ("denied", missing, None)


@pytest.mark.django_db
def test_wrong_kind_of_id_is_404(walk, prescriber):
    """A plan's id does not open a course (ids are not shared across types)."""
    course = walk("plan_approved")
    with pytest.raises(Http404):
        selectors.course_get_for_user(prescriber, course.plans.get().public_id)
    with pytest.raises(Http404):
        selectors.plan_get_for_user(prescriber, course.public_id)


@pytest.mark.django_db
def test_inactive_membership_loses_access(walk, prescriber):
    course = walk("consultation_signed")
    prescriber.clinic_memberships.update(is_active=False)
    with pytest.raises(Http404):
        selectors.course_get_for_user(prescriber, course.public_id)


# --- awaiting signature -------------------------------------------------------------------------


def _labels(items):
    return sorted((item["label"], item["public_id"]) for item in items)


@pytest.mark.django_db
def test_awaiting_signature_per_role(
    clinic, prescriber, nurse, second_prescriber, other_clinician, walk
):
    p1, p2, p3, p4, p5 = (factories.PatientFactory(clinic=clinic) for _ in range(5))
    # 1. a consultation the prescriber wrote and has not signed
    c1 = walk("consultation_draft", patient=p1)
    # 2. an assessment the nurse started; no decision yet
    c2 = walk("assessment_draft", patient=p2)
    # 3. a draft plan
    c3 = walk("plan_draft", patient=p3)
    # 4. a follow-up the nurse recorded and has not signed
    c4 = walk("active", patient=p4)
    review = c4.follow_ups.get()
    services.follow_up_record(
        follow_up=review, by=nurse, completed_on=TODAY(), decision=FollowUpDecision.CONTINUE
    )
    # 5. a consultation the nurse wrote, on a course since closed: not listed
    c5 = services.course_open(patient=p5, opened_by=nurse, indication="TRD", drug="ketamine")
    services.consultation_save(
        course=c5, by=nurse, referral_source=ReferralSource.SELF, presenting_problem="Low mood"
    )
    services.course_transition(
        course=c5, to_status=CourseStatus.CLOSED_NOT_TREATED, by=nurse, reason="Declined"
    )

    consultation1 = Consultation.objects.get(course=c1)
    assessment2 = Assessment.objects.get(course=c2)
    plan3 = c3.plans.get()

    assert _labels(selectors.awaiting_signature_for_user(prescriber)) == sorted(
        [
            ("Consultation", consultation1.public_id),
            ("Assessment", assessment2.public_id),
            ("Plan v1 to approve", plan3.public_id),
        ]
    )
    # Another prescriber: not the consultation author, but decides and approves.
    assert _labels(selectors.awaiting_signature_for_user(second_prescriber)) == sorted(
        [("Assessment", assessment2.public_id), ("Plan v1 to approve", plan3.public_id)]
    )
    # The nurse: the assessment she started and the follow-up she recorded.
    assert _labels(selectors.awaiting_signature_for_user(nurse)) == sorted(
        [("Assessment", assessment2.public_id), ("Follow-up", review.public_id)]
    )
    assert selectors.awaiting_signature_for_user(other_clinician) == []

    items = selectors.awaiting_signature_for_user(prescriber)
    assert [item["since"] for item in items] == sorted(item["since"] for item in items)
    assert {item["patient"]["public_id"] for item in items} == {p.public_id for p in (p1, p2, p3)}
    assert {item["course"]["public_id"] for item in items} == {c.public_id for c in (c1, c2, c3)}
    assert len(selectors.awaiting_signature_for_user(prescriber, limit=2)) == 2

    # Signing removes it from the list.
    services.consultation_sign(consultation=consultation1, by=prescriber)
    assert ("Consultation", consultation1.public_id) not in _labels(
        selectors.awaiting_signature_for_user(prescriber)
    )


@pytest.mark.django_db
def test_awaiting_signature_leaves_out_the_clinicians_own_record(clinic, prescriber, walk):
    """A prescriber who is also a patient of the clinic never sees notes of their own chart;
    the others come oldest first as aware times, the limit keeping the oldest."""
    own = walk("plan_draft", patient=factories.PatientFactory(clinic=clinic, user=prescriber))
    others = [walk("plan_draft", patient=factories.PatientFactory(clinic=clinic)) for _ in range(3)]
    items = selectors.awaiting_signature_for_user(prescriber)
    assert {item["course"]["public_id"] for item in items} >= {c.public_id for c in others}
    assert own.public_id not in {item["course"]["public_id"] for item in items}
    assert all(item["since"].tzinfo is not None for item in items)
    oldest = sorted(items, key=lambda item: item["since"])[:2]
    assert selectors.awaiting_signature_for_user(prescriber, limit=2) == oldest


@pytest.mark.django_db
def test_clinic_admin_has_nothing_to_sign(walk, clinic_admin):
    walk("plan_draft")
    assert selectors.awaiting_signature_for_user(clinic_admin) == []


# --- overdue follow-ups -------------------------------------------------------------------------


@pytest.mark.django_db
def test_overdue_follow_ups_lists_only_overdue_scheduled_of_my_clinics(
    clinic, prescriber, nurse, other_clinician, other_patient, walk
):
    today = TODAY()
    course = walk("active")
    overdue = course.follow_ups.get()
    FollowUp.objects.filter(pk=overdue.pk).update(due_on=today - datetime.timedelta(days=3))
    older = services.follow_up_schedule(
        course=course,
        by=nurse,
        kind=FollowUpKind.CHECK_IN,
        due_on=today - datetime.timedelta(days=10),
    )
    services.follow_up_schedule(course=course, by=nurse, kind=FollowUpKind.CHECK_IN, due_on=today)
    services.follow_up_schedule(
        course=course,
        by=nurse,
        kind=FollowUpKind.CHECK_IN,
        due_on=today + datetime.timedelta(days=1),
    )
    missed = services.follow_up_schedule(
        course=course,
        by=nurse,
        kind=FollowUpKind.CHECK_IN,
        due_on=today - datetime.timedelta(days=5),
    )
    services.follow_up_close(follow_up=missed, by=nurse, status=FollowUpStatus.MISSED, reason="DNA")
    done = services.follow_up_schedule(
        course=course,
        by=nurse,
        kind=FollowUpKind.CHECK_IN,
        due_on=today - datetime.timedelta(days=6),
    )
    services.follow_up_record(
        follow_up=done, by=nurse, completed_on=today, decision=FollowUpDecision.CONTINUE
    )
    # Another clinic's overdue follow-up.
    other_nurse = factories.make_staff(clinic=other_patient.clinic, role="nurse")
    from clinic.pathway.demo import walk_course

    elsewhere = walk_course(
        patient=other_patient, prescriber=other_clinician, nurse=other_nurse, stage="active"
    )
    elsewhere.follow_ups.update(due_on=today - datetime.timedelta(days=20))

    assert list(selectors.overdue_follow_ups_for_user(prescriber)) == [older, overdue]
    assert list(selectors.overdue_follow_ups_for_user(nurse, limit=1)) == [older]
    assert list(selectors.overdue_follow_ups_for_user(other_clinician)) == list(
        elsewhere.follow_ups.all()
    )
    # Asking as of an earlier day: nothing was overdue yet.
    assert (
        list(
            selectors.overdue_follow_ups_for_user(
                prescriber, today=today - datetime.timedelta(days=10)
            )
        )
        == []
    )


# --- next step ----------------------------------------------------------------------------------

NEXT_STEPS = {
    "consultation_draft": (
        "Complete and sign the consultation",
        "pathway:consultation_edit",
        ["The consultation must be signed first."],
        None,
    ),
    "consultation_signed": ("Move the course to assessment", None, [], CourseStatus.ASSESSMENT),
    "assessment_draft": (
        "Complete the assessment; a prescriber signs the decision",
        "pathway:assessment_start",
        ["A prescriber must sign an assessment that finds the patient eligible."],
        None,
    ),
    "assessed_eligible": ("Move the course to planning", None, [], CourseStatus.PLANNING),
    "plan_draft": (
        "Write the treatment plan; a prescriber approves it",
        "pathway:plan_create",
        ["A prescriber must approve a treatment plan first."],
        None,
    ),
    "plan_approved": ("Start treatment", None, [], CourseStatus.ACTIVE),
    "active": (
        "Sessions per the plan; end-of-induction review due {due}",
        None,
        ["The end-of-induction review must be completed and signed first."],
        CourseStatus.MAINTENANCE,
    ),
    "maintenance": ("Maintenance sessions and reviews per the plan", None, [], None),
    "ineligible": ("Course closed, not treated", None, [], None),
}


def test_next_step_table_covers_every_stage():
    assert set(NEXT_STEPS) == set(STAGES)


@pytest.mark.django_db
@pytest.mark.parametrize("stage", STAGES)
def test_course_next_step_at_each_stage(stage, walk):
    course = walk(stage)
    title, action, blockers, target = NEXT_STEPS[stage]
    if "{due}" in title:
        due = course.follow_ups.get(kind=FollowUpKind.INDUCTION_REVIEW).due_on
        title = title.format(due=f"{due:%-d %b %Y}")
    step = selectors.course_next_step(course)
    assert (step["title"], step["action"], step["blockers"], step["target"]) == (
        title,
        action,
        blockers,
        target,
    )


@pytest.mark.django_db
def test_next_step_after_an_ineligible_assessment(walk, prescriber):
    course = walk("assessment_draft")
    assessment = Assessment.objects.get(course=course)
    answers = {a.item.code: ("no", "") for a in assessment.checklist.answers.select_related("item")}
    services.assessment_save(
        assessment=assessment,
        by=prescriber,
        answers=answers,
        decision="deferred",
        decision_reason="Awaiting cardiology.",
    )
    services.assessment_sign(assessment=assessment, by=prescriber)
    step = selectors.course_next_step(course)
    assert step["title"].startswith("Assessment decision: Deferred.")
    assert step["action"] == "pathway:assessment_start"
    assert step["blockers"] == [
        "A prescriber must sign an assessment that finds the patient eligible."
    ]


@pytest.mark.django_db
def test_next_step_on_hold(walk, nurse, monkeypatch):
    course = walk("maintenance")
    services.course_transition(course=course, to_status=CourseStatus.ON_HOLD, by=nurse, reason="x")
    course.refresh_from_db()
    step = selectors.course_next_step(course)
    assert (step["title"], step["blockers"], step["target"]) == (
        "On hold: a prescriber resumes or ends the course",
        [],
        CourseStatus.ACTIVE,
    )
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + datetime.timedelta(days=100))
    step = selectors.course_next_step(course)
    assert len(step["blockers"]) == 1
    assert "re-assess eligibility" in step["blockers"][0]


# --- timeline -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_course_timeline_newest_first(walk, prescriber, nurse):
    course = walk("maintenance")
    timeline = selectors.course_timeline(course)
    times = [entry["at"] for entry in timeline]
    assert times == sorted(times, reverse=True)

    statuses = [entry["title"] for entry in timeline if entry["kind"] == "status"]
    assert statuses == [
        "Status: Maintenance",
        "Status: In treatment",
        "Status: Planning",
        "Status: Assessment",
        "Status: Consultation",
    ]
    assert timeline[0]["title"] == "Status: Maintenance"
    assert timeline[0]["by"] == prescriber

    titles = [entry["title"] for entry in timeline]
    for expected in ("Consultation", "Assessment: Eligible", "Plan v1 (Approved)"):
        assert expected in titles
    notes = {entry["title"]: entry for entry in timeline if entry["kind"] == "note"}
    assert notes["Consultation"]["signed"] is True
    assert notes["Consultation"]["public_id"] == Consultation.objects.get(course=course).public_id
    assert notes["Assessment: Eligible"]["by"] == prescriber  # the signer
    # The consultation was signed before the move to assessment, so it is listed after it.
    assert titles.index("Consultation") > titles.index("Status: Assessment")
    assert titles.index("Plan v1 (Approved)") > titles.index("Status: In treatment")
    follow_ups = [entry for entry in timeline if entry.get("url_name") == "pathway:follow_up"]
    assert len(follow_ups) == 2  # signed induction review + booked maintenance review
    # The booked review has nothing to sign yet: neither signed nor unsigned.
    assert {entry["signed"] for entry in follow_ups} == {True, None}

    services.course_transition(
        course=course, to_status=CourseStatus.ON_HOLD, by=nurse, reason="Holiday"
    )
    newest = selectors.course_timeline(course)[0]
    assert (newest["title"], newest["detail"], newest["by"]) == (
        "Status: On hold",
        "Holiday",
        nurse,
    )
