"""The ledger's pages: what they show, who may open them, what they store."""

import datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from clinic.core.models import AccessEvent
from clinic.ledger import services
from clinic.ledger.models import LedgerEntry, Lot
from tests.ledger.conftest import receive

D = Decimal


@pytest.fixture
def worked_example(lot, session, session2, nurse, second_nurse, password):
    draw = services.draw_for_session(lot=lot, session=session, ml=D("0.40"), actor=nurse)
    services.administer(draw=draw, ml=D("0.35"), actor=nurse)
    services.waste(draw=draw, ml=D("0.05"), actor=nurse, witness=second_nurse,
                   witness_password=password)  # fmt: skip
    mistyped = services.draw_for_session(lot=lot, session=session2, ml=D("0.54"), actor=nurse)
    services.reverse(entry=mistyped, actor=nurse, reason="Typed 0.54 for 0.45")
    draw2 = services.draw_for_session(lot=lot, session=session2, ml=D("0.45"), actor=nurse)
    services.administer(draw=draw2, ml=D("0.44"), actor=nurse)
    return lot


def detail_url(lot):
    return reverse("ledger:lot_detail", kwargs={"public_id": lot.public_id})


def test_the_lot_list_shows_balances_and_expiry_warnings(client, clinic, prescriber, lot):
    receive(clinic, prescriber, lot_number="SOON", expiry_days=20)
    receive(clinic, prescriber, lot_number="GONE", expiry_days=-2,
            received_on=timezone.localdate() - datetime.timedelta(days=9))  # fmt: skip
    client.force_login(prescriber)
    page = client.get(reverse("ledger:lot_list")).content.decode()
    assert "A123" in page and "5.00 mL" in page and "500.00 mg" in page
    assert "Expires soon" in page and "Expired" in page and "1 expired lot" in page
    assert "Receive stock" in page
    assert AccessEvent.objects.filter(user=prescriber, object_type="lot_list").exists()


def test_nurses_see_stock_but_not_the_receive_action(client, nurse, lot):
    client.force_login(nurse)
    page = client.get(reverse("ledger:lot_list")).content.decode()
    assert "A123" in page and "Receive stock" not in page
    assert client.get(reverse("ledger:lot_receive")).status_code == 403
    page = client.get(detail_url(lot)).content.decode()
    assert "Witnessed count" in page and "Adjustment" not in page
    url = reverse("ledger:lot_adjust", kwargs={"public_id": lot.public_id})
    assert client.post(url, {"quantity": "1", "reason": "x"}).status_code == 404
    assert lot.entries.count() == 1


def test_the_reconciliation_page_shows_the_worked_example(
    client, worked_example, clinic_admin, session2
):
    client.force_login(clinic_admin)
    response = client.get(detail_url(worked_example))
    page = response.content.decode()
    report = response.context["report"]
    assert (report.drawn.quantity, report.administered.quantity) == (D("0.85"), D("0.79"))
    assert report.closing.quantity == D("4.15")
    for number in ("4.15", "415.00", "4.06", "406.00", "0.85", "0.79", "0.05"):
        assert number in page, number
    assert "Open draws" in page and "0.01 mL (1.00 mg)" in page
    assert session2.course.patient.full_name in page
    assert "Reversed" in page and "see reversal" in page
    assert AccessEvent.objects.filter(
        user=clinic_admin, object_type="lot", object_public_id=worked_example.public_id,
        outcome="allowed",
    ).exists()  # fmt: skip


def test_the_reconciliation_period_filter(client, worked_example, prescriber):
    client.force_login(prescriber)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = client.get(detail_url(worked_example), {"date_from": tomorrow.isoformat()})
    report = response.context["report"]
    assert report.entries == [] and report.opening.quantity == D("4.15")
    assert report.closing.quantity == D("4.15")
    response = client.get(detail_url(worked_example), {"date_from": "2026-05-02",
                                                        "date_to": "2026-05-01"})  # fmt: skip
    assert "The end is before the start." in response.content.decode()


