import datetime
import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.core.models import AccessEvent
from clinic.measures import services as measure_services
from clinic.measures.models import SafetyAlert
from clinic.pathway import services
from clinic.pathway.demo import walk_course
from clinic.pathway.models import FollowUp
from clinic.patients.models import CareTeamMember, Patient
from clinic.portal import services as portal_services
from tests import factories

REGISTRATION = {
    "given_name": "Avery",
    "family_name": "Example",
    "date_of_birth": "1980-05-17",
    "sex_at_birth": "female",
    "phone": "+1 555 0100",
    "email": "avery@example.invalid",
}


def detail_url(patient):
    return reverse("patients:detail", kwargs={"public_id": patient.public_id})


@pytest.mark.django_db
def test_patient_list_paginates_and_audits_one_list_read(client, clinic, prescriber, settings):
    settings.PATIENT_LIST_PAGE_SIZE = 5
    factories.PatientFactory.create_batch(12, clinic=clinic)
    client.force_login(prescriber)
    response = client.get(reverse("patients:list"), {"page": 3})
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 2
    assert "Page 3 of 3" in response.content.decode()
    assert AccessEvent.objects.filter(action="list").count() == 1


@pytest.mark.django_db
def test_patient_list_search_keeps_the_query_and_says_when_nothing_matches(
    client, patient, prescriber
):
    client.force_login(prescriber)
    response = client.get(reverse("patients:list"), {"q": "Zzyzx"})
    page = response.content.decode()
    assert 'value="Zzyzx"' in page
    assert "No patient matches “Zzyzx”" in page


@pytest.mark.django_db
def test_patient_list_with_bad_parameters_says_what_was_wrong(client, patient, prescriber):
    client.force_login(prescriber)
    response = client.get(
        reverse("patients:list"), {"status": "nonsense", "clinic": "x", "page": "-1"}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 40])
def test_patient_list_query_count_is_fixed(
    client, clinic, prescriber, count, django_assert_max_num_queries
):
    factories.PatientFactory.create_batch(count, clinic=clinic)
    client.force_login(prescriber)
    with django_assert_max_num_queries(10):
        client.get(reverse("patients:list"))


def _chart_world(clinic, prescriber, nurse, *, courses, team_size):
    """A patient with `courses` courses at each of several stages (one with an overdue
    follow-up), `team_size` nurses on the care team and views by the prescriber."""
    patient = factories.PatientFactory(clinic=clinic, with_user=True)
    for _ in range(courses):
        for stage in ("consultation_draft", "consultation_signed", "plan_draft", "active"):
            walk_course(patient=patient, prescriber=prescriber, nurse=nurse, stage=stage)
    FollowUp.objects.filter(course__patient=patient).update(
        due_on=timezone.localdate() - datetime.timedelta(days=2)
    )
    for _ in range(team_size):
        CareTeamMember.objects.create(
            patient=patient,
            user=factories.make_staff(clinic=clinic, role="nurse"),
            responsibility="nurse",
        )
    return patient


@pytest.mark.django_db
@pytest.mark.parametrize("holder", ["prescriber", "clinic_admin"])
def test_patient_detail_query_count_is_fixed(
    client, clinic, prescriber, nurse, clinic_admin, holder
):
    """At most 8 queries (tests/core/test_query_counts.py's target), the same with more
    courses, team and access events: for an admin too, who also sees who opened the
    record."""
    user = {"prescriber": prescriber, "clinic_admin": clinic_admin}[holder]
    counts = []
    for size in (1, 3):
        patient = _chart_world(clinic, prescriber, nurse, courses=size, team_size=size)
        for _ in range(size):
            client.force_login(prescriber)
            client.get(detail_url(patient))
        client.force_login(user)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(detail_url(patient))
        assert response.status_code == 200
        assert ("Who opened this record" in response.content.decode()) == (holder != "prescriber")
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1] <= 8, counts


@pytest.mark.django_db
def test_the_chart_shows_each_courses_next_step(client, clinic, prescriber, nurse, clinic_admin):
    patient = _chart_world(clinic, prescriber, nurse, courses=1, team_size=0)
    overdue = timezone.localdate() - datetime.timedelta(days=2)
    draft = patient.treatment_courses.get(status="planning").plans.get()
    review = patient.treatment_courses.get(status="active").follow_ups.get()
    client.force_login(prescriber)
    page = client.get(detail_url(patient)).content.decode()
    assert "Complete the consultation" in page
    assert "Move to assessment" in page
    assert f"Plan v{draft.version} awaits approval" in page
    assert reverse("pathway:plan", args=[draft.public_id]) in page
    assert f"End-of-induction review overdue since {overdue:%-d %b %Y}" in page
    assert reverse("pathway:follow_up", args=[review.public_id]) in page
    # Approved, the plan leaves the next step to starting treatment.
    services.plan_approve(plan=draft, by=prescriber)
    page = client.get(detail_url(patient)).content.decode()
    assert "Start treatment" in page and "awaits approval" not in page


