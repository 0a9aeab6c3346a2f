"""Reads for the signed-in patient's own portal pages."""

from clinic.core.audit import record_access
from clinic.core.models import AccessEvent
from clinic.patients import selectors as patient_selectors
from clinic.patients.models import Patient


def own_patient_record(user):
    """The signed-in patient's own record (404 for anyone without one); audited:
    `patients.selectors.own_patient_record`, without reading the record again when the
    request's user came with it (clinic.accounts.backends.load_request_user joins the
    patient record and its clinic to the user row)."""
    loaded = Patient.user.field.remote_field  # User.patient_record
    if not loaded.is_cached(user):
        return patient_selectors.own_patient_record(user)
    patient = loaded.get_cached_value(user)
    if patient is None or not user.is_active:
        return patient_selectors.own_patient_record(user)  # its 404, as it words it
    record_access(
        user=user,
        action=AccessEvent.Action.VIEW,
        object_type="own_record",
        object_public_id=patient.public_id,
        patient=patient,
    )
    return patient
