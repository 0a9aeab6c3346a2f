import os

import pytest

from tests import factories

# .ci/run sets this so that a missing browser, broker or tool fails the run instead of
# skipping the tests that need it: CI proves the real components.
REQUIRE_ALL = os.environ.get("CLINIC_REQUIRE_ALL") == "1"


def skip_or_fail(reason):
    """Skip on a developer machine that lacks a component; fail in CI."""
    if REQUIRE_ALL:
        pytest.fail(f"CLINIC_REQUIRE_ALL is set but: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits (failed sign-ins, MFA codes) and allauth's used-TOTP-code marks live in the
    cache: empty it for each test, so that one test's failed logins cannot lock out the next."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def force_login_is_mfa_verified(request, monkeypatch):
    """`client.force_login(user)` and `client.login(...)` give an MFA-verified session.

    Staff must pass the TOTP step before they see any patient data
    (`clinic.accounts.middleware.StaffMfaMiddleware`). Hundreds of tests sign staff in with
    `force_login`, which skips allauth's login stages, so this fixture wraps the test client's
    `_login` (behind both) to record the MFA step in the session with allauth's own
    `record_authentication`, exactly as allauth does after a correct TOTP code: one `password`
    and one `mfa` record for that user.

    Tests that prove the enforcement itself sign in through the real forms (password, then a
    TOTP code) or carry `@pytest.mark.real_mfa`, which turns this shortcut off.
    """
    if request.node.get_closest_marker("real_mfa"):
        return
    from django.test.client import ClientMixin

    original_login = ClientMixin._login

    def login_with_mfa_step(self, user, backend=None):
        from allauth.account.internal.flows.login import record_authentication
        from django.http import HttpRequest

        original_login(self, user, backend)
        authenticator = user.authenticator_set.filter(type="totp").first()
        fake_request = HttpRequest()
        fake_request.session = self.session
        record_authentication(fake_request, user, "password", username=user.get_username())
        record_authentication(
            fake_request, user, "mfa", type="totp", id=getattr(authenticator, "pk", None)
        )
        fake_request.session.save()

    monkeypatch.setattr(ClientMixin, "_login", login_with_mfa_step)


@pytest.fixture
def clinic(db):
    return factories.ClinicFactory()


@pytest.fixture
def other_clinic(db):
    return factories.ClinicFactory()


@pytest.fixture
def prescriber(clinic):
    return factories.make_staff(clinic=clinic, role="prescriber")


@pytest.fixture
def nurse(clinic):
    return factories.make_staff(clinic=clinic, role="nurse")


@pytest.fixture
def clinic_admin(clinic):
    return factories.make_staff(clinic=clinic, role="admin")


@pytest.fixture
def other_clinician(other_clinic):
    return factories.make_staff(clinic=other_clinic, role="prescriber")


@pytest.fixture
def patient(clinic):
    return factories.PatientFactory(clinic=clinic)


@pytest.fixture
def portal_patient(clinic):
    """A patient of `clinic` with a portal login, and that login."""
    return factories.PatientFactory(clinic=clinic, with_user=True)
