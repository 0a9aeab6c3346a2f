"""Invented stock for the demo (`seed_demo` calls `seed_demo_lots` for each clinic)."""

import datetime
from decimal import Decimal

from django.utils import timezone

from clinic.ledger import services
from clinic.ledger.models import Lot
from clinic.pathway.models import Drug

SUPPLIER = {
    "supplier_name": "Demo Medical Supply (invented)",
    "supplier_address": "100 Example Way\nSpringfield, XX 00000",
    # A made-up number that passes the DEA check-digit rule.
    "supplier_dea_number": "RD1234563",
}


def _lots(today):
    return [
        {
            "lot_number": "KX2401",
            "drug": Drug.KETAMINE,
            "product_name": "Ketamine HCl injection (Ketalar)",
            "ndc": "42023-113-10",
            "concentration_mg_per_ml": Decimal("10"),
            "container_ml": Decimal("10"),
            "container_count": 1,
            "expiry_date": today + datetime.timedelta(days=400),
            "invoice_number": "INV-DEMO-1001",
        },
        {
            "lot_number": "KX2402",
            "drug": Drug.KETAMINE,
            "product_name": "Ketamine HCl injection (Ketalar)",
            "ndc": "42023-113-10",
            "concentration_mg_per_ml": Decimal("10"),
            "container_ml": Decimal("10"),
            "container_count": 1,
            "expiry_date": today + datetime.timedelta(days=45),
            "invoice_number": "INV-DEMO-1001",
        },
        {
            # DOMAIN.md §9 worked example: a 5 mL vial of 100 mg/mL.
            "lot_number": "A123",
            "drug": Drug.KETAMINE,
            "product_name": "Ketamine HCl injection",
            "ndc": "0409-2051-05",
            "concentration_mg_per_ml": Decimal("100"),
            "container_ml": Decimal("5"),
            "container_count": 1,
            "expiry_date": today + datetime.timedelta(days=300),
            "invoice_number": "INV-DEMO-1002",
        },
        {
            "lot_number": "SPV-2405",
            "drug": Drug.ESKETAMINE,
            "product_name": "Spravato (esketamine) nasal spray",
            "ndc": "50458-028-02",
            "container_count": 12,
            "expiry_date": today + datetime.timedelta(days=500),
            "invoice_number": "INV-DEMO-1003",
        },
        {
            # Received a year ago and expired last month: shows on the count sheet and as a
            # warning until it is disposed of.
            "lot_number": "KX2207-OLD",
            "drug": Drug.KETAMINE,
            "product_name": "Ketamine HCl injection",
            "ndc": "0409-2051-05",
            "concentration_mg_per_ml": Decimal("100"),
            "container_ml": Decimal("5"),
            "container_count": 2,
            "expiry_date": today - datetime.timedelta(days=30),
            "received_on": today - datetime.timedelta(days=365),
            "invoice_number": "INV-DEMO-0907",
        },
    ]


def seed_demo_lots(clinic, received_by):
    """Receives the demo lots into `clinic` (a prescriber or admin there receives them).
    Idempotent: a lot number already received at the clinic is left alone. Returns the lots."""
    today = timezone.localdate()
    lots = []
    for spec in _lots(today):
        existing = Lot.objects.filter(clinic=clinic, lot_number=spec["lot_number"]).first()
        if existing is not None:
            lots.append(existing)
            continue
        spec = dict(spec)
        received_on = spec.pop("received_on", today)
        event_at = None
        if received_on != today:
            event_at = timezone.now() - datetime.timedelta(days=(today - received_on).days)
        lots.append(
            services.lot_receive(
                clinic=clinic,
                actor=received_by,
                received_on=received_on,
                event_at=event_at,
                **SUPPLIER,
                **spec,
            )
        )
    return lots
