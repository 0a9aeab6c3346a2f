"""The database's own guard of the ledger, attempted behind the services' back with raw SQL.

PostgreSQL (CI, production) refuses UPDATE and DELETE of ledger rows; SQLite (demo, quick
local runs) refuses UPDATE and allows DELETE, because Django empties SQLite test databases
with DELETE (see clinic/core/triggers.py). The check constraints hold on both.
"""

import threading
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, InternalError, connection, transaction

from clinic.ledger import services
from clinic.ledger.models import LedgerEntry, Lot
from tests.conftest import skip_or_fail
from tests.ledger.conftest import book_session, receive

D = Decimal
REFUSED = (IntegrityError, InternalError)


def _refused(sql, params=()):
    with pytest.raises(REFUSED), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def _row(entry, **overrides):
    """The column values of `entry` as a new row (fresh public id), with `overrides`."""
    values = {}
    for field in LedgerEntry._meta.concrete_fields:
        if field.primary_key:
            continue
        values[field.column] = field.get_db_prep_value(
            getattr(entry, field.attname), connection, prepared=False
        )
    values["public_id"] = LedgerEntry._meta.get_field("public_id").get_db_prep_value(
        uuid.uuid4(), connection, prepared=False
    )
    values["reverses_id"] = None
    values.update(overrides)
    return values


def _insert(values):
    columns = ", ".join(connection.ops.quote_name(c) for c in values)
    marks = ", ".join(["%s"] * len(values))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO ledger_ledgerentry ({columns}) VALUES ({marks})",  # noqa: S608
            list(values.values()),
        )


def _insert_refused(values):
    with pytest.raises(REFUSED):
        _insert(values)


@pytest.fixture
def used_draw(lot, session, nurse, second_nurse, password):
    draw = services.draw_for_session(lot=lot, session=session, ml=D("0.40"), actor=nurse)
    services.administer(draw=draw, ml=D("0.35"), actor=nurse)
    services.waste(
        draw=draw, ml=D("0.05"), actor=nurse, witness=second_nurse, witness_password=password
    )
    return draw


@pytest.mark.django_db
def test_no_row_can_be_updated_or_deleted(lot, used_draw):
    for entry in LedgerEntry.objects.all():
        _refused("UPDATE ledger_ledgerentry SET mg = 0, reason = 'x' WHERE id = %s", [entry.pk])
        _refused("UPDATE ledger_ledgerentry SET witness_id = NULL WHERE id = %s", [entry.pk])
        if connection.vendor == "postgresql":
            _refused("DELETE FROM ledger_ledgerentry WHERE id = %s", [entry.pk])
        else:
            assert connection.vendor == "sqlite"  # DELETE allowed there (see module docstring)
    if connection.vendor == "postgresql":
        _refused("DELETE FROM ledger_ledgerentry")
        _refused("DELETE FROM ledger_lotstatuschange")
    _refused("UPDATE ledger_ledgerentry SET balance_ml_after = 99")
    _refused("UPDATE ledger_lotstatuschange SET to_status = 'stock'")
    assert LedgerEntry.objects.count() == 4
    assert LedgerEntry.objects.get(pk=used_draw.pk).mg == D("-0.40") * 100
    # The ORM goes through the same SQL, so it is refused too.
    with pytest.raises(REFUSED), transaction.atomic():
        LedgerEntry.objects.filter(pk=used_draw.pk).update(reason="edited")


