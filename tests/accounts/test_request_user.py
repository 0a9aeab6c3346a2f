"""The request's user is loaded in one query with its memberships, patient record and unread
alerts (clinic/accounts/backends.py), and those answers equal what the ORM reads separately."""

import pytest
from django.urls import reverse

from clinic.accounts.backends import load_request_user
from clinic.accounts.models import User
from clinic.core.services import notify
from tests import factories


def _orm_memberships(user):
    """What User.active_memberships reads on a user object that was not loaded for a request."""
    return User.objects.get(pk=user.pk).active_memberships()


@pytest.mark.django_db
def test_memberships_and_unread_alerts_arrive_with_the_user(django_assert_num_queries):
    first_clinic = factories.ClinicFactory(timezone="America/Chicago")
    second_clinic = factories.ClinicFactory(timezone="Europe/London")
    closed_clinic = factories.ClinicFactory(is_active=False)
    user = factories.make_staff(clinic=first_clinic, role="nurse")
    factories.MembershipFactory(user=user, clinic=second_clinic, role="prescriber")
    factories.MembershipFactory(user=user, clinic=closed_clinic, role="admin")
    factories.MembershipFactory(user=user, clinic=second_clinic, role="admin", is_active=False)
    for n in range(3):
        notify(recipients=[user], kind="test", title=f"Alert {n}", source_key=f"t{n}", email=False)
    user.notifications.filter(title="Alert 0").update(read_at="2026-01-01T00:00:00Z")

    with django_assert_num_queries(1):
        loaded = load_request_user(user.pk)
        memberships = loaded.active_memberships()
        roles = (loaded.is_clinician, loaded.is_prescriber, loaded.is_clinic_admin)
        zone = loaded.display_timezone()
        has_record = hasattr(loaded, "patient_record")

    assert memberships == _orm_memberships(user)
    assert [role for role, *_ in memberships] == ["nurse", "prescriber", "admin"]
    # The admin role is held only in a closed clinic: it does not count.
    assert roles == (True, True, False)
    assert zone == "America/Chicago"
    assert loaded.unread_alerts == 2
    assert has_record is False


@pytest.mark.django_db
def test_a_patient_arrives_with_record_and_clinic_and_no_memberships(django_assert_num_queries):
    patient = factories.PatientFactory(with_user=True)
    with django_assert_num_queries(1):
        loaded = load_request_user(patient.user.pk)
        record = loaded.patient_record
        zone = loaded.display_timezone()
        memberships = loaded.active_memberships()
    assert record == patient
    assert zone == patient.clinic.timezone
    assert memberships == []
    assert loaded.is_patient and not loaded.is_clinic_staff


@pytest.mark.django_db
def test_an_unknown_or_inactive_user_is_nobody():
    user = factories.make_staff()
    assert load_request_user(user.pk + 1000) is None
    user.is_active = False
    user.save()
    from clinic.accounts.backends import ModelBackend

    assert ModelBackend().get_user(user.pk) is None


@pytest.mark.django_db
def test_the_bell_counts_unread_alerts_on_every_page(client):
    user = factories.make_staff()
    notify(recipients=[user], kind="test", title="Check BP", source_key="bell", email=False)
    client.force_login(user)
    page = client.get(reverse("patients:list")).content.decode()
    assert 'text-bg-danger" aria-hidden="true">1</span>' in page
    user.notifications.update(read_at="2026-01-01T00:00:00Z")
    page = client.get(reverse("patients:list")).content.decode()
    assert 'text-bg-danger" aria-hidden="true">' not in page
