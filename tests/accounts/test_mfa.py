"""Two-factor authentication: required for staff before any patient data, optional for
patients. These tests sign in through the real forms (password, then a TOTP code computed from
the authenticator's secret with allauth's helpers), not through force_login's shortcut."""

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

from clinic.accounts.checks import staff_mfa_only_off_in_the_demo
from clinic.core.models import AccessEvent
from tests import factories
from tests.totp import totp_code

LOCKOUT = "Too many failed sign-in attempts"


def sign_in(client, user, password=factories.PASSWORD):
    return client.post(
        reverse("account_login"), {"login": user.username, "password": password}, follow=True
    )


def final_path(response):
    return response.redirect_chain[-1][0] if response.redirect_chain else None


def confirm_password(client, password=factories.PASSWORD):
    """allauth asks for the password again before two-factor settings change."""
    return client.post(reverse("account_reauthenticate"), {"password": password})


def enter_code(client, code):
    return client.post(reverse("mfa_authenticate"), {"code": code}, follow=True)


# transaction=True: allauth announces the new authenticator on commit, inside the request, as
# in production; in a rolled-back test transaction that would never happen.
@pytest.mark.django_db(transaction=True)
@pytest.mark.real_mfa
def test_staff_without_an_authenticator_is_sent_to_enrolment_and_sees_no_patient(
    client, prescriber, patient
):
    response = sign_in(client, prescriber)
    # Enrolment, which first asks for the password again (allauth's reauthentication).
    assert final_path(response).startswith(reverse("account_reauthenticate"))
    confirm_password(client)
    response = client.get(reverse("mfa_activate_totp"))
    assert "Your clinic requires two-factor authentication" in response.content.decode()

    detail = reverse("patients:detail", kwargs={"public_id": patient.public_id})
    for url in (detail, reverse("patients:list"), reverse("clinician_home")):
        response = client.get(url, follow=True)
        assert final_path(response) == reverse("mfa_activate_totp"), url
        assert "Set up an authenticator app" in response.content.decode()
        assert patient.family_name not in response.content.decode()
    htmx = client.get(detail, headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"] == reverse("mfa_activate_totp")
    assert not AccessEvent.objects.filter(patient=patient).exists()

    # The code from the app turns it on, shows the recovery codes, and opens the records
    # without asking for a second code.
    secret = client.session[SECRET_SESSION_KEY]
    response = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)}, follow=True)
    assert final_path(response) == reverse("mfa_view_recovery_codes")
    assert Authenticator.objects.filter(user=prescriber, type="totp").exists()
    codes = RecoveryCodes(Authenticator.objects.get(user=prescriber, type="recovery_codes"))
    assert codes.get_unused_codes()[0] in response.content.decode()
    assert client.get(detail).status_code == 200


@pytest.mark.django_db
@pytest.mark.real_mfa
def test_staff_with_an_authenticator_enter_a_code_after_the_password(client, prescriber, patient):
    secret = factories.give_authenticator_app(prescriber)
    response = sign_in(client, prescriber)
    assert final_path(response) == reverse("mfa_authenticate")
    detail = reverse("patients:detail", kwargs={"public_id": patient.public_id})
    # Password alone: not signed in.
    assert client.get(detail).url.startswith(reverse("account_login"))

    wrong = enter_code(client, "000000" if totp_code(secret) != "000000" else "111111")
    assert "Incorrect code." in wrong.content.decode()
    response = enter_code(client, totp_code(secret))
    assert final_path(response) == reverse("clinician_home")
    assert client.get(detail).status_code == 200


@pytest.mark.django_db
@pytest.mark.real_mfa
def test_a_recovery_code_works_once(client, prescriber):
    factories.give_authenticator_app(prescriber)
    rc = Authenticator.objects.get(user=prescriber, type="recovery_codes")
    code = RecoveryCodes(rc).get_unused_codes()[0]
    sign_in(client, prescriber)
    assert final_path(enter_code(client, code)) == reverse("clinician_home")
    client.post(reverse("account_logout"))

    sign_in(client, prescriber)
    response = enter_code(client, code)
    assert "Incorrect code." in response.content.decode()
    assert "_auth_user_id" not in client.session
    rc.refresh_from_db()
    assert len(RecoveryCodes(rc).get_unused_codes()) == 9


@pytest.mark.django_db
@pytest.mark.real_mfa
def test_wrong_codes_are_throttled_and_the_lockout_logged(client, prescriber, caplog):
    secret = factories.give_authenticator_app(prescriber)
    sign_in(client, prescriber)
    right = totp_code(secret)
    wrong = "123456" if right != "123456" else "654321"
    for _ in range(5):
        assert "Incorrect code." in enter_code(client, wrong).content.decode()
    response = enter_code(client, right)
    assert LOCKOUT in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert any(
        "locked out" in r.getMessage() for r in caplog.records if r.name == "clinic.security"
    )


