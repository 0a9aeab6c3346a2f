"""The ledger's services: DOMAIN.md §9's worked example, every "Must fail", and the rules."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinic.core.models import AccessEvent
from clinic.ledger import selectors, services
from clinic.ledger.models import EntryType, LedgerEntry, LotStatus
from clinic.pathway.models import Drug, SessionStatus
from tests import factories
from tests.ledger.conftest import book_session, receive

D = Decimal


def balance(lot):
    lot.refresh_from_db()
    return (lot.balance_ml, lot.balance_mg)


def test_the_worked_example_end_to_end(lot, session, session2, nurse, second_nurse, password):
    """DOMAIN.md §9: 5 mL of 100 mg/mL, two sessions, a mistyped draw reversed."""
    assert balance(lot) == (D("5.00"), D("500.00"))
    receive_row = lot.entries.get()
    assert (receive_row.entry_type, receive_row.ml, receive_row.mg) == ("receive", 5, 500)

    draw1 = services.draw_for_session(lot=lot, session=session, ml=D("0.40"), actor=nurse)
    assert (draw1.ml, draw1.mg) == (D("-0.40"), D("-40.00"))
    assert balance(lot) == (D("4.60"), D("460.00"))
    given = services.administer(draw=draw1, ml=D("0.35"), actor=nurse)  # 70 kg x 0.5 mg/kg
    assert (given.mg, given.balance_ml_after) == (D("35.00"), D("4.60"))
    assert not selectors.draw_is_reconciled(session)
    wasted = services.waste(
        draw=draw1, ml=D("0.05"), actor=nurse, witness=second_nurse, witness_password=password
    )
    assert (wasted.mg, wasted.witness) == (D("5.00"), second_nurse)
    assert selectors.draw_is_reconciled(session)
    assert balance(lot) == (D("4.60"), D("460.00"))

    mistyped = services.draw_for_session(lot=lot, session=session2, ml=D("0.54"), actor=nurse)
    assert balance(lot) == (D("4.06"), D("406.00"))
    reversal = services.reverse(entry=mistyped, actor=nurse, reason="Typed 0.54 for 0.45")
    assert (reversal.ml, reversal.mg, reversal.reverses) == (D("0.54"), D("54.00"), mistyped)
    assert balance(lot) == (D("4.60"), D("460.00"))
    draw2 = services.draw_for_session(lot=lot, session=session2, ml=D("0.45"), actor=nurse)
    assert balance(lot) == (D("4.15"), D("415.00"))
    services.administer(draw=draw2, ml=D("0.44"), actor=nurse)  # 88 kg x 0.5 mg/kg
    assert not selectors.draw_is_reconciled(session2)  # must fail: discharge before = 0.45
    assert selectors.session_open_amount(session2) == D("1.00")
    services.waste(
        draw=draw2, ml=D("0.01"), actor=nurse, witness=second_nurse, witness_password=password
    )
    assert selectors.draw_is_reconciled(session2)
    assert selectors.session_drawn_total(session2) == D("45.00")

    rows = list(lot.entries.values_list("entry_type", "ml", "balance_ml_after", "balance_mg_after"))
    assert rows == [
        ("receive", D("5.00"), D("5.00"), D("500.00")),
        ("draw", D("-0.40"), D("4.60"), D("460.00")),
        ("administer", D("0.35"), D("4.60"), D("460.00")),
        ("waste", D("0.05"), D("4.60"), D("460.00")),
        ("draw", D("-0.54"), D("4.06"), D("406.00")),
        ("reversal", D("0.54"), D("4.60"), D("460.00")),
        ("draw", D("-0.45"), D("4.15"), D("415.00")),
        ("administer", D("0.44"), D("4.15"), D("415.00")),
        ("waste", D("0.01"), D("4.15"), D("415.00")),
    ]
    report = selectors.reconciliation(lot)
    assert (report.received.quantity, report.drawn.quantity) == (D("5.00"), D("0.85"))
    assert (report.administered.quantity, report.wasted.quantity) == (D("0.79"), D("0.06"))
    assert (report.closing.quantity, report.closing.mg) == (D("4.15"), D("415.00"))
    assert report.open_draws == [] and len(report.reversals) == 1
    assert lot.status == LotStatus.OPEN
    events = AccessEvent.objects.filter(object_type="ledger_entry")
    assert events.count() == 9
    assert events.filter(patient=session2.course.patient).count() == 5


def test_a_draw_above_the_balance_is_refused(lot, session, nurse):
    services.draw_for_session(lot=lot, session=session, ml=D("0.85"), actor=nurse)
    with pytest.raises(ValidationError) as exc:
        services.draw_for_session(lot=lot, session=session, ml=D("4.16"), actor=nurse)
    assert "ml" in exc.value.message_dict
    assert balance(lot) == (D("4.15"), D("415.00"))
    services.draw_for_session(lot=lot, session=session, ml=D("4.15"), actor=nurse)
    lot.refresh_from_db()
    assert (lot.balance_ml, lot.status) == (D("0.00"), LotStatus.EMPTY)


def test_waste_unwitnessed_or_self_witnessed_is_refused(lot, session, nurse, password):
    draw = services.draw_for_session(lot=lot, session=session, ml=D("0.40"), actor=nurse)
    for witness, key in ((None, "witness"), (nurse, "witness")):
        with pytest.raises(ValidationError) as exc:
            services.waste(
                draw=draw, ml=D("0.05"), actor=nurse, witness=witness, witness_password=password
            )
        assert key in exc.value.message_dict
    assert not draw.uses.exists()


def test_the_witness_must_be_an_active_clinician_of_the_clinic(
    lot, session, nurse, clinic_admin, other_clinician, password
):
    draw = services.draw_for_session(lot=lot, session=session, ml=D("0.40"), actor=nurse)
    inactive = factories.make_staff(clinic=lot.clinic, role="nurse", is_active=False)
    for witness in (clinic_admin, other_clinician, inactive):
        with pytest.raises(ValidationError) as exc:
            services.waste(
                draw=draw, ml=D("0.05"), actor=nurse, witness=witness, witness_password=password
            )
        assert "witness" in exc.value.message_dict


def test_a_wrong_witness_password_is_refused_and_audited(lot, session, nurse, second_nurse):
    draw = services.draw_for_session(lot=lot, session=session, ml=D("0.40"), actor=nurse)
    for wrong in ("not-the-password", ""):
        with pytest.raises(ValidationError) as exc:
            services.waste(
                draw=draw, ml=D("0.05"), actor=nurse, witness=second_nurse, witness_password=wrong
            )
        assert list(exc.value.message_dict) == ["witness_password"]
    assert not draw.uses.exists()
    denied = AccessEvent.objects.filter(object_type="ledger_witness", outcome="denied")
    assert denied.count() == 2


def test_administered_plus_wasted_above_the_draw_is_refused(
    lot, session, nurse, second_nurse, password
):
    draw = services.draw_for_session(lot=lot, session=session, ml=D("0.45"), actor=nurse)
    services.administer(draw=draw, ml=D("0.44"), actor=nurse)
    with pytest.raises(ValidationError) as exc:
        services.waste(
            draw=draw, ml=D("0.02"), actor=nurse, witness=second_nurse, witness_password=password
        )
    assert "ml" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.administer(draw=draw, ml=D("0.02"), actor=nurse)
    assert draw.uses.count() == 1


def test_draws_from_expired_quarantined_empty_or_disposed_lots_are_refused(
    clinic, prescriber, session, nurse
):
    expired = receive(
        clinic, prescriber, lot_number="OLD", expiry_days=-1,
        received_on=timezone.localdate() - datetime.timedelta(days=10),
    )  # fmt: skip
    quarantined = receive(clinic, prescriber, lot_number="Q1")
    services.lot_quarantine(lot=quarantined, actor=prescriber, reason="Seal broken")
    emptied = receive(clinic, prescriber, lot_number="E1")
    services.draw_for_session(lot=emptied, session=session, ml=D("5.00"), actor=nurse)
    disposed = receive(clinic, prescriber, lot_number="D1")
    services.dispose(lot=disposed, actor=prescriber, ml=D("5.00"), reason="Damaged vial")
    for bad in (expired, quarantined, emptied, disposed):
        bad.refresh_from_db()
        with pytest.raises(ValidationError) as exc:
            services.draw_for_session(lot=bad, session=session, ml=D("0.10"), actor=nurse)
        assert "lot" in exc.value.message_dict, bad.lot_number
    assert disposed.status == LotStatus.DISPOSED and emptied.status == LotStatus.EMPTY
    usable = list(selectors.usable_lots_for_session(session))
    assert usable == []


def test_expiry_is_judged_on_the_event_date(clinic, prescriber, session, nurse):
    """A lot that expired yesterday may still carry a draw made (and entered late) before."""
    lot = receive(
        clinic, prescriber, lot_number="X", expiry_days=-1,
        received_on=timezone.localdate() - datetime.timedelta(days=5),
        event_at=timezone.now() - datetime.timedelta(days=5),
    )  # fmt: skip
    two_days_ago = timezone.now() - datetime.timedelta(days=2)
    draw = services.draw_for_session(
        lot=lot, session=session, ml=D("0.40"), actor=nurse, event_at=two_days_ago
    )
    assert draw.is_late
    assert [e.entry_type for e in selectors.reconciliation(lot).late] == ["receive", "draw"]


def test_a_quarantined_lot_can_be_released(lot, prescriber, nurse, session):
    services.lot_quarantine(lot=lot, actor=prescriber, reason="Recall notice")
    services.lot_quarantine(lot=lot, actor=prescriber, reason="Not our lot", release=True)
    lot.refresh_from_db()
    assert lot.status == LotStatus.STOCK
    assert list(lot.status_changes.values_list("to_status", flat=True)) == [
        "stock", "quarantined", "stock",
    ]  # fmt: skip
    services.draw_for_session(lot=lot, session=session, ml=D("1.00"), actor=nurse)


def test_each_entry_is_reversed_at_most_once(lot, session, nurse):
    draw = services.draw_for_session(lot=lot, session=session, ml=D("0.54"), actor=nurse)
    reversal = services.reverse(entry=draw, actor=nurse, reason="Mistyped")
    with pytest.raises(ValidationError, match="already been reversed"):
        services.reverse(entry=draw, actor=nurse, reason="Again")
    with pytest.raises(ValidationError):
        services.reverse(entry=reversal, actor=nurse, reason="Undo the undo")
    assert balance(lot) == (D("5.00"), D("500.00"))
    with pytest.raises(ValidationError, match="reversed"):
        services.administer(draw=draw, ml=D("0.10"), actor=nurse)


def test_a_draw_is_reversed_only_after_its_administration(lot, session, nurse):
    draw = services.draw_for_session(lot=lot, session=session, ml=D("0.40"), actor=nurse)
    given = services.administer(draw=draw, ml=D("0.40"), actor=nurse)
    with pytest.raises(ValidationError, match="administered and wasted"):
        services.reverse(entry=draw, actor=nurse, reason="Wrong lot")
    undo = services.reverse(entry=given, actor=nurse, reason="Entered on the wrong draw")
    assert (undo.ml, undo.draw, undo.balance_ml_after) == (D("-0.40"), draw, D("4.60"))
    assert not selectors.draw_is_reconciled(session)
    services.reverse(entry=draw, actor=nurse, reason="Wrong lot")
    assert balance(lot) == (D("5.00"), D("500.00"))
    assert selectors.draw_is_reconciled(session)
    assert selectors.session_drawn_total(session) == 0


def test_reversing_a_receipt_cannot_take_the_balance_below_zero(lot, session, nurse, prescriber):
    services.draw_for_session(lot=lot, session=session, ml=D("1.00"), actor=nurse)
    receipt = lot.entries.get(entry_type=EntryType.RECEIVE)
    with pytest.raises(ValidationError):
        services.reverse(entry=receipt, actor=prescriber, reason="Wrong lot number")
    with pytest.raises(ValidationError):  # a nurse cannot reverse stock rows
        services.reverse(entry=receipt, actor=nurse, reason="Wrong lot number")


def test_mg_is_exactly_ml_times_concentration(clinic, prescriber, session, nurse):
    lot = receive(clinic, prescriber, lot_number="C", concentration="10.50", container_ml="10")
    draw = services.draw_for_session(lot=lot, session=session, ml=D("0.20"), actor=nurse)
    assert draw.mg == D("-2.10")
    with pytest.raises(ValidationError, match="not exact"):  # 0.25 x 10.5 = 2.625 mg
        services.draw_for_session(lot=lot, session=session, ml=D("0.25"), actor=nurse)
    for bad in (D("0.001"), D("-1"), D("0"), "abc", None, "NaN"):
        with pytest.raises(ValidationError):
            services.draw_for_session(lot=lot, session=session, ml=bad, actor=nurse)


def test_only_clinicians_of_the_clinic_draw(lot, session, clinic_admin, other_clinician):
    for actor in (clinic_admin, other_clinician):
        with pytest.raises(ValidationError, match="Only a"):
            services.draw_for_session(lot=lot, session=session, ml=D("0.40"), actor=actor)


def test_a_lot_of_another_clinic_or_drug_cannot_serve_the_session(
    lot, other_clinic, other_clinician, esketamine_session, nurse, prescriber
):
    factories.MembershipFactory(user=nurse, clinic=other_clinic, role="nurse")
    theirs = receive(other_clinic, other_clinician, lot_number="T1")
    session = book_session(lot.clinic, prescriber, nurse)
    with pytest.raises(ValidationError, match="another clinic"):
        services.draw_for_session(lot=theirs, session=session, ml=D("0.40"), actor=nurse)
    with pytest.raises(ValidationError, match="Esketamine"):
        services.draw_for_session(lot=lot, session=esketamine_session, ml=D("0.40"), actor=nurse)


def test_only_prescribers_and_admins_receive_adjust_dispose_and_return(
    clinic, lot, nurse, prescriber, clinic_admin
):
    with pytest.raises(ValidationError, match="Only a"):
        receive(clinic, nurse, lot_number="N1")
    for service, kwargs in (
        (services.adjust, {"reason": "Recount"}),
        (services.dispose, {"reason": "Expired"}),
        (services.return_to_supplier, {}),
    ):
        with pytest.raises(ValidationError, match="Only a"):
            service(lot=lot, actor=nurse, ml=D("0.10"), **kwargs)
    services.adjust(lot=lot, actor=clinic_admin, ml=D("-0.10"), reason="Recount after spill")
    services.adjust(lot=lot, actor=prescriber, ml=D("0.05"), reason="Recount found more")
    services.return_to_supplier(lot=lot, actor=prescriber, ml=D("1.00"), reason="RA-77")
    services.record_loss(lot=lot, actor=nurse, ml=D("0.50"), reason="Vial dropped")
    services.dispose(lot=lot, actor=clinic_admin, ml=D("3.45"), reason="Reverse distributor")
    lot.refresh_from_db()
    assert (lot.balance_ml, lot.balance_mg, lot.status) == (D("0.00"), D("0.00"), "disposed")
    report = selectors.reconciliation(lot)
    assert (report.adjusted.quantity, report.returned.quantity) == (D("-0.05"), D("1.00"))
    assert (report.lost.quantity, report.disposed.quantity) == (D("0.50"), D("3.45"))
    assert report.closing.quantity == 0
    with pytest.raises(ValidationError):
        services.adjust(lot=lot, actor=prescriber, ml=D("-0.01"), reason="Below zero")
    with pytest.raises(ValidationError):
        services.adjust(lot=lot, actor=prescriber, ml=D("0.10"), reason="  ")


def test_receiving_checks_the_paperwork(clinic, prescriber):
    with pytest.raises(ValidationError) as exc:
        receive(clinic, prescriber, lot_number="B", supplier_dea_number="AB1234567")
    assert "supplier_dea_number" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        receive(clinic, prescriber, lot_number="B", expiry_days=-1)
    assert "expiry_date" in exc.value.message_dict
    lot = receive(clinic, prescriber, lot_number="B", concentration="10", container_ml="10",
                  count=3)  # fmt: skip
    assert (lot.received_ml, lot.balance_ml, lot.balance_mg) == (30, 30, 300)
    assert AccessEvent.objects.filter(object_type="lot", object_public_id=lot.public_id).exists()


def test_esketamine_counts_whole_devices_one_to_three_per_session(
    device_lot, esketamine_session, nurse, second_nurse, password
):
    assert (device_lot.balance_units, device_lot.balance_mg) == (6, D("168.00"))
    with pytest.raises(ValidationError) as exc:
        services.draw_for_session(
            lot=device_lot, session=esketamine_session, ml=D("0.2"), actor=nurse
        )
    assert "units" in exc.value.message_dict
    for partial in (D("1.5"), "0.5", 0):
        with pytest.raises(ValidationError):
            services.draw_for_session(
                lot=device_lot, session=esketamine_session, units=partial, actor=nurse
            )
    with pytest.raises(ValidationError, match="1 to 3"):
        services.draw_for_session(lot=device_lot, session=esketamine_session, units=4, actor=nurse)
    draw = services.draw_for_session(
        lot=device_lot, session=esketamine_session, units=2, actor=nurse
    )
    assert (draw.units, draw.mg, draw.ml, draw.balance_units_after) == (-2, D("-56.00"), None, 4)
    with pytest.raises(ValidationError, match="1 to 3"):
        services.draw_for_session(lot=device_lot, session=esketamine_session, units=2, actor=nurse)
    services.administer(draw=draw, units=1, actor=nurse)
    with pytest.raises(ValidationError):
        services.waste(draw=draw, units=D("0.5"), actor=nurse, witness=second_nurse,
                       witness_password=password)  # fmt: skip
    services.waste(draw=draw, units=1, actor=nurse, witness=second_nurse,
                   witness_password=password, reason="Device misfired")  # fmt: skip
    assert selectors.draw_is_reconciled(esketamine_session)
    assert selectors.session_drawn_total(esketamine_session) == D("56.00")


def test_a_count_records_the_discrepancy_and_changes_nothing(
    lot, session, nurse, clinic_admin, password
):
    services.draw_for_session(lot=lot, session=session, ml=D("0.40"), actor=nurse)
    entry = services.count(
        lot=lot, actor=nurse, witness=clinic_admin, witness_password=password,
        counted_ml=D("4.55"),
    )  # fmt: skip
    assert (entry.ml, entry.discrepancy_ml, entry.discrepancy_mg) == (
        D("4.55"), D("-0.05"), D("-5.00"),
    )  # fmt: skip
    assert balance(lot) == (D("4.60"), D("460.00"))
    report = selectors.reconciliation(lot)
    assert report.discrepancies == [entry] and report.count_differs
    with pytest.raises(ValidationError) as exc:
        services.count(lot=lot, actor=nurse, witness=clinic_admin, witness_password="x",
                       counted_ml=D("4.60"))  # fmt: skip
    assert "witness_password" in exc.value.message_dict


def test_the_inventory_counts_every_lot_on_hand_including_expired(
    clinic, lot, prescriber, nurse, password
):
    expired = receive(
        clinic, prescriber, lot_number="OLD", expiry_days=-3,
        received_on=timezone.localdate() - datetime.timedelta(days=30),
    )  # fmt: skip
    assert set(services.inventory_lots(clinic)) == {lot, expired}
    with pytest.raises(ValidationError, match="Count every lot"):
        services.inventory_record(
            clinic=clinic, actor=prescriber, witness=nurse, witness_password=password,
            kind="biennial", business_time="closing", counts={lot: D("5.00")},
        )  # fmt: skip
    inventory = services.inventory_record(
        clinic=clinic, actor=prescriber, witness=nurse, witness_password=password,
        kind="biennial", business_time="closing", counts={lot: D("5.00"), expired: D("4.90")},
    )  # fmt: skip
    counts = inventory.counts.order_by("lot__lot_number")
    assert [c.discrepancy_ml for c in counts] == [D("0.00"), D("-0.10")]


def test_usable_lots_are_the_clinics_unexpired_stock_of_the_sessions_drug(
    clinic, prescriber, lot, device_lot, session, esketamine_session
):
    soon = receive(clinic, prescriber, lot_number="SOON", expiry_days=10)
    assert list(selectors.usable_lots_for_session(session)) == [soon, lot]
    assert list(selectors.usable_lots_for_session(esketamine_session)) == [device_lot]


def test_event_time_cannot_be_in_the_future(lot, session, nurse):
    with pytest.raises(ValidationError):
        services.draw_for_session(
            lot=lot, session=session, ml=D("0.40"), actor=nurse,
            event_at=timezone.now() + datetime.timedelta(hours=1),
        )  # fmt: skip


def test_a_finished_session_takes_no_draw_but_its_open_draw_can_be_closed(
    lot, session, nurse, second_nurse, password
):
    draw = services.draw_for_session(lot=lot, session=session, ml=D("0.40"), actor=nurse)
    type(session).objects.filter(pk=session.pk).update(status=SessionStatus.TRANSFERRED)
    session.refresh_from_db()
    with pytest.raises(ValidationError, match="transferred"):
        services.draw_for_session(lot=lot, session=session, ml=D("0.40"), actor=nurse)
    services.waste(draw=draw, ml=D("0.40"), actor=nurse, witness=second_nurse,
                   witness_password=password, reason="Transferred before dosing")  # fmt: skip
    assert selectors.draw_is_reconciled(session)


def test_no_draw_means_reconciled_and_zero_drawn(session):
    assert selectors.draw_is_reconciled(session)
    assert selectors.session_drawn_total(session) == 0
    assert LedgerEntry.objects.count() == 0
    assert session.plan.drug == Drug.KETAMINE
