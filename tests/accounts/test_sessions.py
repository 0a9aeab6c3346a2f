"""Session limits: idle timeouts (staff 15 minutes, patients 30), 12 hours at most, and
sessions that end when the user or their clinic access is disabled or the password changes.
The clock is moved by patching django.utils.timezone.now; nothing sleeps."""

import datetime
from unittest import mock

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from clinic.patients.models import ClinicMembership
from tests import factories

START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


class Clock:
    def __init__(self):
        self.now = START

    def advance(self, **delta):
        self.now += datetime.timedelta(**delta)


@pytest.fixture
def clock():
    clock = Clock()
    with mock.patch.object(timezone, "now", lambda: clock.now):
        yield clock


def signed_out_with(client, url, message):
    response = client.get(url, follow=True)
    assert response.redirect_chain[0][0].startswith(reverse("account_login")), url
    assert message in response.content.decode()
    assert "_auth_user_id" not in client.session
    return response


@pytest.mark.django_db
def test_staff_are_signed_out_after_15_idle_minutes(client, clock, prescriber):
    client.force_login(prescriber)
    patients = reverse("patients:list")
    clock.advance(minutes=14)
    assert client.get(patients).status_code == 200
    clock.advance(minutes=14)  # active 14 minutes ago: still in
    assert client.get(patients).status_code == 200
    clock.advance(minutes=15, seconds=1)
    signed_out_with(client, patients, "signed out after 15 minutes of inactivity")
    assert client.get(patients).url.startswith(reverse("account_login"))


@pytest.mark.django_db
def test_htmx_requests_get_an_hx_redirect_to_the_login(client, clock, prescriber):
    client.force_login(prescriber)
    clock.advance(minutes=16)
    response = client.get(reverse("patients:list"), headers={"HX-Request": "true"})
    assert response["HX-Redirect"] == reverse("account_login")


@pytest.mark.django_db
@override_settings(CLINIC_STAFF_IDLE_TIMEOUT_SECONDS=5 * 60)
def test_the_staff_idle_timeout_is_configurable(client, clock, prescriber):
    client.force_login(prescriber)
    clock.advance(minutes=5, seconds=1)
    signed_out_with(client, reverse("patients:list"), "signed out after 5 minutes of inactivity")


@pytest.mark.django_db
def test_patients_are_signed_out_after_30_idle_minutes(client, clock, portal_patient):
    client.force_login(portal_patient.user)
    home = reverse("portal:home")
    clock.advance(minutes=29)
    assert client.get(home).status_code == 200
    clock.advance(minutes=30, seconds=1)
    signed_out_with(client, home, "signed out after 30 minutes of inactivity")


@pytest.mark.django_db
@override_settings(CLINIC_STAFF_IDLE_TIMEOUT_SECONDS=24 * 3600)
def test_every_session_ends_after_12_hours_however_active(client, clock, prescriber):
    client.force_login(prescriber)
    patients = reverse("patients:list")
    clock.advance(hours=11, minutes=59)
    assert client.get(patients).status_code == 200
    clock.advance(minutes=2)
    signed_out_with(client, patients, "sessions last at most 12 hours")


@pytest.mark.django_db
def test_a_deactivated_user_is_signed_out_on_the_next_request(client, prescriber):
    client.force_login(prescriber)
    prescriber.is_active = False
    prescriber.save(update_fields=["is_active"])
    assert client.get(reverse("patients:list")).url.startswith(reverse("account_login"))


@pytest.mark.django_db
def test_a_deactivated_membership_ends_the_session_on_the_next_request(client, prescriber):
    client.force_login(prescriber)
    ClinicMembership.objects.filter(user=prescriber).update(is_active=False)
    signed_out_with(client, reverse("patients:list"), "your clinic access was withdrawn")


@pytest.mark.django_db
def test_a_password_change_signs_out_every_other_session(client, nurse):
    elsewhere = Client()
    elsewhere.force_login(nurse)
    client.force_login(nurse)
    new_password = "quiet orchards hum at dusk"
    client.post(
        reverse("account_change_password"),
        {"oldpassword": factories.PASSWORD, "password1": new_password, "password2": new_password},
    )
    assert client.get(reverse("patients:list")).status_code == 200
    assert elsewhere.get(reverse("patients:list")).url.startswith(reverse("account_login"))
