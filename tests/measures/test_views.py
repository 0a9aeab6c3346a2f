"""Clinician pages for measures: safety alerts, the outcomes page, ratings, schedules,
overdue questionnaires and the clinic's settings."""

import datetime
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.core.models import AccessEvent
from clinic.measures import services as measures
from clinic.measures.models import (
    ClinicMeasureSettings,
    InstrumentResponse,
    MeasureDue,
    SafetyAlert,
    ScheduleRule,
)
from clinic.pathway import session_services as ss
from clinic.pathway.demo import walk_course
from tests import factories
from tests.pathway.sessions import book, fresh, run_iv_session

pytestmark = pytest.mark.django_db


def submit(patient, answers, *, code="PHQ-9", when=None):
    return measures.response_submit(
        patient=patient,
        instrument_code=code,
        answers=answers,
        entered_by=patient.user,
        mode="self",
        submission_key=uuid.uuid4(),
        completed_at=when,
    )


@pytest.fixture
def alert(portal_patient):
    return submit(portal_patient, [0] * 8 + [2]).safety_alerts.get()


def test_an_open_alert_is_listed_and_closed_by_recording_the_action(client, prescriber, alert):
    client.force_login(prescriber)
    listing = client.get(reverse("measures:alert_list")).content.decode()
    assert alert.patient.family_name in listing and "PHQ-9" in listing
    home = client.get(reverse("clinician_home")).content.decode()
    assert "1 open safety alert" in home
    url = reverse("measures:alert_detail", args=[alert.public_id])
    response = client.post(url, {"action": "contacted", "note": "Spoke at 14:10; safe."})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert (alert.status, alert.action, alert.actioned_by) == ("actioned", "contacted", prescriber)
    page = client.get(url).content.decode()
    assert "Action recorded" in page and "Spoke at 14:10; safe." in page
    assert 'name="action"' not in page
    assert "No open alerts." in client.get(reverse("measures:alert_list")).content.decode()


def test_an_alert_action_must_be_chosen(client, prescriber, alert):
    client.force_login(prescriber)
    response = client.post(reverse("measures:alert_detail", args=[alert.public_id]), {"note": "x"})
    assert response.status_code == 400 and "Choose what you did." in response.content.decode()
    alert.refresh_from_db()
    assert alert.is_open


def test_a_clinic_admin_reads_an_alert_but_cannot_close_it(client, clinic_admin, alert):
    client.force_login(clinic_admin)
    url = reverse("measures:alert_detail", args=[alert.public_id])
    page = client.get(url).content.decode()
    assert "Only a clinician of" in page and 'name="action"' not in page
    assert client.post(url, {"action": "contacted"}).status_code == 403
    alert.refresh_from_db()
    assert alert.is_open
    assert AccessEvent.objects.filter(
        user=clinic_admin, object_type="safety_alert", outcome="allowed"
    ).exists()


def test_the_outcomes_page_shows_response_and_remission_from_the_baseline(
    client, prescriber, nurse, portal_patient
):
    patient = portal_patient
    session = book(patient.clinic, prescriber, nurse, patient=patient)
    session, _readings = run_iv_session(session, nurse, prescriber)
    dosed_at = fresh(session).dose_started_at
    submit(patient, [2, 2, 2, 2, 2, 2, 2, 2, 0], when=dosed_at - datetime.timedelta(days=3))
    submit(patient, [1, 1, 1, 1, 1, 1, 1, 0, 0])
    client.force_login(prescriber)
    page = client.get(reverse("measures:outcomes", args=[patient.public_id])).content.decode()
    assert "Baseline 16 → latest 7 (56.3 % lower)" in page
    assert "Response</span>" in page and "Not in remission" in page
    assert 'data-instrument="PHQ-9"' in page and '"label": "Session 1"' in page


def test_the_outcomes_page_lists_the_patients_open_alerts_newest_first(
    client, prescriber, portal_patient, clinic
):
    older, newer, closed = (
        submit(portal_patient, [0] * 8 + [answer]).safety_alerts.get() for answer in (1, 2, 3)
    )
    raised = timezone.now() - datetime.timedelta(hours=3)
    SafetyAlert.objects.filter(pk=older.pk).update(raised_at=raised)
    measures.alert_record_action(alert=closed, by=prescriber, action="contacted")
    other = factories.PatientFactory(clinic=clinic, with_user=True)
    theirs = submit(other, [0] * 8 + [2]).safety_alerts.get()
    client.force_login(prescriber)
    page = client.get(reverse("measures:outcomes", args=[portal_patient.public_id])).content
    page = page.decode()
    links = [reverse("measures:alert_detail", args=[a.public_id]) for a in (newer, older)]
    assert page.count("Open safety alert:") == 2
    assert links[0] in page and links[1] in page and page.index(links[0]) < page.index(links[1])
    shown = timezone.localtime(raised, ZoneInfo(clinic.timezone))
    assert f'{older.reason} <span class="small">({shown:%-d %b %H:%M})</span>' in page
    for hidden in (closed, theirs):
        assert reverse("measures:alert_detail", args=[hidden.public_id]) not in page


def test_the_outcomes_page_says_when_there_is_no_baseline(client, prescriber, portal_patient):
    submit(portal_patient, [1] * 8 + [0])
    client.force_login(prescriber)
    page = client.get(reverse("measures:outcomes", args=[portal_patient.public_id]))
    assert "no baseline in the 30 days before the first dose" in page.content.decode()


