from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone

from clinic.accounts.roles import CLINICIAN_ROLES, StaffRole
from clinic.core.access import clinic_admin_required, clinician_required
from clinic.core.forms import choose_listed
from clinic.core.models import AccessEvent
from clinic.measures import selectors as measure_selectors
from clinic.pathway import selectors as pathway_selectors
from clinic.patients import selectors

OVERDUE_ON_HOME = 10


@login_required
def home(request):
    """Sends each signed-in person to the home page of their role."""
    user = request.user
    if user.is_clinician:
        return redirect("clinician_home")
    if user.is_clinic_admin:
        return redirect("clinic_admin_home")
    if hasattr(user, "patient_record"):
        return redirect("portal:home")
    return render(request, "core/no_role.html", status=403)


@clinician_required
def clinician_home(request):
    """Today's work of a clinician. The lists read the clinic ids the request's user carries
    (its loaded memberships): one query each, the counts with the clinics in one more."""
    user = request.user
    clinics, totals = selectors.clinics_with_totals(
        user,
        roles=CLINICIAN_ROLES,
        totals={
            "overdue_follow_ups": pathway_selectors.overdue_follow_ups_query(user),
            "open_alerts": measure_selectors.open_alerts_query(user),
            "overdue_measures": measure_selectors.overdue_measures_query(user),
        },
    )
    return render(
        request,
        "core/clinician_home.html",
        {
            "today": timezone.localdate(),
            "clinics": clinics,
            "my_patients": selectors.my_care_team_patients(user),
            "recent_patients": selectors.recently_viewed_patients(user),
            "awaiting_signature": pathway_selectors.awaiting_signature_for_user(user),
            "overdue_follow_ups": list(
                pathway_selectors.overdue_follow_ups_for_user(user, limit=OVERDUE_ON_HOME)
            ),
            "overdue_count": totals["overdue_follow_ups"],
            "todays_sessions": pathway_selectors.sessions_on_day_for_user(user),
            "open_alerts": totals["open_alerts"],
            "overdue_measures": totals["overdue_measures"],
        },
    )


class CountedPaginator(Paginator):
    """A paginator given its object count, read with other figures, instead of counting."""

    def __init__(self, object_list, per_page, *, count, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.count = count


@clinic_admin_required
def clinic_admin_home(request):
    clinics = list(selectors.clinics_for_user_by_ids(request.user, roles=[StaffRole.ADMIN]))
    clinic = choose_listed(clinics, request.GET.get("clinic"))
    summary = selectors.clinic_admin_summary(
        clinic, since=timezone.now() - timezone.timedelta(days=7)
    )
    events = (
        AccessEvent.objects.filter(clinic=clinic)
        .select_related("user", "patient")
        .order_by("-occurred_at", "-id")
    )
    paginator = CountedPaginator(events, 15, count=summary["access_events"])
    return render(
        request,
        "core/clinic_admin_home.html",
        {
            "clinic": clinic,
            "clinics": clinics,
            "patient_counts": summary["patient_counts"],
            "portal_accounts": summary["portal_accounts"],
            "memberships": selectors.staff_memberships_for_clinic(clinic),
            "events": paginator.get_page(request.GET.get("page")),
            "events_querystring": urlencode({"clinic": clinic.public_id}),
            "denied_last_7_days": summary["denied_since"],
        },
    )
