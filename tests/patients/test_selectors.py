import pytest
from django.http import Http404

from clinic.core.models import AccessEvent
from clinic.patients import selectors
from tests import factories


@pytest.mark.django_db
def test_staff_see_their_clinics_patients_only(patient, prescriber, other_clinician):
    factories.PatientFactory(clinic=other_clinician.clinic_memberships.get().clinic)
    assert list(selectors.patients_visible_to(prescriber)) == [patient]


@pytest.mark.django_db
def test_a_patient_sees_only_their_own_record(portal_patient, patient):
    visible = selectors.patients_visible_to(portal_patient.user)
    assert list(visible) == [portal_patient]


@pytest.mark.django_db
def test_inactive_users_and_memberships_see_nothing(patient, prescriber):
    membership = prescriber.clinic_memberships.get()
    membership.is_active = False
    membership.save()
    assert not selectors.patients_visible_to(prescriber).exists()
    membership.is_active = True
    membership.save()
    prescriber.is_active = False
    prescriber.save()
    assert not selectors.patients_visible_to(prescriber).exists()


@pytest.mark.django_db
def test_a_deactivated_clinic_hides_its_patients(patient, prescriber, clinic):
    clinic.is_active = False
    clinic.save()
    assert not selectors.patients_visible_to(prescriber).exists()


@pytest.mark.django_db
def test_patient_get_audits_allowed_reads(patient, prescriber):
    assert selectors.patient_get_for_user(prescriber, patient.public_id) == patient
    event = AccessEvent.objects.get()
    assert (event.user, event.patient, event.action, event.outcome) == (
        prescriber,
        patient,
        "view",
        "allowed",
    )


@pytest.mark.django_db
def test_patient_get_refuses_other_clinics_with_404_and_audits_the_denial(patient, other_clinician):
    with pytest.raises(Http404):
        selectors.patient_get_for_user(other_clinician, patient.public_id)
    event = AccessEvent.objects.get()
    assert (event.outcome, event.patient, event.clinic) == ("denied", patient, patient.clinic)


@pytest.mark.django_db
def test_staff_pages_do_not_open_a_patients_own_record_to_them(portal_patient):
    with pytest.raises(Http404):
        selectors.patient_get_for_user(portal_patient.user, portal_patient.public_id)
    own = selectors.own_patient_record(portal_patient.user)
    assert own == portal_patient


@pytest.mark.django_db
def test_search_matches_names_and_mrn_and_every_term(clinic, prescriber):
    avery = factories.PatientFactory(
        clinic=clinic, given_name="Avery", family_name="Example", medical_record_number="T-77"
    )
    factories.PatientFactory(clinic=clinic, given_name="Avery", family_name="Sample")
    assert list(selectors.patient_search_for_user(prescriber, query="avery exam")) == [avery]
    assert list(selectors.patient_search_for_user(prescriber, query="t-77")) == [avery]
    assert selectors.patient_search_for_user(prescriber, query="avery").count() == 2
    assert AccessEvent.objects.filter(action="search").count() == 3


@pytest.mark.django_db
def test_search_of_another_clinics_name_finds_nothing(patient, other_clinician):
    found = selectors.patient_search_for_user(other_clinician, query=patient.family_name)
    assert not found.exists()


@pytest.mark.django_db
def test_recently_viewed_lists_each_patient_once_newest_first(clinic, prescriber):
    first, second = factories.PatientFactory.create_batch(2, clinic=clinic)
    for patient in (first, second, first):
        selectors.patient_get_for_user(prescriber, patient.public_id)
    assert selectors.recently_viewed_patients(prescriber) == [first, second]


@pytest.mark.django_db
def test_recently_viewed_drops_patients_no_longer_visible(clinic, prescriber, patient):
    selectors.patient_get_for_user(prescriber, patient.public_id)
    membership = prescriber.clinic_memberships.get()
    membership.is_active = False
    membership.save()
    assert selectors.recently_viewed_patients(prescriber) == []
