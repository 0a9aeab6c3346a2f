"""Filter, sort and choice parameters: a value that is not one of those offered is a 400 with
a message, never a 500, never a silent fallback to other data, and never part of any SQL."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests import factories
from tests.ledger.conftest import receive

INJECTION = "open' OR '1'='1' --"


def _sql_of(context):
    return "\n".join(query["sql"] for query in context.captured_queries)


@pytest.fixture
def lot(clinic, prescriber):
    return receive(clinic, prescriber)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url_name", "params"),
    [
        ("patients:list", {"status": INJECTION}),
        ("patients:list", {"clinic": INJECTION}),
        ("measures:alert_list", {"status": INJECTION}),
        ("clinic_admin_home", {"clinic": INJECTION}),
        ("measures:settings", {"clinic": INJECTION}),
        ("ledger:count_sheet", {"clinic": INJECTION}),
        ("ledger:count_sheet", {"business_time": INJECTION}),
    ],
)
def test_an_unlisted_value_is_a_bad_request_that_never_reaches_sql(
    client, clinic_admin, url_name, params
):
    factories.PatientFactory(clinic=clinic_admin.clinic_memberships.get().clinic)
    client.force_login(clinic_admin)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(url_name), params)
    assert response.status_code == 400
    assert "1'='1" not in _sql_of(queries)


@pytest.mark.django_db
def test_another_clinics_id_as_a_filter_is_refused_not_shown(client, clinic_admin, other_clinic):
    factories.PatientFactory(clinic=other_clinic, family_name="Elsewhere")
    client.force_login(clinic_admin)
    for url_name in ("clinic_admin_home", "ledger:count_sheet", "patients:list"):
        response = client.get(reverse(url_name), {"clinic": str(other_clinic.public_id)})
        assert response.status_code == 400, url_name
        assert other_clinic.name not in response.content.decode(), url_name
        assert "Elsewhere" not in response.content.decode(), url_name


@pytest.mark.django_db
def test_the_patient_list_keeps_the_search_and_says_what_was_wrong(client, nurse):
    client.force_login(nurse)
    response = client.get(reverse("patients:list"), {"q": "Smith", "status": "deceased-ish"})
    assert response.status_code == 400
    form = response.context["form"]
    assert form["q"].value() == "Smith"
    assert "status" in form.errors


@pytest.mark.django_db
def test_a_lot_reconciliation_with_a_bad_date_says_so(client, clinic_admin, lot):
    client.force_login(clinic_admin)
    response = client.get(
        reverse("ledger:lot_detail", args=[lot.public_id]), {"date_from": "2026-13-45"}
    )
    assert response.status_code == 400
    assert "date_from" in response.context["form"].errors


@pytest.mark.django_db
def test_listed_values_still_work(client, clinic_admin, nurse):
    client.force_login(clinic_admin)
    clinic = clinic_admin.clinic_memberships.get().clinic
    assert client.get(reverse("clinic_admin_home"), {"clinic": clinic.public_id}).status_code == 200
    client.force_login(nurse)
    assert client.get(reverse("measures:alert_list"), {"status": "actioned"}).status_code == 200
    assert client.get(reverse("patients:list"), {"status": "active"}).status_code == 200