@pytest.mark.django_db
def test_patient_detail_shows_the_header_and_care_team(client, patient, prescriber):
    CareTeamMember.objects.create(
        patient=patient, user=prescriber, responsibility="primary_prescriber"
    )
    client.force_login(prescriber)
    page = client.get(detail_url(patient)).content.decode()
    assert patient.full_name in page
    assert f"MRN {patient.medical_record_number}" in page
    assert "Primary prescriber" in page
    assert "No emergency contact recorded" in page
    assert "Who opened this record" not in page  # only clinic admins see the access log


@pytest.mark.django_db
def test_the_chart_lists_the_team_and_offers_the_clinics_other_clinicians(
    client, patient, prescriber, nurse, other_clinician
):
    CareTeamMember.objects.create(
        patient=patient, user=prescriber, responsibility="primary_prescriber"
    )
    # On the team but no longer working at the clinic: listed, not offered.
    former = factories.make_staff(clinic=patient.clinic, role="nurse", last_name="Former")
    CareTeamMember.objects.create(patient=patient, user=former, responsibility="nurse")
    former.clinic_memberships.update(is_active=False)
    factories.make_staff(clinic=patient.clinic, role="nurse", is_active=False)
    factories.make_staff(clinic=patient.clinic, role="admin")
    client.force_login(prescriber)
    page = client.get(detail_url(patient)).content.decode()
    team = page[page.index('id="team-title"') :]
    assert team.index(former.display_name) < team.index(prescriber.display_name)  # nurse first
    assert f"Remove {former.display_name} from the care team" in page
    offered = re.findall(r'<option value="(\d+)"', team)
    assert offered == [str(nurse.pk)]  # not the team, another clinic, an admin or the inactive
    CareTeamMember.objects.create(patient=patient, user=nurse, responsibility="nurse")
    page = client.get(detail_url(patient)).content.decode()
    add = reverse("patients:care_team_add", kwargs={"public_id": patient.public_id})
    assert nurse.display_name in page and f'action="{add}"' not in page  # no one to add


def _alerts_one_closed(patients, *, nurse, prescriber):
    """A PHQ-9 raising a safety alert (item 9 answered) for each of `patients` in turn; then
    the first patient's first alert gets a recorded action, which closes it."""
    for someone in patients:
        measure_services.response_submit(
            patient=someone, instrument_code="PHQ-9", answers=[0] * 8 + [2], entered_by=nurse,
            mode="assisted", submission_key=uuid.uuid4(),
        )  # fmt: skip
    closed = SafetyAlert.objects.filter(patient=patients[0]).first()
    measure_services.alert_record_action(alert=closed, by=prescriber, action="contacted")


@pytest.mark.django_db
def test_the_chart_counts_the_patients_open_alerts_and_shows_the_portal_invitation(
    client, clinic, prescriber, nurse
):
    patient = factories.PatientFactory(clinic=clinic, email="wren@example.invalid")
    other = factories.PatientFactory(clinic=clinic)
    _alerts_one_closed([patient, patient, other], nurse=nurse, prescriber=prescriber)
    client.force_login(prescriber)
    page = client.get(detail_url(patient)).content.decode()
    assert "1 open safety alert<" in page
    assert "not invited" in page and "Invite to the portal" in page
    portal_services.portal_invite(patient=patient, by=nurse)
    page = client.get(detail_url(patient)).content.decode()
    assert "not yet accepted" in page and "Send a new invitation" in page
    quiet = factories.PatientFactory(clinic=clinic)
    assert "No open safety alert." in client.get(detail_url(quiet)).content.decode()


@pytest.mark.django_db
def test_clinic_admin_sees_who_opened_the_record(client, patient, clinic_admin, prescriber):
    client.force_login(prescriber)
    client.get(detail_url(patient))
    client.force_login(clinic_admin)
    page = client.get(detail_url(patient)).content.decode()
    assert "Who opened this record" in page
    assert f"{prescriber.username} · viewed" in page


@pytest.mark.django_db
def test_register_patient_redirects_to_the_new_record(client, prescriber):
    client.force_login(prescriber)
    response = client.post(reverse("patients:create"), REGISTRATION, follow=True)
    patient = Patient.objects.get()
    assert response.redirect_chain[-1][0] == detail_url(patient)
    assert f"registered with MRN {patient.medical_record_number}" in response.content.decode()
    assert patient.created_by == prescriber


