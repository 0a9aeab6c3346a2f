"""Pages of the controlled-substance ledger: the lots, each lot's reconciliation, the
printable count sheet and the forms that record stock movements.

Object pages take any signed-in user and let the selector decide: staff of another clinic
and patients get the same 404 as for a lot that does not exist.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone

from clinic.accounts.roles import CLINICIAN_ROLES, STAFF_ROLES, StaffRole
from clinic.core.access import role_required, staff_required, user_has_role
from clinic.core.forms import filter_status
from clinic.core.models import AccessEvent
from clinic.ledger import selectors, services
from clinic.ledger.forms import (
    AdjustForm,
    CountForm,
    CountSheetForm,
    LotReceiveForm,
    QuarantineForm,
    ReasonForm,
    ReconciliationFilterForm,
    StockOutForm,
)
from clinic.ledger.models import DRAW_USE_TYPES, REVERSIBLE_TYPES, EntryType, LotStatus
from clinic.patients.selectors import clinics_for_user

REGISTRANT = (StaffRole.PRESCRIBER, StaffRole.ADMIN)
CLINICIAN = tuple(CLINICIAN_ROLES)
STAFF = tuple(STAFF_ROLES)
# Service error keys -> form fields.
_FIELD_ALIASES = {"ml": "quantity", "units": "quantity"}


def add_service_errors(form, exc):
    """Shows a service's ValidationError on the form: on the field it names, if the form
    has it, else above the form."""
    if hasattr(exc, "error_dict"):
        for key, errors in exc.message_dict.items():
            field = _FIELD_ALIASES.get(key, key)
            if field not in form.fields:
                field = None
            for error in errors:
                form.add_error(field, error)
    else:
        for error in exc.messages:
            form.add_error(None, error)


@staff_required
def lot_list(request):
    lots = list(selectors.lots_for_user(request.user))
    today = timezone.localdate()
    clinics = list(clinics_for_user(request.user))
    return render(
        request,
        "ledger/lot_list.html",
        {
            "lots": lots,
            "today": today,
            "show_clinic": len(clinics) > 1,
            "can_receive": clinics_for_user(request.user, REGISTRANT).exists(),
            "expired_count": sum(1 for lot in lots if lot.balance_mg and lot.is_expired(today)),
        },
    )


@role_required(*REGISTRANT)
def lot_receive(request):
    clinics = clinics_for_user(request.user, REGISTRANT)
    form = LotReceiveForm(request.POST or None, clinics=clinics)
    if request.method == "POST" and form.is_valid():
        try:
            lot = services.lot_receive(actor=request.user, **form.service_kwargs())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"Received lot {lot.lot_number}: {lot.quantity_received} {lot.unit}"
                f"{'s' if lot.is_device and lot.quantity_received != 1 else ''}.",
            )
            return redirect("ledger:lot_detail", public_id=lot.public_id)
    return render(
        request,
        "ledger/form.html",
        {"form": form, "title": "Receive stock", "lot": None, "intro": RECEIVE_INTRO},
    )


RECEIVE_INTRO = (
    "Record each delivery as it is unpacked: one lot number per entry, checked against the "
    "invoice. Ketamine is received as vials (mL), esketamine as nasal-spray devices (28 mg)."
)


@login_required
def lot_detail(request, public_id):
    lot = selectors.lot_get_for_user(request.user, public_id)
    form = ReconciliationFilterForm(request.GET or None)
    date_from = date_to = None
    if form.is_bound and form.is_valid():
        date_from, date_to = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    report = selectors.reconciliation(lot, date_from, date_to)
    user = request.user
    is_registrant = user_has_role(user, REGISTRANT, clinic=lot.clinic)
    is_clinician = user_has_role(user, CLINICIAN, clinic=lot.clinic)
    reversible = set()
    for entry in report.entries:
        if entry.entry_type not in REVERSIBLE_TYPES or hasattr(entry, "reversed_by"):
            continue
        session_row = entry.entry_type in (EntryType.DRAW, *DRAW_USE_TYPES)
        if (session_row and is_clinician) or (not session_row and is_registrant):
            reversible.add(entry.pk)
    return render(
        request,
        "ledger/lot_detail.html",
        {
            "lot": lot,
            "form": form,
            "report": report,
            "today": timezone.localdate(),
            "is_registrant": is_registrant,
            "reversible": reversible,
            "can_count": True,
        },
        status=filter_status(form),
    )


# Each lot action: (form class, service, roles, title, extra form kwargs, success message).
LOT_ACTIONS = {
    "count": (CountForm, services.count, STAFF, "Record a witnessed count", "Count recorded."),
    "adjust": (AdjustForm, services.adjust, REGISTRANT, "Adjust the balance",
               "Adjustment recorded."),
    "dispose": (StockOutForm, services.dispose, REGISTRANT, "Dispose of stock",
                "Disposal recorded."),
    "loss": (StockOutForm, services.record_loss, STAFF, "Report a loss", "Loss recorded."),
    "return": (StockOutForm, services.return_to_supplier, REGISTRANT,
               "Return to the supplier", "Return recorded."),
    "quarantine": (QuarantineForm, services.lot_quarantine, REGISTRANT, "Quarantine",
                   "Lot status changed."),
}  # fmt: skip
ACTION_HELP = {
    "count": "Measure the volume left (or count the devices) with a witness. A difference "
    "from the balance is stored as a discrepancy for investigation; it changes nothing.",
    "adjust": "A signed correction after an investigation, with the registrant's sign-off. "
    "To undo a single wrong row, reverse it from the ledger instead.",
    "dispose": "Expired or damaged stock handed to a reverse distributor: give the "
    "distributor and the DEA Form 41 or transfer record.",
    "loss": "A spill, breakage or theft. A theft or significant loss must also be reported "
    "to the DEA on Form 106 within one business day.",
    "return": "Stock sent back to the supplier: give the return authorisation.",
    "quarantine": "A quarantined lot cannot be drawn from until it is released.",
}


@login_required
def lot_action(request, public_id, action):
    form_class, service, roles, title, done = LOT_ACTIONS[action]
    lot = selectors.lot_get_for_user(
        request.user,
        public_id,
        roles=roles,
        action=AccessEvent.Action.UPDATE if request.method == "POST" else AccessEvent.Action.VIEW,
    )
    kwargs = {"lot": lot}
    if form_class is CountForm:
        kwargs["user"] = request.user
    if form_class is StockOutForm:
        kwargs["reason_required"] = action != "return"
        kwargs["reason_label"] = {
            "dispose": "Reason, reverse distributor and form number",
            "loss": "What happened",
            "return": "Return authorisation / notes",
        }[action]
    if action == "quarantine" and lot.status == LotStatus.QUARANTINED:
        title = "Release from quarantine"
    form = form_class(request.POST or None, **kwargs)
    if request.method == "POST" and form.is_valid():
        try:
            service(lot=lot, actor=request.user, **form.service_kwargs())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect("ledger:lot_detail", public_id=lot.public_id)
    return render(
        request,
        "ledger/form.html",
        {"form": form, "title": title, "lot": lot, "intro": ACTION_HELP[action]},
    )


@login_required
def entry_reverse(request, public_id):
    entry = selectors.entry_get_for_user(
        request.user,
        public_id,
        action=AccessEvent.Action.UPDATE if request.method == "POST" else AccessEvent.Action.VIEW,
    )
    session_row = entry.entry_type in (EntryType.DRAW, *DRAW_USE_TYPES)
    if not user_has_role(request.user, CLINICIAN if session_row else REGISTRANT, entry.lot.clinic):
        # Same answer as for an entry of another clinic: nothing to see here.
        from django.http import Http404

        raise Http404("No such ledger entry.")
    form = ReasonForm(
        request.POST or None, submit_label="Reverse this entry", reason_label="What was wrong"
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.reverse(entry=entry, actor=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "The entry is reversed. Record the correct one now.")
            return redirect("ledger:lot_detail", public_id=entry.lot.public_id)
    return render(
        request,
        "ledger/form.html",
        {
            "form": form,
            "title": f"Reverse a {entry.get_entry_type_display().lower()}",
            "lot": entry.lot,
            "entry": entry,
            "intro": "A reversal writes the exact negation of this row; the row itself stays. "
            "Each row can be reversed once.",
        },
    )


@staff_required
def count_sheet(request):
    clinics = list(clinics_for_user(request.user))
    form = CountSheetForm(request.GET or None, clinics=clinics)
    # A tampered clinic or time never falls back to printing some other sheet.
    clinic = form.selected_clinic() if filter_status(form) == 200 else None
    lots = list(selectors.count_sheet_lots(clinic)) if clinic else []
    if clinic:
        from clinic.core.audit import record_access

        record_access(
            user=request.user,
            action=AccessEvent.Action.EXPORT,
            object_type="count_sheet",
            clinic=clinic,
            detail=f"{len(lots)} lots",
        )
    return render(
        request,
        "ledger/count_sheet.html",
        {
            "form": form,
            "clinic": clinic,
            "clinics": clinics,
            "lots": lots,
            "today": timezone.localdate(),
            "now": timezone.now(),
            "business_time": form.cleaned_data.get("business_time")
            if form.is_bound and form.is_valid()
            else "",
        },
        status=filter_status(form),
    )
