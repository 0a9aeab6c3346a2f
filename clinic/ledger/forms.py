"""Forms of the ledger. They parse input and show errors; the services hold the rules.

`DrawForm`, `AdministerForm` and `WasteForm` are meant to be embedded in the session runner:
build them with the session (or the draw) and the signed-in user, and pass
`form.service_kwargs()` to `services.draw_for_session` / `administer` / `waste`.
"""

from decimal import Decimal

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Fieldset, Layout, Row, Submit
from django import forms
from django.forms.models import ModelChoiceIterator
from django.utils import timezone

from clinic.accounts.models import User
from clinic.accounts.roles import CLINICIAN_ROLES, STAFF_ROLES, StaffRole
from clinic.ledger.models import Inventory
from clinic.pathway.models import Drug

MAX_TEXT = 2000


def _helper(submit_label, *, form_tag=False, css_class="btn-primary"):
    helper = FormHelper()
    helper.form_tag = form_tag
    if submit_label:
        helper.add_input(Submit("submit", submit_label, css_class=css_class))
    return helper


def quantity_field(lot, *, label=None, signed=False, allow_zero=False):
    """An mL field for a vial lot, a whole-devices field for a device lot."""
    if lot.is_device:
        return forms.IntegerField(
            label=label or "Devices",
            min_value=-1000 if signed else (0 if allow_zero else 1),
            max_value=1000,
            widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        )
    return forms.DecimalField(
        label=label or "Volume (mL)",
        max_digits=7,
        decimal_places=2,
        min_value=-10000 if signed else (0 if allow_zero else Decimal("0.01")),
        max_value=10000,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )


def staff_of_clinic(clinic, roles, *, exclude=None):
    users = User.objects.filter(
        is_active=True,
        clinic_memberships__clinic=clinic,
        clinic_memberships__is_active=True,
        clinic_memberships__role__in=list(roles),
    ).distinct()
    if exclude is not None:
        users = users.exclude(pk=exclude.pk)
    return users.order_by("last_name", "first_name", "id")


class ListedChoiceIterator(ModelChoiceIterator):
    """The field's choices from `field.listed` (objects read once by the page) when it is
    set, else from its queryset. Validation always goes through the queryset."""

    def __iter__(self):
        listed = getattr(self.field, "listed", None)
        if listed is None:
            yield from super().__iter__()
            return
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in listed:
            yield self.choice(obj)

    def __len__(self):
        listed = getattr(self.field, "listed", None)
        if listed is None:
            return super().__len__()
        return len(listed) + (1 if self.field.empty_label is not None else 0)

    def __bool__(self):
        listed = getattr(self.field, "listed", None)
        if listed is None:
            return super().__bool__()
        return self.field.empty_label is not None or bool(listed)


class ListedChoiceField(forms.ModelChoiceField):
    """A ModelChoiceField whose choices may come from `listed` (a list of the queryset's
    objects, read by the page) so rendering reads nothing; a submitted value is still
    looked up in the queryset, so a stale or foreign one is refused beside the field."""

    iterator = ListedChoiceIterator
    listed = None

    def has_choices(self):
        return bool(self.listed) if self.listed is not None else self.queryset.exists()


