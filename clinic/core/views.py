from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.utils import timezone

from clinic.accounts.roles import CLINICIAN_ROLES, StaffRole
from clinic.core.access import clinic_admin_required, clinician_required
from clinic.core.forms import choose_listed
from clinic.core.models import AccessEvent
from clinic.measures import selectors as measure_selectors
from clinic.pathway import selectors as pathway_selectors
from clinic.pathway import session_selectors
from clinic.patients import selectors
from clinic.patients.models import Patient

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
    clinics = selectors.clinics_for_user(request.user, roles=CLINICIAN_ROLES).annotate(
        active_patients=Count("patients", filter=Q(patients__status=Patient.Status.ACTIVE))
    )
    overdue = pathway_selectors.overdue_follow_ups_for_user(request.user)
    return render(
        request,
        "core/clinician_home.html",
        {
            "today": timezone.localdate(),
            "clinics": clinics,
            "my_patients": selectors.my_care_team_patients(request.user),
            "recent_patients": selectors.recently_viewed_patients(request.user),
            "awaiting_signature": pathway_selectors.awaiting_signature_for_user(request.user),
            "overdue_follow_ups": list(overdue[:OVERDUE_ON_HOME]),
            "overdue_count": overdue.count(),
            "todays_sessions": list(session_selectors.sessions_on_day_for_user(request.user)),
            "open_alerts": measure_selectors.open_alert_count(request.user),
            "overdue_measures": measure_selectors.overdue_count_for_user(request.user),
        },
    )


@clinic_admin_required
def clinic_admin_home(request):
    clinics = list(selectors.clinics_for_user(request.user, roles=[StaffRole.ADMIN]))
    clinic = choose_listed(clinics, request.GET.get("clinic"))
    patient_counts = {
        row["status"]: row["n"]
        for row in Patient.objects.filter(clinic=clinic).values("status").annotate(n=Count("id"))
    }
    events = (
        AccessEvent.objects.filter(clinic=clinic)
        .select_related("user", "patient")
        .order_by("-occurred_at", "-id")
    )
    return render(
        request,
        "core/clinic_admin_home.html",
        {
            "clinic": clinic,
            "clinics": clinics,
            "patient_counts": patient_counts,
            "portal_accounts": Patient.objects.filter(clinic=clinic, user__isnull=False).count(),
            "memberships": selectors.staff_memberships_for_clinic(clinic),
            "events": Paginator(events, 15).get_page(request.GET.get("page")),
            "events_querystring": urlencode({"clinic": clinic.public_id}),
            "denied_last_7_days": events.filter(
                outcome=AccessEvent.Outcome.DENIED,
                occurred_at__gte=timezone.now() - timezone.timedelta(days=7),
            ).count(),
        },
    )
