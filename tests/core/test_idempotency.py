"""Sending the same rendered form twice (a double click, a browser resend, a retry after a
timeout) saves once, on every form of the app."""

import re
import threading
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from clinic.core.middleware import IdempotentPostMiddleware
from clinic.core.models import FormSubmission
from clinic.monitoring.models import VitalReading
from clinic.pathway.models import FollowUp, TreatmentCourse
from clinic.patients.models import Patient
from tests import factories
from tests.conftest import skip_or_fail
from tests.pathway.sessions import book

PROJECT = Path(__file__).resolve().parents[2]
HTMX = {"HTTP_HX_REQUEST": "true"}
REGISTRATION = {
    "given_name": "Avery",
    "family_name": "Twice",
    "date_of_birth": "1980-05-17",
    "sex_at_birth": "female",
}


def test_every_post_form_in_every_template_carries_a_form_key():
    missing = []
    for template in list(PROJECT.glob("templates/**/*.html")) + list(
        PROJECT.glob("clinic/*/templates/**/*.html")
    ):
        for number, line in enumerate(template.read_text().splitlines(), start=1):
            if "{% csrf_token %}" in line and "{% form_key %}" not in line:
                missing.append(f"{template.relative_to(PROJECT)}:{number}")
    assert not missing, missing


def key_of(page):
    return re.search(r'name="form_key" value="([0-9a-f-]{36})"', page.content.decode()).group(1)


@pytest.mark.django_db
def test_a_double_click_registers_one_patient_and_both_answers_go_to_it(client, prescriber):
    client.force_login(prescriber)
    key = key_of(client.get(reverse("patients:create")))
    first = client.post(reverse("patients:create"), {**REGISTRATION, "form_key": key})
    second = client.post(reverse("patients:create"), {**REGISTRATION, "form_key": key})
    assert Patient.objects.filter(family_name="Twice").count() == 1
    assert first.status_code == second.status_code == 302
    assert second.url == first.url  # the new patient's page, both times
    followed = client.get(second.url)
    assert "That form was already sent; it was saved once." in followed.content.decode()


@pytest.mark.django_db
def test_a_resent_course_and_follow_up_are_saved_once(client, prescriber, nurse, patient):
    from clinic.pathway.demo import walk_course

    client.force_login(prescriber)
    data = {"indication": "Treatment-resistant depression", "drug": "ketamine"}
    url = reverse("pathway:course_create", args=[patient.public_id])
    key = key_of(client.get(url))
    for _ in range(3):
        client.post(url, {**data, "form_key": key})
    assert TreatmentCourse.objects.filter(patient=patient).count() == 1

    course = walk_course(stage="active", patient=patient, prescriber=prescriber, nurse=nurse)
    before = FollowUp.objects.filter(course=course).count()
    url = reverse("pathway:follow_up_create", args=[course.public_id])
    key = key_of(client.get(url))
    data = {"kind": "check_in", "due_on": "2030-01-15", "form_key": key}
    client.post(url, data)
    client.post(url, data)
    assert FollowUp.objects.filter(course=course).count() == before + 1


@pytest.mark.django_db
def test_an_htmx_vitals_reading_sent_twice_is_recorded_once_and_the_repeat_swaps_nothing(
    client, clinic, prescriber, nurse
):
    session = book(clinic, prescriber, nurse)
    client.force_login(nurse)
    client.post(reverse("pathway:session_check_in", args=[session.public_id]),
                {"identity_confirmed": "on"})  # fmt: skip
    runner = client.get(reverse("pathway:session_run", args=[session.public_id]))
    key = re.findall(r'name="form_key" value="([0-9a-f-]{36})"', runner.content.decode())[0]
    reading = {"phase": "baseline", "systolic": "124", "diastolic": "78", "heart_rate": "70",
               "spo2": "98", "form_key": key}  # fmt: skip
    url = reverse("pathway:session_vitals", args=[session.public_id])
    first = client.post(url, reading, **HTMX)
    repeat = client.post(url, reading, **HTMX)
    assert first.status_code in (200, 204)
    assert repeat.status_code == 204 and repeat.content == b""
    assert VitalReading.objects.filter(session=session).count() == 1


@pytest.mark.django_db
def test_a_form_shown_again_with_errors_has_a_fresh_key_so_the_correction_saves(client, prescriber):
    client.force_login(prescriber)
    key = key_of(client.get(reverse("patients:create")))
    refused = client.post(
        reverse("patients:create"), {**REGISTRATION, "date_of_birth": "", "form_key": key}
    )
    new_key = key_of(refused)
    assert new_key != key
    client.post(reverse("patients:create"), {**REGISTRATION, "form_key": new_key})
    assert Patient.objects.filter(family_name="Twice").count() == 1


@pytest.mark.django_db
def test_a_request_that_fails_frees_its_key_for_the_retry(prescriber):
    key = str(uuid.uuid4())
    factory = RequestFactory()

    def failing_view(request):
        raise RuntimeError("the server fell over")

    request = factory.post("/anything/", {"form_key": key})
    request.user = prescriber
    with pytest.raises(RuntimeError):
        IdempotentPostMiddleware(failing_view)(request)
    assert not FormSubmission.objects.filter(key=key).exists()
    retry = factory.post("/anything/", {"form_key": key})
    retry.user = prescriber
    response = IdempotentPostMiddleware(lambda r: HttpResponse("saved"))(retry)
    assert response.content == b"saved"


@pytest.mark.django_db
def test_a_post_without_a_key_or_with_a_mangled_one_is_processed_normally(client, prescriber):
    client.force_login(prescriber)
    for key in (None, "not-a-uuid"):
        data = {**REGISTRATION, "family_name": f"Nokey{key is None}"}
        if key:
            data["form_key"] = key
        assert client.post(reverse("patients:create"), data).status_code == 302
    assert FormSubmission.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_identical_requests_at_the_same_moment_save_once():
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL for truly concurrent requests")
    from django.test import Client

    clinic = factories.ClinicFactory()
    prescriber = factories.make_staff(clinic=clinic, role="prescriber")
    key = str(uuid.uuid4())
    barrier = threading.Barrier(2)
    statuses = []

    def send():
        client = Client()
        client.force_login(prescriber)
        barrier.wait(timeout=10)
        statuses.append(
            client.post(reverse("patients:create"), {**REGISTRATION, "form_key": key}).status_code
        )
        connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [302, 302]
    assert Patient.objects.filter(family_name="Twice").count() == 1
