"""The staff page of API tokens: create (the secret shown once, only its hash kept), list,
revoke."""

import hashlib
import re

import pytest
from django.urls import reverse

from clinic.core.models import AccessEvent
from clinic.fhir import services
from clinic.fhir.models import ApiToken
from tests import factories
from tests.fhir.conftest import assert_outcome, get_json

TOKENS_URL = "/fhir/tokens/"


def _secret(page):
    match = re.search(r'id="new-token"[^>]*value="(kst_[A-Za-z0-9_\-]+)"', page)
    return match.group(1) if match else None


@pytest.mark.django_db
def test_staff_create_a_token_whose_secret_is_shown_once_and_stored_as_a_hash(
    client, prescriber, patient
):
    client.force_login(prescriber)
    page = client.get(TOKENS_URL)
    assert page.status_code == 200
    assert "You have no API tokens yet" in page.content.decode()
    response = client.post(TOKENS_URL, {"name": "  EHR   sync "})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store, private"
    page = response.content.decode()
    secret = _secret(page)
    assert secret and "shown only this once" in page
    token = ApiToken.objects.get()
    assert (token.user, token.name) == (prescriber, "EHR sync")
    assert token.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.key_prefix == secret[:10]
    # The secret is nowhere in the database, and never shown again.
    for row in ApiToken.objects.values():
        assert secret not in str(row)
    listing = client.get(TOKENS_URL).content.decode()
    assert _secret(listing) is None and secret not in listing
    assert "EHR sync" in listing and f"{token.key_prefix}…" in listing and "Never" in listing
    event = AccessEvent.objects.get(object_type="api_token", action="create")
    assert (event.user, event.object_public_id) == (prescriber, token.public_id)
    # The token works, and its use is shown on the page.
    from django.test import Client

    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert get_json(api, "/fhir/Patient")["total"] == 1
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert "Never" not in client.get(TOKENS_URL).content.decode()


@pytest.mark.django_db
def test_a_blank_or_overlong_name_is_refused_beside_the_field(client, prescriber):
    client.force_login(prescriber)
    for name in ["", "   ", "x" * 81, "nul\x00byte"]:
        response = client.post(TOKENS_URL, {"name": name})
        assert response.status_code == 200
        page = response.content.decode()
        assert "invalid-feedback" in page and _secret(page) is None
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_revoking_a_token_stops_it_at_once(client, prescriber):
    token, secret = services.token_create(user=prescriber, name="laptop")
    client.force_login(prescriber)
    url = reverse("fhir:token_revoke", kwargs={"public_id": token.public_id})
    assert client.get(url).status_code == 405
    response = client.post(url)
    assert response.status_code == 302 and response.url == TOKENS_URL
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == prescriber
    from django.test import Client

    assert_outcome(Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/fhir/Patient"), 401)
    page = client.get(TOKENS_URL).content.decode()
    assert "Revoked" in page and url not in page
    assert client.post(url).status_code == 302  # revoking again changes nothing
    assert AccessEvent.objects.filter(object_type="api_token", detail="revoked").count() == 1


@pytest.mark.django_db
def test_nobody_else_can_see_or_revoke_a_token(client, prescriber, clinic):
    token, _ = services.token_create(user=prescriber, name="mine")
    colleague = factories.make_staff(clinic=clinic, role="admin")
    client.force_login(colleague)
    assert "mine" not in client.get(TOKENS_URL).content.decode()
    url = reverse("fhir:token_revoke", kwargs={"public_id": token.public_id})
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    events = AccessEvent.objects.filter(user=colleague, object_type="api_token")
    assert list(events.values_list("outcome", flat=True)) == ["denied", "denied"]


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_sign_in(client):
    response = client.get(TOKENS_URL)
    assert response.status_code == 302 and "/accounts/login/" in response.url


@pytest.mark.django_db
def test_every_role_of_staff_may_hold_tokens(client, prescriber, nurse, clinic_admin):
    for user in (prescriber, nurse, clinic_admin):
        client.force_login(user)
        assert _secret(client.post(TOKENS_URL, {"name": "x"}).content.decode())
    assert ApiToken.objects.count() == 3


@pytest.mark.django_db
def test_staff_see_the_token_page_in_their_menu_and_patients_do_not(
    client, prescriber, portal_patient
):
    client.force_login(prescriber)
    assert f'href="{TOKENS_URL}"' in client.get("/patients/").content.decode()
    client.force_login(portal_patient.user)
    assert TOKENS_URL not in client.get("/me/").content.decode()
