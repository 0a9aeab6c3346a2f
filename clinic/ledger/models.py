"""The controlled-substance ledger (DOMAIN.md §9).

A `Lot` is one receipt of one product lot number: `container_count` vials of `container_ml`
each, or `container_count` esketamine nasal-spray devices. Every movement is a `LedgerEntry`;
entries are never changed or deleted (database triggers refuse it), and a mistake is
corrected by a REVERSAL row and a new row.

Quantities. A vial lot counts in mL (`ml`, 2 dp) and a device lot in whole devices (`units`);
exactly one of the two is set on every entry and balance, and `mg` (2 dp) always is, equal to
the quantity x `mg_per_quantity` (the lot's mg/mL, or mg per device: 28), which each entry
copies so that the database can check the product itself.

Signs. RECEIVE is positive; DRAW, RETURN, DISPOSE and LOSS are negative; ADJUSTMENT is
either; a REVERSAL is the exact negation of the row it reverses. These change the balance.
ADMINISTER and WASTE are positive amounts that split a DRAW (the drug has already left the
stock), so the balance after them is unchanged; a COUNT records the counted quantity and its
discrepancy from the balance, and changes nothing. The cached balance on the lot always equals
the last entry's balance after.
"""

import datetime
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.utils import timezone

from clinic.core.history import track_changes
from clinic.core.models import PublicModel
from clinic.pathway.models import Drug

# DOMAIN.md §9: rows entered more than 24 h after the event are flagged (default; confirm).
LATE_AFTER = datetime.timedelta(hours=24)
# Expiry warnings on the lot list.
EXPIRY_WARNING_DAYS = 60
ESKETAMINE_MG_PER_DEVICE = Decimal("28")
MAX_DEVICES_PER_SESSION = 3
# SQLite stores decimals as floats; half a cent of tolerance keeps the mg = quantity x
# concentration check exact to 2 dp on both databases (the service checks it exactly).
_HALF_CENT = Value(Decimal("0.005"))


class LotForm(models.TextChoices):
    VIAL = "vial", "Vial"
    NASAL_DEVICE = "nasal_device", "Nasal spray device"


class LotStatus(models.TextChoices):
    STOCK = "stock", "In stock"
    OPEN = "open", "Open"
    EMPTY = "empty", "Empty"
    QUARANTINED = "quarantined", "Quarantined"
    DISPOSED = "disposed", "Disposed / returned"


class EntryType(models.TextChoices):
    RECEIVE = "receive", "Receive"
    DRAW = "draw", "Draw"
    ADMINISTER = "administer", "Administer"
    WASTE = "waste", "Waste"
    RETURN = "return", "Return to supplier"
    DISPOSE = "dispose", "Dispose"
    LOSS = "loss", "Loss"
    ADJUSTMENT = "adjustment", "Adjustment"
    REVERSAL = "reversal", "Reversal"
    COUNT = "count", "Count"


E = EntryType
POSITIVE_TYPES = (E.RECEIVE, E.ADMINISTER, E.WASTE)
NEGATIVE_TYPES = (E.DRAW, E.RETURN, E.DISPOSE, E.LOSS)
SIGNED_TYPES = (E.ADJUSTMENT, E.REVERSAL)
# Rows that split a DRAW; a reversal of one of them carries the same `draw`.
DRAW_USE_TYPES = (E.ADMINISTER, E.WASTE)
REVERSIBLE_TYPES = (E.RECEIVE, E.DRAW, E.ADMINISTER, E.WASTE, E.RETURN, E.DISPOSE, E.LOSS,
                    E.ADJUSTMENT)  # fmt: skip
REASON_REQUIRED_TYPES = (E.ADJUSTMENT, E.REVERSAL, E.LOSS, E.DISPOSE)
WITNESS_REQUIRED_TYPES = (E.WASTE, E.COUNT)


