"""Who may read what through the FHIR API: the staff pages' scope, tokens, and the audit log."""

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from clinic.core.models import AccessEvent
from clinic.fhir import params, services
from clinic.fhir.models import ApiToken
from clinic.patients.models import Patient
from clinic.patients.selectors import patients_visible_to
from tests import factories
from tests.fhir.conftest import all_pages, assert_outcome, get_json, token_client

PATIENT_SEARCHES = [t for t, supported in params.SEARCH_PARAMS.items() if "patient" in supported]


def api_urls(patient_id, some_id=None):
    """One URL of every kind the API serves (all need a token but metadata)."""
    some_id = some_id or uuid.uuid4()
    return (
        [f"/fhir/{t}" for t in params.RESOURCE_TYPES]
        + [f"/fhir/{t}/{some_id}" for t in params.RESOURCE_TYPES]
        + [
            f"/fhir/Patient/{patient_id}",
            f"/fhir/Patient/{patient_id}/$everything",
            f"/fhir/Observation?patient={patient_id}",
            "/fhir/NoSuchType",
        ]
    )


@pytest.mark.django_db
def test_another_clinics_token_gets_404_for_every_resource_and_finds_nothing(demo):
    riverside, _ = token_client(demo.prescriber)
    hillside, _ = token_client(demo.otherclinician)
    admin, _ = token_client(demo.clinicadmin)
    patients = list(patients_visible_to(demo.prescriber, include_own=False))
    seen = 0
    for patient in patients:
        record = get_json(riverside, f"/fhir/Patient/{patient.public_id}/$everything")
        # A clinic admin's token follows the staff scope: the same record.
        assert (
            get_json(admin, f"/fhir/Patient/{patient.public_id}/$everything")["entry"]
            == (record["entry"])
        )
        for entry in record["entry"]:
            resource = entry["resource"]
            response = hillside.get(f"/fhir/{resource['resourceType']}/{resource['id']}")
            assert_outcome(response, 404, "not-found")
            assert patient.family_name.encode() not in response.content
            seen += 1
        assert_outcome(hillside.get(f"/fhir/Patient/{patient.public_id}/$everything"), 404)
        for resource_type in PATIENT_SEARCHES:
            found = get_json(hillside, f"/fhir/{resource_type}", patient=patient.public_id)
            assert found["total"] == 0 and "entry" not in found
        for identifier in (
            patient.medical_record_number,
            f"{record['entry'][0]['resource']['identifier'][0]['system']}|"
            f"{patient.medical_record_number}",
        ):
            assert get_json(hillside, "/fhir/Patient", identifier=identifier)["total"] == 0
    assert seen > 250
    # Hillside's own searches list only Hillside's records.
    riverside_ids = {str(p.public_id) for p in patients}
    hillside_patients = all_pages(hillside, "/fhir/Patient", _count=200)
    assert len(hillside_patients) == 20
    assert not riverside_ids & {p["id"] for p in hillside_patients}
    for resource_type in PATIENT_SEARCHES:
        for resource in all_pages(hillside, f"/fhir/{resource_type}", _count=200):
            subject = resource.get("subject") or resource.get("patient")
            assert subject["reference"].removeprefix("Patient/") not in riverside_ids
    assert get_json(admin, "/fhir/Patient")["total"] == 20
    # The audit log holds the refusals, against the patient whose record was asked for, and
    # no allowed read of a Riverside record by Hillside.
    refused = AccessEvent.objects.filter(user=demo.otherclinician, outcome="denied")
    assert refused.filter(object_type="fhir_observation", patient__in=patients).exists()
    assert refused.filter(action="export", patient__in=patients).count() == len(patients)
    assert not AccessEvent.objects.filter(
        user=demo.otherclinician, outcome="allowed", patient__in=patients
    ).exists()


@pytest.fixture
def patient_id(patient):
    return patient.public_id


@pytest.mark.django_db
def test_no_token_gets_401_with_a_bearer_challenge(client, patient_id):
    for url in api_urls(patient_id):
        response = client.get(url)
        assert_outcome(response, 401, "login")
        assert response["WWW-Authenticate"] == 'Bearer realm="Kestrel FHIR API"'
    assert not AccessEvent.objects.exists()


@pytest.mark.django_db
def test_a_signed_in_browser_without_a_token_gets_401(client, prescriber, patient_id):
    client.force_login(prescriber)
    for url in api_urls(patient_id):
        assert_outcome(client.get(url), 401)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [
        "Bearer kst_not-a-real-token",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer a b",
        "bearer " + "x" * 500,
        "Token abc",
    ],
)
def test_invalid_tokens_get_401(patient_id, prescriber, header):
    token_client(prescriber)  # a real token exists; these are not it
    client = Client(HTTP_AUTHORIZATION=header)
    for url in api_urls(patient_id):
        response = client.get(url)
        assert_outcome(response, 401, "login")
        assert 'error="invalid_token"' in response["WWW-Authenticate"]


@pytest.mark.django_db
def test_a_revoked_token_gets_401_at_once(prescriber, patient, patient_id):
    client, token = token_client(prescriber)
    assert get_json(client, f"/fhir/Patient/{patient_id}")["id"] == str(patient_id)
    services.token_revoke(token=token, by=prescriber)
    for url in api_urls(patient_id):
        assert_outcome(client.get(url), 401, "login")


