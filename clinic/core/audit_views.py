"""The clinic admin's audit viewer: who read, changed or exported which patient's record,
and when. Viewing it is itself recorded."""

from django.core.paginator import Paginator
from django.shortcuts import render

from clinic.accounts.roles import StaffRole
from clinic.core.access import clinic_admin_required
from clinic.core.audit import record_access
from clinic.core.audit_forms import AuditFilterForm
from clinic.core.audit_selectors import access_events_for_clinic
from clinic.core.lookups import refuse_unknown_clinic
from clinic.core.models import AccessEvent
from clinic.patients.selectors import clinics_for_user

PAGE_SIZE = 50
FILTERS = ("patient", "user", "action", "outcome", "start", "end")


def _describe(filters):
    """The filters as the audit row's detail: usernames and MRNs, never free text."""
    parts = []
    for name, value in filters.items():
        if value:
            label = getattr(value, "username", None) or getattr(
                value, "medical_record_number", None
            )
            parts.append(f"{name}={label or value}")
    return "; ".join(parts)


@clinic_admin_required
def audit_log(request):
    clinics = list(clinics_for_user(request.user, roles=[StaffRole.ADMIN]).order_by("name"))
    refuse_unknown_clinic(
        request.user,
        request.GET.get("clinic"),
        clinics,
        action=AccessEvent.Action.LIST,
        object_type="audit_log",
    )
    form = AuditFilterForm(request.GET, clinics=clinics)
    if not form.is_valid():
        clinic = form.cleaned_data.get("clinic") or clinics[0]
        return render(
            request,
            "core/audit_log.html",
            {"form": form, "clinic": clinic, "page": None},
            status=400,
        )
    data = form.cleaned_data
    clinic = data["clinic"]
    filters = {name: data[name] for name in FILTERS}
    record_access(
        user=request.user,
        action=AccessEvent.Action.SEARCH if form.is_filtered() else AccessEvent.Action.LIST,
        object_type="audit_log",
        clinic=clinic,
        patient=data["patient"],
        detail=_describe(filters),
    )
    events = access_events_for_clinic(clinic, **filters)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    querystring = request.GET.copy()
    querystring.pop("page", None)
    return render(
        request,
        "core/audit_log.html",
        {"form": form, "clinic": clinic, "page": page, "querystring": querystring.urlencode()},
    )
