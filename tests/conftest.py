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
