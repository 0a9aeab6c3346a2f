"""Reads of the controlled-substance ledger for a signed-in user, and the reconciliation.

Lots are scoped by the user's clinics; a lot or entry of another clinic (or any lot, for a
patient) is a 404, and both outcomes are audited.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from clinic.accounts.roles import STAFF_ROLES
from clinic.core.audit import record_access
from clinic.core.lookups import is_uuid as _is_uuid
from clinic.core.models import AccessEvent
from clinic.ledger.models import (
    DRAW_USE_TYPES,
    EntryType,
    LedgerEntry,
    Lot,
    LotStatus,
)
from clinic.ledger.services import inventory_lots
from clinic.patients.selectors import clinic_ids_for_user, clinics_for_user

E = EntryType
ZERO = Decimal("0.00")


def lots_visible_to(user, roles=STAFF_ROLES):
    return Lot.objects.filter(clinic__in=clinics_for_user(user, roles))


# How the lot lists read, whichever selector builds them.
LOT_LIST_ORDER = ("drug", "status", "expiry_date", "lot_number", "id")


def lots_for_user(user, *, clinic=None):
    """The lots of the user's clinics, soonest expiry first; audited as one list event."""
    lots = lots_visible_to(user).select_related("clinic")
    if clinic is not None:
        lots = lots.filter(clinic=clinic)
    record_access(
        user=user,
        action=AccessEvent.Action.LIST,
        object_type="lot_list",
        clinic=clinic,
        detail=f"{lots.count()} lots",
    )
    return lots.order_by(*LOT_LIST_ORDER)


def clinic_lots_for_user(user, clinic):
    """`lots_for_user(user, clinic=clinic)` read as a list in one query: the lots of `clinic`
    when `user` holds a staff role there (`clinic_ids_for_user`: for the request's user no
    query; none otherwise), in the same order, audited as the same list event."""
    staff_clinics = set(clinic_ids_for_user(user, roles=STAFF_ROLES))
    lots = list(
        Lot.objects.filter(clinic_id__in=staff_clinics & {clinic.pk})
        .select_related("clinic")
        .order_by(*LOT_LIST_ORDER)
    )
    record_access(
        user=user,
        action=AccessEvent.Action.LIST,
        object_type="lot_list",
        clinic=clinic,
        detail=f"{len(lots)} lots",
    )
    return lots


def lot_get_for_user(user, public_id, *, roles=STAFF_ROLES, action=AccessEvent.Action.VIEW):
    """The lot `public_id` if `user` holds one of `roles` in its clinic, else 404."""
    found = None
    if _is_uuid(public_id):
        found = (
            lots_visible_to(user, roles)
            .select_related("clinic", "received_by")
            .filter(public_id=public_id)
            .first()
        )
    if found is None:
        unscoped = Lot.objects.filter(public_id=public_id).first() if _is_uuid(public_id) else None
        record_access(
            user=user,
            action=action,
            object_type="lot",
            object_public_id=public_id if _is_uuid(public_id) else None,
            clinic=unscoped.clinic if unscoped else None,
            outcome=AccessEvent.Outcome.DENIED,
        )
        raise Http404("No such lot.")
    record_access(
        user=user, action=action, object_type="lot", object_public_id=found.public_id,
        clinic=found.clinic,
    )  # fmt: skip
    return found


def entry_get_for_user(user, public_id, *, roles=STAFF_ROLES, action=AccessEvent.Action.VIEW):
    found = None
    if _is_uuid(public_id):
        found = (
            LedgerEntry.objects.filter(lot__in=lots_visible_to(user, roles))
            .select_related("lot__clinic", "patient", "session", "actor", "witness")
            .filter(public_id=public_id)
            .first()
        )
    if found is None:
        unscoped = (
            LedgerEntry.objects.select_related("lot").filter(public_id=public_id).first()
            if _is_uuid(public_id)
            else None
        )
        record_access(
            user=user,
            action=action,
            object_type="ledger_entry",
            object_public_id=public_id if _is_uuid(public_id) else None,
            clinic=unscoped.lot.clinic if unscoped else None,
            patient=unscoped.patient if unscoped else None,
            outcome=AccessEvent.Outcome.DENIED,
        )
        raise Http404("No such ledger entry.")
    record_access(
        user=user, action=action, object_type="ledger_entry", object_public_id=found.public_id,
        clinic=found.lot.clinic, patient=found.patient,
    )  # fmt: skip
    return found


def _day_bounds(clinic, date_from, date_to):
    import zoneinfo

    tz = zoneinfo.ZoneInfo(clinic.timezone)
    start = (
        datetime.datetime.combine(date_from, datetime.time.min, tzinfo=tz) if date_from else None
    )
    end = (
        datetime.datetime.combine(
            date_to + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz
        )
        if date_to
        else None
    )
    return start, end