def test_discrepancies_are_highlighted(client, lot, nurse, clinic_admin, password):
    services.count(lot=lot, actor=nurse, witness=clinic_admin, witness_password=password,
                   counted_ml=D("4.90"))  # fmt: skip
    client.force_login(nurse)
    page = client.get(detail_url(lot)).content.decode()
    assert "Count discrepancies" in page and "table-danger" in page and "-0.10" in page


def test_the_count_sheet_lists_every_lot_on_hand_including_expired(
    client, clinic, prescriber, nurse, lot, session
):
    receive(clinic, prescriber, lot_number="GONE", expiry_days=-2,
            received_on=timezone.localdate() - datetime.timedelta(days=9))  # fmt: skip
    empty = receive(clinic, prescriber, lot_number="USEDUP")
    services.draw_for_session(lot=empty, session=session, ml=D("5.00"), actor=nurse)
    client.force_login(nurse)
    response = client.get(reverse("ledger:count_sheet"), {"business_time": "closing"})
    page = response.content.decode()
    assert "A123" in page and "GONE" in page and "EXPIRED" in page and "USEDUP" not in page
    assert "Witness" in page and "Counted by" in page
    # Printed landscape with the page chrome hidden, by a stylesheet (no inline style: CSP).
    assert "clinic/count-sheet.css" in page
    assert "@media print" in (settings.BASE_DIR / "static/clinic/count-sheet.css").read_text()
    assert AccessEvent.objects.filter(object_type="count_sheet", clinic=clinic).exists()


def test_receiving_stock_through_the_page(client, prescriber, clinic):
    client.force_login(prescriber)
    response = client.post(
        reverse("ledger:lot_receive"),
        {
            "clinic": clinic.pk,
            "drug": "ketamine",
            "product_name": "Ketamine HCl",
            "ndc": "0409-2051-05",
            "lot_number": "NEW1",
            "expiry_date": (timezone.localdate() + datetime.timedelta(days=200)).isoformat(),
            "concentration_mg_per_ml": "100",
            "container_ml": "5",
            "container_count": "2",
            "received_on": timezone.localdate().isoformat(),
            "supplier_name": "Invented Wholesale",
            "supplier_address": "1 Test Street",
            "supplier_dea_number": "AB1234563",
            "invoice_number": "INV-9",
        },
    )
    lot = Lot.objects.get(lot_number="NEW1")
    assert response.status_code == 302 and response.url == detail_url(lot)
    assert (lot.balance_ml, lot.balance_mg, lot.received_by) == (D("10.00"), D("1000.00"),
                                                                 prescriber)  # fmt: skip


def test_recording_a_count_and_a_reversal_through_the_pages(
    client, lot, session, nurse, second_nurse, password
):
    client.force_login(nurse)
    url = reverse("ledger:lot_count", kwargs={"public_id": lot.public_id})
    response = client.post(url, {"quantity": "5.00", "witness": second_nurse.pk,
                                 "witness_password": "wrong"})  # fmt: skip
    assert response.status_code == 200
    assert "password is not correct" in response.content.decode()
    response = client.post(url, {"quantity": "5.00", "witness": second_nurse.pk,
                                 "witness_password": password})  # fmt: skip
    assert response.status_code == 302
    assert lot.entries.filter(entry_type="count", witness=second_nurse).count() == 1
    draw = services.draw_for_session(lot=lot, session=session, ml=D("0.54"), actor=nurse)
    url = reverse("ledger:entry_reverse", kwargs={"public_id": draw.public_id})
    assert client.get(url).status_code == 200
    assert client.post(url, {"reason": "Mistyped"}).status_code == 302
    response = client.post(url, {"reason": "Again"})
    assert "already been reversed" in response.content.decode()
    lot.refresh_from_db()
    assert lot.balance_ml == D("5.00")


