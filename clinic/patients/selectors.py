"""Reads of clinics and patients for a signed-in user.

Every function that returns a patient's record takes the user, scopes the query by
clinic and role, answers 404 for anything the user may not see, and writes an
`AccessEvent`.
"""

from django.db.models import Count, Max, Q
from django.http import Http404

from clinic.accounts.roles import CLINICIAN_ROLES, STAFF_ROLES, StaffRole
from clinic.core.audit import record_access
from clinic.core.models import AccessEvent
from clinic.patients.models import CareTeamMember, Clinic, ClinicMembership, Patient


def clinics_for_user(user, roles=STAFF_ROLES):
    """The active clinics in which `user` holds one of `roles`."""
    if not user.is_authenticated:
        return Clinic.objects.none()
    return Clinic.objects.filter(
        is_active=True,
        memberships__user=user,
        memberships__is_active=True,
        memberships__role__in=list(roles),
    ).distinct()


def clinics_administered_by(user):
    """The clinics whose settings `user` keeps in the Django admin: all for a superuser,
    else those where they are an active clinic admin."""
    if user.is_superuser:
        return Clinic.objects.all()
    return clinics_for_user(user, roles=[StaffRole.ADMIN])


def clinic_get_for_user(user, public_id, roles=STAFF_ROLES):
    try:
        return clinics_for_user(user, roles).get(public_id=public_id)
    except (Clinic.DoesNotExist, ValueError) as exc:
        raise Http404("No such clinic.") from exc


def patients_visible_to(user, *, roles=STAFF_ROLES, include_own=True):
    """The patients of the clinics where `user` holds one of `roles`, plus, with
    `include_own`, the user's own record when they are a patient. Without it the user's own
    record is left out even in their clinic: staff see their own record only as a patient,
    through the portal, never through the staff pages."""
    if not user.is_authenticated or not user.is_active:
        return Patient.objects.none()
    staff_clinics = ClinicMembership.objects.filter(
        user=user, is_active=True, clinic__is_active=True, role__in=list(roles)
    ).values("clinic_id")
    visible = Q(clinic_id__in=staff_clinics)
    if include_own:
        return Patient.objects.filter(visible | Q(user=user))
    return Patient.objects.filter(visible).exclude(user=user)


def patient_get_for_user(
    user, public_id, *, action=AccessEvent.Action.VIEW, roles=STAFF_ROLES, include_own=False
):
    """The patient `public_id` if `user` may see it, else 404; allowed or not, the
    attempt is audited.

    Staff pages pass the roles that may use them; the patient portal passes
    `include_own=True` and no staff roles.
    """
    patient = (
        patients_visible_to(user, roles=roles, include_own=include_own)
        .select_related("clinic", "user")
        .filter(public_id=public_id)
        .first()
    )
    if patient is None:
        record_access(
            user=user,
            action=action,
            object_type="patient",
            object_public_id=public_id,
            patient=Patient.objects.filter(public_id=public_id).first(),
            outcome=AccessEvent.Outcome.DENIED,
        )
        raise Http404("No such patient.")
    record_access(
        user=user,
        action=action,
        object_type="patient",
        object_public_id=patient.public_id,
        patient=patient,
    )
    return patient


def patient_search_for_user(user, *, query="", clinic=None, status=None):
    """The patients `user` may see, filtered by a name or MRN query; audited as a search.

    The returned queryset is ordered for a stable pagination.
    """
    patients = patients_visible_to(user, include_own=False)
    if clinic is not None:
        patients = patients.filter(clinic=clinic)
    if status:
        patients = patients.filter(status=status)
    query = " ".join(query.split())
    for term in query.split(" ") if query else []:
        patients = patients.filter(
            Q(given_name__icontains=term)
            | Q(family_name__icontains=term)
            | Q(preferred_name__icontains=term)
            | Q(medical_record_number__iexact=term)
        )
    record_access(
        user=user,
        action=AccessEvent.Action.SEARCH if query else AccessEvent.Action.LIST,
        object_type="patient_list",
        clinic=clinic,
        detail=f"status={status or 'any'}; query length={len(query)}",
    )
    return patients.select_related("clinic").order_by("family_name", "given_name", "id")


def own_patient_record(user):
    """The signed-in patient's own record (404 for anyone without one); audited. The
    request's user arrives with its record and clinic (accounts.backends.load_request_user):
    they are not read again."""
    if Patient.user.field.remote_field.is_cached(user):  # User.patient_record
        patient = getattr(user, "patient_record", None)
    else:
        patient = Patient.objects.select_related("clinic").filter(user=user).first()
    if patient is None or not user.is_active:
        raise Http404("No patient record is linked to this account.")
    record_access(
        user=user,
        action=AccessEvent.Action.VIEW,
        object_type="own_record",
        object_public_id=patient.public_id,
        patient=patient,
    )
    return patient


