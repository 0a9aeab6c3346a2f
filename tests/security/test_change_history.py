"""Change history of clinical tables, written by database triggers (django-pghistory) so
that bulk and raw writes are caught too, tagged with who changed what from where, and
impossible to rewrite. PostgreSQL only: SQLite has no triggers, and a system check says so."""

import pytest
from django.apps import apps
from django.core import checks
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from clinic.patients.models import Patient
from tests.patients.test_views import REGISTRATION

pytestmark = pytest.mark.django_db


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        from tests.conftest import skip_or_fail

        skip_or_fail("change-history triggers exist on PostgreSQL only")


def _events(patient):
    return list(
        patient.events.order_by("pgh_id").values_list("pgh_label", "family_name", "pgh_context")
    )


def test_orm_bulk_and_raw_writes_all_leave_history(postgres, patient):
    Patient.objects.filter(pk=patient.pk).update(family_name="Bulk")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE patients_patient SET family_name = 'Raw' WHERE id = %s", [patient.pk]
        )
    labels = [(label, name) for label, name, _context in _events(patient)]
    assert labels == [("insert", patient.family_name), ("update", "Bulk"), ("update", "Raw")]


def test_a_change_through_a_page_records_who_from_where(postgres, client, prescriber, patient):
    client.force_login(prescriber)
    url = reverse("patients:edit", args=[patient.public_id])
    data = {**REGISTRATION, "given_name": patient.given_name, "family_name": "Renamed"}
    response = client.post(
        url, {**data, "status": "active", "version": 1}, REMOTE_ADDR="203.0.113.7"
    )
    assert response.status_code == 302
    event = patient.events.filter(pgh_label="update").get()
    assert event.family_name == "Renamed"
    assert event.pgh_context.metadata == {
        "user": prescriber.pk,
        "url": url,
        "ip_address": "203.0.113.7",
    }


def test_history_rows_cannot_be_rewritten_or_erased(postgres, patient):
    event = patient.events.get()
    with pytest.raises(DatabaseError), transaction.atomic():
        type(event).objects.filter(pk=event.pk).update(family_name="Forged")
    with pytest.raises(DatabaseError), transaction.atomic():
        type(event).objects.filter(pk=event.pk).delete()
    event.refresh_from_db()
    assert event.family_name == patient.family_name


def test_a_deleted_record_keeps_its_history(postgres, prescriber, patient):
    from clinic.patients.models import CareTeamMember

    member = CareTeamMember.objects.create(patient=patient, user=prescriber, responsibility="nurse")
    member_pk = member.pk
    member.delete()
    labels = list(
        apps.get_model("patients", "CareTeamMemberEvent")
        .objects.filter(pgh_obj_id=member_pk)
        .order_by("pgh_id")
        .values_list("pgh_label", flat=True)
    )
    assert labels == ["insert", "delete"]


def test_sqlite_is_flagged_by_a_system_check(settings):
    from clinic.core.checks import database_enforces_records

    found = database_enforces_records(None, databases=["default"])
    if connection.vendor == "sqlite":
        assert [w.id for w in found] == ["clinic.W001"]
        assert all(isinstance(w, checks.Warning) for w in found)
    else:
        assert found == []
