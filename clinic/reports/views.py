"""The admin reports: thin views over `reports.selectors`, one clinic and range at a time."""

from django.shortcuts import render
from django.utils.http import urlencode

from clinic.core.access import clinic_admin_required
from clinic.core.forms import choose_listed
from clinic.core.lookups import refuse_unknown_clinic
from clinic.core.models import AccessEvent
from clinic.reports import selectors
from clinic.reports.forms import ReportRangeForm, preset_ranges


def _report_scope(request, object_type, *, with_freshness=False):
    """The clinic (one the user administers: ?clinic=, else their first) and the range; with
    `with_freshness`, the clinics carry their roll-up freshness (`selectors.admin_clinics`)."""
    clinics = selectors.admin_clinics(request.user, with_freshness=with_freshness)
    refuse_unknown_clinic(
        request.user,
        request.GET.get("clinic"),
        clinics,
        action=AccessEvent.Action.LIST,
        object_type=object_type,
    )
    clinic = choose_listed(clinics, request.GET.get("clinic"))
    today = selectors.clinic_today(clinic)
    given = {key: request.GET[key] for key in ("start", "end") if key in request.GET}
    form = ReportRangeForm(given or None, today=today)
    start, end = form.date_range()
    presets = [
        {
            **preset,
            "query": urlencode(
                {
                    "clinic": clinic.public_id,
                    "start": preset["start"].isoformat(),
                    "end": preset["end"].isoformat(),
                }
            ),
            "current": (preset["start"], preset["end"]) == (start, end),
        }
        for preset in preset_ranges(today)
    ]
    return {
        "clinics": clinics,
        "clinic": clinic,
        "form": form,
        "start": start,
        "end": end,
        "today": today,
        "presets": presets,
        "range_query": urlencode(
            {"clinic": clinic.public_id, "start": start.isoformat(), "end": end.isoformat()}
        ),
    }


@clinic_admin_required
def dashboard(request):
    context = _report_scope(request, "report_dashboard", with_freshness=True)
    context["report"] = selectors.dashboard(
        request.user, context["clinic"], context["start"], context["end"]
    )
    return render(request, "reports/dashboard.html", context)


@clinic_admin_required
def outcomes(request):
    context = _report_scope(request, "report_outcomes")
    context["report"] = selectors.outcomes(
        request.user, context["clinic"], context["start"], context["end"]
    )
    return render(request, "reports/outcomes.html", context)


@clinic_admin_required
def controlled_substances(request):
    context = _report_scope(request, "report_controlled_substances")
    context["report"] = selectors.controlled_substances(
        request.user, context["clinic"], context["start"], context["end"]
    )
    return render(request, "reports/controlled_substances.html", context)