def care_team_for_patient(patient):
    """The active care team of a patient the caller has already fetched through a selector."""
    return (
        CareTeamMember.objects.filter(patient=patient, is_active=True)
        .select_related("user")
        .order_by("responsibility", "user__last_name")
    )


def my_care_team_patients(user, limit=10):
    return (
        patients_visible_to(user, include_own=False)
        .filter(care_team__user=user, care_team__is_active=True, status=Patient.Status.ACTIVE)
        .select_related("clinic")
        .distinct()
        .order_by("family_name", "given_name")[:limit]
    )


def recently_viewed_patients(user, limit=8):
    """The patients this user opened most recently, newest first (from the audit log)."""
    events = (
        AccessEvent.objects.filter(
            user=user,
            action=AccessEvent.Action.VIEW,
            outcome=AccessEvent.Outcome.ALLOWED,
            patient__isnull=False,
            patient__in=patients_visible_to(user, include_own=False),
        )
        .order_by("-occurred_at")
        .values_list("patient_id", flat=True)[:200]
    )
    ordered_ids = list(dict.fromkeys(events))[:limit]
    by_id = Patient.objects.select_related("clinic").in_bulk(ordered_ids)
    return [by_id[pk] for pk in ordered_ids if pk in by_id]


def staff_memberships_for_clinic(clinic):
    return (
        ClinicMembership.objects.filter(clinic=clinic)
        .select_related("user")
        .order_by("-is_active", "role", "user__last_name", "user__first_name")
    )


def clinician_choices_for_clinic(clinic):
    from clinic.accounts.models import User

    return User.objects.filter(
        is_active=True,
        clinic_memberships__clinic=clinic,
        clinic_memberships__is_active=True,
        clinic_memberships__role__in=list(CLINICIAN_ROLES),
    ).distinct()


def measures_and_portal_summary(patient):
    """Open safety alerts and the portal invitation state of a patient the caller has
    already fetched through a selector, in one query."""
    summary = (
        Patient.objects.filter(pk=patient.pk)
        .annotate(
            open_alerts=Count(
                "safety_alerts", filter=Q(safety_alerts__status="open"), distinct=True
            ),
            last_invited_at=Max("portal_invitations__sent_at"),
        )
        .values("open_alerts", "last_invited_at")
        .get()
    )
    return {
        "open_alerts": summary["open_alerts"],
        "portal": {
            "active": bool(patient.user_id and patient.user.has_usable_password()),
            "invited_at": summary["last_invited_at"],
        },
    }


def patient_summary(patient):
    """Everything the printable summary shows, for a patient the caller has already fetched
    through a selector: courses with their plan in force, sessions, side effects and the
    scores over time. A fixed number of queries whatever the history's length."""
    from clinic.measures.selectors import outcomes_for_patient
    from clinic.monitoring.models import SideEffectReport
    from clinic.pathway.models import AdministrationSession, TreatmentCourse, TreatmentPlan
    from clinic.pathway.models.plan import PlanStatus

    courses = list(TreatmentCourse.objects.filter(patient=patient).order_by("created_at", "id"))
    # The plan in force: approved, else suspended, else the newest version written.
    preference = {PlanStatus.APPROVED: 0, PlanStatus.SUSPENDED: 1}
    plans = {}
    for plan in TreatmentPlan.objects.filter(course__patient=patient).order_by("-version"):
        best = plans.get(plan.course_id)
        if best is None or preference.get(plan.status, 9) < preference.get(best.status, 9):
            plans[plan.course_id] = plan
    sessions = list(
        AdministrationSession.objects.filter(course__patient=patient)
        .select_related("plan", "course")
        .order_by("scheduled_at", "id")
    )
    side_effects = list(
        SideEffectReport.objects.filter(course__patient=patient)
        .select_related("course", "session")
        .order_by("onset_at", "id")
    )
    outcomes = outcomes_for_patient(patient)
    return {
        "courses": [(course, plans.get(course.pk)) for course in courses],
        "sessions": sessions,
        "side_effects": side_effects,
        "score_series": outcomes["series"],
        "chart_data": {
            "series": [series["chart"] for series in outcomes["series"]],
            "sessions": outcomes["sessions"],
        },
    }
