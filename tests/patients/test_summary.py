"""The printable per-patient summary."""

import datetime
import re
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.core.models import AccessEvent
from clinic.measures import services as measure_services
from clinic.monitoring import services as monitoring_services
from clinic.pathway import services as pathway_services
from clinic.pathway import session_services
from clinic.pathway.demo import walk_course
from tests import factories


def _history(patient, prescriber, nurse, sessions):
    course = walk_course(patient=patient, prescriber=prescriber, nurse=nurse, stage="active")
    now = timezone.now()
    for n in range(sessions):
        session_services.session_schedule(
            course=course, by=nurse, scheduled_at=now - datetime.timedelta(days=30 - n),
            nurse=nurse, prescriber=prescriber,
        )  # fmt: skip
        measure_services.response_submit(
            patient=patient, instrument_code="PHQ-9", answers=[2, 2, 2, 1, 1, 1, 0, 0, 0],
            entered_by=nurse, mode="assisted", submission_key=uuid.uuid4(),
            completed_at=now - datetime.timedelta(days=30 - n),
        )  # fmt: skip
        monitoring_services.side_effect_report(
            course=course, by=nurse, onset_at=now - datetime.timedelta(days=29 - n),
            term="DIZZY", grade=1, relatedness="probable", action_taken="none",
            outcome="recovering",
        )  # fmt: skip
    return course


@pytest.mark.django_db
def test_the_summary_shows_identity_courses_plan_sessions_scores_and_side_effects(
    client, clinic, prescriber, nurse, clinic_admin
):
    patient = factories.PatientFactory(clinic=clinic, given_name="Wilhelmina")
    course = _history(patient, prescriber, nurse, sessions=2)
    client.force_login(clinic_admin)
    response = client.get(reverse("patients:summary", kwargs={"public_id": patient.public_id}))
    assert response.status_code == 200
    html = response.content.decode()
    assert patient.medical_record_number in html and "Wilhelmina" in html
    course.refresh_from_db()
    assert course.indication in html and course.get_status_display() in html
    assert "Plan</strong> (version 1, approved)" in html
    assert html.count("Dizziness, vertigo") == 2
    assert 'data-instrument="PHQ-9"' in html and 'id="chart-data"' in html
    assert "clinic/print-button.js" in html and "data-print" in html
    assert "patient-summary.css" in html
    # No inline script or handler (the CSP forbids them): only src= scripts and json data.
    assert not re.search(r"<script(?![^>]*\b(src|type=\"application/json\"))", html)
    assert not re.search(r"\son[a-z]+=", html) and 'style="' not in html
    event = AccessEvent.objects.filter(user=clinic_admin, patient=patient).latest("id")
    assert (event.action, event.outcome) == ("view", "allowed")


@pytest.mark.django_db
def test_the_summary_shows_each_courses_plan_in_force(client, clinic, prescriber, nurse):
    patient = factories.PatientFactory(clinic=clinic)
    course = _history(patient, prescriber, nurse, sessions=1)
    client.force_login(prescriber)
    url = reverse("patients:summary", kwargs={"public_id": patient.public_id})
    draft = pathway_services.plan_draft_create(course=course, by=prescriber)
    assert draft.version == 2
    html = client.get(url).content.decode()
    assert "Plan</strong> (version 1, approved)" in html and "version 2" not in html
    pathway_services.plan_transition(
        plan=course.plans.get(version=1), to_status="suspended", by=prescriber, reason="Review"
    )
    html = client.get(url).content.decode()
    assert "Plan</strong> (version 1, suspended)" in html and "version 2" not in html
    pathway_services.plan_transition(
        plan=course.plans.get(version=1), to_status="ended", by=prescriber, reason="Stopped"
    )
    html = client.get(url).content.decode()  # neither: the newest version written
    assert "Plan</strong> (version 2, draft)" in html and "version 1" not in html
    unplanned = factories.PatientFactory(clinic=clinic)
    walk_course(patient=unplanned, prescriber=prescriber, nurse=nurse, stage="consultation_draft")
    url = reverse("patients:summary", kwargs={"public_id": unplanned.public_id})
    assert "No treatment plan yet." in client.get(url).content.decode()


def test_the_print_stylesheet_hides_the_chrome_and_keeps_charts_whole():
    css = (Path(settings.BASE_DIR) / "static/clinic/patient-summary.css").read_text()
    assert "@media print" in css
    assert "break-inside: avoid" in css


@pytest.mark.django_db
def test_the_summary_issues_the_same_queries_whatever_the_history(
    client, clinic, prescriber, nurse, django_assert_num_queries
):
    client.force_login(prescriber)
    measured = None
    for sessions in (1, 6):
        patient = factories.PatientFactory(clinic=clinic)
        _history(patient, prescriber, nurse, sessions=sessions)
        url = reverse("patients:summary", kwargs={"public_id": patient.public_id})
        if measured is None:
            with CaptureQueriesContext(connection) as measured:
                assert client.get(url).status_code == 200
            continue
        # Courses with their plan in force, sessions, side effects and responses: one query
        # each, however long the history.
        with django_assert_num_queries(len(measured)):
            assert client.get(url).status_code == 200


@pytest.mark.django_db
def test_another_clinics_staff_get_404(client, clinic, other_clinician):
    patient = factories.PatientFactory(clinic=clinic)
    client.force_login(other_clinician)
    response = client.get(reverse("patients:summary", kwargs={"public_id": patient.public_id}))
    assert response.status_code == 404
    assert AccessEvent.objects.get(user=other_clinician).outcome == "denied"
