"""Search parameters: dates with prefixes, codes, paging links; bad parameters give 400."""

import datetime
import uuid

import pytest
from django.utils import timezone

from clinic.fhir import params
from clinic.monitoring import services as monitoring
from clinic.pathway import session_services
from clinic.pathway.demo import walk_course
from tests import factories
from tests.core.test_garbage_input import GARBAGE_VALUES
from tests.fhir.conftest import all_pages, assert_outcome, body, get_json, token_client, validate

UTC = datetime.UTC
# Heart-rate readings (one Observation each). The clinic is in America/New_York, so T0 falls
# on 10 January there although it is 11 January in UTC.
TIMES = {
    "T0": datetime.datetime(2025, 1, 11, 3, 0, tzinfo=UTC),
    "T1": datetime.datetime(2025, 1, 10, 10, 0, tzinfo=UTC),
    "T2": datetime.datetime(2025, 1, 11, 10, 0, tzinfo=UTC),
    "T3": datetime.datetime(2025, 2, 1, 12, 0, tzinfo=UTC),
}


@pytest.fixture
def world(clinic, prescriber, nurse, patient):
    course = walk_course(patient=patient, prescriber=prescriber, nurse=nurse, stage="active")
    session = session_services.session_schedule(
        course=course, by=nurse, scheduled_at=timezone.now(), nurse=nurse, prescriber=prescriber
    )
    readings = {}
    for name, taken_at in TIMES.items():
        readings[name] = monitoring.vital_record(
            session=session,
            by=nurse,
            phase="baseline",
            taken_at=taken_at,
            heart_rate=70 + len(readings),
        )
    client, _ = token_client(prescriber)
    return client, patient, readings


def _names(found, readings):
    by_id = {f"{reading.public_id}-hr": name for name, reading in readings.items()}
    return sorted(by_id[r["id"]] for r in found)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (["2025-01-11"], ["T2"]),  # a day in the clinic's time zone
        (["eq2025-01-10"], ["T0", "T1"]),
        (["ge2025-01-11"], ["T2", "T3"]),
        (["gt2025-01-10"], ["T2", "T3"]),
        (["lt2025-01-11"], ["T0", "T1"]),
        (["le2025-01-11"], ["T0", "T1", "T2"]),
        (["2025-01"], ["T0", "T1", "T2"]),
        (["ge2025-01-10", "lt2025-02"], ["T0", "T1", "T2"]),
        (["2025"], ["T0", "T1", "T2", "T3"]),
        (["ge2025-01-11T10:00:00Z"], ["T2", "T3"]),
        (["gt2025-01-11T10:00:00Z"], ["T3"]),
        (["2025-01-11T05:00-05:00"], ["T2"]),
        (["lt2025-01-11T03:00:00.5+00:00"], ["T0", "T1"]),
        (["gt2026"], []),
    ],
)
def test_observation_dates_take_prefixes_and_precision(world, dates, expected):
    client, patient, readings = world
    found = all_pages(client, "/fhir/Observation", patient=patient.public_id, date=dates)
    assert _names(found, readings) == expected


@pytest.mark.django_db
def test_codes_and_categories_match_system_and_code(world):
    client, patient, _ = world
    for code, count in [
        ("8867-4", 4),
        ("http://loinc.org|8867-4", 4),
        ("http://example.org|8867-4", 0),
        ("|8867-4", 0),
        ("85354-9,8867-4", 4),
        ("85354-9", 0),
        ("44261-6", 0),
    ]:
        assert (
            get_json(client, "/fhir/Observation", patient=patient.public_id, code=code)["total"]
            == count
        ), code
    assert get_json(client, "/fhir/Observation", category="vital-signs")["total"] == 4
    assert get_json(client, "/fhir/Observation", category="survey")["total"] == 0


@pytest.mark.django_db
def test_pages_link_self_next_and_previous(world):
    client, patient, _ = world
    first = get_json(client, "/fhir/Observation", patient=f"Patient/{patient.public_id}", _count=3)
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert first["total"] == 4 and len(first["entry"]) == 3
    assert set(links) == {"self", "next"}
    assert "_count=3" in links["next"] and "_offset=3" in links["next"]
    assert f"patient=Patient%2F{patient.public_id}" in links["next"]
    second = get_json(client, links["next"])
    assert len(second["entry"]) == 1
    links = {link["relation"]: link["url"] for link in second["link"]}
    assert set(links) == {"self", "previous"}
    assert "_offset=0" in links["previous"]
    ids = [e["resource"]["id"] for e in first["entry"] + second["entry"]]
    assert len(set(ids)) == 4
    # In time order, oldest first.
    order = [e["resource"]["effectiveDateTime"] for e in first["entry"] + second["entry"]]
    assert order == sorted(order)
    # _count=0 gives the total alone; a large _count is capped at the maximum.
    only_total = get_json(client, "/fhir/Observation", _count=0)
    assert only_total["total"] == 4 and "entry" not in only_total
    capped = get_json(client, "/fhir/Observation", _count=5000)
    assert "_count=200" in capped["link"][0]["url"]
    beyond = get_json(client, "/fhir/Observation", _offset=10)
    assert beyond["total"] == 4 and "entry" not in beyond