def test_the_outcomes_page_reads_the_clinics_settings_with_the_patient_and_audits_it(
    client, prescriber, other_clinician, portal_patient
):
    url = reverse("measures:outcomes", args=[portal_patient.public_id])
    client.force_login(prescriber)
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url)
    assert page.status_code == 200 and "PHQ-9" in page.content.decode()  # the rateable list
    assert not any(
        'FROM "measures_clinicmeasuresettings"' in q["sql"] for q in queries.captured_queries
    )
    assert AccessEvent.objects.filter(
        user=prescriber, object_type="patient", patient=portal_patient, outcome="allowed",
        object_public_id=portal_patient.public_id,
    ).count() == 2  # fmt: skip
    client.force_login(other_clinician)
    assert client.get(url).status_code == 404
    assert AccessEvent.objects.filter(
        user=other_clinician, object_type="patient", patient=portal_patient, outcome="denied",
        object_public_id=portal_patient.public_id,
    ).exists()  # fmt: skip


def test_the_rating_form_offers_the_current_courses_sessions_newest_first(
    client, prescriber, nurse, patient
):
    first = book(patient.clinic, prescriber, nurse, patient=patient)
    second = ss.session_schedule(
        course=first.course, by=nurse, scheduled_at=timezone.now() + datetime.timedelta(days=7),
        nurse=nurse, prescriber=prescriber,
    )  # fmt: skip
    client.force_login(prescriber)
    form = client.get(reverse("measures:rate", args=[patient.public_id, "moaa-s"]))
    choices = form.context["form"].fields["session"].choices
    assert [value for value, _label in choices] == ["", str(second.public_id), str(first.public_id)]


def test_a_nurse_rates_moaas_and_a_low_score_raises_an_alert(client, nurse, patient):
    client.force_login(nurse)
    url = reverse("measures:rate", args=[patient.public_id, "moaa-s"])
    form = client.get(url).content.decode()
    key = form.split('name="submission_key" value="')[1].split('"')[0]
    response = client.post(url, {"submission_key": key, "item_1": "2"})
    saved = InstrumentResponse.objects.get(patient=patient)
    assert response.url == reverse("measures:response_detail", args=[saved.public_id])
    assert (saved.total, saved.mode, saved.entered_by) == (2, "clinician", nurse)
    assert SafetyAlert.objects.get(patient=patient).source == "clinician_scale"
    again = client.post(url, {"submission_key": key, "item_1": "2"})  # resent: one row
    assert again.status_code == 302 and InstrumentResponse.objects.count() == 1


def test_an_unlicensed_instrument_cannot_be_rated_until_the_clinic_enables_it(
    client, prescriber, clinic_admin, patient
):
    client.force_login(prescriber)
    url = reverse("measures:rate", args=[patient.public_id, "madrs"])
    assert client.get(url).status_code == 404
    client.force_login(clinic_admin)
    client.post(
        reverse("measures:settings"),
        {"crisis_resources": "Call 988.", "licensed_instruments": ["MADRS"], "journal_tags": ""},
    )
    assert ClinicMeasureSettings.objects.get(clinic=patient.clinic).licensed_instruments == [
        "MADRS"
    ]
    client.force_login(prescriber)
    assert client.get(url).status_code == 200


def test_blank_crisis_text_is_refused(client, clinic_admin):
    client.force_login(clinic_admin)
    response = client.post(reverse("measures:settings"), {"crisis_resources": "  "})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_the_schedule_page_adds_and_stops_rules(client, prescriber, nurse, patient):
    course = walk_course(stage="active", patient=patient, prescriber=prescriber, nurse=nurse)
    client.force_login(prescriber)
    url = reverse("measures:schedule", args=[course.public_id])
    page = client.get(url).content.decode()
    assert "PHQ-9</strong> before every session" in page
    bad = client.post(url, {"instrument_code": "PCL-5", "timing": "interval"})
    assert bad.status_code == 400 and "Say how many days apart" in bad.content.decode()
    client.post(url, {"instrument_code": "PCL-5", "timing": "interval", "interval_days": "56"})
    rule = ScheduleRule.objects.get(course=course, instrument_code="PCL-5")
    assert rule.describe() == "every 56 days in maintenance"
    stop = reverse("measures:schedule_rule_stop", args=[course.public_id, rule.public_id])
    assert client.get(stop).status_code == 405
    client.post(stop)
    rule.refresh_from_db()
    assert not rule.is_active


def test_overdue_questionnaires_are_listed_for_the_clinic_only(
    client, prescriber, nurse, patient, other_clinician
):
    course = walk_course(stage="active", patient=patient, prescriber=prescriber, nurse=nurse)
    MeasureDue.objects.filter(course=course, instrument_code="GAD-7").update(
        due_on=datetime.date.today() - datetime.timedelta(days=4)
    )
    client.force_login(prescriber)
    page = client.get(reverse("measures:overdue")).content.decode()
    assert patient.family_name in page and "GAD-7" in page
    client.force_login(other_clinician)
    assert patient.family_name not in client.get(reverse("measures:overdue")).content.decode()


def test_another_clinics_alerts_are_not_listed(client, other_clinician, alert):
    client.force_login(other_clinician)
    page = client.get(reverse("measures:alert_list")).content.decode()
    assert alert.patient.family_name not in page
