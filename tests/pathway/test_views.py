"""The clinician pages of the treatment pathway: what each role sees, what each form does
with good and bad input, sign-and-lock, and a query count that does not grow with the data."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.core.models import AccessEvent, Addendum
from clinic.pathway import services
from clinic.pathway.demo import walk_course
from clinic.pathway.models import (
    Assessment,
    ChecklistAnswer,
    Consultation,
    CourseStatus,
    Drug,
    FollowUp,
    FollowUpStatus,
    PlanStatus,
    TreatmentCourse,
    TreatmentPlan,
)
from tests import factories

TODAY = timezone.localdate


def course_at(stage, *, patient, prescriber, nurse, drug=Drug.KETAMINE):
    course = walk_course(
        patient=patient, prescriber=prescriber, nurse=nurse, stage=stage, drug=drug
    )
    course.refresh_from_db()
    return course


@pytest.fixture
def at(patient, prescriber, nurse):
    """at(stage) -> a course of `patient` walked to `stage` through the services."""

    def _at(stage, **kwargs):
        kwargs.setdefault("patient", patient)
        return course_at(stage, prescriber=prescriber, nurse=nurse, **kwargs)

    return _at


def url(name, obj):
    return reverse(f"pathway:{name}", args=[obj.public_id])


def page_of(response):
    return response.content.decode()


CONSULTATION_FORM = {
    "referral_source": "psychiatrist",
    "referred_by": "Dr. Invented",
    "referral_date": "2026-01-05",
    "presenting_problem": "Low mood for two years.",
    "diagnoses": "F33.2",
    "off_label": "on",
    "failed_antidepressant_trials": "2",
    "consent_kind": "off_label",
    "consent_version": "2026-01",
    "consent_signed_on": "2026-01-10",
}


# --- opening a course, and the patient chart ---------------------------------------------------


@pytest.mark.django_db
def test_a_clinician_opens_a_course_from_the_patient_chart(client, patient, nurse):
    client.force_login(nurse)
    chart = page_of(client.get(reverse("patients:detail", args=[patient.public_id])))
    assert "Treatment courses" in chart
    assert "Open a course" in chart
    response = client.post(
        url("course_create", patient), {"indication": "TRD", "drug": "ketamine"}, follow=True
    )
    course = TreatmentCourse.objects.get()
    assert response.redirect_chain[-1][0] == url("course", course)
    assert course.opened_by == nurse and course.status == CourseStatus.CONSULTATION
    page = page_of(response)
    assert "Complete and sign the consultation" in page
    assert url("consultation_edit", course) in page


@pytest.mark.django_db
def test_opening_a_course_with_bad_input_keeps_it_and_saves_nothing(client, patient, nurse):
    client.force_login(nurse)
    response = client.post(url("course_create", patient), {"indication": "Kept<b>", "drug": "x"})
    assert response.status_code == 200
    page = page_of(response)
    assert "Select a valid choice" in page
    assert 'value="Kept&lt;b&gt;"' in page
    assert not TreatmentCourse.objects.exists()


@pytest.mark.django_db
def test_the_chart_lists_courses_with_next_steps_and_admins_cannot_open_one(
    client, at, patient, clinic_admin
):
    draft = at("consultation_draft")
    planned = at("plan_draft")
    client.force_login(clinic_admin)
    page = page_of(client.get(reverse("patients:detail", args=[patient.public_id])))
    assert "Complete the consultation" in page
    assert "Plan v1 awaits approval" in page
    assert url("course", draft) in page and url("course", planned) in page
    assert "Open a course" not in page


# --- course overview ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_course_overview_shows_next_step_timeline_plan_and_follow_ups(
    client, at, prescriber, nurse
):
    course = at("active")
    review = course.follow_ups.get()
    FollowUp.objects.filter(pk=review.pk).update(due_on=TODAY() - datetime.timedelta(days=3))
    client.force_login(prescriber)
    page = page_of(client.get(url("course", course)))
    assert "In treatment" in page
    assert "Next step" in page and "Sessions per the plan" in page
    # The induction review has not been signed, so the move to maintenance is blocked.
    assert "The end-of-induction review must be completed and signed first." in page
    assert "36.0 mg" in page and "3.60 mL" in page and "150.0 mL/h" in page
    assert "72.0 kg" in page
    assert "overdue since" in page
    assert url("follow_up", review) in page
    assert url("consultation", course.consultation) in page
    assert "Schedule" in page
    assert "Change the course status" in page


@pytest.mark.django_db
def test_the_next_step_button_moves_the_course(client, at, nurse):
    course = at("consultation_signed")
    client.force_login(nurse)
    page = page_of(client.get(url("course", course)))
    assert "Move to assessment" in page
    response = client.post(url("course_transition", course), {"to_status": "assessment"})
    assert response.status_code == 302
    course.refresh_from_db()
    assert course.status == CourseStatus.ASSESSMENT
    assert course.status_changes.filter(to_status="assessment", changed_by=nurse).exists()


@pytest.mark.django_db
def test_a_refused_transition_explains_and_changes_nothing(client, at, nurse, prescriber):
    course = at("consultation_draft")
    client.force_login(nurse)
    response = client.post(url("course_transition", course), {"to_status": "assessment"})
    assert response.status_code == 200
    assert "The consultation must be signed first." in page_of(response)
    # Closing needs a reason, which goes beside the field.
    response = client.post(url("course_transition", course), {"to_status": "closed_not_treated"})
    assert "Give a reason for this change." in page_of(response)
    course.refresh_from_db()
    assert course.status == CourseStatus.CONSULTATION
    assert course.status_changes.count() == 1


@pytest.mark.django_db
def test_a_nurse_is_not_offered_prescriber_transitions(client, at, nurse):
    course = at("assessed_eligible")
    client.force_login(nurse)
    page = page_of(client.get(url("course", course)))
    assert "A prescriber moves the course to planning." in page
    response = client.post(url("course_transition", course), {"to_status": "planning"})
    assert response.status_code == 200
    assert "Select a valid choice" in page_of(response)
    course.refresh_from_db()
    assert course.status == CourseStatus.ASSESSMENT


# --- consultation ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_consultation_draft_then_sign_locks_it(client, patient, prescriber):
    course = services.course_open(
        patient=patient, opened_by=prescriber, indication="TRD", drug="ketamine"
    )
    client.force_login(prescriber)
    edit = url("consultation_edit", course)
    page = page_of(client.get(edit))
    assert "Save draft" in page and "Save and sign" in page
    assert prescriber.display_name in page  # consent taken by: the clinic's clinicians
    response = client.post(edit, {**CONSULTATION_FORM, "consent_obtained_by": prescriber.pk})
    consultation = Consultation.objects.get()
    assert response.url == url("consultation_edit_by_id", consultation)
    assert not consultation.is_signed and consultation.consent_obtained_by == prescriber

    response = client.post(
        url("consultation_edit_by_id", consultation),
        {**CONSULTATION_FORM, "version": consultation.version, "action": "sign"},
        follow=True,
    )
    consultation.refresh_from_db()
    assert consultation.is_signed and consultation.hash_is_intact()
    page = page_of(response)
    assert f'Signed by <strong class="text-body">{prescriber.display_name}' in page
    assert consultation.content_hash[:12] in page
    assert "content matches the signature" in page

    # Signed: the edit pages now lead to the read-only note.
    for edit_url in (edit, url("consultation_edit_by_id", consultation)):
        response = client.get(edit_url)
        assert response.status_code == 302 and response.url == url("consultation", consultation)
    response = client.post(
        url("consultation_addendum", consultation), {"text": "Allergy to latex."}, follow=True
    )
    assert "Allergy to latex." in page_of(response)
    assert Addendum.objects.get().author == prescriber


@pytest.mark.django_db
def test_consultation_bad_input_stays_beside_the_fields_and_saves_nothing(
    client, patient, prescriber, other_clinician
):
    course = services.course_open(
        patient=patient, opened_by=prescriber, indication="TRD", drug="ketamine"
    )
    client.force_login(prescriber)
    response = client.post(
        url("consultation_edit", course),
        {
            **CONSULTATION_FORM,
            "consent_version": "",
            "failed_antidepressant_trials": "many",
            "consent_obtained_by": other_clinician.pk,
            "presenting_problem": "Kept <typed> text",
        },
    )
    page = page_of(response)
    assert response.status_code == 200
    assert "Give the version of the consent form." in page
    assert "Enter a whole number." in page
    assert "Select a valid choice" in page  # another clinic's clinician cannot take consent
    assert "Kept &lt;typed&gt; text" in page
    assert 'value="many"' in page
    assert not Consultation.objects.exists()


@pytest.mark.django_db
def test_a_stale_consultation_edit_shows_a_conflict_and_keeps_the_typed_values(
    client, at, prescriber, nurse
):
    course = at("consultation_draft")
    consultation = course.consultation
    edit = url("consultation_edit_by_id", consultation)
    form = {**CONSULTATION_FORM, "version": consultation.version}
    client.force_login(nurse)
    assert client.post(edit, {**form, "goals": "Nurse's goals"}).status_code == 302
    client.force_login(prescriber)
    response = client.post(edit, {**form, "goals": "Prescriber's goals"})
    page = page_of(response)
    assert "Someone else saved this record while you were editing." in page
    assert "Prescriber&#x27;s goals" in page
    consultation.refresh_from_db()
    assert consultation.goals == "Nurse's goals"


@pytest.mark.django_db
def test_only_the_author_may_sign_a_consultation(client, at, nurse):
    course = at("consultation_draft")  # written by the prescriber
    consultation = course.consultation
    client.force_login(nurse)
    page = page_of(client.get(url("consultation_edit_by_id", consultation)))
    assert "Save and sign" not in page
    response = client.post(url("consultation_sign", consultation), follow=True)
    assert "Only the author of the consultation can sign it." in page_of(response)
    consultation.refresh_from_db()
    assert not consultation.is_signed


# --- assessment --------------------------------------------------------------------------------


def assessment_form(assessment, answer="no", **overrides):
    data = {
        "version": assessment.version,
        "assessed_on": TODAY().isoformat(),
        "height_cm": "172.0",
        "weight_kg": "70.0",
        "systolic_1": "120",
        "diastolic_1": "80",
        "systolic_2": "118",
        "diastolic_2": "78",
        "heart_rate": "70",
        "spo2": "98",
        "respiratory_rate": "14",
        "pregnancy_test": "not_applicable",
        "suicide_risk": "low",
        "baseline_phq9": "18",
        "decision": "eligible",
        "decision_reason": "",
    }
    for item in ChecklistAnswer.objects.filter(response=assessment.checklist).select_related(
        "item"
    ):
        data[f"answer__{item.item.code}"] = answer
        data[f"justification__{item.item.code}"] = ""
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_starting_an_assessment_needs_a_post(client, at, nurse):
    course = at("consultation_signed")
    services.course_transition(course=course, to_status="assessment", by=nurse)
    client.force_login(nurse)
    start = url("assessment_start", course)
    assert "Start assessment" in page_of(client.get(start))
    assert not Assessment.objects.exists()  # a GET creates nothing
    response = client.post(start)
    assessment = Assessment.objects.get()
    assert response.url == url("assessment", assessment)
    # While it is unsigned the start page leads to it.
    assert client.get(start).url == url("assessment", assessment)


@pytest.mark.django_db
def test_a_nurse_records_the_checklist_but_not_the_decision(client, at, nurse):
    course = at("assessment_draft")
    assessment = course.assessments.get()
    client.force_login(nurse)
    page = page_of(client.get(url("assessment", assessment)))
    assert "CI-ANEURYSM" in page and "Aneurysmal vascular disease" in page
    assert "still unknown" in page
    assert 'name="decision"' not in page
    assert "Only a prescriber signs the eligibility decision." in page
    response = client.post(url("assessment", assessment), assessment_form(assessment))
    assert response.status_code == 302
    assessment.refresh_from_db()
    assert assessment.decision == ""  # posted, but not the nurse's to record
    assert not assessment.checklist.answers.filter(answer="unknown").exists()
    assert assessment.weight_kg == 70

    response = client.post(url("assessment_sign", assessment), follow=True)
    assert "Only a prescriber of this clinic can sign the eligibility decision." in page_of(
        response
    )
    assessment.refresh_from_db()
    assert not assessment.is_signed


@pytest.mark.django_db
def test_a_prescriber_saves_and_signs_the_assessment(client, at, prescriber):
    course = at("assessment_draft")
    assessment = course.assessments.get()
    client.force_login(prescriber)
    page = page_of(client.get(url("assessment", assessment)))
    assert 'name="decision"' in page and "Save and sign" in page
    response = client.post(
        url("assessment", assessment), {**assessment_form(assessment), "action": "sign"}
    )
    assert response.status_code == 302
    assessment.refresh_from_db()
    assert assessment.is_signed and assessment.decision == "eligible"
    page = page_of(client.get(url("assessment", assessment)))
    assert "Signed by" in page and assessment.content_hash[:12] in page
    assert 'name="decision"' not in page  # locked: read-only now


@pytest.mark.django_db
def test_signing_a_blocked_assessment_saves_nothing_and_keeps_the_input(client, at, prescriber):
    course = at("assessment_draft")
    assessment = course.assessments.get()
    client.force_login(prescriber)
    data = assessment_form(
        assessment, **{"answer__CI-ANEURYSM": "yes", "heart_rate": "71", "action": "sign"}
    )
    response = client.post(url("assessment", assessment), data)
    page = page_of(response)
    assert response.status_code == 200
    assert "Absolute contraindication present (CI-ANEURYSM)" in page
    assert 'value="71"' in page
    assessment.refresh_from_db()
    assert not assessment.is_signed and assessment.heart_rate is None


@pytest.mark.django_db
def test_assessment_bad_input_and_stale_version(client, at, prescriber, nurse):
    course = at("assessment_draft")
    assessment = course.assessments.get()
    client.force_login(prescriber)
    bad = assessment_form(
        assessment, systolic_1="80", diastolic_1="90", spo2="abc", **{"answer__CI-AVM": "maybe"}
    )
    page = page_of(client.post(url("assessment", assessment), bad))
    assert "Systolic must be higher than diastolic" in page
    assert "Enter a whole number." in page
    assert "Select a valid choice" in page
    assert 'value="abc"' in page
    assessment.refresh_from_db()
    assert assessment.version == 1 and assessment.systolic_1 is None

    client.force_login(nurse)
    assert (
        client.post(url("assessment", assessment), assessment_form(assessment)).status_code == 302
    )
    client.force_login(prescriber)
    response = client.post(
        url("assessment", assessment), assessment_form(assessment, heart_rate="99")
    )
    assert "Someone else saved this record" in page_of(response)
    assert 'value="99"' in page_of(response)


# --- treatment plan ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_plan_page_shows_the_dose_before_approval(client, at, prescriber):
    course = at("plan_draft")
    plan = course.plans.get()
    client.force_login(prescriber)
    page = page_of(client.get(url("plan", plan)))
    assert "Dose if approved today" in page
    assert "36.0 mg" in page and "3.60 mL" in page and "150.0 mL/h" in page
    assert "72.0 kg" in page
    assert "Ready for approval" in page
    assert "Approve and sign" in page
    response = client.post(url("plan_approve", plan), follow=True)
    assert "approved and locked" in page_of(response)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED and plan.signed_by == prescriber
    assert "Dose as approved" in page_of(response)


@pytest.mark.django_db
def test_a_nurse_cannot_approve_a_plan(client, at, nurse):
    course = at("plan_draft")
    plan = course.plans.get()
    client.force_login(nurse)
    page = page_of(client.get(url("plan", plan)))
    assert "Only a prescriber approves a plan." in page
    assert "Approve and sign" not in page
    response = client.post(url("plan_approve", plan), follow=True)
    assert "Only a prescriber of this clinic can approve a treatment plan." in page_of(response)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAFT and not plan.is_signed
    assert not FollowUp.objects.exists()


@pytest.mark.django_db
def test_the_plan_page_lists_dose_warnings_and_approval_problems(client, at, prescriber):
    course = at("plan_draft")
    plan = course.plans.get()
    services.plan_draft_update(plan=plan, by=prescriber, infusion_minutes=30, mg_per_kg_max="1.0",
                               mg_per_kg="1.0", max_dose_mg="60")  # fmt: skip
    client.force_login(prescriber)
    page = page_of(client.get(url("plan", plan)))
    assert "shorter than the recommended 40 minutes" in page
    assert "capped" in page
    # A weight that is too old stops the calculation and the approval.
    course.patient.body_measurements.update(measured_on=TODAY() - datetime.timedelta(days=45))
    page = page_of(client.get(url("plan", plan)))
    assert "The dose cannot be worked out yet" in page
    assert "cannot be approved yet" in page


@pytest.mark.django_db
def test_new_plan_version_is_prefilled_and_bad_input_is_kept(client, at, prescriber):
    course = at("active")
    client.force_login(prescriber)
    create = url("plan_create", course)
    page = page_of(client.get(create))
    assert 'name="mg_per_kg" value="0.500"' in page  # from the approved version
    response = client.post(create, {"route": "iv", "dose_mode": "mg_per_kg", "mg_per_kg": "abc",
                                     "max_dose_mg": "90", "induction_sessions": "6",
                                     "sessions_per_week": "3", "review_after_sessions": "6",
                                     "monitoring_interval_minutes": "10",
                                     "concentration_mg_per_ml": "10"})  # fmt: skip
    assert response.status_code == 200
    assert "Enter a number." in page_of(response)
    assert 'value="abc"' in page_of(response)
    assert course.plans.count() == 1


@pytest.mark.django_db
def test_plan_draft_edit_reports_service_errors_beside_fields_and_conflicts(
    client, at, prescriber, nurse
):
    course = at("plan_draft")
    plan = course.plans.get()
    edit = url("plan_edit", plan)
    client.force_login(prescriber)
    page = page_of(client.get(edit))
    data = {"route": "iv", "dose_mode": "mg_per_kg", "mg_per_kg": "0.5", "mg_per_kg_min": "0.5",
            "mg_per_kg_max": "0.75", "max_dose_mg": "90", "weight_policy": "actual",
            "concentration_mg_per_ml": "10", "final_volume_ml": "100", "infusion_minutes": "40",
            "induction_sessions": "6", "sessions_per_week": "3", "review_after_sessions": "6",
            "monitoring_interval_minutes": "10", "edit_version": plan.edit_version}  # fmt: skip
    # mg/kg outside the route's range: the service's message goes beside the field.
    response = client.post(edit, {**data, "mg_per_kg": "5"})
    assert response.status_code == 200
    assert re.search(
        r'id="error_1_id_mg_per_kg"><strong>The target of 5 mg/kg is outside the IV range',
        page_of(response),
    )
    assert 'value="5"' in page_of(response)
    plan.refresh_from_db()
    assert plan.mg_per_kg == 0.5
    client.force_login(nurse)
    assert client.post(edit, {**data, "notes": "nurse"}).status_code == 302
    client.force_login(prescriber)
    response = client.post(edit, {**data, "notes": "prescriber"})
    assert "Someone else saved this record" in page_of(response)
    assert "prescriber</textarea>" in page_of(response)
    assert "IV only" in page  # irrelevant groups are labelled for browsers without JS


@pytest.mark.django_db
def test_an_approved_plan_cannot_be_edited_and_is_suspended_with_a_reason(client, at, prescriber):
    course = at("active")
    plan = course.plans.get()
    client.force_login(prescriber)
    response = client.get(url("plan_edit", plan))
    assert response.status_code == 302 and response.url == url("plan", plan)
    response = client.post(url("plan_transition", plan), {"to_status": "suspended"})
    assert response.status_code == 200 and "This field is required." in page_of(response)
    response = client.post(
        url("plan_transition", plan), {"to_status": "suspended", "reason": "BP high"}
    )
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.status == PlanStatus.SUSPENDED
    response = client.post(url("plan_addendum", plan), {"text": "Discussed with patient."})
    assert Addendum.objects.filter(object_id=plan.pk).exists()


@pytest.mark.django_db
def test_esketamine_plan_form_shows_only_device_fields(client, at, prescriber):
    course = at("assessed_eligible", drug=Drug.ESKETAMINE)
    services.course_transition(course=course, to_status="planning", by=prescriber)
    client.force_login(prescriber)
    page = page_of(client.get(url("plan_create", course)))
    assert 'name="device_count"' in page
    assert 'name="mg_per_kg"' not in page and 'name="infusion_minutes"' not in page


# --- follow-ups --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_recording_and_signing_a_follow_up(client, at, prescriber):
    course = at("active")
    review = course.follow_ups.get()
    client.force_login(prescriber)
    page = page_of(client.get(url("follow_up", review)))
    assert "Save and sign" in page and "Did not happen?" in page
    response = client.post(
        url("follow_up", review),
        {"completed_on": "2999-01-01", "decision": "", "outcome_notes": "Kept notes"},
    )
    page = page_of(response)
    assert "The visit date cannot be in the future." in page
    assert "This field is required." in page
    assert "Kept notes" in page
    response = client.post(
        url("follow_up", review),
        {"completed_on": TODAY().isoformat(), "decision": "continue", "action": "sign"},
        follow=True,
    )
    review.refresh_from_db()
    assert review.is_signed and review.status == FollowUpStatus.COMPLETED
    assert "Signed by" in page_of(response)
    assert 'name="decision"' not in page_of(response)


@pytest.mark.django_db
def test_scheduling_and_closing_follow_ups(client, at, nurse):
    course = at("active")
    client.force_login(nurse)
    new = url("follow_up_create", course)
    response = client.post(new, {"kind": "check_in", "due_on": "2024-02-30"})
    assert "Enter a valid date." in page_of(response)
    due = (TODAY() + datetime.timedelta(days=3)).isoformat()
    response = client.post(new, {"kind": "check_in", "due_on": due})
    assert response.url == url("course", course)
    check_in = course.follow_ups.get(kind="check_in")
    close = url("follow_up_close", check_in)
    response = client.post(close, {"status": "missed", "reason": " "})
    assert response.status_code == 200 and "This field is required." in page_of(response)
    client.post(close, {"status": "missed", "reason": "Did not attend."})
    check_in.refresh_from_db()
    assert check_in.status == FollowUpStatus.MISSED and check_in.is_signed


@pytest.mark.django_db
def test_overdue_list_and_clinician_home_panels(client, at, prescriber, nurse):
    course = at("active")
    FollowUp.objects.filter(course=course).update(due_on=TODAY() - datetime.timedelta(days=5))
    at("consultation_draft")
    at("plan_draft")
    client.force_login(prescriber)
    home = page_of(client.get(reverse("clinician_home")))
    assert "Needs my signature" in home
    assert "Consultation" in home and "Plan v1 to approve" in home
    assert "Overdue follow-ups" in home and "All 1" in home
    assert reverse("pathway:follow_ups_overdue") in home
    response = client.get(reverse("pathway:follow_ups_overdue"))
    assert "End-of-induction review" in page_of(response)
    assert AccessEvent.objects.filter(object_type="follow_up_list", action="list").exists()
    client.force_login(nurse)
    home = page_of(client.get(reverse("clinician_home")))
    assert "Plan v1 to approve" not in home  # approval is a prescriber's


# --- roles -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_clinic_admin_reads_but_never_writes(client, at, clinic_admin):
    course = at("plan_draft")
    plan = course.plans.get()
    client.force_login(clinic_admin)
    assert client.get(url("course", course)).status_code == 200
    page = page_of(client.get(url("plan", plan)))
    assert "Edit draft" not in page and "Approve and sign" not in page
    assert client.get(url("consultation", course.consultation)).status_code == 200
    assert client.get(url("plan_edit", plan)).status_code == 403
    assert client.post(url("plan_approve", plan)).status_code == 403


@pytest.mark.django_db
def test_user_text_is_escaped_on_pathway_pages(client, at, prescriber):
    course = at("active")
    TreatmentCourse.objects.filter(pk=course.pk).update(indication="<script>alert(1)</script>")
    client.force_login(prescriber)
    for page_url in (url("course", course), url("plan", course.plans.get())):
        page = page_of(client.get(page_url))
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;" in page


# --- query counts ------------------------------------------------------------------------------


def count_queries(client, page_url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(page_url)
    assert response.status_code == 200, page_url
    return len(queries)


@pytest.mark.django_db
def test_pages_issue_the_same_number_of_queries_at_1_and_50_courses(
    client, clinic, patient, prescriber, nurse
):
    first = course_at("active", patient=patient, prescriber=prescriber, nurse=nurse)
    FollowUp.objects.filter(course=first).update(due_on=TODAY() - datetime.timedelta(days=2))
    draft = services.plan_draft_create(course=first, by=prescriber, notes="Version 2")
    assert TreatmentCourse.objects.count() == 1
    pages = {
        "course overview": url("course", first),
        "patient chart": reverse("patients:detail", args=[patient.public_id]),
        "clinician home": reverse("clinician_home"),
        "overdue list": reverse("pathway:follow_ups_overdue"),
        "approved plan": url("plan", first.plans.get(status="approved")),
        "draft plan": url("plan", draft),
        "signed assessment": url("assessment", first.assessments.get()),
        "consultation": url("consultation", first.consultation),
        "follow-up": url("follow_up", first.follow_ups.get()),
    }
    client.force_login(prescriber)
    for page_url in pages.values():
        client.get(page_url)  # warm caches (content types, sessions)
    small = {name: count_queries(client, page_url) for name, page_url in pages.items()}

    stages = ("active", "consultation_draft", "plan_draft", "assessment_draft", "maintenance")
    for index in range(49):
        other = factories.PatientFactory(clinic=clinic) if index % 2 else patient
        course_at(stages[index % len(stages)], patient=other, prescriber=prescriber, nurse=nurse)
    FollowUp.objects.filter(status="scheduled").update(due_on=TODAY() - datetime.timedelta(days=1))
    for days in range(1, 20):
        services.follow_up_schedule(
            course=first, by=nurse, kind="check_in", due_on=TODAY() - datetime.timedelta(days=days)
        )
    assert TreatmentCourse.objects.count() == 50
    large = {name: count_queries(client, page_url) for name, page_url in pages.items()}
    assert large == small
    assert TreatmentPlan.objects.count() > 20


@pytest.mark.django_db
def test_an_addendum_needs_a_signed_note_and_post_only_urls_refuse_get(client, at, prescriber):
    course = at("consultation_draft")
    consultation = course.consultation
    client.force_login(prescriber)
    addendum = url("consultation_addendum", consultation)
    assert client.get(addendum).status_code == 405
    assert client.get(url("consultation_sign", consultation)).status_code == 405
    response = client.post(addendum, {"text": "Too early"}, follow=True)
    assert "Edit the note itself: it is not signed yet." in page_of(response)
    assert not Addendum.objects.exists()
    response = client.post(url("consultation_sign", consultation), follow=True)
    consultation.refresh_from_db()
    assert consultation.is_signed
    response = client.post(addendum, {"text": "   "})
    assert response.status_code == 200 and "This field is required." in page_of(response)
    assert not Addendum.objects.exists()