@pytest.mark.django_db
def test_patient_identifier_search(world, clinic):
    client, patient, _ = world
    other = factories.PatientFactory(clinic=clinic)
    found = all_pages(client, "/fhir/Patient", identifier=patient.medical_record_number)
    assert [p["id"] for p in found] == [str(patient.public_id)]
    system = found[0]["identifier"][0]["system"]
    mrn = patient.medical_record_number
    assert get_json(client, "/fhir/Patient", identifier=f"{system}|{mrn}")["total"] == 1
    assert get_json(client, "/fhir/Patient", identifier=f"urn:other|{mrn}")["total"] == 0
    both = f"{patient.medical_record_number},{other.medical_record_number}"
    assert get_json(client, "/fhir/Patient", identifier=both)["total"] == 2
    assert get_json(client, "/fhir/Patient", identifier="NO-SUCH-MRN")["total"] == 0
    assert get_json(client, "/fhir/Patient")["total"] == 2


BAD_SEARCHES = [
    ("Observation", {"foo": "bar"}, "not-supported"),
    ("Observation", {"code:text": "pulse"}, "not-supported"),
    ("Observation", {"_sort": "-date"}, "not-supported"),
    ("Observation", {"date": "2024-02-30"}, "invalid"),
    ("Observation", {"date": "2024-13"}, "invalid"),
    ("Observation", {"date": "yesterday"}, "invalid"),
    ("Observation", {"date": "ne2024-01-01"}, "not-supported"),
    ("Observation", {"date": "xx2024-01-01"}, "invalid"),
    ("Observation", {"date": "2024-01-01T25:00Z"}, "invalid"),
    ("Observation", {"date": "2024-01-01T10:00+15:00"}, "invalid"),
    ("Observation", {"date": "ge2024,le2025"}, "invalid"),
    ("Observation", {"date": ""}, "invalid"),
    ("Observation", {"code": ""}, "invalid"),
    ("Observation", {"code": "http://loinc.org|"}, "invalid"),
    ("Observation", {"patient": "not-an-id"}, "invalid"),
    ("Observation", {"patient": "Encounter/7f4f1c1e-3d3c-4b8e-9a55-0c0a3b1f2e3d"}, "invalid"),
    ("Observation", {"patient": ["Patient/7f4f1c1e-3d3c-4b8e-9a55-0c0a3b1f2e3d"] * 2}, "invalid"),
    ("Observation", {"_count": "-1"}, "invalid"),
    ("Observation", {"_count": "abc"}, "invalid"),
    ("Observation", {"_count": "1.5"}, "invalid"),
    ("Observation", {"_count": ["1", "2"]}, "invalid"),
    ("Observation", {"_offset": "-5"}, "invalid"),
    ("Observation", {"_offset": "9" * 30}, "invalid"),
    ("Observation", {"_format": "xml"}, "not-supported"),
    ("Patient", {"patient": "7f4f1c1e-3d3c-4b8e-9a55-0c0a3b1f2e3d"}, "not-supported"),
    ("Patient", {"name": "Smith"}, "not-supported"),
    ("Patient", {"identifier": ""}, "invalid"),
    ("Encounter", {"date": "2024"}, "not-supported"),
    ("QuestionnaireResponse", {"code": "44249-1"}, "not-supported"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("resource_type", "query", "code"), BAD_SEARCHES)
def test_bad_parameters_give_400_operation_outcomes(prescriber, resource_type, query, code):
    client, _ = token_client(prescriber)
    outcome = assert_outcome(client.get(f"/fhir/{resource_type}", query), 400, code)
    assert outcome["issue"][0]["diagnostics"]


@pytest.mark.django_db
def test_reads_and_operations_refuse_parameters_and_unknown_paths(prescriber, patient):
    client, _ = token_client(prescriber)
    assert_outcome(client.get(f"/fhir/Patient/{patient.public_id}", {"_elements": "id"}), 400)
    everything = f"/fhir/Patient/{patient.public_id}/$everything"
    assert_outcome(client.get(everything, {"_since": "2024"}), 400)
    assert get_json(client, f"/fhir/Patient/{patient.public_id}", _format="json")["id"]
    unknown = [
        "/fhir/Practitioner",
        "/fhir/Practitioner/1",
        "/fhir/patient",
        "/fhir/Patient/1",
        f"/fhir/Observation/{uuid.uuid4()}-hr",
        f"/fhir/Observation/{uuid.uuid4()}",
        f"/fhir/Observation/{patient.public_id}-bogus",
        f"/fhir/Encounter/{patient.public_id}",
        "/fhir/Patient/../Patient",
        "/fhir/Patient/1/$everything",
        "/fhir/",
    ]
    for url in unknown:
        assert_outcome(client.get(url), 404, None)


@pytest.mark.django_db
def test_garbage_in_any_parameter_never_fails(prescriber, patient):
    client, _ = token_client(prescriber)
    names = {name for supported in params.SEARCH_PARAMS.values() for name in supported}
    names |= set(params.CONTROL_PARAMS)
    for resource_type in params.RESOURCE_TYPES:
        for name in sorted(names):
            for value in GARBAGE_VALUES:
                response = client.get(f"/fhir/{resource_type}", {name: value})
                assert response.status_code in (200, 400), (resource_type, name, value)
                validate(body(response))
        for value in GARBAGE_VALUES:
            response = client.get(f"/fhir/{resource_type}/{value}")
            assert response.status_code in (404, 400), (resource_type, value)
