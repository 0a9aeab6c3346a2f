"""Writes of the controlled-substance ledger (DOMAIN.md §9).

Every service runs in one transaction and locks the lot's row (`select_for_update`) before it
reads the balance, so concurrent draws from one lot serialize and none can take the balance
below zero. The database backs each rule it can (check constraints, append-only triggers and,
on PostgreSQL, a trigger that refuses administered + wasted above the draw).

Quantities are passed as `ml` for vial lots and `units` (whole devices) for device lots; the
service works out the mg and refuses a quantity whose mg is not exact to 2 dp.
"""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from clinic.accounts.roles import CLINICIAN_ROLES, STAFF_ROLES, StaffRole
from clinic.core.access import user_has_role
from clinic.core.audit import record_access
from clinic.core.models import AccessEvent
from clinic.ledger.models import (
    DRAW_USE_TYPES,
    ESKETAMINE_MG_PER_DEVICE,
    MAX_DEVICES_PER_SESSION,
    REVERSIBLE_TYPES,
    EntryType,
    Inventory,
    LedgerEntry,
    Lot,
    LotForm,
    LotStatus,
    LotStatusChange,
)
from clinic.pathway.models import FINISHED_SESSION_STATUSES, AdministrationSession, Drug

CLINICIAN = tuple(sorted(CLINICIAN_ROLES))
REGISTRANT = (StaffRole.PRESCRIBER, StaffRole.ADMIN)  # receive, adjust, dispose, return
STAFF = tuple(sorted(STAFF_ROLES))
CENT = Decimal("0.01")
E = EntryType


# --- helpers ----------------------------------------------------------------------------------


def _require_role(user, roles, clinic, what):
    if not user_has_role(user, roles, clinic=clinic):
        names = " or ".join(sorted(str(role) for role in roles))
        raise ValidationError(f"Only a {names} of this clinic can {what}.")


def _audit(user, entry_or_lot, detail, action=AccessEvent.Action.CREATE):
    is_entry = isinstance(entry_or_lot, LedgerEntry)
    lot = entry_or_lot.lot if is_entry else entry_or_lot
    record_access(
        user=user,
        action=action,
        object_type="ledger_entry" if is_entry else "lot",
        object_public_id=entry_or_lot.public_id,
        patient=entry_or_lot.patient if is_entry else None,
        clinic=lot.clinic,
        detail=detail,
    )


def _locked(lot):
    return Lot.objects.select_for_update().select_related("clinic").get(pk=lot.pk)


def _decimal(value, field, what="a quantity"):
    if isinstance(value, float):
        value = str(value)
    try:
        number = Decimal(str(value).strip()) if value is not None else None
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({field: f"Enter {what}."}) from exc
    if number is None or not number.is_finite():
        raise ValidationError({field: f"Enter {what}."})
    if number != number.quantize(CENT):
        raise ValidationError({field: "Use at most 2 decimal places."})
    return number.quantize(CENT)


def _quantity(lot, *, ml=None, units=None, allow_zero=False, signed=False):
    """(ml, units, mg) for a positive (or, with `signed`, non-zero) amount of `lot`."""
    if lot.is_device:
        if ml not in (None, ""):
            raise ValidationError({"units": "This lot counts whole devices, not mL."})
        try:
            number = Decimal(str(units).strip()) if units not in (None, "") else None
        except (InvalidOperation, ValueError):
            number = None
        if number is None or not number.is_finite() or number != number.to_integral_value():
            raise ValidationError({"units": "Enter a whole number of devices."})
        units = int(number)
        quantity, field = Decimal(units), "units"
        ml = None
    else:
        if units not in (None, ""):
            raise ValidationError({"ml": "This lot is measured in mL, not devices."})
        ml = _decimal(ml, "ml", "a volume in mL")
        quantity, field = ml, "ml"
        units = None
    if quantity == 0 and not allow_zero:
        raise ValidationError({field: "Enter an amount other than zero."})
    if quantity < 0 and not signed:
        raise ValidationError({field: "Enter a positive amount."})
    if abs(quantity) > Decimal("100000"):
        raise ValidationError({field: "That amount is not plausible."})
    mg = quantity * lot.mg_per_quantity
    if mg != mg.quantize(CENT):
        raise ValidationError(
            {field: f"{quantity} x {lot.mg_per_quantity} mg is not exact to 0.01 mg."}
        )
    return ml, units, mg.quantize(CENT)


