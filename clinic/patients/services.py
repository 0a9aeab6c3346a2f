"""Writes to clinics and patients. Each service validates, writes and audits in one
transaction; views call these and nothing else to change a record."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from clinic.core.audit import record_access
from clinic.core.models import AccessEvent
from clinic.patients.models import CareTeamMember, Clinic, Patient

PATIENT_EDITABLE_FIELDS = (
    "given_name",
    "family_name",
    "preferred_name",
    "date_of_birth",
    "sex_at_birth",
    "gender_identity",
    "pronouns",
    "email",
    "phone",
    "address",
    "emergency_contact_name",
    "emergency_contact_relationship",
    "emergency_contact_phone",
    "status",
)


class StaleEditError(ValidationError):
    """Someone else saved the record after this edit began."""


def _next_medical_record_number(clinic):
    # Lock the clinic row so two registrations cannot take the same number.
    Clinic.objects.select_for_update().get(pk=clinic.pk)
    count = Patient.objects.filter(clinic=clinic).count()
    candidate = count + 1
    while Patient.objects.filter(
        clinic=clinic, medical_record_number=f"{clinic.mrn_prefix}-{candidate:06d}"
    ).exists():
        candidate += 1
    return f"{clinic.mrn_prefix}-{candidate:06d}"


@transaction.atomic
def patient_register(*, clinic, registered_by, **fields):
    """Registers a new patient in `clinic` and gives them the clinic's next MRN."""
    unknown = set(fields) - set(PATIENT_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Unexpected patient fields: {sorted(unknown)}")
    patient = Patient(clinic=clinic, created_by=registered_by, **fields)
    patient.medical_record_number = _next_medical_record_number(clinic)
    patient.full_clean()
    patient.save()
    record_access(
        user=registered_by,
        action=AccessEvent.Action.CREATE,
        object_type="patient",
        object_public_id=patient.public_id,
        patient=patient,
    )
    return patient


@transaction.atomic
def patient_update(*, patient, updated_by, expected_version, **fields):
    """Changes a patient's demographics unless someone else changed them first.

    `expected_version` is the version the editor started from; a mismatch raises
    `StaleEditError` and nothing is written.
    """
    unknown = set(fields) - set(PATIENT_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Unexpected patient fields: {sorted(unknown)}")
    current = Patient.objects.select_for_update().get(pk=patient.pk)
    if current.version != expected_version:
        raise StaleEditError(
            "Someone else saved this patient's details while you were editing. "
            "Reload the page to see their changes, then make yours again."
        )
    changed = sorted(name for name, value in fields.items() if getattr(current, name) != value)
    for name, value in fields.items():
        setattr(current, name, value)
    current.full_clean()
    if not changed:
        return current
    current.version = F("version") + 1
    current.save()
    current.refresh_from_db()
    record_access(
        user=updated_by,
        action=AccessEvent.Action.UPDATE,
        object_type="patient",
        object_public_id=current.public_id,
        patient=current,
        detail="changed: " + ", ".join(changed),
    )
    return current


@transaction.atomic
def care_team_add(*, patient, user, responsibility, added_by):
    member = CareTeamMember(patient=patient, user=user, responsibility=responsibility)
    member.full_clean()
    try:
        with transaction.atomic():
            member.save()
    except IntegrityError as exc:
        raise ValidationError(
            "This clinician is already on the care team, or the patient already has a "
            "primary prescriber."
        ) from exc
    record_access(
        user=added_by,
        action=AccessEvent.Action.UPDATE,
        object_type="care_team",
        object_public_id=member.public_id,
        patient=patient,
        detail=f"added {user.username} as {responsibility}",
    )
    return member


@transaction.atomic
def care_team_remove(*, member, removed_by):
    """Ends a care-team role; the row stays as a record of who was responsible when."""
    member = CareTeamMember.objects.select_for_update().get(pk=member.pk)
    if not member.is_active:
        return member
    member.is_active = False
    member.save(update_fields=["is_active", "updated_at"])
    record_access(
        user=removed_by,
        action=AccessEvent.Action.UPDATE,
        object_type="care_team",
        object_public_id=member.public_id,
        patient=member.patient,
        detail=f"removed {member.user.username} as {member.responsibility}",
    )
    return member
