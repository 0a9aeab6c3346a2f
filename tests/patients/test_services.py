import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clinic.core.models import AccessEvent
from clinic.patients import services
from clinic.patients.models import CareTeamMember, Patient
from tests import factories

VALID = {
    "given_name": "Avery",
    "family_name": "Example",
    "preferred_name": "",
    "date_of_birth": datetime.date(1980, 5, 17),
    "sex_at_birth": "female",
    "gender_identity": "",
    "pronouns": "",
    "email": "avery@example.invalid",
    "phone": "+1 555 0100",
    "address": "",
    "emergency_contact_name": "",
    "emergency_contact_relationship": "",
    "emergency_contact_phone": "",
}


@pytest.mark.django_db
def test_registration_issues_sequential_mrns_per_clinic(clinic, other_clinic, prescriber):
    clinic.mrn_prefix = "RIV"
    clinic.save()
    first = services.patient_register(clinic=clinic, registered_by=prescriber, **VALID)
    second = services.patient_register(clinic=clinic, registered_by=prescriber, **VALID)
    elsewhere = services.patient_register(clinic=other_clinic, registered_by=prescriber, **VALID)
    assert (first.medical_record_number, second.medical_record_number) == (
        "RIV-000001",
        "RIV-000002",
    )
    assert elsewhere.medical_record_number == "T-000001"


@pytest.mark.django_db
def test_registration_is_audited(clinic, prescriber):
    patient = services.patient_register(clinic=clinic, registered_by=prescriber, **VALID)
    event = AccessEvent.objects.get(patient=patient)
    assert (event.action, event.user, event.clinic, event.outcome) == (
        "create",
        prescriber,
        clinic,
        "allowed",
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("date_of_birth", datetime.date(2999, 1, 1), "cannot be in the future"),
        ("date_of_birth", datetime.date(1899, 12, 31), "after 1900"),
        ("given_name", "   ", "cannot be blank"),
        ("phone", "call me", "phone number"),
        ("sex_at_birth", "robot", "not a valid choice"),
        ("email", "not-an-email", "valid email"),
    ],
)
def test_registration_refuses_invalid_details_and_saves_nothing(
    clinic, prescriber, field, value, message
):
    with pytest.raises(ValidationError) as caught:
        services.patient_register(
            clinic=clinic, registered_by=prescriber, **{**VALID, field: value}
        )
    assert message in " ".join(caught.value.message_dict[field]).lower()
    assert Patient.objects.count() == 0
    assert AccessEvent.objects.count() == 0


@pytest.mark.django_db
def test_update_changes_details_raises_version_and_records_changed_fields(patient, prescriber):
    updated = services.patient_update(
        patient=patient,
        updated_by=prescriber,
        expected_version=1,
        phone="+1 555 0199",
        family_name="Renamed",
    )
    assert (updated.phone, updated.family_name, updated.version) == ("+1 555 0199", "Renamed", 2)
    event = AccessEvent.objects.get(action="update")
    assert event.detail == "changed: family_name, phone"


@pytest.mark.django_db
def test_stale_edit_is_refused_and_does_not_overwrite(patient, prescriber, nurse):
    services.patient_update(
        patient=patient, updated_by=nurse, expected_version=1, phone="+1 555 0111"
    )
    with pytest.raises(services.StaleEditError):
        services.patient_update(
            patient=patient, updated_by=prescriber, expected_version=1, phone="+1 555 0222"
        )
    patient.refresh_from_db()
    assert (patient.phone, patient.version) == ("+1 555 0111", 2)


@pytest.mark.django_db
def test_update_without_changes_keeps_the_version(patient, prescriber):
    updated = services.patient_update(
        patient=patient, updated_by=prescriber, expected_version=1, phone=patient.phone
    )
    assert updated.version == 1
    assert not AccessEvent.objects.filter(action="update").exists()


@pytest.mark.django_db
def test_update_refuses_fields_outside_demographics(patient, prescriber):
    with pytest.raises(TypeError):
        services.patient_update(
            patient=patient, updated_by=prescriber, expected_version=1, clinic_id=99
        )


@pytest.mark.django_db
def test_care_team_accepts_only_clinicians_of_the_patients_clinic(
    patient, prescriber, clinic_admin, other_clinician
):
    services.care_team_add(
        patient=patient, user=prescriber, responsibility="primary_prescriber", added_by=prescriber
    )
    for outsider in (clinic_admin, other_clinician):
        with pytest.raises(ValidationError, match="Only a clinician"):
            services.care_team_add(
                patient=patient, user=outsider, responsibility="nurse", added_by=prescriber
            )
    assert list(patient.care_team.values_list("user", flat=True)) == [prescriber.pk]


@pytest.mark.django_db
def test_a_nurse_cannot_be_made_a_prescriber(patient, nurse, prescriber):
    with pytest.raises(ValidationError, match="Only a prescriber"):
        services.care_team_add(
            patient=patient, user=nurse, responsibility="prescriber", added_by=prescriber
        )


@pytest.mark.django_db
def test_only_one_primary_prescriber(patient, clinic, prescriber):
    second = factories.make_staff(clinic=clinic, role="prescriber")
    services.care_team_add(
        patient=patient, user=prescriber, responsibility="primary_prescriber", added_by=prescriber
    )
    with pytest.raises(ValidationError):
        services.care_team_add(
            patient=patient, user=second, responsibility="primary_prescriber", added_by=prescriber
        )


@pytest.mark.django_db
def test_removing_from_care_team_keeps_the_row_as_history(patient, nurse, prescriber):
    member = services.care_team_add(
        patient=patient, user=nurse, responsibility="nurse", added_by=prescriber
    )
    services.care_team_remove(member=member, removed_by=prescriber)
    member.refresh_from_db()
    assert member.is_active is False
    again = services.care_team_add(
        patient=patient, user=nurse, responsibility="nurse", added_by=prescriber
    )
    assert CareTeamMember.objects.filter(patient=patient, user=nurse).count() == 2
    assert again.is_active


@pytest.mark.django_db
def test_database_refuses_blank_names_and_duplicate_mrns(clinic):
    factories.PatientFactory(clinic=clinic, medical_record_number="T-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.PatientFactory(clinic=clinic, medical_record_number="T-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.PatientFactory(clinic=clinic, given_name="")
