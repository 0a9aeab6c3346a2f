"""Shared set-up for the ledger tests: lots received through the service and sessions
booked on courses walked through the real pathway services."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from clinic.ledger import services
from clinic.pathway import session_services
from clinic.pathway.demo import walk_course
from clinic.pathway.models import Drug
from tests import factories
from tests.factories import PASSWORD

SUPPLIER = {
    "supplier_name": "Invented Wholesale",
    "supplier_address": "1 Test Street",
    "supplier_dea_number": "AB1234563",
    "invoice_number": "INV-1",
}


def receive(clinic, actor, *, lot_number="A123", concentration="100", container_ml="5",
            count=1, drug=Drug.KETAMINE, expiry_days=365, **extra):  # fmt: skip
    """A ketamine vial lot (the DOMAIN.md §9 example by default) or an esketamine lot."""
    fields = {
        "clinic": clinic,
        "actor": actor,
        "drug": drug,
        "product_name": "Ketamine HCl" if drug == Drug.KETAMINE else "Spravato",
        "ndc": "0409-2051-05" if drug == Drug.KETAMINE else "50458-028-02",
        "lot_number": lot_number,
        "expiry_date": timezone.localdate() + datetime.timedelta(days=expiry_days),
        "container_count": count,
        **SUPPLIER,
        **extra,
    }
    if drug == Drug.KETAMINE:
        fields["concentration_mg_per_ml"] = Decimal(concentration)
        fields["container_ml"] = Decimal(container_ml)
    return services.lot_receive(**fields)


def book_session(clinic, prescriber, nurse, *, drug=Drug.KETAMINE, patient=None):
    course = walk_course(
        patient=patient or factories.PatientFactory(clinic=clinic),
        prescriber=prescriber,
        nurse=nurse,
        stage="active",
        drug=drug,
    )
    return session_services.session_schedule(
        course=course,
        by=nurse,
        scheduled_at=timezone.now() + datetime.timedelta(minutes=5),
        nurse=nurse,
        prescriber=prescriber,
    )


@pytest.fixture
def second_nurse(clinic):
    return factories.make_staff(clinic=clinic, role="nurse")


@pytest.fixture
def lot(clinic, prescriber):
    return receive(clinic, prescriber)


@pytest.fixture
def session(clinic, prescriber, nurse):
    return book_session(clinic, prescriber, nurse)


@pytest.fixture
def session2(clinic, prescriber, nurse):
    return book_session(clinic, prescriber, nurse)


@pytest.fixture
def esketamine_session(clinic, prescriber, nurse):
    return book_session(clinic, prescriber, nurse, drug=Drug.ESKETAMINE)


@pytest.fixture
def device_lot(clinic, prescriber):
    return receive(clinic, prescriber, lot_number="SPV1", drug=Drug.ESKETAMINE, count=6)


@pytest.fixture
def password():
    return PASSWORD