@pytest.mark.django_db
def test_the_token_of_a_deactivated_user_gets_401(prescriber, patient_id):
    client, _ = token_client(prescriber)
    prescriber.is_active = False
    prescriber.save(update_fields=["is_active"])
    assert_outcome(client.get("/fhir/Patient"), 401)


@pytest.mark.django_db
def test_the_scheme_is_case_insensitive_and_the_token_is_not(prescriber, patient_id):
    token_client(prescriber)  # another token exists
    _, secret = services.token_create(user=prescriber, name="case")
    assert Client(HTTP_AUTHORIZATION=f"bearer {secret}").get("/fhir/Patient").status_code == 200
    assert_outcome(Client(HTTP_AUTHORIZATION=f"Bearer {secret.upper()}").get("/fhir/Patient"), 401)


@pytest.mark.django_db
def test_a_portal_patient_cannot_create_tokens(client, portal_patient):
    client.force_login(portal_patient.user)
    assert client.get("/fhir/tokens/").status_code == 403
    assert client.post("/fhir/tokens/", {"name": "mine"}).status_code == 403
    with pytest.raises(ValidationError):
        services.token_create(user=portal_patient.user, name="mine")
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_a_patient_holding_a_token_sees_nothing_not_even_their_own_record(portal_patient):
    secret = "kst_smuggled"
    ApiToken.objects.create(
        user=portal_patient.user,
        name="smuggled",
        key_hash=services.hash_secret(secret),
        key_prefix=secret[:10],
    )
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert get_json(client, "/fhir/Patient")["total"] == 0
    assert_outcome(client.get(f"/fhir/Patient/{portal_patient.public_id}"), 404)
    assert_outcome(client.get(f"/fhir/Patient/{portal_patient.public_id}/$everything"), 404)


@pytest.mark.django_db
def test_staff_never_read_their_own_patient_record_through_the_api(clinic, patient):
    nurse = factories.make_staff(clinic=clinic, role="nurse")
    own = factories.PatientFactory(clinic=clinic, user=nurse)
    client, _ = token_client(nurse)
    listed = {p["id"] for p in all_pages(client, "/fhir/Patient")}
    assert listed == {str(patient.public_id)}
    assert_outcome(client.get(f"/fhir/Patient/{own.public_id}"), 404)
    assert get_json(client, "/fhir/Observation", patient=own.public_id)["total"] == 0


@pytest.mark.django_db
def test_a_clinic_admin_reads_their_clinics_records_and_no_others(clinic_admin, patient):
    stranger = factories.PatientFactory()
    client, _ = token_client(clinic_admin)
    assert get_json(client, f"/fhir/Patient/{patient.public_id}")["id"] == str(patient.public_id)
    assert_outcome(client.get(f"/fhir/Patient/{stranger.public_id}"), 404)
    assert get_json(client, "/fhir/Patient")["total"] == 1


@pytest.mark.django_db
def test_reads_searches_and_exports_are_audited_both_ways(
    prescriber, other_clinician, patient, patient_id
):
    client, _ = token_client(prescriber)
    outsider, _ = token_client(other_clinician)
    # Only what this test's requests write (the audit trail cannot be emptied).
    since = AccessEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    new_events = AccessEvent.objects.filter(pk__gt=since)

    get_json(client, f"/fhir/Patient/{patient_id}")
    event = new_events.get(user=prescriber, object_type="fhir_patient")
    assert (event.action, event.outcome, event.patient, event.object_public_id) == (
        "view",
        "allowed",
        patient,
        patient_id,
    )
    assert event.path == f"/fhir/Patient/{patient_id}"

    assert_outcome(outsider.get(f"/fhir/Patient/{patient_id}"), 404)
    event = new_events.get(user=other_clinician, object_type="fhir_patient")
    assert (event.outcome, event.patient) == ("denied", patient)

    get_json(client, "/fhir/Encounter", patient=patient_id)
    event = new_events.get(user=prescriber, object_type="fhir_encounter_search")
    assert (event.action, event.outcome, event.patient) == ("search", "allowed", patient)

    get_json(outsider, "/fhir/Encounter", patient=patient_id)
    event = new_events.get(user=other_clinician, object_type="fhir_encounter_search")
    assert (event.outcome, event.patient) == ("denied", patient)

    get_json(client, "/fhir/Patient", identifier=patient.medical_record_number)
    event = new_events.get(user=prescriber, object_type="fhir_patient_search")
    assert event.patient == patient and event.detail == "1 of 1 from 0"

    get_json(client, f"/fhir/Patient/{patient_id}/$everything")
    event = new_events.get(user=prescriber, action="export")
    assert (event.outcome, event.patient, event.object_type) == ("allowed", patient, "patient")
    assert_outcome(outsider.get(f"/fhir/Patient/{patient_id}/$everything"), 404)
    event = new_events.get(user=other_clinician, action="export")
    assert (event.outcome, event.patient) == ("denied", patient)


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "head", "options"])
def test_only_get_is_allowed(prescriber, patient_id, method):
    secret_client = Client(enforce_csrf_checks=True)
    _, secret = services.token_create(user=prescriber, name="methods")
    for url in [*api_urls(patient_id), "/fhir/metadata"]:
        for headers in ({}, {"HTTP_AUTHORIZATION": f"Bearer {secret}"}):
            response = getattr(secret_client, method)(url, **headers)
            assert response.status_code == 405, (method, url, response.status_code)
            assert response["Allow"] == "GET"
            if method != "head":
                assert_outcome(response, 405, "not-supported")
    assert Patient.objects.count() == 1
