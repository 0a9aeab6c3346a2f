"""Every resource the API returns for the demo data validates against FHIR R4B (fhir.resources)
and carries the codes and units of DOMAIN.md §4.2, §7 and §10."""

from collections import Counter
from decimal import Decimal

import pytest

from clinic.fhir import codes, params
from clinic.ledger.models import LedgerEntry
from clinic.measures.models import InstrumentResponse
from clinic.monitoring.limits import flag_for
from clinic.monitoring.models import VitalReading
from clinic.monitoring.services import limits_for_clinic
from clinic.patients.models import Patient
from clinic.patients.selectors import patients_visible_to
from tests.fhir.conftest import all_pages, get_json, token_client, validate

VITAL_UNITS = {  # DOMAIN.md §4.2: LOINC code -> (vital field, UCUM unit)
    "8867-4": ("heart_rate", "/min"),
    "59408-5": ("spo2", "%"),
    "9279-1": ("respiratory_rate", "/min"),
    "8310-5": ("temperature_c", "Cel"),
}
INTERPRETATION = {"critical_low": "LL", "low": "L", "high": "H", "critical_high": "HH"}
TOTAL_LOINC = {"PHQ-9": "44261-6", "GAD-7": "70274-6"}


def _references(value):
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str):
            yield value["reference"]
        for inner in value.values():
            yield from _references(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _references(inner)


def _key(resource):
    return f"{resource['resourceType']}/{resource['id']}"


def _coding(concept, system):
    return [c["code"] for c in concept.get("coding", []) if c["system"] == system]


def _expected_interpretation(value, vital, limits):
    flag = flag_for(value, limits[vital])
    return [INTERPRETATION[flag]] if flag else []


def _interpretation(element):
    return [c["code"] for i in element.get("interpretation", []) for c in i.get("coding", [])]


def check_observation(resource, limits, by_id):
    source_id, _, slug = resource["id"].rpartition("-")
    if slug == "total":
        response = InstrumentResponse.objects.get(public_id=source_id)
        assert resource["category"][0]["coding"][0]["code"] == "survey"
        expected = TOTAL_LOINC.get(response.instrument_code)
        assert _coding(resource["code"], codes.LOINC) == ([expected] if expected else [])
        assert resource["valueQuantity"]["value"] == response.total
        (derived,) = resource["derivedFrom"]
        questionnaire = by_id[derived["reference"]]
        assert questionnaire["resourceType"] == "QuestionnaireResponse"
        return
    reading = VitalReading.objects.get(public_id=source_id)
    if slug == "bp":
        assert _coding(resource["code"], codes.LOINC) == ["85354-9"]
        assert "valueQuantity" not in resource
        components = {_coding(c["code"], codes.LOINC)[0]: c for c in resource["component"]}
        assert set(components) == {"8480-6", "8462-4"}
        for code, vital in (("8480-6", "systolic"), ("8462-4", "diastolic")):
            quantity = components[code]["valueQuantity"]
            assert (quantity["system"], quantity["code"]) == (codes.UCUM, "mm[Hg]")
            assert quantity["value"] == getattr(reading, vital)
            assert _interpretation(components[code]) == _expected_interpretation(
                quantity["value"], vital, limits
            )
        assert resource["category"][0]["coding"][0]["code"] == "vital-signs"
        return
    quantity = resource["valueQuantity"]
    assert quantity["system"] == codes.UCUM
    if slug in ("moaas", "cadss"):
        assert quantity["code"] == "{score}"
        assert resource["category"][0]["coding"][0]["code"] == "survey"
        vital = {"moaas": "moaas", "cadss": "cadss"}[slug]
    else:
        (loinc,) = _coding(resource["code"], codes.LOINC)[:1]
        vital, unit = VITAL_UNITS[loinc]
        assert quantity["code"] == unit
        assert resource["category"][0]["coding"][0]["code"] == "vital-signs"
    assert Decimal(str(quantity["value"])) == Decimal(str(getattr(reading, vital)))
    assert _interpretation(resource) == _expected_interpretation(quantity["value"], vital, limits)


def check_resource(resource, patient, by_id):
    kind = resource["resourceType"]
    if kind != "Patient":
        subject = resource.get("subject") or resource.get("patient")
        assert subject == {"reference": f"Patient/{patient.public_id}"}, resource["id"]
    if kind == "Patient":
        (identifier,) = resource["identifier"]
        assert identifier["value"] == patient.medical_record_number
        assert identifier["system"] == codes.mrn_system(patient.clinic)
        assert resource["birthDate"] == patient.date_of_birth.isoformat()
        assert resource["gender"] == codes.GENDER[patient.sex_at_birth]
    elif kind == "Encounter":
        assert resource["class"]["code"] == "AMB"
        assert "start" in resource["period"]
    elif kind == "Observation":
        check_observation(resource, limits_for_clinic(patient.clinic), by_id)
    elif kind == "QuestionnaireResponse":
        response = InstrumentResponse.objects.get(public_id=resource["id"])
        answers = {int(item["linkId"]): item["answer"][0] for item in resource["item"]}
        for number, value in enumerate(response.answers, start=1):
            if value is None:
                continue
            answer = answers[number]
            if "valueInteger" in answer:
                assert answer["valueInteger"] == value
            else:
                coded = answer["valueCoding"]
                assert coded["system"] == codes.LOINC and coded["code"].startswith("LA")
                assert coded["extension"][0]["valueDecimal"] == value
    elif kind == "MedicationAdministration":
        entry = LedgerEntry.objects.select_related("lot").get(public_id=resource["id"])
        (medication,) = resource["contained"]
        assert resource["medicationReference"]["reference"] == "#med"
        assert medication["batch"] == {
            "lotNumber": entry.lot.lot_number,
            "expirationDate": entry.lot.expiry_date.isoformat(),
        }
        assert Decimal(str(resource["dosage"]["dose"]["value"])) == entry.mg
        assert resource["dosage"]["dose"]["code"] == "mg"
        assert resource["dosage"]["route"]["coding"][0]["system"] == codes.ROUTE
        if entry.lot.drug == "ketamine":
            assert _coding(medication["code"], codes.RXNORM) == ["6130"]
        assert _coding(medication["code"], codes.NDC) == [entry.lot.ndc]
    elif kind == "AdverseEvent":
        for suspect in resource.get("suspectEntity", []):
            assert by_id[suspect["instance"]["reference"]]["resourceType"] == (
                "MedicationAdministration"
            )


@pytest.mark.django_db
def test_every_resource_of_every_demo_patient_validates(demo):
    client, _ = token_client(demo.prescriber)
    patients = list(patients_visible_to(demo.prescriber, include_own=False).order_by("pk"))
    assert len(patients) == 20
    types = Counter()
    for patient in patients:
        bundle = get_json(client, f"/fhir/Patient/{patient.public_id}/$everything")
        validate(bundle)
        entries = bundle["entry"]
        assert bundle["total"] == len(entries)
        assert entries[0]["resource"]["id"] == str(patient.public_id)
        by_id = {_key(e["resource"]): e["resource"] for e in entries}
        assert len(by_id) == len(entries), "duplicate resources"
        for entry in entries:
            resource = entry["resource"]
            assert entry["fullUrl"].endswith(f"/fhir/{resource['resourceType']}/{resource['id']}")
            validate(resource)
            check_resource(resource, patient, by_id)
            # Every reference to a served resource resolves inside the record.
            for ref in _references(resource):
                assert ref == "#med" or ref in by_id, (resource["id"], ref)
            # A read by id gives the same resource.
            assert get_json(client, f"/fhir/{resource['resourceType']}/{resource['id']}") == (
                resource
            )
            types[resource["resourceType"]] += 1
        # Each search by patient finds exactly the record's resources of its type (paging
        # through small pages, so that the union's order is seen to be stable).
        for resource_type, supported in params.SEARCH_PARAMS.items():
            if "patient" not in supported:
                continue
            found = all_pages(
                client,
                f"/fhir/{resource_type}",
                patient=f"Patient/{patient.public_id}",
                _count=17,
            )
            for resource in found:
                validate(resource)
            expected = [key for key in by_id if key.startswith(f"{resource_type}/")]
            assert sorted(_key(r) for r in found) == sorted(expected), (patient, resource_type)
        # ... and a search by MRN finds the patient.
        found = all_pages(client, "/fhir/Patient", identifier=patient.medical_record_number)
        assert [r["id"] for r in found] == [str(patient.public_id)]
    assert set(types) == set(params.RESOURCE_TYPES), types
    assert types["Patient"] == 20


@pytest.mark.django_db
def test_metadata_is_public_and_a_valid_capability_statement(client):
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    statement = response.json()
    validate(statement)
    assert statement["fhirVersion"] == "4.0.1"
    served = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert set(served) == set(params.RESOURCE_TYPES)
    assert {p["name"] for p in served["Observation"]["searchParam"]} == {
        "patient",
        "code",
        "category",
        "date",
    }
    assert served["Patient"]["operation"][0]["name"] == "everything"


@pytest.mark.django_db
def test_bp_panels_flags_and_instrument_totals_are_coded_as_domain_md_says(demo):
    """BP is one panel flagged by the clinic's limits; totals carry LOINC and derive from
    their QuestionnaireResponse."""
    client, _ = token_client(demo.prescriber)
    critical = VitalReading.objects.filter(systolic__gte=180).select_related(
        "session__course__patient"
    )
    assert critical.exists(), "the demo has critical readings"
    for reading in critical:
        patient = reading.session.course.patient
        resource = get_json(client, f"/fhir/Observation/{reading.public_id}-bp")
        validate(resource)
        (systolic,) = [
            c for c in resource["component"] if _coding(c["code"], codes.LOINC) == ["8480-6"]
        ]
        assert systolic["interpretation"][0]["coding"][0]["code"] == "HH"
        found = all_pages(
            client, "/fhir/Observation", patient=patient.public_id, code="http://loinc.org|85354-9"
        )
        assert str(reading.public_id) + "-bp" in {r["id"] for r in found}
        assert {r["code"]["coding"][0]["code"] for r in found} == {"85354-9"}
    # Systolic alone is not an Observation code (it is a component of the panel).
    patient = Patient.objects.get(user=demo.patient)
    assert (
        get_json(client, "/fhir/Observation", patient=patient.public_id, code="8480-6")["total"]
        == 0
    )

    # Instrument totals carry LOINC codes and derive from their QuestionnaireResponse.
    for instrument, loinc in TOTAL_LOINC.items():
        found = all_pages(client, "/fhir/Observation", patient=patient.public_id, code=loinc)
        responses = InstrumentResponse.objects.filter(patient=patient, instrument_code=instrument)
        assert len(found) == responses.count() > 0
        for observation in found:
            (derived,) = observation["derivedFrom"]
            questionnaire = get_json(client, f"/fhir/{derived['reference']}")
            scored = [
                int(i["answer"][0].get("valueInteger", 0))
                if "valueInteger" in i["answer"][0]
                else i["answer"][0]["valueCoding"]["extension"][0]["valueDecimal"]
                for i in questionnaire["item"]
                if int(i["linkId"]) <= 9
            ]
            assert sum(scored) == observation["valueQuantity"]["value"]
    surveys = all_pages(client, "/fhir/Observation", patient=patient.public_id, category="survey")
    assert {r["category"][0]["coding"][0]["code"] for r in surveys} == {"survey"}