@pytest.mark.django_db
def test_a_raw_insert_cannot_break_the_check_constraints(lot, used_draw, nurse, second_nurse):
    waste = used_draw.uses.get(entry_type="waste")
    # Negative balance after.
    _insert_refused(_row(used_draw, balance_ml_after=D("-0.40"), balance_mg_after=D("-40")))
    # Waste without a witness, and self-witnessed.
    _insert_refused(_row(waste, witness_id=None))
    _insert_refused(_row(waste, witness_id=nurse.pk, actor_id=nurse.pk))
    # mg that is not ml x concentration.
    _insert_refused(_row(used_draw, mg=D("-41.00")))
    # A draw with a positive sign, an administer with a negative one.
    _insert_refused(_row(used_draw, ml=D("0.40"), mg=D("40.00")))
    _insert_refused(_row(waste, ml=D("-0.05"), mg=D("-5.00")))
    # Both ml and units, or neither.
    _insert_refused(_row(used_draw, units=1))
    _insert_refused(_row(used_draw, ml=None))
    # Event after it was recorded; a reversal that reverses nothing; a waste with no draw.
    _insert_refused(_row(used_draw, recorded_at=used_draw.event_at.replace(year=2000)))
    _insert_refused(_row(used_draw, entry_type="reversal", reason="r", mg=D("40"), ml=D("0.4")))
    _insert_refused(_row(waste, draw_id=None))
    # An adjustment without a reason.
    _insert_refused(_row(used_draw, entry_type="adjustment", reason="", session_id=None))
    # The lot's cached balance cannot go negative either.
    _refused("UPDATE ledger_lot SET balance_ml = -1, balance_mg = -100 WHERE id = %s", [lot.pk])
    assert LedgerEntry.objects.count() == 4
    # The helper itself writes a valid row when nothing is broken (so the refusals above
    # are the constraints, not the helper). PostgreSQL's draw trigger refuses this copy
    # of the waste, though: the draw is fully used.
    if connection.vendor == "sqlite":
        _insert(_row(waste))
        assert LedgerEntry.objects.count() == 5
    else:
        _insert_refused(_row(waste))
        _insert(_row(used_draw, session_id=used_draw.session_id))
        assert LedgerEntry.objects.count() == 5


@pytest.mark.django_db
def test_each_row_is_reversed_at_most_once_in_the_database(lot, session, nurse):
    draw = services.draw_for_session(lot=lot, session=session, ml=D("0.54"), actor=nurse)
    reversal = services.reverse(entry=draw, actor=nurse, reason="Mistyped")
    _insert_refused(_row(reversal, reverses_id=draw.pk))


@pytest.mark.django_db
def test_postgresql_refuses_administered_plus_wasted_above_the_draw(used_draw, lot, session):
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL (the trigger exists only there)")
    administered = used_draw.uses.get(entry_type="administer")
    _insert_refused(_row(administered, ml=D("0.01"), mg=D("1.00")))
    other = services.draw_for_session(lot=lot, session=session, ml=D("0.10"),
                                      actor=administered.actor)  # fmt: skip
    # A use naming a row that is not a draw, or a draw of another lot.
    _insert_refused(_row(administered, draw_id=administered.pk))
    _insert(_row(administered, draw_id=other.pk, ml=D("0.10"), mg=D("10.00")))
    assert other.uses.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_draws_cannot_overdraw_a_lot():
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL")
    from tests import factories

    clinic = factories.ClinicFactory()
    prescriber = factories.make_staff(clinic=clinic, role="prescriber")
    nurses = [factories.make_staff(clinic=clinic, role="nurse") for _ in range(2)]
    lot = receive(clinic, prescriber)  # 5.00 mL
    sessions = [book_session(clinic, prescriber, nurse) for nurse in nurses]
    barrier = threading.Barrier(2)
    outcomes = []

    def draw(nurse, session):
        try:
            barrier.wait(timeout=10)
            services.draw_for_session(lot=lot, session=session, ml=D("3.00"), actor=nurse)
            outcomes.append("drawn")
        except ValidationError as exc:
            outcomes.append(exc.messages[0])
        finally:
            connection.close()

    threads = [
        threading.Thread(target=draw, args=pair) for pair in zip(nurses, sessions, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == 2 and outcomes.count("drawn") == 1, outcomes
    assert "Only 2.00 mL" in next(o for o in outcomes if o != "drawn")
    lot = Lot.objects.get(pk=lot.pk)
    assert (lot.balance_ml, lot.balance_mg) == (D("2.00"), D("200.00"))
    assert LedgerEntry.objects.filter(lot=lot, entry_type="draw").count() == 1
    assert LedgerEntry.objects.filter(lot=lot).last().balance_ml_after == D("2.00")