def test_other_clinics_and_patients_get_404_everywhere(
    client, worked_example, other_clinician, portal_patient
):
    entry = worked_example.entries.filter(entry_type="draw").first()
    urls = [
        detail_url(worked_example),
        *[
            reverse(f"ledger:lot_{action}", kwargs={"public_id": worked_example.public_id})
            for action in ("count", "adjust", "dispose", "loss", "return", "quarantine")
        ],
        reverse("ledger:entry_reverse", kwargs={"public_id": entry.public_id}),
    ]
    before = LedgerEntry.objects.count()
    for user in (other_clinician, portal_patient.user):
        client.force_login(user)
        for url in urls:
            for method in ("get", "post"):
                response = getattr(client, method)(url, {"reason": "x", "quantity": "1"})
                assert response.status_code == 404, (user, method, url)
                assert b"A123" not in response.content
    assert LedgerEntry.objects.count() == before
    assert AccessEvent.objects.filter(user=other_clinician, object_type="lot",
                                      outcome="denied").exists()  # fmt: skip
    client.force_login(other_clinician)
    page = client.get(reverse("ledger:lot_list")).content.decode()
    assert "A123" not in page
    assert "A123" not in client.get(reverse("ledger:count_sheet")).content.decode()


def test_the_lot_page_issues_the_same_queries_at_5_and_50_entries(
    client, lot, session, nurse, second_nurse, password, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def add_rounds(rounds):
        for _ in range(rounds):
            draw = services.draw_for_session(lot=lot, session=session, ml=D("0.01"), actor=nurse)
            services.administer(draw=draw, ml=D("0.01"), actor=nurse)

    def queries():
        client.force_login(nurse)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(detail_url(lot)).status_code == 200
        return len(captured)

    add_rounds(2)  # 1 receipt + 4 = 5 entries
    assert lot.entries.count() == 5
    at_5 = queries()
    add_rounds(22)
    services.draw_for_session(lot=lot, session=session, ml=D("0.01"), actor=nurse)
    assert lot.entries.count() == 50
    assert queries() == at_5


def test_garbage_to_every_ledger_form_gives_field_errors_never_500(
    client, lot, device_lot, prescriber, session, nurse
):
    from tests.core.test_garbage_input import GARBAGE_VALUES

    draw = services.draw_for_session(lot=lot, session=session, ml=D("0.40"), actor=nurse)
    forms = {
        reverse("ledger:lot_receive"): [
            "clinic", "drug", "product_name", "ndc", "lot_number", "expiry_date",
            "concentration_mg_per_ml", "container_ml", "container_count", "received_on",
            "supplier_name", "supplier_address", "supplier_dea_number", "invoice_number",
        ],
        reverse("ledger:entry_reverse", kwargs={"public_id": draw.public_id}): ["reason"],
    }  # fmt: skip
    for target in (lot, device_lot):
        for action in ("count", "adjust", "dispose", "loss", "return", "quarantine"):
            url = reverse(f"ledger:lot_{action}", kwargs={"public_id": target.public_id})
            forms[url] = ["quantity", "reason", "witness", "witness_password"]
    before = LedgerEntry.objects.count()
    client.force_login(prescriber)
    for url, fields in forms.items():
        for value in GARBAGE_VALUES:
            response = client.post(url, dict.fromkeys(fields, value))
            assert response.status_code in (200, 302), (url, value)
            if response.status_code == 200:
                page = response.content.decode()
                assert "invalid-feedback" in page or "alert-danger" in page, (url, value)
            else:  # only input that is valid for the form gets through
                assert (
                    ("adjust" in url and value == "-1") or "quarantine" in url or "reverse" in url
                ), (url, value)
        response = client.get(detail_url(lot), {"date_from": value, "date_to": value})
        # A date filter that is no date is a bad request, shown with the field's message.
        assert response.status_code in (200, 400), value
        if response.status_code == 400:
            assert "date_from" in response.context["form"].errors
    # "-1" is a valid adjustment and any text a valid reason, so adjustments, one reversal
    # (the second is refused) and quarantines may have gone through; nothing else was stored.
    stored = LedgerEntry.objects.exclude(entry_type__in=["adjustment", "reversal"]).count()
    assert stored == before
    assert LedgerEntry.objects.filter(entry_type="reversal").count() == 1
