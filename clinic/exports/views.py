"""The exports page and the CSV downloads.

Thin views: the form checks the parameters, the selectors decide who sees which patients,
`AuditedCsvExport` streams the rows and audits the export.
"""

import datetime
import zoneinfo

from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from clinic.core.access import staff_required
from clinic.core.audit import RequestContext, client_ip
from clinic.core.lookups import refuse_unknown_clinic
from clinic.core.models import AccessEvent
from clinic.exports import selectors
from clinic.exports.forms import DateRangeFields, ExportForm
from clinic.exports.kinds import KINDS
from clinic.exports.services import AuditedCsvExport, export_filename

DEFAULT_RANGE_DAYS = 30
EXPORT = AccessEvent.Action.EXPORT


def _chosen_clinic(request, clinics):
    """The clinic named by ?clinic=, else the user's first."""
    key = request.GET.get("clinic")
    return next((c for c in clinics if str(c.public_id) == key), clinics[0])


def _default_range(clinic):
    """The last 30 days up to today in the clinic's time zone."""
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo(clinic.timezone))
    return today - datetime.timedelta(days=DEFAULT_RANGE_DAYS - 1), today


def _render_page(request, form, clinics, status=200):
    key = form["clinic"].value()
    clinic = next((c for c in clinics if str(c.public_id) == str(key)), None)
    clinic = clinic or (clinics[0] if clinics else None)
    scope = selectors.export_scope(request.user, clinic)[1] if clinic else None
    return render(
        request,
        "exports/index.html",
        {"form": form, "kinds": KINDS.values(), "clinic": clinic, "scope": scope},
        status=status,
    )


@staff_required
def index(request):
    clinics = selectors.export_clinics_for_user(request.user)
    refuse_unknown_clinic(
        request.user, request.GET.get("clinic"), clinics, action=EXPORT, object_type="export"
    )
    if "kind" not in request.GET:
        # Opened from the menu or from the dashboard's link: its range fills the form.
        chosen = _chosen_clinic(request, clinics)
        start, end = _default_range(chosen)
        given = DateRangeFields(request.GET)
        if given.is_valid():
            start, end = given.cleaned_data["start"], given.cleaned_data["end"]
        initial = {"start": start, "end": end, "kind": "sessions"}
        initial["clinic"] = str(chosen.public_id)
        return _render_page(request, ExportForm(initial=initial, clinics=clinics), clinics)
    form = ExportForm(request.GET, clinics=clinics)
    if not form.is_valid():
        return _render_page(request, form, clinics)
    data = form.cleaned_data
    query = {
        "start": data["start"].isoformat(),
        "end": data["end"].isoformat(),
        "clinic": str(data["clinic"].public_id),
    }
    return redirect(f"{reverse('exports:download', args=[data['kind'].slug])}?{urlencode(query)}")


@staff_required
def download(request, kind):
    clinics = selectors.export_clinics_for_user(request.user)
    refuse_unknown_clinic(
        request.user, request.GET.get("clinic"), clinics, action=EXPORT, object_type="export"
    )
    # A link without a range (a bookmark, the menu) gets the page's default range.
    start, end = _default_range(_chosen_clinic(request, clinics))
    params = {"start": start.isoformat(), "end": end.isoformat(), **request.GET.dict()}
    form = ExportForm({**params, "kind": kind}, clinics=clinics)
    if not form.is_valid():
        return _render_page(request, form, clinics, status=400)
    data = form.cleaned_data
    clinic, export_kind = data["clinic"], data["kind"]
    patients, scope = selectors.export_scope(request.user, clinic)
    stream = AuditedCsvExport(
        user=request.user,
        clinic=clinic,
        kind=export_kind,
        start=data["start"],
        end=data["end"],
        patients=patients,
        scope=scope,
        request_context=RequestContext(ip_address=client_ip(request), path=request.path),
    )
    response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
    filename = export_filename(clinic, export_kind, data["start"], data["end"])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
