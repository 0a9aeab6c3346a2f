"""Security headers on every kind of page: anonymous, staff, patient, error pages, static
redirects. Production settings add HSTS (checked against `check --deploy` and directly)."""

import json
import subprocess
import sys

import pytest
from django.urls import reverse

from tests.test_deployment import REPO, _production_env


def _policy(response):
    header = response["Content-Security-Policy"]
    return {
        name: values.split()
        for name, _, values in (part.strip().partition(" ") for part in header.split(";"))
    }


def assert_security_headers(response):
    policy = _policy(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


@pytest.mark.django_db
def test_the_login_page_and_a_404_carry_every_header(client):
    login = client.get(reverse("account_login"))
    missing = client.get("/no-such-page/")
    assert (login.status_code, missing.status_code) == (200, 404)
    assert_security_headers(login)
    assert_security_headers(missing)


@pytest.mark.django_db
def test_signed_in_pages_carry_every_header_and_are_never_cached(
    client, nurse, clinic_admin, portal_patient
):
    pages = [
        (nurse, reverse("clinician_home")),
        (nurse, reverse("patients:list")),
        (clinic_admin, reverse("clinic_admin_home")),
        (portal_patient.user, reverse("portal:home")),
    ]
    for user, url in pages:
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, url
        assert_security_headers(response)
        assert "no-store" in response["Cache-Control"], url


@pytest.mark.django_db
def test_an_htmx_fragment_carries_the_policy_too(client, nurse):
    client.force_login(nurse)
    response = client.get(reverse("patients:list"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert_security_headers(response)


def test_production_settings_send_hsts_and_secure_cookies():
    script = (
        "import json, django; django.setup(); from django.conf import settings as s;"
        "print(json.dumps([s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS,"
        " s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=_production_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    hsts_seconds, subdomains, ssl_redirect, *secure_cookies = json.loads(result.stdout)
    assert hsts_seconds >= 31_536_000
    assert subdomains and ssl_redirect and all(secure_cookies)