def entries_for_lot(lot, date_from=None, date_to=None):
    """The lot's rows whose event falls in the period (clinic-local days), in ledger order."""
    start, end = _day_bounds(lot.clinic, date_from, date_to)
    entries = LedgerEntry.objects.filter(lot=lot)
    if start:
        entries = entries.filter(event_at__gte=start)
    if end:
        entries = entries.filter(event_at__lt=end)
    return entries.select_related(
        "actor", "witness", "patient", "session", "reverses", "reversed_by", "draw"
    ).order_by("id")


@dataclass
class Totals:
    """Amounts in the lot's unit (mL or devices) and in mg."""

    quantity: Decimal = ZERO
    mg: Decimal = ZERO

    def add(self, quantity, mg):
        self.quantity += quantity
        self.mg += mg


@dataclass
class OpenDraw:
    draw: LedgerEntry
    open_quantity: Decimal
    open_mg: Decimal


@dataclass
class Reconciliation:
    lot: Lot
    date_from: datetime.date | None
    date_to: datetime.date | None
    entries: list
    opening: Totals
    closing: Totals
    received: Totals = field(default_factory=Totals)
    drawn: Totals = field(default_factory=Totals)
    administered: Totals = field(default_factory=Totals)
    wasted: Totals = field(default_factory=Totals)
    returned: Totals = field(default_factory=Totals)
    disposed: Totals = field(default_factory=Totals)
    lost: Totals = field(default_factory=Totals)
    adjusted: Totals = field(default_factory=Totals)
    last_count: LedgerEntry | None = None
    open_draws: list = field(default_factory=list)
    late: list = field(default_factory=list)
    reversals: list = field(default_factory=list)
    discrepancies: list = field(default_factory=list)

    @property
    def expected(self):
        return self.closing

    @property
    def is_clean(self):
        return not (self.open_draws or self.discrepancies or self.count_differs)

    @property
    def count_differs(self):
        return self.last_count is not None and self.last_count.discrepancy_mg != 0

    @property
    def witnessed_wastes(self):
        return [e for e in self.entries if e.entry_type == E.WASTE]


# Where each balance-changing type lands in the reconciliation; ADMINISTER and WASTE (and
# reversals of them) are tracked separately because they split a draw.
_BUCKET = {
    E.RECEIVE: "received",
    E.DRAW: "drawn",
    E.RETURN: "returned",
    E.DISPOSE: "disposed",
    E.LOSS: "lost",
    E.ADJUSTMENT: "adjusted",
    E.ADMINISTER: "administered",
    E.WASTE: "wasted",
}
# Outflows are shown as positive amounts.
_OUTFLOW = {"drawn", "returned", "disposed", "lost"}


def _quantity_total(lot, entries):
    field_name = "units" if lot.is_device else "ml"
    totals = entries.aggregate(
        quantity=Coalesce(Sum(field_name), ZERO if not lot.is_device else 0),
        mg=Coalesce(Sum("mg"), ZERO),
    )
    return Totals(Decimal(totals["quantity"]), Decimal(totals["mg"]))


def _changes_balance_q():
    """Rows that move the balance: all but counts, administer/waste and their reversals."""
    return ~Q(entry_type__in=[E.COUNT, *DRAW_USE_TYPES]) & Q(draw__isnull=True)


def reconciliation(lot, date_from=None, date_to=None):
    """DOMAIN.md §9 reconciliation of one lot over a period (clinic-local days, both ends
    included; open-ended when a date is None). Reversals count against the type they reverse,
    so 'drawn' is what left the stock for sessions net of mistakes."""
    start, _end = _day_bounds(lot.clinic, date_from, date_to)
    entries = list(entries_for_lot(lot, date_from, date_to))
    before = LedgerEntry.objects.filter(lot=lot).filter(_changes_balance_q())
    opening = _quantity_total(lot, before.filter(event_at__lt=start)) if start else Totals()
    result = Reconciliation(
        lot=lot, date_from=date_from, date_to=date_to, entries=entries, opening=opening,
        closing=Totals(opening.quantity, opening.mg),
    )  # fmt: skip
    for entry in entries:
        quantity, mg = entry.quantity, entry.mg
        kind = entry.entry_type
        if entry.is_late:
            result.late.append(entry)
        if kind == E.REVERSAL:
            result.reversals.append(entry)
            kind = entry.reverses.entry_type
        if kind == E.COUNT:
            result.last_count = entry
            if entry.discrepancy_mg:
                result.discrepancies.append(entry)
            continue
        bucket = _BUCKET[kind]
        sign = -1 if bucket in _OUTFLOW else 1
        getattr(result, bucket).add(sign * quantity, sign * mg)
        if entry.changes_balance:
            result.closing.add(quantity, mg)
    result.open_draws = open_draws(lot=lot)
    return result