@pytest.mark.django_db
@pytest.mark.real_mfa
def test_a_patient_without_two_factor_signs_in_with_the_password(client, portal_patient):
    response = sign_in(client, portal_patient.user)
    assert final_path(response) == reverse("portal:home")
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.real_mfa
def test_a_patient_may_turn_two_factor_on_and_is_then_asked_for_codes(client, portal_patient):
    user = portal_patient.user
    sign_in(client, user)
    assert final_path(client.get(reverse("portal:home"), follow=True)) is None  # no detour
    confirm_password(client)
    assert client.get(reverse("mfa_activate_totp")).status_code == 200
    secret = client.session[SECRET_SESSION_KEY]
    client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    client.post(reverse("account_logout"))
    assert final_path(sign_in(client, user)) == reverse("mfa_authenticate")


@pytest.mark.django_db
@pytest.mark.real_mfa
def test_a_staff_session_that_skipped_the_code_is_asked_for_one(client, prescriber):
    """force_login here is a session that never passed the MFA step (e.g. one signed in
    before enrolment became required)."""
    secret = factories.give_authenticator_app(prescriber)
    client.force_login(prescriber)
    patients = reverse("patients:list")
    response = client.get(patients)
    assert response.url == f"{reverse('mfa_reauthenticate')}?next=%2Fpatients%2F"
    response = client.post(
        reverse("mfa_reauthenticate"), {"code": totp_code(secret), "next": patients}
    )
    assert response.url == patients
    assert client.get(patients).status_code == 200


@pytest.mark.django_db
def test_staff_cannot_turn_two_factor_off(client, prescriber):
    factories.give_authenticator_app(prescriber)
    client.force_login(prescriber)
    confirm_password(client)
    response = client.post(reverse("mfa_deactivate_totp"))
    assert "cannot be removed" in response.content.decode()
    assert Authenticator.objects.filter(user=prescriber, type="totp").exists()


@pytest.mark.django_db
def test_force_login_in_tests_gives_an_mfa_verified_session(client, prescriber):
    """The tests/conftest.py shortcut that the rest of the suite relies on."""
    client.force_login(prescriber)
    assert client.get(reverse("patients:list")).status_code == 200


@pytest.mark.django_db
@pytest.mark.real_mfa
def test_without_the_shortcut_force_login_is_not_mfa_verified(client, prescriber):
    client.force_login(prescriber)
    assert client.get(reverse("patients:list")).url == reverse("mfa_activate_totp")


def test_only_the_demo_may_switch_staff_two_factor_off():
    with override_settings(CLINIC_STAFF_MFA_REQUIRED=False, DEMO_MODE=False):
        assert [e.id for e in staff_mfa_only_off_in_the_demo(None)] == ["clinic.accounts.E001"]
    with override_settings(CLINIC_STAFF_MFA_REQUIRED=False, DEMO_MODE=True):
        assert staff_mfa_only_off_in_the_demo(None) == []
    assert staff_mfa_only_off_in_the_demo(None) == []  # test settings: on


@pytest.mark.django_db
def test_the_demo_login_page_says_when_two_factor_is_off(client):
    with override_settings(CLINIC_STAFF_MFA_REQUIRED=False, DEMO_MODE=True):
        page = client.get(reverse("account_login")).content.decode()
    assert "Two-factor authentication is off in this demo" in page
    with override_settings(DEMO_MODE=True):
        page = client.get(reverse("account_login")).content.decode()
    assert "Two-factor authentication is off" not in page


@pytest.mark.django_db
def test_seed_demo_gives_demo_staff_the_documented_authenticator_secret():
    from allauth.mfa.totp.internal.auth import TOTP

    from clinic.patients.management.commands.seed_demo import DEMO_TOTP_SECRET

    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    for username in ("prescriber", "nurse", "clinicadmin", "otherclinician"):
        totp = TOTP(Authenticator.objects.get(user__username=username, type="totp"))
        assert totp.validate_code(totp_code(DEMO_TOTP_SECRET)), username
    assert not Authenticator.objects.filter(user__username="patient").exists()


@pytest.mark.django_db
def test_with_two_factor_off_the_demo_staff_sign_in_with_the_password_alone(client, settings):
    settings.CLINIC_STAFF_MFA_REQUIRED = False  # as clinic/settings/demo.py has it
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert not Authenticator.objects.exists()
    response = client.post(
        reverse("account_login"), {"login": "nurse", "password": "demo-pass-2026"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("clinician_home")