@track_changes
class Lot(PublicModel):
    """One receipt of a product lot, with its cached balance (see the module docstring)."""

    clinic = models.ForeignKey("patients.Clinic", on_delete=models.PROTECT, related_name="lots")
    drug = models.CharField(max_length=16, choices=Drug.choices)
    product_name = models.CharField(max_length=120)
    ndc = models.CharField("NDC", max_length=20)
    form = models.CharField(max_length=16, choices=LotForm.choices)
    concentration_mg_per_ml = models.DecimalField(
        "concentration (mg/mL)", max_digits=7, decimal_places=2, null=True, blank=True
    )
    mg_per_unit = models.DecimalField(
        "mg per device", max_digits=7, decimal_places=2, null=True, blank=True
    )
    container_count = models.PositiveIntegerField("containers received")
    container_ml = models.DecimalField(
        "mL per vial", max_digits=7, decimal_places=2, null=True, blank=True
    )
    lot_number = models.CharField(max_length=40)
    expiry_date = models.DateField()
    received_on = models.DateField()
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    supplier_name = models.CharField(max_length=120)
    supplier_address = models.TextField()
    supplier_dea_number = models.CharField("supplier DEA number", max_length=9)
    invoice_number = models.CharField(max_length=60)
    status = models.CharField(max_length=16, choices=LotStatus.choices, default=LotStatus.STOCK)
    received_ml = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    received_units = models.PositiveIntegerField(null=True, blank=True)
    received_mg = models.DecimalField(max_digits=11, decimal_places=2)
    balance_ml = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    balance_units = models.IntegerField(null=True, blank=True)
    balance_mg = models.DecimalField(max_digits=11, decimal_places=2)

    class Meta:
        ordering = ["expiry_date", "lot_number", "id"]
        indexes = [models.Index(fields=["clinic", "drug", "status"])]
        constraints = [
            models.CheckConstraint(condition=Q(drug__in=Drug.values), name="ledger_lot_drug_valid"),
            models.CheckConstraint(
                condition=Q(status__in=LotStatus.values), name="ledger_lot_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(
                    drug=Drug.KETAMINE,
                    form=LotForm.VIAL,
                    concentration_mg_per_ml__gt=0,
                    container_ml__gt=0,
                    mg_per_unit__isnull=True,
                    received_ml__gt=0,
                    received_units__isnull=True,
                    balance_ml__isnull=False,
                    balance_units__isnull=True,
                )
                | Q(
                    drug=Drug.ESKETAMINE,
                    form=LotForm.NASAL_DEVICE,
                    mg_per_unit__gt=0,
                    concentration_mg_per_ml__isnull=True,
                    container_ml__isnull=True,
                    received_units__gt=0,
                    received_ml__isnull=True,
                    balance_units__isnull=False,
                    balance_ml__isnull=True,
                ),
                name="ledger_lot_form_quantities",
            ),
            models.CheckConstraint(
                condition=Q(balance_ml__isnull=True) | Q(balance_ml__gte=0),
                name="ledger_lot_balance_ml_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(balance_units__isnull=True) | Q(balance_units__gte=0),
                name="ledger_lot_balance_units_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(balance_mg__gte=0), name="ledger_lot_balance_mg_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(container_count__gte=1), name="ledger_lot_container_count_positive"
            ),
        ]

    def __str__(self):
        return f"{self.product_name} lot {self.lot_number}"

    @property
    def is_device(self):
        return self.form == LotForm.NASAL_DEVICE

    @property
    def unit(self):
        return "device" if self.is_device else "mL"

    @property
    def quantity_field(self):
        return "units" if self.is_device else "ml"

    @property
    def mg_per_quantity(self):
        return self.mg_per_unit if self.is_device else self.concentration_mg_per_ml

    @property
    def balance(self):
        return self.balance_units if self.is_device else self.balance_ml

    @property
    def quantity_received(self):
        return self.received_units if self.is_device else self.received_ml

    @property
    def strength(self):
        if self.is_device:
            return f"{self.mg_per_unit.normalize():f} mg per device"
        return f"{self.concentration_mg_per_ml.normalize():f} mg/mL"

    @property
    def container_description(self):
        if self.is_device:
            return "1 device"
        return f"{self.container_ml.normalize():f} mL vial"

    def is_expired(self, on_date=None):
        return self.expiry_date < (on_date or timezone.localdate())

    def expires_soon(self, on_date=None):
        on_date = on_date or timezone.localdate()
        return not self.is_expired(on_date) and (self.expiry_date - on_date).days <= (
            EXPIRY_WARNING_DAYS
        )


