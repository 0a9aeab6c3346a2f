"""Failed sign-ins are throttled per address and per account, including the Django admin's
sign-in (routed through allauth's login), and lockouts are logged to `clinic.security`."""

import pytest
from django.urls import reverse

from tests import factories

LOCKOUT = "Too many failed sign-in attempts"


def attempt(client, username, password):
    return client.post(reverse("account_login"), {"login": username, "password": password})


@pytest.mark.django_db
def test_five_wrong_passwords_then_the_right_one_is_refused_with_a_clear_message(
    client, portal_patient, caplog
):
    user = portal_patient.user
    for _ in range(5):
        assert "not correct" in attempt(client, user.username, "wrong-guess").content.decode()
    response = attempt(client, user.username, factories.PASSWORD)
    page = response.content.decode()
    assert response.status_code == 200
    assert LOCKOUT in page and "locked for 15 minutes" in page
    assert "_auth_user_id" not in client.session
    lockouts = [r for r in caplog.records if r.name == "clinic.security" and "locked out" in r.msg]
    assert lockouts and user.username in lockouts[0].getMessage()


@pytest.mark.django_db
def test_a_locked_account_does_not_lock_out_other_accounts(client, portal_patient, nurse):
    for _ in range(6):
        attempt(client, portal_patient.user.username, "wrong-guess")
    response = attempt(client, nurse.username, factories.PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(nurse.pk)


@pytest.mark.django_db
def test_failed_sign_ins_are_logged(client, nurse, caplog):
    attempt(client, nurse.username, "wrong-guess")
    failed = [r.getMessage() for r in caplog.records if r.name == "clinic.security"]
    assert any("Failed sign-in" in m and nurse.username in m for m in failed)


@pytest.mark.django_db
def test_the_admin_sign_in_goes_through_the_throttled_login(client):
    operator = factories.UserFactory(is_staff=True, is_superuser=True)
    response = client.get("/admin/login/?next=/admin/")
    assert response.url.startswith(reverse("account_login"))
    # Django's own admin form never checks a password any more.
    posted = client.post(
        "/admin/login/",
        {"username": operator.username, "password": factories.PASSWORD, "next": "/admin/"},
    )
    assert posted.url.startswith(reverse("account_login"))
    assert "_auth_user_id" not in client.session
    # ... so guessing the operator's password meets the same lockout.
    for _ in range(5):
        attempt(client, operator.username, "wrong-guess")
    assert LOCKOUT in attempt(client, operator.username, factories.PASSWORD).content.decode()
    assert client.get("/admin/").url.startswith("/admin/login/")
