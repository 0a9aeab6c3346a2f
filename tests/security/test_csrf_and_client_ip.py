"""CSRF is enforced on every state-changing form, and the audit trail records the client's
address: behind configured reverse proxies the forwarded one, otherwise never a spoofable
header."""

import pytest
from django.test import Client
from django.urls import reverse

from clinic.core.models import AccessEvent
from clinic.patients.models import Patient
from tests.patients.test_views import REGISTRATION

pytestmark = pytest.mark.django_db


def test_a_form_posted_without_its_csrf_token_is_refused_and_saves_nothing(nurse, clinic):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(nurse)
    response = browser.post(reverse("patients:create"), {**REGISTRATION, "clinic": clinic.pk})
    assert response.status_code == 403
    assert not Patient.objects.exists()


def test_the_same_form_with_its_token_is_accepted(nurse, clinic):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(nurse)
    browser.get(reverse("patients:create"))
    token = browser.cookies["csrftoken"].value
    response = browser.post(
        reverse("patients:create"),
        {**REGISTRATION, "clinic": clinic.pk, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert Patient.objects.count() == 1


def _audited_address(client, patient, **headers):
    client.get(reverse("patients:detail", args=[patient.public_id]), **headers)
    return AccessEvent.objects.filter(object_type="patient").latest("pk").ip_address


def test_a_forwarded_for_header_is_ignored_without_a_trusted_proxy(client, prescriber, patient):
    client.force_login(prescriber)
    address = _audited_address(
        client, patient, REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="198.51.100.66"
    )
    assert address == "203.0.113.5"


def test_behind_a_trusted_proxy_the_client_address_is_audited(
    client, prescriber, patient, settings
):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    client.force_login(prescriber)
    address = _audited_address(
        client,
        patient,
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="192.0.2.1, 198.51.100.66",
    )
    # The proxy appended the address it saw; anything left of it came from the client.
    assert address == "198.51.100.66"