class LotStatusChange(models.Model):
    """Who quarantined, released, emptied or disposed of a lot, and why (append-only)."""

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=16, choices=LotStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=LotStatus.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self):
        return f"{self.lot}: {self.from_status} → {self.to_status}"


@track_changes
class Inventory(PublicModel):
    """An initial or biennial inventory: its COUNT rows link here (append-only)."""

    class Kind(models.TextChoices):
        INITIAL = "initial", "Initial"
        BIENNIAL = "biennial", "Biennial"
        OTHER = "other", "Other (e.g. change of registrant)"

    class BusinessTime(models.TextChoices):
        OPENING = "opening", "Opening of business"
        CLOSING = "closing", "Close of business"

    clinic = models.ForeignKey(
        "patients.Clinic", on_delete=models.PROTECT, related_name="inventories"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    business_time = models.CharField(max_length=8, choices=BusinessTime.choices)
    taken_at = models.DateTimeField()
    counted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-taken_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(witness=F("counted_by")), name="ledger_inventory_witness_not_counter"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} inventory {self.taken_at:%Y-%m-%d}"


def _mg_matches(quantity_field):
    product = models.ExpressionWrapper(
        F(quantity_field) * F("mg_per_quantity"),
        output_field=models.DecimalField(max_digits=20, decimal_places=4),
    )
    return Q(**{f"{quantity_field}__isnull": True}) | Q(
        mg__gte=product - _HALF_CENT, mg__lte=product + _HALF_CENT
    )