def _unit_text(lot, quantity):
    if lot.is_device:
        return f"{quantity} device{'s' if abs(quantity) != 1 else ''}"
    return f"{quantity} mL"


def _event_time(event_at, field="event_at"):
    now = timezone.now()
    if event_at is None:
        return now, now
    if event_at > now:
        raise ValidationError({field: "The time cannot be in the future."})
    return event_at, now


def _set_status(lot, to_status, by, reason=""):
    if lot.status == to_status:
        return
    LotStatusChange.objects.create(
        lot=lot, from_status=lot.status, to_status=to_status, changed_by=by, reason=reason
    )
    lot.status = to_status


def _status_after(lot, entry_type):
    """The lot's status once its balance has changed through an `entry_type` row."""
    if lot.balance_mg == 0:
        if entry_type in (E.DISPOSE, E.RETURN) or lot.status == LotStatus.DISPOSED:
            return LotStatus.DISPOSED
        if lot.status == LotStatus.QUARANTINED:
            return LotStatus.QUARANTINED
        return LotStatus.EMPTY
    if lot.status in (LotStatus.QUARANTINED, LotStatus.DISPOSED):
        return lot.status
    if lot.status == LotStatus.EMPTY or entry_type == E.DRAW:
        return LotStatus.OPEN
    return lot.status


def _append(lot, *, entry_type, ml, units, mg, actor, changes_balance, event_at=None, **fields):
    """Writes one row on the locked `lot` and moves its cached balance."""
    event_at, recorded_at = _event_time(event_at)
    if changes_balance:
        balance_ml = lot.balance_ml + ml if ml is not None else None
        balance_units = lot.balance_units + units if units is not None else None
        balance_mg = lot.balance_mg + mg
        if balance_mg < 0 or (balance_ml or 0) < 0 or (balance_units or 0) < 0:
            field = lot.quantity_field
            raise ValidationError(
                {
                    field: f"Only {_unit_text(lot, lot.balance)} ({lot.balance_mg} mg) is left in "
                    "this lot."
                }
            )
    else:
        balance_ml, balance_units, balance_mg = lot.balance_ml, lot.balance_units, lot.balance_mg
    entry = LedgerEntry(
        lot=lot,
        entry_type=entry_type,
        event_at=event_at,
        recorded_at=recorded_at,
        ml=ml,
        units=units,
        mg=mg,
        mg_per_quantity=lot.mg_per_quantity,
        balance_ml_after=balance_ml,
        balance_units_after=balance_units,
        balance_mg_after=balance_mg,
        actor=actor,
        **fields,
    )
    # Field checks only: the foreign keys were fetched above and the constraints are the
    # database's to enforce (each would cost a query here).
    entry.full_clean(exclude=_FK_FIELDS, validate_unique=False, validate_constraints=False)
    entry.save()
    if changes_balance:
        lot.balance_ml, lot.balance_units, lot.balance_mg = balance_ml, balance_units, balance_mg
        _set_status(lot, _status_after(lot, entry_type), actor, f"{entry_type} entry")
        lot.save(
            update_fields=["balance_ml", "balance_units", "balance_mg", "status", "updated_at"]
        )
    return entry


_FK_FIELDS = ["lot", "actor", "witness", "patient", "session", "draw", "reverses", "inventory"]


def _check_witness(*, clinic, actor, witness, witness_password, roles, what):
    """A different, active staff member holding `roles` here who re-enters their password.

    A wrong password is audited as a denied attempt (outside the caller's transaction when
    there is none, so the record survives the refusal)."""
    if witness is None:
        raise ValidationError({"witness": f"A witness is required to {what}."})
    if witness.pk == actor.pk:
        raise ValidationError({"witness": "The witness must be someone other than you."})
    if not user_has_role(witness, roles, clinic=clinic):
        kind = "clinician" if set(roles) <= set(CLINICIAN_ROLES) else "staff member"
        raise ValidationError({"witness": f"The witness must be an active {kind} of this clinic."})
    if not witness_password or not witness.check_password(witness_password):
        record_access(
            user=actor,
            action=AccessEvent.Action.SIGN,
            object_type="ledger_witness",
            clinic=clinic,
            outcome=AccessEvent.Outcome.DENIED,
            detail=f"witness {witness.pk}: password refused ({what})",
        )
        raise ValidationError({"witness_password": "The witness's password is not correct."})