class WitnessChoiceField(ListedChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


class QuantityFormMixin:
    """Adds `quantity` (mL or devices) for `lot` and maps it to the service's keyword."""

    quantity_label = None
    quantity_signed = False
    quantity_allow_zero = False

    def _add_quantity(self, lot):
        self.lot = lot
        self.fields["quantity"] = quantity_field(
            lot,
            label=self.quantity_label,
            signed=self.quantity_signed,
            allow_zero=self.quantity_allow_zero,
        )

    def quantity_kwargs(self, prefix=""):
        key = f"{prefix}units" if self.lot.is_device else f"{prefix}ml"
        return {key: self.cleaned_data["quantity"]}


def waste_witnesses(clinic, user):
    """The witnesses a waste of `clinic`'s stock by `user` may name, as `WasteForm` offers
    them (read once, for the page's `WasteForm(witnesses=...)`)."""
    return list(staff_of_clinic(clinic, CLINICIAN_ROLES, exclude=user))


class WitnessFormMixin:
    def _add_witness(self, clinic, user, roles, witnesses=None):
        """`witnesses`: the queryset's users already read (choices then read nothing)."""
        self.fields["witness"] = WitnessChoiceField(
            queryset=staff_of_clinic(clinic, roles, exclude=user),
            empty_label="Choose the witness",
            help_text="Another clinician of this clinic, present now.",
        )
        self.fields["witness"].listed = witnesses
        self.fields["witness_password"] = forms.CharField(
            label="Witness's password",
            max_length=128,
            strip=False,
            widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
            help_text="The witness types their own password to sign.",
        )


# --- session forms (embedded in the session runner) -------------------------------------------


class LotChoiceField(ListedChoiceField):
    def label_from_instance(self, lot):
        return (
            f"{lot.product_name} {lot.strength}, lot {lot.lot_number}, exp. "
            f"{lot.expiry_date:%d %b %Y} ({lot.balance} {lot.unit} left)"
        )


class DrawForm(forms.Form):
    """Draw for a session from one of `usable_lots_for_session(session)`. Vial lots take
    `ml`, device lots `units`; `service_kwargs()` passes the right one. `lots`: those
    lots already read as a list (the choices then read nothing; a submitted lot is still
    looked up among the usable ones)."""

    lot = LotChoiceField(queryset=None, empty_label=None, label="Lot")
    ml = forms.DecimalField(
        label="Volume drawn (mL)",
        required=False,
        max_digits=7,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=1000,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    units = forms.IntegerField(label="Devices", required=False, min_value=1, max_value=3)

    def __init__(self, *args, session, user=None, lots=None, **kwargs):
        from clinic.ledger.selectors import usable_lots_for_session

        super().__init__(*args, **kwargs)
        self.session = session
        self.fields["lot"].queryset = usable_lots_for_session(session)
        self.fields["lot"].listed = lots
        if session.plan.drug == Drug.ESKETAMINE:
            del self.fields["ml"]
            self.fields["units"].required = True
            if session.devices_used:
                self.fields["units"].initial = session.devices_used
        else:
            del self.fields["units"]
            self.fields["ml"].required = True
            if session.volume_ml:
                self.fields["ml"].initial = session.volume_ml
        self.helper = _helper("Record draw")

    def has_lots(self):
        """Whether any lot can be drawn from (from `lots` when given)."""
        return self.fields["lot"].has_choices()

    def service_kwargs(self):
        data = self.cleaned_data
        kwargs = {"lot": data["lot"], "session": self.session}
        if "units" in self.fields:
            kwargs["units"] = data["units"]
        else:
            kwargs["ml"] = data["ml"]
        return kwargs


class AdministerForm(QuantityFormMixin, forms.Form):
    quantity_label = None

    def __init__(self, *args, draw, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.draw = draw
        self.quantity_label = "Devices given" if draw.lot.is_device else "Volume given (mL)"
        self._add_quantity(draw.lot)
        self.helper = _helper("Record administration")

    def service_kwargs(self):
        return {"draw": self.draw, **self.quantity_kwargs()}


class WasteForm(QuantityFormMixin, WitnessFormMixin, forms.Form):
    reason = forms.CharField(
        required=False, max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, draw, user, witnesses=None, **kwargs):
        """`witnesses`: `waste_witnesses(draw's clinic, user)` already read, for a page
        showing several waste forms (the choices then read nothing)."""
        super().__init__(*args, **kwargs)
        self.draw = draw
        self.quantity_label = "Devices wasted" if draw.lot.is_device else "Volume wasted (mL)"
        self._add_quantity(draw.lot)
        # The clinic by id: the lot's clinic row is not read for the witnesses' query.
        self._add_witness(draw.lot.clinic_id, user, CLINICIAN_ROLES, witnesses)
        self.order_fields(["quantity", "witness", "witness_password", "reason"])
        self.helper = _helper("Record witnessed waste")

    def service_kwargs(self):
        data = self.cleaned_data
        return {
            "draw": self.draw,
            "witness": data["witness"],
            "witness_password": data["witness_password"],
            "reason": data["reason"],
            **self.quantity_kwargs(),
        }


# --- lot forms ---------------------------------------------------------------------------------


class LotReceiveForm(forms.Form):
    clinic = forms.ModelChoiceField(queryset=None, empty_label=None)
    drug = forms.ChoiceField(choices=Drug.choices)
    product_name = forms.CharField(max_length=120, help_text="e.g. Ketamine HCl injection")
    ndc = forms.CharField(label="NDC", max_length=20)
    lot_number = forms.CharField(max_length=40)
    expiry_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    concentration_mg_per_ml = forms.DecimalField(
        label="Concentration (mg/mL)",
        required=False,
        max_digits=7,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=500,
        help_text="Vials only.",
    )
    container_ml = forms.DecimalField(
        label="mL per vial",
        required=False,
        max_digits=7,
        decimal_places=2,
        min_value=Decimal("0.1"),
        max_value=100,
        help_text="Vials only.",
    )
    container_count = forms.IntegerField(
        label="Number of vials or devices", min_value=1, max_value=1000
    )
    received_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    supplier_name = forms.CharField(max_length=120)
    supplier_address = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    supplier_dea_number = forms.CharField(label="Supplier DEA number", max_length=9)
    invoice_number = forms.CharField(max_length=60)

    def __init__(self, *args, clinics, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clinic"].queryset = clinics
        if clinics.count() == 1:
            self.fields["clinic"].initial = clinics.first()
            self.fields["clinic"].widget = forms.HiddenInput()
        self.fields["received_on"].initial = timezone.localdate()
        self.helper = _helper("Receive stock")
        self.helper.layout = Layout(
            "clinic",
            Fieldset(
                "Product",
                Row(Column("drug", css_class="col-md-4"), Column("product_name")),
                Row(Column("ndc"), Column("lot_number"), Column("expiry_date")),
                Row(
                    Column("concentration_mg_per_ml"),
                    Column("container_ml"),
                    Column("container_count"),
                ),
            ),
            Fieldset(
                "Receipt",
                Row(Column("received_on"), Column("invoice_number")),
                Row(Column("supplier_name"), Column("supplier_dea_number")),
                "supplier_address",
            ),
        )

    def clean(self):
        data = super().clean()
        if self.fields["clinic"].widget.is_hidden and self.has_error("clinic"):
            # A hidden field's error is not shown beside anything: say it above the form.
            self.add_error(
                None, "Select a valid choice: you can receive stock only for your own clinics."
            )
        if data.get("drug") == Drug.KETAMINE:
            for name in ("concentration_mg_per_ml", "container_ml"):
                if data.get(name) is None and name not in self.errors:
                    self.add_error(name, "Required for vials.")
        elif data.get("drug") == Drug.ESKETAMINE:
            data["concentration_mg_per_ml"] = data["container_ml"] = None
        return data

    def service_kwargs(self):
        return dict(self.cleaned_data)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, submit_label="Save", reason_label=None, **kwargs):
        super().__init__(*args, **kwargs)
        if reason_label:
            self.fields["reason"].label = reason_label
        self.helper = _helper(submit_label)


class StockOutForm(QuantityFormMixin, ReasonForm):
    """Dispose, loss, return to supplier: a positive amount and a reason."""

    def __init__(self, *args, lot, reason_required=True, **kwargs):
        super().__init__(*args, **kwargs)
        self._add_quantity(lot)
        self.fields["reason"].required = reason_required
        self.order_fields(["quantity", "reason"])

    def service_kwargs(self):
        return {"reason": self.cleaned_data["reason"], **self.quantity_kwargs()}


class AdjustForm(StockOutForm):
    quantity_signed = True
    quantity_label = None

    def __init__(self, *args, lot, **kwargs):
        self.quantity_label = "Change (devices, + or -)" if lot.is_device else "Change (mL, + or -)"
        super().__init__(*args, lot=lot, **kwargs)
        self.fields["quantity"].help_text = "Negative to remove, positive to add."


class CountForm(QuantityFormMixin, WitnessFormMixin, forms.Form):
    quantity_allow_zero = True
    reason = forms.CharField(
        label="Notes", required=False, max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, lot, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.quantity_label = "Devices counted" if lot.is_device else "Volume measured (mL)"
        self._add_quantity(lot)
        self._add_witness(lot.clinic, user, STAFF_ROLES)
        self.fields["witness"].help_text = "Another staff member of this clinic, present now."
        self.order_fields(["quantity", "witness", "witness_password", "reason"])
        self.helper = _helper("Record count")

    def service_kwargs(self):
        data = self.cleaned_data
        return {
            "witness": data["witness"],
            "witness_password": data["witness_password"],
            "reason": data["reason"],
            **self.quantity_kwargs(prefix="counted_"),
        }


class QuarantineForm(ReasonForm):
    def __init__(self, *args, lot, **kwargs):
        from clinic.ledger.models import LotStatus

        self.release = lot.status == LotStatus.QUARANTINED
        super().__init__(
            *args,
            submit_label="Release from quarantine" if self.release else "Quarantine lot",
            **kwargs,
        )

    def service_kwargs(self):
        return {"reason": self.cleaned_data["reason"], "release": self.release}


class ReconciliationFilterForm(forms.Form):
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The end is before the start.")
        return data


class CountSheetForm(forms.Form):
    clinic = forms.ChoiceField(required=False)
    business_time = forms.ChoiceField(
        required=False, choices=[("", "Either"), *Inventory.BusinessTime.choices]
    )

    def __init__(self, *args, clinics, **kwargs):
        super().__init__(*args, **kwargs)
        self.clinics = {str(c.public_id): c for c in clinics}
        self.fields["clinic"].choices = [(k, c.name) for k, c in self.clinics.items()]

    def selected_clinic(self):
        if self.is_valid() and self.cleaned_data["clinic"] in self.clinics:
            return self.clinics[self.cleaned_data["clinic"]]
        return next(iter(self.clinics.values()), None)


REGISTRANT_ROLES = (StaffRole.PRESCRIBER, StaffRole.ADMIN)