class LedgerEntry(models.Model):
    """One row of the ledger (see the module docstring for units and signs)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="entries")
    entry_type = models.CharField(max_length=16, choices=EntryType.choices)
    event_at = models.DateTimeField(help_text="When it happened.")
    recorded_at = models.DateTimeField(default=timezone.now, help_text="When it was entered.")
    ml = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    units = models.IntegerField(null=True, blank=True)
    mg = models.DecimalField(max_digits=11, decimal_places=2)
    mg_per_quantity = models.DecimalField(max_digits=7, decimal_places=2)
    balance_ml_after = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    balance_units_after = models.IntegerField(null=True, blank=True)
    balance_mg_after = models.DecimalField(max_digits=11, decimal_places=2)
    # COUNT rows: counted - expected (the balance), in the lot's unit and in mg.
    discrepancy_ml = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    discrepancy_units = models.IntegerField(null=True, blank=True)
    discrepancy_mg = models.DecimalField(max_digits=11, decimal_places=2, null=True, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entries",
    )
    session = models.ForeignKey(
        "pathway.AdministrationSession",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entries",
    )
    draw = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="uses"
    )
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    inventory = models.ForeignKey(
        Inventory, on_delete=models.PROTECT, null=True, blank=True, related_name="counts"
    )
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["lot", "event_at"]),
            models.Index(fields=["session", "entry_type"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(entry_type__in=EntryType.values), name="ledger_entry_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(ml__isnull=False, units__isnull=True)
                | Q(ml__isnull=True, units__isnull=False),
                name="ledger_entry_ml_or_units",
            ),
            models.CheckConstraint(
                condition=(
                    Q(ml__isnull=True)
                    | Q(balance_ml_after__isnull=False, balance_units_after__isnull=True)
                )
                & (
                    Q(units__isnull=True)
                    | Q(balance_units_after__isnull=False, balance_ml_after__isnull=True)
                ),
                name="ledger_entry_balance_unit",
            ),
            models.CheckConstraint(
                condition=Q(balance_ml_after__isnull=True) | Q(balance_ml_after__gte=0),
                name="ledger_entry_balance_ml_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(balance_units_after__isnull=True) | Q(balance_units_after__gte=0),
                name="ledger_entry_balance_units_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(balance_mg_after__gte=0),
                name="ledger_entry_balance_mg_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(mg_per_quantity__gt=0), name="ledger_entry_mg_per_quantity_positive"
            ),
            models.CheckConstraint(condition=_mg_matches("ml"), name="ledger_entry_mg_ml"),
            models.CheckConstraint(condition=_mg_matches("units"), name="ledger_entry_mg_units"),
            models.CheckConstraint(
                condition=Q(entry_type__in=POSITIVE_TYPES, mg__gt=0)
                | Q(entry_type__in=NEGATIVE_TYPES, mg__lt=0)
                | Q(entry_type=E.COUNT, mg__gte=0)
                | (Q(entry_type__in=SIGNED_TYPES) & ~Q(mg=0)),
                name="ledger_entry_sign_by_type",
            ),
            models.CheckConstraint(
                condition=Q(event_at__lte=F("recorded_at")),
                name="ledger_entry_event_not_after_recorded",
            ),
            models.CheckConstraint(
                condition=~Q(entry_type__in=WITNESS_REQUIRED_TYPES) | Q(witness__isnull=False),
                name="ledger_entry_waste_witnessed",
            ),
            models.CheckConstraint(
                condition=Q(witness__isnull=True) | ~Q(witness=F("actor")),
                name="ledger_entry_witness_not_actor",
            ),
            models.CheckConstraint(
                condition=(Q(entry_type=E.REVERSAL) & Q(reverses__isnull=False))
                | (~Q(entry_type=E.REVERSAL) & Q(reverses__isnull=True)),
                name="ledger_entry_reversal_reverses",
            ),
            models.CheckConstraint(
                condition=~Q(entry_type__in=REASON_REQUIRED_TYPES) | ~Q(reason=""),
                name="ledger_entry_reason_required",
            ),
            models.CheckConstraint(
                condition=(~Q(entry_type__in=DRAW_USE_TYPES) | Q(draw__isnull=False))
                & (Q(draw__isnull=True) | Q(entry_type__in=(*DRAW_USE_TYPES, E.REVERSAL))),
                name="ledger_entry_draw_link",
            ),
            models.CheckConstraint(
                condition=~Q(entry_type=E.DRAW) | Q(session__isnull=False),
                name="ledger_entry_draw_has_session",
            ),
            models.CheckConstraint(
                condition=Q(entry_type=E.COUNT) | Q(discrepancy_mg__isnull=True),
                name="ledger_entry_discrepancy_only_on_count",
            ),
        ]

    def __str__(self):
        return f"{self.get_entry_type_display()} {self.quantity} {self.lot.unit} ({self.lot})"

    @property
    def quantity(self):
        return self.units if self.units is not None else self.ml

    @property
    def balance_after(self):
        return self.balance_units_after if self.units is not None else self.balance_ml_after

    @property
    def discrepancy(self):
        return self.discrepancy_units if self.units is not None else self.discrepancy_ml

    @property
    def is_late(self):
        return self.recorded_at - self.event_at > LATE_AFTER

    @property
    def changes_balance(self):
        if self.entry_type == E.REVERSAL:
            return self.draw_id is None
        return self.entry_type in (*POSITIVE_TYPES, *NEGATIVE_TYPES, *SIGNED_TYPES) and (
            self.entry_type not in DRAW_USE_TYPES
        )
