"""Report test data: one course walked through the real pathway services, then a history of
sessions, side effects and critical vitals written straight to the tables (the reports only
read them), spread over clinic-local days, routes, statuses and grades."""

import datetime
import zoneinfo

import pytest

from clinic.monitoring.models import SideEffectReport, VitalAcknowledgment, VitalReading
from clinic.pathway.demo import walk_course
from clinic.pathway.models import AdministrationSession
from clinic.reports.selectors import clinic_today
from tests import factories

ROUTES = ["iv", "im", "intranasal", ""]  # "" = not dosed yet: the plan's route counts
STATUSES = ["discharged", "no_show", "cancelled", "discharged", "transferred", "scheduled"]
TERMS = ["DISSOC", "NAUSEA", "HEADACHE", "RESP"]


def local(clinic, day, hour, minute=0):
    return datetime.datetime.combine(
        day, datetime.time(hour, minute), tzinfo=zoneinfo.ZoneInfo(clinic.timezone)
    )


class History:
    """Adds sessions with side effects and vitals to one course, numbering them on."""

    def __init__(self, clinic, prescriber, nurse, drug="ketamine"):
        self.clinic, self.prescriber, self.nurse = clinic, prescriber, nurse
        self.patient = factories.PatientFactory(clinic=clinic)
        self.course = walk_course(
            patient=self.patient, prescriber=prescriber, nurse=nurse, stage="active", drug=drug
        )
        self.plan = self.course.plans.get()
        self.number = self.course.sessions.count()

    def session(self, at, *, status="discharged", route="iv"):
        self.number += 1
        return AdministrationSession.objects.create(
            course=self.course,
            plan=self.plan,
            session_number=self.number,
            scheduled_at=at,
            status=status,
            route=route,
            dose_started_at=at if status in ("discharged", "transferred") else None,
        )

    def side_effect(self, session, at, *, term="DISSOC", grade=1, serious=False):
        return SideEffectReport.objects.create(
            course=self.course,
            session=session,
            term=term,
            onset_at=at,
            grade=grade,
            serious=serious,
            serious_criteria=["hospitalisation"] if serious else [],
            relatedness="possible",
            action_taken="none",
            outcome="fatal" if grade == 5 else "recovering",
            reporter=self.nurse,
        )

    def critical_reading(self, session, at, *, acknowledged_after=None):
        reading = VitalReading.objects.create(
            session=session,
            phase="intra",
            taken_at=at,
            entered_by=self.nurse,
            systolic=190,
            diastolic=95,
            flags={"systolic": "critical_high"},
            has_critical=True,
        )
        if acknowledged_after is not None:
            VitalAcknowledgment.objects.create(
                reading=reading,
                acknowledged_by=self.prescriber,
                acknowledged_at=at + acknowledged_after,
                action_taken="Rechecked; prescriber informed.",
            )
        return reading

    def days(self, first_day, days, per_day=1):
        """A varied history: every day `per_day` sessions cycling through routes and
        statuses, each held one with a side effect cycling through terms and grades and a
        critical reading acknowledged after a varied delay (every fourth never), and one
        session each day at 23:30 local, which belongs to that day, not the next (UTC)."""
        n = 0
        for offset in range(days):
            day = first_day + datetime.timedelta(days=offset)
            for index in range(per_day):
                n += 1
                hour = 23 if index == 0 else 9 + index % 12
                at = local(self.clinic, day, hour, 30)
                status = STATUSES[n % len(STATUSES)]
                session = self.session(at, status=status, route=ROUTES[n % len(ROUTES)])
                if status in ("discharged", "transferred"):
                    grade = 1 + n % 5
                    self.side_effect(
                        session, at, term=TERMS[n % len(TERMS)], grade=grade,
                        serious=grade >= 4 or n % 7 == 0,
                    )  # fmt: skip
                    delay = None if n % 4 == 0 else datetime.timedelta(minutes=3 + 11 * (n % 9))
                    self.critical_reading(session, at, acknowledged_after=delay)


@pytest.fixture
def history(clinic, prescriber, nurse):
    return History(clinic, prescriber, nurse)


@pytest.fixture
def today(clinic):
    return clinic_today(clinic)
