"""With Redis stopped or paused, a patient's journal entry and a nurse's vitals reading
still save and answer within 2 s, and their alerts go out once Redis is back."""

import time
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.core import tasks
from clinic.core.models import OutboundEmail
from clinic.measures.models import MoodJournalEntry
from clinic.monitoring.models import VitalReading
from clinic.patients.models import CareTeamMember
from tests import factories
from tests.fault.conftest import wait_until
from tests.pathway.sessions import book, to_ready

RESPONSE_BUDGET_S = 2.0  # the bound for a save while the broker is out
DELIVERY_TIMEOUT_S = 60


def post_journal_entry(client, patient):
    client.force_login(patient.user)
    started = time.monotonic()
    response = client.post(
        reverse("portal:journal_new"),
        {
            "submission_key": str(uuid.uuid4()),
            "entry_date": timezone.localdate().isoformat(),
            "mood": "1", "energy": "2", "anxiety": "8", "sleep_hours": "4",
            "safety_thoughts": "yes",
        },
    )  # fmt: skip
    return response, time.monotonic() - started


def post_critical_vitals(client, nurse, session):
    client.force_login(nurse)
    started = time.monotonic()
    response = client.post(
        reverse("pathway:session_vitals", args=[session.public_id]),
        {"phase": "baseline", "systolic": "190", "diastolic": "112", "heart_rate": "88",
         "spo2": "97", "respiratory_rate": "16"},
    )  # fmt: skip
    return response, time.monotonic() - started


@pytest.fixture
def people(postgres_only):
    clinic = factories.ClinicFactory()
    prescriber = factories.make_staff(clinic=clinic, role="prescriber", email="p@example.invalid")
    nurse = factories.make_staff(clinic=clinic, role="nurse")
    patient = factories.PatientFactory(clinic=clinic, with_user=True)
    CareTeamMember.objects.create(
        patient=patient, user=prescriber, responsibility="primary_prescriber"
    )
    session = book(clinic, prescriber, nurse)
    session = to_ready(session, nurse)
    return {"prescriber": prescriber, "nurse": nurse, "patient": patient, "session": session}


def deliver_pending(worker_factory):
    """Redis is back: a worker and one sweep send everything that waited."""
    worker_factory()
    tasks.sweep_outbound_email.delay(older_than_seconds=0)
    wait_until(
        lambda: not OutboundEmail.objects.filter(status="pending").exists(),
        DELIVERY_TIMEOUT_S,
        "the alerts held back by the outage were not sent",
    )


@pytest.mark.parametrize("outage", ["stopped", "paused"])
def test_saves_answer_quickly_during_an_outage_and_alerts_follow_when_redis_is_back(
    client, people, redis_server, app_on, worker_factory, outage
):
    if outage == "paused":
        redis_server.start()
        redis_server.pause()
    readings_before = VitalReading.objects.count()

    journal, journal_seconds = post_journal_entry(client, people["patient"])
    vitals, vitals_seconds = post_critical_vitals(client, people["nurse"], people["session"])

    assert journal.status_code == 302 and journal_seconds < RESPONSE_BUDGET_S, journal_seconds
    assert vitals.status_code in (200, 302) and vitals_seconds < RESPONSE_BUDGET_S, vitals_seconds
    assert MoodJournalEntry.objects.filter(patient=people["patient"]).count() == 1
    assert VitalReading.objects.count() == readings_before + 1
    held_back = OutboundEmail.objects.filter(status="pending", to="p@example.invalid").count()
    assert held_back >= 2  # the journal's safety alert and the critical reading's alert

    if outage == "paused":
        redis_server.resume()
    else:
        redis_server.start()
    deliver_pending(worker_factory)
    sent = OutboundEmail.objects.filter(status="sent", to="p@example.invalid")
    assert sent.count() == held_back
    assert all(email.attempts == 1 for email in sent)