def draw_open_mg(draw):
    """mg of a draw (read with `used_mg`, as `session_draws` reads it) not yet administered or
    wasted."""
    return -draw.mg - draw.used_mg


def draws_reconciled(draws):
    """`draw_is_reconciled` of the session's standing draws already read (`session_draws`)."""
    return not any(draw_open_mg(draw) > 0 for draw in draws)


def open_draws(*, lot=None, session=None):
    """Draws (not reversed) with drug still to be accounted for: drawn - administered -
    wasted > 0."""
    draws = LedgerEntry.objects.filter(entry_type=E.DRAW, reversed_by__isnull=True)
    if lot is not None:
        draws = draws.filter(lot=lot)
    if session is not None:
        draws = draws.filter(session=session)
    draws = draws.annotate(used_mg=Coalesce(Sum("uses__mg"), ZERO)).select_related(
        "lot", "patient", "session", "actor"
    )
    result = []
    for draw in draws.order_by("id"):
        open_mg = draw_open_mg(draw)
        if open_mg > 0:
            open_quantity = open_mg / draw.mg_per_quantity
            if draw.units is not None:
                open_quantity = int(open_quantity)
            else:
                open_quantity = open_quantity.quantize(Decimal("0.01"))
            result.append(OpenDraw(draw, open_quantity, open_mg))
    return result


def session_draws(session):
    """The session's draws that stand (not reversed), with what is still open on each."""
    return (
        LedgerEntry.objects.filter(session=session, entry_type=E.DRAW, reversed_by__isnull=True)
        .annotate(used_mg=Coalesce(Sum("uses__mg"), ZERO))
        .select_related("lot", "actor")
        .order_by("id")
    )


def session_draws_and_uses(session):
    """`session_draws(session)` (as a list, each with `used_mg`, `lot` and `actor`) and, in
    the same query, their standing administrations and wastes (not reversed; each with
    `actor` and `witness`), in ledger order: `(draws, uses)`."""
    standing_draw = Q(session=session, entry_type=E.DRAW, reversed_by__isnull=True)
    standing_use = Q(
        draw__session=session,
        draw__entry_type=E.DRAW,
        draw__reversed_by__isnull=True,
        entry_type__in=[E.ADMINISTER, E.WASTE],
        reversed_by__isnull=True,
    )
    entries = list(
        LedgerEntry.objects.filter(standing_draw | standing_use)
        .annotate(used_mg=Coalesce(Sum("uses__mg"), ZERO))
        .select_related("lot", "actor", "witness")
        .order_by("id")
    )
    draws = [entry for entry in entries if entry.entry_type == E.DRAW]
    uses = [entry for entry in entries if entry.entry_type != E.DRAW]
    return draws, uses


def session_drawn_total(session):
    """mg drawn for `session`, net of reversed draws (0 when nothing was drawn)."""
    total = (
        LedgerEntry.objects.filter(session=session)
        .filter(Q(entry_type=E.DRAW) | Q(entry_type=E.REVERSAL, reverses__entry_type=E.DRAW))
        .aggregate(total=Sum("mg"))["total"]
    )
    return -(total or ZERO)


def session_open_amount(session):
    """mg drawn for `session` not yet administered or wasted."""
    return sum((d.open_mg for d in open_draws(session=session)), ZERO)


def draw_is_reconciled(session):
    """True when, for every draw of the session, administered + wasted = drawn (every waste
    is witnessed: the database refuses one without a witness). Used by the discharge."""
    return not open_draws(session=session)


def usable_lots_for_session(session, on_date=None):
    """Lots a session can draw from: its clinic's, same drug, not expired, not quarantined,
    with a balance; soonest expiry first (first-expiry, first-out), open containers first."""
    on_date = on_date or timezone.localdate()
    return (
        Lot.objects.filter(
            clinic_id=session.course.patient.clinic_id,
            drug=session.plan.drug,
            expiry_date__gte=on_date,
            balance_mg__gt=0,
            status__in=[LotStatus.STOCK, LotStatus.OPEN],
        )
        .select_related("clinic")
        .order_by("expiry_date", "status", "id")
    )


def count_sheet_lots(clinic):
    """The rows of the printable inventory count sheet (expired stock included)."""
    return inventory_lots(clinic).select_related("clinic")
