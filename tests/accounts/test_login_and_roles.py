import pytest
from django.core import mail
from django.urls import reverse

from clinic.accounts.models import User
from tests.demo_data import load_demo
from tests.totp import demo_totp_code

DEMO_PASSWORD = "demo-pass-2026"
ROLE_HOMES = {
    "prescriber": "/clinician/",
    "nurse": "/clinician/",
    "clinicadmin": "/clinic-admin/",
    "patient": "/me/",
    "otherclinician": "/clinician/",
}


@pytest.fixture
def demo(db):
    load_demo()


@pytest.mark.django_db
@pytest.mark.parametrize(("username", "home"), ROLE_HOMES.items())
def test_each_demo_login_reaches_its_roles_home(client, demo, username, home):
    response = client.post(
        reverse("account_login"), {"login": username, "password": DEMO_PASSWORD}, follow=True
    )
    if username != "patient":  # staff have an authenticator app (seed_demo) and must use it
        assert response.redirect_chain[-1][0] == reverse("mfa_authenticate")
        response = client.post(
            reverse("mfa_authenticate"), {"code": demo_totp_code(username)}, follow=True
        )
    assert response.redirect_chain[-1][0] == home
    assert response.status_code == 200


@pytest.mark.django_db
def test_login_by_email_works_too(client, demo):
    response = client.post(
        reverse("account_login"),
        {"login": "nurse@example.invalid", "password": DEMO_PASSWORD},
        follow=True,
    )
    # The password step passed; the two-factor step comes next.
    assert response.redirect_chain[-1][0] == reverse("mfa_authenticate")


@pytest.mark.django_db
def test_wrong_password_says_so_and_keeps_the_username(client, demo):
    response = client.post(reverse("account_login"), {"login": "nurse", "password": "wrong"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "not correct" in page
    assert 'value="nurse"' in page


@pytest.mark.django_db
def test_navigation_differs_per_role(client, demo):
    client.login(username="clinicadmin", password=DEMO_PASSWORD)
    admin_page = client.get(reverse("clinic_admin_home")).content.decode()
    assert "Clinic admin</a>" in admin_page and ">Today</a>" not in admin_page.replace(
        '<i class="bi bi-house" aria-hidden="true"></i> ', ""
    )
    client.login(username="patient", password=DEMO_PASSWORD)
    portal_page = client.get(reverse("portal:home")).content.decode()
    assert "My care</a>" in portal_page
    assert reverse("patients:list") not in portal_page


@pytest.mark.django_db
def test_patients_cannot_open_staff_pages_and_staff_cannot_open_the_portal(client, demo):
    client.login(username="patient", password=DEMO_PASSWORD)
    for name in ("clinician_home", "clinic_admin_home", "patients:list", "patients:create"):
        assert client.get(reverse(name)).status_code == 403, name
    client.login(username="nurse", password=DEMO_PASSWORD)
    assert client.get(reverse("portal:home")).status_code == 403
    assert client.get(reverse("clinic_admin_home")).status_code == 403


@pytest.mark.django_db
def test_signup_is_closed(client):
    response = client.post(
        reverse("account_signup"),
        {
            "username": "intruder",
            "email": "intruder@example.invalid",
            "password1": "a-long-enough-password",
            "password2": "a-long-enough-password",
        },
    )
    assert "Accounts are by invitation" in response.content.decode()
    assert not User.objects.filter(username="intruder").exists()


@pytest.mark.django_db
def test_password_reset_sends_a_link_that_sets_a_new_password(
    client, demo, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_reset_password"), {"email": "nurse@example.invalid"})
    assert len(mail.outbox) == 1
    link = next(
        line for line in mail.outbox[0].body.splitlines() if "/accounts/password/reset/key/" in line
    )
    path = link[link.index("/accounts/") :].strip()
    response = client.get(path, follow=True)
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else path
    new_password = "a-brand-new-passphrase-2026"
    client.post(form_url, {"password1": new_password, "password2": new_password})
    assert client.login(username="nurse", password=new_password)


@pytest.mark.django_db
def test_password_reset_for_an_unknown_address_reveals_nothing_and_sends_nothing(
    client, demo, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        unknown = client.post(
            reverse("account_reset_password"), {"email": "nobody@example.invalid"}, follow=True
        )
        known = client.post(
            reverse("account_reset_password"), {"email": "nurse@example.invalid"}, follow=True
        )
    assert unknown.redirect_chain == known.redirect_chain
    assert [message.to for message in mail.outbox] == [["nurse@example.invalid"]]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("new_password", "message"),
    [
        ("short-pw", "at least 12 characters"),
        ("password1234", "too common"),
        ("839201938475", "entirely numeric"),
    ],
)
def test_password_change_enforces_the_password_rules(client, demo, new_password, message):
    client.login(username="nurse", password=DEMO_PASSWORD)
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": DEMO_PASSWORD, "password1": new_password, "password2": new_password},
    )
    assert message in response.content.decode()
    assert client.login(username="nurse", password=DEMO_PASSWORD)


@pytest.mark.django_db
def test_a_user_without_any_role_is_told_so(client, db):
    User.objects.create_user("roleless", password=DEMO_PASSWORD)
    client.login(username="roleless", password=DEMO_PASSWORD)
    response = client.get("/")
    assert response.status_code == 403
    assert "no role yet" in response.content.decode()


@pytest.mark.django_db
def test_pages_with_patient_data_are_not_cached(client, demo):
    client.login(username="prescriber", password=DEMO_PASSWORD)
    response = client.get(reverse("patients:list"))
    assert response["Cache-Control"] == "no-store, private"
