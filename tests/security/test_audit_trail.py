"""The audit trail is append-only in the database itself, not just in the application."""

import pytest
from django.db import IntegrityError, connection, transaction

from clinic.core.audit import record_access
from clinic.core.models import AccessEvent


@pytest.fixture
def event(nurse, patient):
    return record_access(user=nurse, action="view", object_type="patient", patient=patient)


@pytest.mark.django_db
def test_an_access_event_cannot_be_changed_by_the_orm_or_raw_sql(event):
    with pytest.raises(IntegrityError), transaction.atomic():
        AccessEvent.objects.filter(pk=event.pk).update(outcome="denied")
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_accessevent SET user_id = NULL WHERE id = %s", [event.pk])
    event.refresh_from_db()
    assert (event.outcome, event.user_id) == ("allowed", event.user.pk)


@pytest.mark.django_db
def test_an_access_event_cannot_be_deleted_on_postgresql(event):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite keeps DELETE for test flushes; it is never the database of record")
    with pytest.raises(IntegrityError), transaction.atomic():
        AccessEvent.objects.filter(pk=event.pk).delete()
    assert AccessEvent.objects.filter(pk=event.pk).exists()