def _draw_used_mg(draw):
    return LedgerEntry.objects.filter(draw=draw).aggregate(total=Sum("mg"))["total"] or Decimal(0)


def _draw_open(draw):
    """(mg, quantity) of a draw not yet administered or wasted."""
    open_mg = -draw.mg - _draw_used_mg(draw)
    return open_mg, (open_mg / draw.mg_per_quantity).quantize(CENT)


# --- receiving and stock movements --------------------------------------------------------------


def _dea_number_valid(number):
    """DEA registration number: two letters, seven digits, the last a check digit."""
    if len(number) != 9 or not number[:2].isalpha() or not number[2:].isdigit():
        return False
    d = [int(c) for c in number[2:]]
    return (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10 == d[6]


@transaction.atomic
def lot_receive(
    *,
    clinic,
    actor,
    drug,
    product_name,
    ndc,
    lot_number,
    expiry_date,
    container_count,
    supplier_name,
    supplier_address,
    supplier_dea_number,
    invoice_number,
    concentration_mg_per_ml=None,
    container_ml=None,
    mg_per_unit=None,
    received_on=None,
    event_at=None,
):
    """Receives `container_count` vials (ketamine) or devices (esketamine) as a new lot and
    writes its RECEIVE row."""
    _require_role(actor, REGISTRANT, clinic, "receive controlled substances")
    event_at, _ = _event_time(event_at)
    received_on = received_on or timezone.localdate(event_at)
    errors = {}
    if drug not in Drug.values:
        errors["drug"] = "Choose ketamine or esketamine."
    dea = (supplier_dea_number or "").strip().upper()
    if not _dea_number_valid(dea):
        errors["supplier_dea_number"] = "Enter the supplier's DEA number (2 letters, 7 digits)."
    if expiry_date < received_on:
        errors["expiry_date"] = "This stock had already expired when it was received."
    if received_on > timezone.localdate():
        errors["received_on"] = "The receipt date cannot be in the future."
    if not isinstance(container_count, int) or not 1 <= container_count <= 1000:
        errors["container_count"] = "Enter 1 to 1,000 containers."
    for field, value in (
        ("product_name", product_name),
        ("ndc", ndc),
        ("lot_number", lot_number),
        ("supplier_name", supplier_name),
        ("supplier_address", supplier_address),
        ("invoice_number", invoice_number),
    ):
        if not (value or "").strip():
            errors[field] = "This field is required."
    if errors:
        raise ValidationError(errors)
    lot = Lot(
        clinic=clinic,
        drug=drug,
        product_name=product_name.strip(),
        ndc=ndc.strip(),
        lot_number=lot_number.strip(),
        expiry_date=expiry_date,
        received_on=received_on,
        received_by=actor,
        container_count=container_count,
        supplier_name=supplier_name.strip(),
        supplier_address=supplier_address.strip(),
        supplier_dea_number=dea,
        invoice_number=invoice_number.strip(),
        status=LotStatus.STOCK,
    )
    if drug == Drug.ESKETAMINE:
        lot.form = LotForm.NASAL_DEVICE
        lot.mg_per_unit = _decimal(mg_per_unit or ESKETAMINE_MG_PER_DEVICE, "mg_per_unit")
        if lot.mg_per_unit != ESKETAMINE_MG_PER_DEVICE:
            raise ValidationError({"mg_per_unit": "Esketamine devices hold 28 mg each."})
        lot.received_units, lot.balance_units = container_count, 0
    else:
        lot.form = LotForm.VIAL
        lot.concentration_mg_per_ml = _decimal(
            concentration_mg_per_ml, "concentration_mg_per_ml", "the concentration in mg/mL"
        )
        lot.container_ml = _decimal(container_ml, "container_ml", "the vial volume in mL")
        if not Decimal("0.01") <= lot.concentration_mg_per_ml <= Decimal("500"):
            raise ValidationError({"concentration_mg_per_ml": "Enter 0.01 to 500 mg/mL."})
        if not Decimal("0.1") <= lot.container_ml <= Decimal("100"):
            raise ValidationError({"container_ml": "Enter 0.1 to 100 mL per vial."})
        lot.received_ml, lot.balance_ml = lot.container_ml * container_count, Decimal("0.00")
    lot.received_mg = (lot.quantity_received * lot.mg_per_quantity).quantize(CENT)
    if lot.received_mg != lot.quantity_received * lot.mg_per_quantity:
        raise ValidationError({"concentration_mg_per_ml": "The total mg is not exact to 0.01."})
    lot.balance_mg = Decimal("0.00")
    lot.full_clean()
    lot.save()
    LotStatusChange.objects.create(
        lot=lot, from_status="", to_status=LotStatus.STOCK, changed_by=actor, reason="Received"
    )
    entry = _append(
        lot,
        entry_type=E.RECEIVE,
        ml=lot.received_ml,
        units=lot.received_units,
        mg=lot.received_mg,
        actor=actor,
        changes_balance=True,
        event_at=event_at,
        reason=f"Invoice {lot.invoice_number} from {lot.supplier_name}",
    )
    _audit(actor, lot, f"received lot {lot.lot_number}")
    _audit(actor, entry, f"receive {_unit_text(lot, lot.quantity_received)}")
    return lot


def _stock_out(lot, *, entry_type, ml, units, actor, roles, what, reason, event_at, **fields):
    lot = _locked(lot)
    _require_role(actor, roles, lot.clinic, what)
    ml, units, mg = _quantity(lot, ml=ml, units=units)
    entry = _append(
        lot,
        entry_type=entry_type,
        ml=-ml if ml is not None else None,
        units=-units if units is not None else None,
        mg=-mg,
        actor=actor,
        changes_balance=True,
        event_at=event_at,
        reason=(reason or "").strip(),
        **fields,
    )
    _audit(actor, entry, f"{entry_type} {_unit_text(lot, ml if units is None else units)}")
    return entry


def _require_reason(reason, what):
    if not (reason or "").strip():
        raise ValidationError({"reason": f"Say why ({what})."})


@transaction.atomic
def dispose(*, lot, actor, ml=None, units=None, reason, event_at=None):
    """Expired or damaged stock handed to a reverse distributor (DEA Form 41)."""
    _require_reason(reason, "e.g. expired, reverse distributor and form number")
    return _stock_out(
        lot, entry_type=E.DISPOSE, ml=ml, units=units, actor=actor, roles=REGISTRANT,
        what="dispose of stock", reason=reason, event_at=event_at,
    )  # fmt: skip


@transaction.atomic
def return_to_supplier(*, lot, actor, ml=None, units=None, reason="", event_at=None):
    return _stock_out(
        lot, entry_type=E.RETURN, ml=ml, units=units, actor=actor, roles=REGISTRANT,
        what="return stock to the supplier", reason=reason, event_at=event_at,
    )  # fmt: skip


@transaction.atomic
def record_loss(*, lot, actor, ml=None, units=None, reason, event_at=None):
    """A loss (spill, breakage, theft). A significant loss or theft needs DEA Form 106."""
    _require_reason(reason, "what happened")
    return _stock_out(
        lot, entry_type=E.LOSS, ml=ml, units=units, actor=actor, roles=STAFF,
        what="record a loss", reason=reason, event_at=event_at,
    )  # fmt: skip


@transaction.atomic
def adjust(*, lot, actor, reason, ml=None, units=None, event_at=None):
    """A signed correction with the registrant's sign-off (a prescriber or clinic admin)."""
    lot = _locked(lot)
    _require_role(actor, REGISTRANT, lot.clinic, "adjust the ledger")
    _require_reason(reason, "the adjustment")
    ml, units, mg = _quantity(lot, ml=ml, units=units, signed=True)
    entry = _append(
        lot, entry_type=E.ADJUSTMENT, ml=ml, units=units, mg=mg, actor=actor,
        changes_balance=True, event_at=event_at, reason=reason.strip(),
    )  # fmt: skip
    _audit(actor, entry, f"adjustment {_unit_text(lot, entry.quantity)}")
    return entry


@transaction.atomic
def lot_quarantine(*, lot, actor, reason, release=False):
    """Takes a lot out of use (suspected tampering, recall) or puts it back."""
    lot = _locked(lot)
    _require_role(actor, REGISTRANT, lot.clinic, "quarantine stock")
    _require_reason(reason, "the quarantine")
    if release:
        if lot.status != LotStatus.QUARANTINED:
            raise ValidationError("This lot is not quarantined.")
        drew = lot.entries.filter(entry_type=E.DRAW).exists()
        target = LotStatus.EMPTY if lot.balance_mg == 0 else (
            LotStatus.OPEN if drew else LotStatus.STOCK
        )  # fmt: skip
    else:
        if lot.status in (LotStatus.QUARANTINED, LotStatus.DISPOSED):
            raise ValidationError(f"This lot is already {lot.get_status_display().lower()}.")
        target = LotStatus.QUARANTINED
    _set_status(lot, target, actor, reason.strip())
    lot.save(update_fields=["status", "updated_at"])
    _audit(actor, lot, f"status {target}", AccessEvent.Action.UPDATE)
    return lot


# --- sessions: draw, administer, waste -----------------------------------------------------------


def _session_clinic_id(session):
    return session.course.patient.clinic_id


def session_net_draws(session, lot=None):
    """The session's draws that are not reversed."""
    draws = LedgerEntry.objects.filter(session=session, entry_type=E.DRAW, reversed_by__isnull=True)
    return draws.filter(lot=lot) if lot is not None else draws


@transaction.atomic
def draw_for_session(*, lot, session, actor, ml=None, units=None, event_at=None):
    """Takes `ml` (vials) or `units` (devices) out of `lot` for an administration session."""
    lot = _locked(lot)
    session = AdministrationSession.objects.select_related("course__patient", "plan").get(
        pk=session.pk
    )
    _require_role(actor, CLINICIAN, lot.clinic, "draw controlled substances")
    if _session_clinic_id(session) != lot.clinic_id:
        raise ValidationError({"lot": "This lot belongs to another clinic."})
    if session.plan.drug != lot.drug:
        raise ValidationError({"lot": f"This session gives {session.plan.get_drug_display()}."})
    if session.status in FINISHED_SESSION_STATUSES:
        raise ValidationError(f"This session is {session.get_status_display().lower()}.")
    event_at_checked, _ = _event_time(event_at)
    event_day = timezone.localdate(event_at_checked)
    if lot.status in (LotStatus.QUARANTINED, LotStatus.DISPOSED, LotStatus.EMPTY):
        raise ValidationError({"lot": f"This lot is {lot.get_status_display().lower()}."})
    if lot.is_expired(event_day):
        raise ValidationError({"lot": f"This lot expired on {lot.expiry_date:%d %b %Y}."})
    ml, units, mg = _quantity(lot, ml=ml, units=units)
    if lot.is_device:
        already = (session_net_draws(session).aggregate(total=Sum("units"))["total"] or 0) * -1
        if already + units > MAX_DEVICES_PER_SESSION:
            raise ValidationError(
                {
                    "units": f"A session uses 1 to {MAX_DEVICES_PER_SESSION} devices; "
                    f"{already} already drawn."
                }
            )
    patient = session.course.patient
    entry = _append(
        lot,
        entry_type=E.DRAW,
        ml=-ml if ml is not None else None,
        units=-units if units is not None else None,
        mg=-mg,
        actor=actor,
        changes_balance=True,
        event_at=event_at_checked,
        session=session,
        patient=patient,
    )
    _audit(actor, entry, f"draw {_unit_text(lot, ml if units is None else units)}")
    return entry


def _use_draw(draw, *, entry_type, ml, units, actor, event_at, **fields):
    draw = LedgerEntry.objects.select_related("lot").get(pk=draw.pk)
    lot = _locked(draw.lot)
    if draw.entry_type != E.DRAW:
        raise ValidationError("Choose a draw.")
    _require_role(actor, CLINICIAN, lot.clinic, f"record {entry_type}")
    if LedgerEntry.objects.filter(reverses=draw).exists():
        raise ValidationError("This draw was reversed.")
    ml, units, mg = _quantity(lot, ml=ml, units=units)
    open_mg, open_quantity = _draw_open(draw)
    if mg > open_mg:
        raise ValidationError(
            {
                lot.quantity_field: f"Only {_unit_text(lot, open_quantity)} of this draw is "
                "left to account for: administered + wasted cannot exceed the draw."
            }
        )
    entry = _append(
        lot, entry_type=entry_type, ml=ml, units=units, mg=mg, actor=actor,
        changes_balance=False, event_at=event_at, draw=draw, session_id=draw.session_id,
        patient_id=draw.patient_id, **fields,
    )  # fmt: skip
    _audit(actor, entry, f"{entry_type} {_unit_text(lot, entry.quantity)}")
    return entry


@transaction.atomic
def administer(*, draw, actor, ml=None, units=None, event_at=None):
    """Records how much of a draw was given to the patient."""
    return _use_draw(draw, entry_type=E.ADMINISTER, ml=ml, units=units, actor=actor,
                     event_at=event_at)  # fmt: skip


def waste(*, draw, actor, witness, witness_password, ml=None, units=None, reason="",
          event_at=None):  # fmt: skip
    """Records drug drawn but not given, witnessed by another clinician of the clinic who
    re-enters their password. Esketamine devices are wasted whole (there is no partial
    device)."""
    lot = Lot.objects.select_related("clinic").get(pk=draw.lot_id)
    _check_witness(
        clinic=lot.clinic, actor=actor, witness=witness, witness_password=witness_password,
        roles=CLINICIAN, what="witness a waste",
    )  # fmt: skip
    with transaction.atomic():
        return _use_draw(
            draw, entry_type=E.WASTE, ml=ml, units=units, actor=actor, event_at=event_at,
            witness=witness, reason=(reason or "").strip(),
        )  # fmt: skip


# --- corrections and counts -------------------------------------------------------------------


@transaction.atomic
def reverse(*, entry, actor, reason):
    """Writes the exact negation of `entry` (once). A draw is reversed only after what was
    administered and wasted from it has been reversed."""
    entry = LedgerEntry.objects.select_related("lot").get(pk=entry.pk)
    lot = _locked(entry.lot)
    session_row = entry.entry_type in (E.DRAW, *DRAW_USE_TYPES)
    _require_role(actor, CLINICIAN if session_row else REGISTRANT, lot.clinic, "reverse this entry")
    _require_reason(reason, "what was wrong")
    if entry.entry_type not in REVERSIBLE_TYPES:
        raise ValidationError(f"A {entry.get_entry_type_display().lower()} cannot be reversed.")
    if LedgerEntry.objects.filter(reverses=entry).exists():
        raise ValidationError("This entry has already been reversed.")
    if entry.entry_type == E.DRAW and _draw_used_mg(entry) != 0:
        raise ValidationError("Reverse what was administered and wasted from this draw first.")
    if (
        entry.entry_type in DRAW_USE_TYPES
        and LedgerEntry.objects.filter(reverses_id=entry.draw_id).exists()
    ):
        raise ValidationError("Its draw was reversed.")
    reversal = _append(
        lot,
        entry_type=E.REVERSAL,
        ml=-entry.ml if entry.ml is not None else None,
        units=-entry.units if entry.units is not None else None,
        mg=-entry.mg,
        actor=actor,
        changes_balance=entry.entry_type not in DRAW_USE_TYPES,
        reverses=entry,
        draw_id=entry.draw_id,
        session_id=entry.session_id,
        patient_id=entry.patient_id,
        reason=reason.strip(),
    )
    _audit(actor, reversal, f"reversal of {entry.entry_type} {entry.public_id}")
    return reversal


def _count_entry(lot, *, counted_ml, counted_units, actor, witness, event_at, reason, inventory):
    ml, units, mg = _quantity(lot, ml=counted_ml, units=counted_units, allow_zero=True)
    fields = {
        "discrepancy_mg": mg - lot.balance_mg,
        "discrepancy_ml": ml - lot.balance_ml if ml is not None else None,
        "discrepancy_units": units - lot.balance_units if units is not None else None,
    }
    entry = _append(
        lot, entry_type=E.COUNT, ml=ml, units=units, mg=mg, actor=actor, changes_balance=False,
        event_at=event_at, witness=witness, reason=(reason or "").strip(), inventory=inventory,
        **fields,
    )  # fmt: skip
    _audit(actor, entry, f"count {_unit_text(lot, entry.quantity)}; off by {entry.discrepancy}")
    return entry


def count(*, lot, actor, witness, witness_password, counted_ml=None, counted_units=None,
          event_at=None, reason=""):  # fmt: skip
    """Records a witnessed count of one lot; a difference from the balance is stored as the
    discrepancy (it changes nothing: an adjustment or a loss report follows the
    investigation)."""
    clinic = lot.clinic
    _require_role(actor, STAFF, clinic, "count stock")
    _check_witness(
        clinic=clinic, actor=actor, witness=witness, witness_password=witness_password,
        roles=STAFF, what="witness a count",
    )  # fmt: skip
    with transaction.atomic():
        return _count_entry(
            _locked(lot), counted_ml=counted_ml, counted_units=counted_units, actor=actor,
            witness=witness, event_at=event_at, reason=reason, inventory=None,
        )  # fmt: skip


def inventory_lots(clinic):
    """The lots an inventory of `clinic` must count: everything on hand, expired included,
    and anything not yet closed."""
    from django.db.models import Q

    return (
        Lot.objects.filter(clinic=clinic)
        .filter(Q(balance_mg__gt=0) | ~Q(status__in=[LotStatus.EMPTY, LotStatus.DISPOSED]))
        .order_by("drug", "product_name", "expiry_date", "lot_number", "id")
    )


def inventory_record(*, clinic, actor, witness, witness_password, kind, business_time, counts,
                     taken_at=None, notes=""):  # fmt: skip
    """An initial or biennial inventory: one witnessed COUNT row per lot on hand.

    `counts` maps each lot of `inventory_lots(clinic)` to its counted quantity (mL or
    devices); every one of them must be counted."""
    _require_role(actor, REGISTRANT, clinic, "take the inventory")
    _check_witness(
        clinic=clinic, actor=actor, witness=witness, witness_password=witness_password,
        roles=STAFF, what="witness the inventory",
    )  # fmt: skip
    if kind not in Inventory.Kind.values or business_time not in Inventory.BusinessTime.values:
        raise ValidationError("Choose the kind of inventory and opening or close of business.")
    with transaction.atomic():
        expected = list(inventory_lots(clinic).select_for_update())
        by_pk = {lot.pk: value for lot, value in counts.items()}
        missing = [lot for lot in expected if lot.pk not in by_pk]
        if missing:
            raise ValidationError(
                "Count every lot on hand: " + ", ".join(lot.lot_number for lot in missing)
            )
        taken_at, _ = _event_time(taken_at, "taken_at")
        inventory = Inventory.objects.create(
            clinic=clinic, kind=kind, business_time=business_time, taken_at=taken_at,
            counted_by=actor, witness=witness, notes=(notes or "").strip(),
        )  # fmt: skip
        for lot in expected:
            value = by_pk[lot.pk]
            _count_entry(
                lot,
                counted_ml=None if lot.is_device else value,
                counted_units=value if lot.is_device else None,
                actor=actor, witness=witness, event_at=taken_at,
                reason=f"{inventory.get_kind_display()} inventory", inventory=inventory,
            )  # fmt: skip
        record_access(
            user=actor,
            action=AccessEvent.Action.CREATE,
            object_type="inventory",
            object_public_id=inventory.public_id,
            clinic=clinic,
            detail=f"{kind} inventory of {len(expected)} lots",
        )
        return inventory
