"""Every search issues the same number of queries per page whatever the size of the data."""

import datetime
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic.measures import services as measures
from clinic.pathway import services as pathway
from clinic.pathway.demo import walk_course
from clinic.pathway.demo_sessions import demo_past_session
from clinic.patients.management.commands.seed_demo import DEMO_PASSWORD
from clinic.patients.models import Patient
from tests import factories
from tests.fhir.conftest import get_json, token_client

MAX_QUERIES = 15


def _searches(patient):
    """(label, url, params): each search at a page size that holds all of the patient's rows,
    so that a bigger record means more rows rendered on the page."""
    p = {"patient": patient.public_id, "_count": 200}
    return [
        ("Patient list", "/fhir/Patient", {"_count": 200}),
        ("Patient by MRN", "/fhir/Patient", {"identifier": patient.medical_record_number}),
        ("Encounter", "/fhir/Encounter", p),
        ("Observation", "/fhir/Observation", p),
        ("Observation by code", "/fhir/Observation", {**p, "code": "85354-9,8867-4,44261-6"}),
        ("Observation by date", "/fhir/Observation", {**p, "date": "ge2000-01-01"}),
        ("QuestionnaireResponse", "/fhir/QuestionnaireResponse", p),
        ("AdverseEvent", "/fhir/AdverseEvent", p),
        ("MedicationAdministration", "/fhir/MedicationAdministration", p),
        ("CarePlan", "/fhir/CarePlan", p),
        ("Consent", "/fhir/Consent", p),
        ("$everything", f"/fhir/Patient/{patient.public_id}/$everything", {}),
    ]


def _measure(client, patient):
    counts, sizes = {}, {}
    for label, url, params in _searches(patient):
        with CaptureQueriesContext(connection) as queries:
            bundle = get_json(client, url, **params)
        counts[label] = len(queries.captured_queries)
        sizes[label] = len(bundle.get("entry", []))
    return counts, sizes


def _grow(patient, demo):
    """More of everything in the patient's record: sessions (vitals, side effects, ledger
    rows), questionnaires, follow-ups, plans, consents; and more patients in the clinic."""
    course = patient.treatment_courses.get()
    today = timezone.localdate()
    for days_ago in (4, 3, 1):
        demo_past_session(
            course=course,
            prescriber=demo.prescriber,
            nurse=demo.nurse,
            witness_password=DEMO_PASSWORD,
            day=today - datetime.timedelta(days=days_ago),
            critical=True,
            side_effect=True,
        )
    for _ in range(3):
        measures.response_submit(
            patient=patient,
            instrument_code="GAD-7",
            answers=[1, 2, 1, 0, 1, 2, 1],
            entered_by=demo.nurse,
            mode="assisted",
            submission_key=uuid.uuid4(),
        )
        pathway.follow_up_schedule(
            course=course, by=demo.nurse, kind="check_in", due_on=today + datetime.timedelta(days=9)
        )
    pathway.plan_draft_create(course=course, by=demo.prescriber, notes="A new version")
    walk_course(
        patient=patient, prescriber=demo.prescriber, nurse=demo.nurse, stage="plan_approved"
    )
    for _ in range(5):
        factories.PatientFactory(clinic=patient.clinic)


@pytest.mark.django_db
def test_searches_issue_a_fixed_number_of_queries_whatever_the_data_size(demo):
    patient = Patient.objects.get(user=demo.patient)
    client, _ = token_client(demo.prescriber)
    get_json(client, "/fhir/metadata")  # warm any per-process caches
    small_counts, small_sizes = _measure(client, patient)
    _grow(patient, demo)
    large_counts, large_sizes = _measure(client, patient)
    for label in small_counts:
        if label != "Patient by MRN":
            assert large_sizes[label] > small_sizes[label], (label, small_sizes, large_sizes)
    assert large_counts == small_counts, (small_counts, large_counts)
    assert max(large_counts.values()) <= MAX_QUERIES, large_counts
    print("queries per request:", large_counts)
    print("entries, small -> large:", {k: (small_sizes[k], large_sizes[k]) for k in small_sizes})
