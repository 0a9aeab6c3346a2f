"""Shared set-up for the pathway tests: courses walked to a stage through the real services."""

import pytest

from clinic.pathway.demo import walk_course
from clinic.pathway.models import Drug
from tests import factories


@pytest.fixture
def walk(patient, prescriber, nurse):
    """walk(stage, patient=..., drug=..., weight_kg=...) -> a course at `stage` (demo.STAGES),
    written by the clinic's `prescriber` and `nurse`."""

    def _walk(stage, *, patient=patient, drug=Drug.KETAMINE, weight_kg="72.0"):
        course = walk_course(
            patient=patient,
            prescriber=prescriber,
            nurse=nurse,
            stage=stage,
            drug=drug,
            weight_kg=weight_kg,
        )
        course.refresh_from_db()  # the services moved the row, not this instance
        return course

    return _walk


@pytest.fixture
def second_prescriber(clinic):
    return factories.make_staff(clinic=clinic, role="prescriber")


@pytest.fixture
def other_patient(other_clinic):
    return factories.PatientFactory(clinic=other_clinic)


@pytest.fixture
def other_nurse(other_clinic):
    return factories.make_staff(clinic=other_clinic, role="nurse")
