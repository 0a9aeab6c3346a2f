import datetime

import pytest
from django.utils import timezone

from clinic.pathway import session_services
from clinic.pathway.demo import walk_course
from tests import factories


@pytest.fixture
def active_course(clinic, prescriber, nurse):
    return walk_course(
        patient=factories.PatientFactory(clinic=clinic),
        prescriber=prescriber,
        nurse=nurse,
        stage="active",
    )


@pytest.fixture
def iv_session(active_course, prescriber, nurse):
    """A ketamine IV session, checked in, with `prescriber` responsible."""
    session = session_services.session_schedule(
        course=active_course,
        by=nurse,
        scheduled_at=timezone.now() - datetime.timedelta(minutes=30),
        nurse=nurse,
        prescriber=prescriber,
    )
    return session_services.session_check_in(session=session, by=nurse, identity_confirmed=True)
