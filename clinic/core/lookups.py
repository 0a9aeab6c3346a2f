"""Access-checked lookups shared by every app's selectors."""

import uuid

from django.http import Http404

from clinic.core.audit import record_access
from clinic.core.models import AccessEvent


def is_uuid(value):
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def scoped_get_or_404(queryset, *, user, public_id, object_type, patient_of):
    """The object of the user-scoped `queryset` with `public_id`, or 404. Either way the
    attempt is audited, against the object's patient when the object exists at all."""
    found = queryset.filter(public_id=public_id).first() if is_uuid(public_id) else None
    if found is None:
        unscoped = (
            queryset.model.objects.filter(public_id=public_id).first()
            if is_uuid(public_id)
            else None
        )
        record_access(
            user=user,
            action=AccessEvent.Action.VIEW,
            object_type=object_type,
            object_public_id=public_id if is_uuid(public_id) else None,
            patient=patient_of(unscoped) if unscoped is not None else None,
            outcome=AccessEvent.Outcome.DENIED,
        )
        raise Http404(f"No such {object_type.replace('_', ' ')}.")
    record_access(
        user=user,
        action=AccessEvent.Action.VIEW,
        object_type=object_type,
        object_public_id=found.public_id,
        patient=patient_of(found),
    )
    return found
