"""The clinic admin's audit viewer."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.core.audit import record_access
from clinic.core.models import AccessEvent
from tests import factories


@pytest.fixture
def log(clinic, clinic_admin, prescriber, other_clinic):
    patient = factories.PatientFactory(clinic=clinic, medical_record_number="T-AUD001")
    other = factories.PatientFactory(clinic=other_clinic, medical_record_number="T-AUD002")
    outsider = factories.make_staff(clinic=other_clinic, role="prescriber")
    record_access(user=prescriber, action="view", object_type="patient", patient=patient)
    record_access(user=prescriber, action="export", object_type="vitals_export", clinic=clinic)
    record_access(
        user=outsider, action="view", object_type="patient", patient=patient, outcome="denied"
    )
    record_access(user=outsider, action="view", object_type="patient", patient=other)
    return {"patient": patient, "outsider": outsider}


def _rows(response):
    return list(response.context["page"].object_list)


@pytest.mark.django_db
def test_an_admin_sees_their_clinics_events_only_and_the_viewing_is_recorded(
    client, clinic, clinic_admin, log
):
    client.force_login(clinic_admin)
    response = client.get(reverse("audit:log"))
    assert response.status_code == 200
    rows = _rows(response)
    assert {e.clinic_id for e in rows} == {clinic.pk}
    assert "T-AUD002" not in response.content.decode()
    viewed = AccessEvent.objects.get(user=clinic_admin, object_type="audit_log")
    assert (viewed.action, viewed.clinic) == ("list", clinic)
    assert rows[0] == viewed  # newest first, the viewing itself included


@pytest.mark.django_db
def test_filters_by_patient_user_action_outcome_and_date(
    client, clinic, clinic_admin, prescriber, log
):
    client.force_login(clinic_admin)
    url = reverse("audit:log")
    by_patient = _rows(client.get(url, {"patient": "t-aud001"}))
    assert {e.patient_id for e in by_patient} == {log["patient"].pk}
    assert len(by_patient) == 3  # two reads and the audit viewing about this patient
    by_user = _rows(client.get(url, {"user": prescriber.username, "action": "export"}))
    assert [e.object_type for e in by_user] == ["vitals_export"]
    denied = _rows(client.get(url, {"outcome": "denied"}))
    assert [e.user for e in denied] == [log["outsider"]]
    tomorrow = datetime.date.today() + datetime.timedelta(days=2)
    assert _rows(client.get(url, {"start": tomorrow.isoformat()})) == []
    searches = AccessEvent.objects.filter(user=clinic_admin, action="search")
    assert searches.filter(detail=f"user={prescriber.username}; action=export").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params, message",
    [
        ({"patient": "T-AUD002"}, "No patient of"),
        ({"user": "nobody-here"}, "appears in this clinic"),
        ({"action": "drop table"}, "Select a valid choice"),
        ({"outcome": "maybe"}, "Select a valid choice"),
        ({"start": "2026-13-01"}, "Enter a date as YYYY-MM-DD"),
        ({"start": "2026-03-05", "end": "2026-03-01"}, "on or after the start date"),
    ],
)
def test_unknown_filter_values_get_a_message_never_a_query(
    client, clinic_admin, log, params, message
):
    client.force_login(clinic_admin)
    response = client.get(reverse("audit:log"), params)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not AccessEvent.objects.filter(user=clinic_admin, object_type="audit_log").exists()


@pytest.mark.django_db
def test_only_clinic_admins_and_only_for_their_clinic(
    client, prescriber, clinic_admin, other_clinic, log
):
    client.force_login(prescriber)
    assert client.get(reverse("audit:log")).status_code == 403
    client.force_login(clinic_admin)
    response = client.get(reverse("audit:log"), {"clinic": str(other_clinic.public_id)})
    assert response.status_code == 404
    assert AccessEvent.objects.get(user=clinic_admin, outcome="denied").clinic == other_clinic


@pytest.mark.django_db
def test_the_page_issues_the_same_queries_whatever_the_log_size(
    client, clinic, clinic_admin, prescriber, log, django_assert_num_queries
):
    client.force_login(clinic_admin)
    url = reverse("audit:log")
    with CaptureQueriesContext(connection) as small:
        assert client.get(url, {"user": prescriber.username}).status_code == 200
    for _ in range(80):
        record_access(user=prescriber, action="view", object_type="patient", clinic=clinic)
    # The same number with 80 more events (two pages): the count and one page, whatever the
    # log's size; the number itself moves with the shared middleware, so it is measured.
    with django_assert_num_queries(len(small)):
        response = client.get(url, {"user": prescriber.username})
    assert response.context["page"].paginator.num_pages == 2