@pytest.mark.django_db
def test_register_patient_with_bad_input_shows_errors_beside_fields_and_keeps_input(
    client, prescriber
):
    client.force_login(prescriber)
    bad = {**REGISTRATION, "date_of_birth": "2999-01-01", "phone": "call me", "given_name": " "}
    response = client.post(reverse("patients:create"), {**bad, "family_name": "Kept<b>"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "The date of birth cannot be in the future." in page
    assert "Enter a phone number" in page
    assert 'value="Kept&lt;b&gt;"' in page
    assert 'value="call me"' in page
    assert Patient.objects.count() == 0


@pytest.mark.django_db
def test_register_patient_into_a_clinic_the_user_does_not_work_in_is_refused(
    client, prescriber, other_clinic
):
    client.force_login(prescriber)
    response = client.post(reverse("patients:create"), {**REGISTRATION, "clinic": other_clinic.pk})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert Patient.objects.count() == 0


@pytest.mark.django_db
def test_edit_saves_and_a_stale_edit_shows_a_conflict_keeping_the_typed_values(
    client, patient, prescriber, nurse
):
    url = reverse("patients:edit", kwargs={"public_id": patient.public_id})
    form = {
        **REGISTRATION,
        "given_name": patient.given_name,
        "family_name": patient.family_name,
        "status": "active",
        "version": 1,
    }
    client.force_login(nurse)
    assert client.post(url, {**form, "phone": "+1 555 0111"}).status_code == 302
    client.force_login(prescriber)
    response = client.post(url, {**form, "phone": "+1 555 0222"})
    page = response.content.decode()
    assert "Someone else saved this patient" in page
    assert 'value="+1 555 0222"' in page
    patient.refresh_from_db()
    assert patient.phone == "+1 555 0111"


@pytest.mark.django_db
def test_care_team_add_and_remove(client, patient, prescriber, nurse):
    client.force_login(prescriber)
    chart = reverse("patients:detail", kwargs={"public_id": patient.public_id})
    offered = f'<option value="{nurse.pk}">{nurse.display_name}</option>'
    page = client.get(chart).content.decode()
    assert offered in page and '<option value="nurse">Nurse</option>' in page
    add = reverse("patients:care_team_add", kwargs={"public_id": patient.public_id})
    response = client.post(add, {"user": nurse.pk, "responsibility": "nurse"}, follow=True)
    assert "joined the care team" in response.content.decode()
    assert offered not in response.content.decode()  # on the team now, no longer offered
    member = CareTeamMember.objects.get(patient=patient, user=nurse)
    remove = reverse(
        "patients:care_team_remove",
        kwargs={"public_id": patient.public_id, "member_public_id": member.public_id},
    )
    client.post(remove)
    member.refresh_from_db()
    assert not member.is_active


@pytest.mark.django_db
def test_care_team_add_with_bad_input_explains_and_changes_nothing(client, patient, prescriber):
    client.force_login(prescriber)
    add = reverse("patients:care_team_add", kwargs={"public_id": patient.public_id})
    response = client.post(add, {"user": "abc", "responsibility": "boss"}, follow=True)
    assert "Care team not changed" in response.content.decode()
    assert not CareTeamMember.objects.exists()


@pytest.mark.django_db
def test_a_nurse_cannot_change_the_care_team(client, patient, nurse):
    client.force_login(nurse)
    add = reverse("patients:care_team_add", kwargs={"public_id": patient.public_id})
    assert client.post(add, {"user": nurse.pk, "responsibility": "nurse"}).status_code == 404
    assert not CareTeamMember.objects.exists()


@pytest.mark.django_db
def test_user_text_is_escaped_on_every_patient_page(client, clinic, prescriber):
    patient = factories.PatientFactory(
        clinic=clinic, given_name="<script>alert(1)</script>", address="<img src=x onerror=1>"
    )
    client.force_login(prescriber)
    for url in (reverse("patients:list"), detail_url(patient), reverse("clinician_home")):
        page = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in page
        assert "<img src=x" not in page


@pytest.mark.django_db
def test_the_chart_s_summary_figures_read_with_the_patient_match_the_orm_s(
    clinic, prescriber, nurse
):
    """staff_patient_get(with_summary=True) counts open alerts and finds the last invitation
    in fixed SQL; measures_and_portal_summary's own query (the ORM's aggregates) agrees."""
    from clinic.patients import selectors

    patient = factories.PatientFactory(clinic=clinic, email="ash@example.invalid")
    _alerts_one_closed([patient] * 3, nurse=nurse, prescriber=prescriber)
    portal_services.portal_invite(patient=patient, by=nurse)
    portal_services.portal_invite(patient=patient, by=nurse)
    for someone in (patient, factories.PatientFactory(clinic=clinic)):
        read = selectors.staff_patient_get(prescriber, someone.public_id, with_summary=True)
        plain = selectors.staff_patient_get(prescriber, someone.public_id)
        assert selectors.measures_and_portal_summary(read) == (
            selectors.measures_and_portal_summary(plain)
        )
    read = selectors.staff_patient_get(prescriber, patient.public_id, with_summary=True)
    assert read.open_alerts == 2
    assert read.last_invited_at == patient.portal_invitations.order_by("-sent_at")[0].sent_at
