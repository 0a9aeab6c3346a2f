"""Reads of clinics and patients for a signed-in user.

Every function that returns a patient's record takes the user, scopes the query by
clinic and role, answers 404 for anything the user may not see, and writes an
`AccessEvent`.
"""

from django.db.models import Count, DateTimeField, Exists, IntegerField, Max, OuterRef, Q, Subquery
from django.db.models.expressions import RawSQL
from django.http import Http404

from clinic.accounts.roles import CLINICIAN_ROLES, STAFF_ROLES, StaffRole
from clinic.core.audit import record_access
from clinic.core.lookups import only_row
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


def clinics_for_user_by_ids(user, roles=STAFF_ROLES):
    """`clinics_for_user` (by name), filtered by the clinic ids the user carries
    (`clinic_ids_for_user`) instead of a join through the memberships."""
    return Clinic.objects.filter(pk__in=clinic_ids_for_user(user, roles))


class RowCount(Subquery):
    """The number of rows of a queryset, as a scalar subquery (0 for a query that cannot
    match, such as a lookup in an empty list)."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) counted)"
    output_field = IntegerField()
    empty_result_set_value = 0

    def __init__(self, queryset, **extra):
        # Unordered: a model's default ordering would sort the rows only to count them.
        super().__init__(queryset.order_by(), **extra)


def clinics_with_totals(user, *, roles=STAFF_ROLES, totals=None):
    """The active clinics where `user` holds one of `roles` (from the memberships the user
    carries), by name, each with its number of active patients; and the row count of each
    queryset in `totals` ({name: queryset}), read in the same query. Returns (clinics,
    {name: count}). A total names no clinic column: PostgreSQL and SQLite compute it once,
    whatever the number of clinics, and it is the same on every row."""
    totals = totals or {}
    active_patients = Patient.objects.filter(
        clinic=OuterRef("pk"), status=Patient.Status.ACTIVE
    ).values("pk")
    clinics = list(
        clinics_for_user_by_ids(user, roles).annotate(
            active_patients=RowCount(active_patients),
            **{
                f"total_{name}": RowCount(queryset.values("pk"))
                for name, queryset in totals.items()
            },
        )
    )
    counts = {
        name: getattr(clinics[0], f"total_{name}") if clinics else queryset.count()
        for name, queryset in totals.items()
    }
    return clinics, counts


def clinics_administered_by(user):
    """The clinics whose settings `user` keeps in the Django admin: all for a superuser,
    else those where they are an active clinic admin."""
    if user.is_superuser:
        return Clinic.objects.all()
    return clinics_for_user(user, roles=[StaffRole.ADMIN])


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


def memberships_of(user):
    """(role, clinic id, clinic is active, clinic time zone) of each active membership of
    `user`: for the request's own user those it arrived with (`User.active_memberships`, read
    with the user row), for any other user object read now, as `core.access.user_has_role`
    does (an object kept longer than a request may hold memberships since changed)."""
    if getattr(user, "is_request_user", False):
        return user.active_memberships()
    return list(
        user.clinic_memberships.filter(is_active=True)
        .order_by("created_at", "pk")
        .values_list("role", "clinic_id", "clinic__is_active", "clinic__timezone")
    )


def clinic_ids_for_user(user, roles=STAFF_ROLES):
    """The ids of the active clinics where `user` holds one of `roles`: the clinics of
    `patients_visible_to`, from `memberships_of` (for the request's user, no query)."""
    if not user.is_authenticated or not user.is_active:
        return []
    return sorted(
        {
            clinic_id
            for role, clinic_id, clinic_active, _tz in memberships_of(user)
            if clinic_active and role in roles
        }
    )


def visible_patient_q(user, *, roles=STAFF_ROLES, through=""):
    """`patients_visible_to(user, roles=roles, include_own=False)` as a condition on the
    patient reached by the lookup path `through` ("" on Patient itself, "course__patient__"
    from a course step, ...): the clinic ids written out (`clinic_ids_for_user`), not a
    subquery through the memberships, and the user's own record left out."""
    return Q(**{f"{through}clinic_id__in": clinic_ids_for_user(user, roles)}) & ~Q(
        **{f"{through}user": user}
    )


def patient_get_for_user(
    user, public_id, *, action=AccessEvent.Action.VIEW, roles=STAFF_ROLES, include_own=False
):
    """The patient `public_id` if `user` may see it, else 404; allowed or not, the
    attempt is audited.

    Staff pages pass the roles that may use them; the patient portal passes
    `include_own=True` and no staff roles.
    """
    patient = only_row(
        patients_visible_to(user, roles=roles, include_own=include_own)
        .select_related("clinic", "user")
        .filter(public_id=public_id)
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


# The chart's two summary figures as fixed SQL: the ORM's Subquery form of them cost more to
# compile than the patient query they ride on takes to run. tests/patients checks them against
# the ORM's answers.
PATIENT_OPEN_ALERTS_SQL = (
    "SELECT COUNT(*) FROM measures_safetyalert a "
    "WHERE a.patient_id = patients_patient.id AND a.status = %s"
)
PATIENT_LAST_INVITED_SQL = (
    "SELECT MAX(i.sent_at) FROM portal_portalinvitation i WHERE i.patient_id = patients_patient.id"
)


def staff_patient_get(user, public_id, *, with_summary=False):
    """`patient_get_for_user` for a staff page (staff roles, the user's own record left out,
    the read audited either way), in one query scoped by the clinic ids the user carries
    (`visible_patient_q`); the patient arrives with its clinic and user. With `with_summary`
    it also carries what `measures_and_portal_summary` shows: its number of open safety
    alerts (`open_alerts`) and the time of its last portal invitation (`last_invited_at`)."""
    from clinic.core.lookups import scoped_get_or_404
    from clinic.measures.models import SafetyAlert

    patients = Patient.objects.filter(visible_patient_q(user)).select_related("clinic", "user")
    if with_summary:
        patients = patients.annotate(
            open_alerts=RawSQL(  # noqa: S611 # nosec B611 - fixed SQL, the status a parameter
                PATIENT_OPEN_ALERTS_SQL, (SafetyAlert.Status.OPEN,), output_field=IntegerField()
            ),
            last_invited_at=RawSQL(  # noqa: S611 # nosec B611 - fixed SQL, no input
                PATIENT_LAST_INVITED_SQL, (), output_field=DateTimeField()
            ),
        )
    return scoped_get_or_404(
        patients,
        user=user,
        public_id=public_id,
        object_type="patient",
        patient_of=lambda patient: patient,
    )


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


# The chart's care team and the clinicians who may join it, in one fixed query (the ORM's
# UNION and FilteredRelation form of it compiled for longer than it ran): each user of the
# team or, with choices, an active clinician of the clinic, with the team row when on it.
CARE_TEAM_SQL = (
    "SELECT u.id, u.username, u.first_name, u.last_name, u.credentials, "
    "m.id AS member_pk, m.public_id AS member_public_id, m.responsibility AS member_role "
    "FROM accounts_user u "
    "LEFT JOIN patients_careteammember m "
    "ON m.user_id = u.id AND m.patient_id = %s AND m.is_active "
    "WHERE m.id IS NOT NULL OR (%s AND u.is_active AND EXISTS ("
    "SELECT 1 FROM patients_clinicmembership c WHERE c.user_id = u.id AND c.clinic_id = %s "
    "AND c.is_active AND c.role IN ({roles}))) "
    "ORDER BY u.last_name, u.first_name, u.id"
)


def care_team_and_choices(patient, *, choices=True):
    """The active care team of a patient the caller has already fetched through a selector
    (`care_team_for_patient`: each member with its user, by responsibility then name) and,
    with `choices`, the clinicians who may join it (`clinician_choices_for_clinic` less the
    team, by name), in one query: (members, users)."""
    from clinic.accounts.models import User

    roles = sorted(role.value for role in CLINICIAN_ROLES)
    sql = CARE_TEAM_SQL.format(roles=", ".join(["%s"] * len(roles)))
    users = User.objects.raw(sql, [patient.pk, bool(choices), patient.clinic_id, *roles])
    public_id = CareTeamMember._meta.get_field("public_id")
    members, others = [], []
    for user in users:
        if user.member_pk is None:
            others.append(user)
            continue
        member = CareTeamMember.from_db(
            users.db,
            ["id", "public_id", "patient_id", "user_id", "responsibility", "is_active"],
            [user.member_pk, public_id.to_python(user.member_public_id), patient.pk, user.pk,
             user.member_role, True],
        )  # fmt: skip
        member.user, member.patient = user, patient
        members.append(member)
    members.sort(key=lambda member: member.responsibility)  # stable: by name within
    return members, others


def my_care_team_patients(user, limit=10):
    """The active patients of the user's clinics on whose active care team the user is, by
    name: one query, scoped by the clinic ids the user carries (`visible_patient_q`), of the
    PATIENT_LISTED_FIELDS."""
    on_team = CareTeamMember.objects.filter(patient=OuterRef("pk"), user=user, is_active=True)
    return list(
        Patient.objects.filter(
            visible_patient_q(user), Exists(on_team), status=Patient.Status.ACTIVE
        )
        .select_related("clinic")
        .only(*PATIENT_LISTED_FIELDS)
        .order_by("family_name", "given_name")[:limit]
    )


# What a listed patient shows (patients/_patient_row_link.html); the home page's lists read
# only these, the other fields deferred.
PATIENT_LISTED_FIELDS = (
    "public_id",
    "family_name",
    "given_name",
    "medical_record_number",
    "date_of_birth",
    "clinic__name",
)
RECENT_VIEWS_READ = 200


def recently_viewed_patients(user, limit=8):
    """The patients this user opened most recently, newest first (from the audit log), in
    one query: among the user's last RECENT_VIEWS_READ allowed views of a patient they may
    still see, the distinct patients, newest view first; of the PATIENT_LISTED_FIELDS."""
    last_views = (
        AccessEvent.objects.filter(
            visible_patient_q(user, through="patient__"),
            user=user,
            action=AccessEvent.Action.VIEW,
            outcome=AccessEvent.Outcome.ALLOWED,
        )
        .order_by("-occurred_at")
        .values("pk")[:RECENT_VIEWS_READ]
    )
    return list(
        Patient.objects.filter(access_events__in=Subquery(last_views))
        .annotate(last_viewed=Max("access_events__occurred_at"))
        .select_related("clinic")
        .only(*PATIENT_LISTED_FIELDS)
        .order_by("-last_viewed", "id")[:limit]
    )


def staff_memberships_for_clinic(clinic):
    return (
        ClinicMembership.objects.filter(clinic=clinic)
        .select_related("user")
        .order_by("-is_active", "role", "user__last_name", "user__first_name")
    )


def clinic_admin_summary(clinic, *, since):
    """The figures of a clinic's admin home, for a clinic the caller has already fetched
    through a selector, in one query: its patients by status ({status: n}), those with a
    portal account, its access events and those refused since `since`."""
    events = AccessEvent.objects.filter(clinic=OuterRef("pk")).values("pk")
    by_status = {
        status: Count("patients", filter=Q(patients__status=status))
        for status in Patient.Status.values
    }
    row = (
        Clinic.objects.filter(pk=clinic.pk)
        .annotate(
            portal_accounts=Count("patients", filter=Q(patients__user__isnull=False)),
            events_total=RowCount(events),
            denied_since=RowCount(
                events.filter(outcome=AccessEvent.Outcome.DENIED, occurred_at__gte=since)
            ),
            **{f"status_{status}": count for status, count in by_status.items()},
        )
        .values(
            "portal_accounts", "events_total", "denied_since", *(f"status_{s}" for s in by_status)
        )
        .get()
    )
    return {
        "patient_counts": {status: row[f"status_{status}"] for status in by_status},
        "portal_accounts": row["portal_accounts"],
        "access_events": row["events_total"],
        "denied_since": row["denied_since"],
    }


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
    already fetched through a selector: read with the patient when it comes from
    `staff_patient_get(..., with_summary=True)`, else in one query."""
    if hasattr(patient, "open_alerts") and hasattr(patient, "last_invited_at"):
        summary = {"open_alerts": patient.open_alerts, "last_invited_at": patient.last_invited_at}
    else:
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
    from django.db.models import Case, FilteredRelation, IntegerField, Value, When

    from clinic.measures.selectors import outcomes_for_patient
    from clinic.monitoring.models import SideEffectReport
    from clinic.pathway.models import AdministrationSession, TreatmentCourse, TreatmentPlan
    from clinic.pathway.models.plan import PlanStatus

    # The plan in force: approved, else suspended, else the newest version written; joined
    # to its course in the courses' query.
    preference = Case(
        When(status=PlanStatus.APPROVED, then=Value(0)),
        When(status=PlanStatus.SUSPENDED, then=Value(1)),
        default=Value(9),
        output_field=IntegerField(),
    )
    plan_in_force = (
        TreatmentPlan.objects.filter(course=OuterRef("pk"))
        .order_by(preference, "-version")
        .values("pk")[:1]
    )
    courses = list(
        TreatmentCourse.objects.filter(patient=patient)
        .alias(
            plan_in_force=FilteredRelation("plans", condition=Q(plans__pk=Subquery(plan_in_force)))
        )
        .select_related("plan_in_force")
        .order_by("created_at", "id")
    )
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
    # The page shows no journal; the dosed sessions are among those just read.
    outcomes = outcomes_for_patient(patient, sessions=sessions, journal=False)
    return {
        "courses": [(course, getattr(course, "plan_in_force", None)) for course in courses],
        "sessions": sessions,
        "side_effects": side_effects,
        "score_series": outcomes["series"],
        "chart_data": {
            "series": [series["chart"] for series in outcomes["series"]],
            "sessions": outcomes["sessions"],
        },
    }
