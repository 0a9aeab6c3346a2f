import csv
import datetime
import io
import uuid
import zoneinfo

import pytest
from django.urls import reverse

from clinic.measures import services as measure_services
from clinic.measures.models import MoodJournalEntry
from clinic.monitoring import services as monitoring_services
from clinic.pathway import session_services
from clinic.pathway.demo import walk_course
from clinic.patients.models import CareTeamMember
from tests import factories

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
DAY = datetime.date(2026, 3, 10)


def local(day, hour=0, minute=0, second=0):
    return datetime.datetime.combine(day, datetime.time(hour, minute, second), tzinfo=NEW_YORK)


# Just outside, both edges, just outside: a one-day range on DAY holds the middle two.
BOUNDARY_TIMES = (
    local(DAY - datetime.timedelta(days=1), 23, 59, 59),
    local(DAY),
    local(DAY, 23, 59, 59),
    local(DAY + datetime.timedelta(days=1)),
)


class ExportWorld:
    """A clinic (New York time) with an admin, a prescriber on patient A's care team only, a
    nurse on nobody's, patients A and B each in treatment, and another clinic with its own."""

    def __init__(self):
        self.clinic = factories.ClinicFactory(name="Harbour Ketamine Clinic")
        self.admin = factories.make_staff(clinic=self.clinic, role="admin")
        self.prescriber = factories.make_staff(clinic=self.clinic, role="prescriber")
        self.nurse = factories.make_staff(clinic=self.clinic, role="nurse")
        self.patient_a = factories.PatientFactory(clinic=self.clinic, with_user=True)
        self.patient_b = factories.PatientFactory(clinic=self.clinic)
        CareTeamMember.objects.create(
            patient=self.patient_a, user=self.prescriber, responsibility="primary_prescriber"
        )
        self.course_a = self.walk(self.patient_a)
        self.course_b = self.walk(self.patient_b)
        self.other_clinic = factories.ClinicFactory(name="Elsewhere Clinic")
        self.other_admin = factories.make_staff(clinic=self.other_clinic, role="admin")

    def walk(self, patient):
        return walk_course(
            patient=patient, prescriber=self.prescriber, nurse=self.nurse, stage="active"
        )

    def session(self, course, at):
        return session_services.session_schedule(
            course=course, by=self.nurse, scheduled_at=at, nurse=self.nurse,
            prescriber=self.prescriber,
        )  # fmt: skip

    def reading(self, session, at, **values):
        values = values or {"systolic": 126, "diastolic": 80, "heart_rate": 72}
        return monitoring_services.vital_record(
            session=session, by=self.nurse, phase="baseline", taken_at=at, **values
        )

    def side_effect(self, course, at, **fields):
        fields = {
            "term": "NAUSEA", "grade": 1, "relatedness": "possible", "action_taken": "none",
            "outcome": "recovering", "verbatim": "Felt queasy", **fields,
        }  # fmt: skip
        return monitoring_services.side_effect_report(
            course=course, by=self.nurse, onset_at=at, **fields
        )

    def score(self, patient, at, answers=(2, 2, 2, 2, 1, 1, 0, 0, 0)):
        return measure_services.response_submit(
            patient=patient, instrument_code="PHQ-9", answers=list(answers),
            entered_by=self.nurse, mode="assisted", submission_key=uuid.uuid4(), completed_at=at,
        )  # fmt: skip

    def journal(self, patient, day, **fields):
        # The portal only back-fills two days; a history of known dates is written directly.
        fields = {"mood": 6, "energy": 5, "anxiety": 3, "sleep_hours": "7.5", **fields}
        return MoodJournalEntry.objects.create(
            patient=patient, entry_date=day, submitted_by=patient.user or self.nurse,
            submission_key=uuid.uuid4(), **fields,
        )  # fmt: skip


@pytest.fixture
def world(db):
    return ExportWorld()


def download(client, kind, start, end, clinic=None, **extra):
    params = {"start": start.isoformat(), "end": end.isoformat(), **extra}
    if clinic is not None:
        params["clinic"] = str(clinic.public_id)
    return client.get(reverse("exports:download", kwargs={"kind": kind}), params)


def read_csv(response):
    """(raw bytes, header, rows as dicts) of a streamed export, consumed to the end."""
    raw = b"".join(response.streaming_content)
    text = raw.decode("utf-8")
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = next(reader)
    return raw, header, [dict(zip(header, row, strict=True)) for row in reader]
