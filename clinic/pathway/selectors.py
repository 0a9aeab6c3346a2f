"""Reads of treatment courses and their steps for a signed-in user.

Every lookup by public id scopes by the user's clinics (through the patients they may see),
answers 404 for anything else, and writes an `AccessEvent` either way.
"""

import datetime

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist
from django.db import connection
from django.db.models import (
    Exists,
    OuterRef,
    Prefetch,
    Subquery,
)
from django.utils import timezone

from clinic.accounts.roles import CLINICIAN_ROLES, STAFF_ROLES, StaffRole
from clinic.core.lookups import scoped_get_or_404 as _get_or_404
from clinic.core.models import Addendum
from clinic.pathway import json_rows
from clinic.pathway.models import (
    CLOSED_COURSE_STATUSES,
    ELIGIBLE_DECISIONS,
    AdministrationSession,
    Assessment,
    ChecklistAnswer,
    ChecklistTemplate,
    Consultation,
    CourseStatus,
    CourseStatusChange,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    PlanStatus,
    TreatmentCourse,
    TreatmentPlan,
)
from clinic.patients.models import Patient
from clinic.patients.selectors import (
    clinic_ids_for_user,
    memberships_of,
    patients_visible_to,
    visible_patient_q,
)


def courses_visible_to(user, roles=STAFF_ROLES):
    return TreatmentCourse.objects.filter(
        patient__in=patients_visible_to(user, roles=roles, include_own=False)
    )


def course_get_for_user(user, public_id, roles=STAFF_ROLES):
    return _get_or_404(
        courses_visible_to(user, roles).select_related("patient", "patient__clinic"),
        user=user,
        public_id=public_id,
        object_type="treatment_course",
        patient_of=lambda course: course.patient,
    )


# The course page's status history and session list, read with the course (json_rows): the
# fields the page shows, and of the status changes who made them.
COURSE_STATUS_CHANGES_SQL = json_rows.json_rows_sql(
    {
        "id": "c.id",
        "course_id": "c.course_id",
        "from_status": "c.from_status",
        "to_status": "c.to_status",
        "changed_at": "c.changed_at",
        "reason": "c.reason",
        "changed_by_id": "c.changed_by_id",
        "changed_by__id": "u.id",
        "changed_by__username": "u.username",
        "changed_by__first_name": "u.first_name",
        "changed_by__last_name": "u.last_name",
        "changed_by__credentials": "u.credentials",
    },
    "FROM pathway_coursestatuschange c JOIN accounts_user u ON u.id = c.changed_by_id "
    "WHERE c.course_id = pathway_treatmentcourse.id",
)
COURSE_SESSIONS_SQL = json_rows.json_rows_sql(
    {
        "id": "s.id",
        "public_id": "s.public_id",
        "course_id": "s.course_id",
        "session_number": "s.session_number",
        "scheduled_at": "s.scheduled_at",
        "dose_mg": "s.dose_mg",
        "status": "s.status",
    },
    "FROM pathway_administrationsession s WHERE s.course_id = pathway_treatmentcourse.id",
)


def course_get_with_steps_for_user(user, public_id, roles=STAFF_ROLES):
    """`course_get_for_user` (same scope, 404 and audit) with the course's steps read once
    for the course page, scoped by the clinic ids the user carries: the consultation joined
    to the course and its status changes and sessions in the same query, then one query
    each for the assessments, plans and follow-ups (with the people they name). The reads
    below (`course_consultation`, `course_plans`, ...) and
    `session_selectors.course_sessions` use them, so the page, its next step and its
    guards read nothing again."""
    queryset = (
        TreatmentCourse.objects.filter(visible_patient_q(user, roles=roles, through="patient__"))
        .select_related(
            "patient", "patient__clinic", "consultation__author", "consultation__signed_by"
        )
        .annotate(
            status_change_rows=json_rows.json_rows(COURSE_STATUS_CHANGES_SQL),
            session_rows=json_rows.json_rows(COURSE_SESSIONS_SQL),
        )
        .prefetch_related(
            Prefetch(
                "assessments",
                queryset=Assessment.objects.select_related("author", "signed_by"),
                to_attr="loaded_assessments",
            ),
            Prefetch(
                "plans",
                # By version, newest first (TreatmentPlan's ordering, without its join back
                # to the course).
                queryset=TreatmentPlan.objects.select_related("author", "signed_by").order_by(
                    "-version"
                ),
                to_attr="loaded_plans",
            ),
            Prefetch(
                "follow_ups",
                queryset=FollowUp.objects.select_related(
                    "scheduled_by", "completed_by", "signed_by"
                ),
                to_attr="loaded_follow_ups",
            ),
        )
    )
    course = _get_or_404(
        queryset,
        user=user,
        public_id=public_id,
        object_type="treatment_course",
        patient_of=lambda course: course.patient,
    )
    try:
        course.loaded_consultation = course.consultation
    except ObjectDoesNotExist:
        course.loaded_consultation = None
    user_model = CourseStatusChange._meta.get_field("changed_by").related_model
    changes = json_rows.instances(
        CourseStatusChange, course.status_change_rows, related={"changed_by": user_model}
    )
    # CourseStatusChange's and the course page's orders (the aggregates keep none).
    course.loaded_status_changes = sorted(changes, key=lambda c: (c.changed_at, c.id))
    sessions = json_rows.instances(AdministrationSession, course.session_rows)
    course.loaded_sessions = sorted(sessions, key=lambda s: (s.session_number, s.id))
    for row in (*course.loaded_status_changes, *course.loaded_sessions):
        row.course = course
    del course.status_change_rows, course.session_rows
    return course


def _loaded(course, name):
    """The steps `course_get_with_steps_for_user` read (None when `course` came otherwise)."""
    return getattr(course, f"loaded_{name}", None)


def course_consultation(course):
    if hasattr(course, "loaded_consultation"):
        return course.loaded_consultation
    return Consultation.objects.filter(course=course).select_related("author", "signed_by").first()


def course_status_changes(course):
    loaded = _loaded(course, "status_changes")
    return loaded if loaded is not None else course.status_changes.select_related("changed_by")


def course_assessments(course):
    loaded = _loaded(course, "assessments")
    if loaded is not None:
        return loaded
    return course.assessments.select_related("author", "signed_by")


def course_plans(course):
    loaded = _loaded(course, "plans")
    return loaded if loaded is not None else course.plans.select_related("author", "signed_by")


def course_follow_ups(course):
    """The course's follow-ups, by due date."""
    loaded = _loaded(course, "follow_ups")
    if loaded is not None:
        return loaded
    return course.follow_ups.select_related("scheduled_by", "completed_by", "signed_by")


def has_approved_plan(course):
    loaded = _loaded(course, "plans")
    if loaded is not None:
        return any(plan.status == PlanStatus.APPROVED for plan in loaded)
    return course.plans.filter(status=PlanStatus.APPROVED).exists()


def induction_review_signed(course):
    loaded = _loaded(course, "follow_ups")
    if loaded is not None:
        return any(
            f.kind == FollowUpKind.INDUCTION_REVIEW and f.signed_at is not None for f in loaded
        )
    return course.follow_ups.filter(
        kind=FollowUpKind.INDUCTION_REVIEW, signed_at__isnull=False
    ).exists()


def _course_child_get(model, user, public_id, object_type, roles, related=()):
    """`related`: the note's own relations its page shows (its author, signer, ...), read in
    the same query."""
    return _get_or_404(
        model.objects.filter(course__in=courses_visible_to(user, roles)).select_related(
            "course", "course__patient", "course__patient__clinic", *related
        ),
        user=user,
        public_id=public_id,
        object_type=object_type,
        patient_of=lambda child: child.course.patient,
    )


def plan_get_for_user(user, public_id, roles=STAFF_ROLES):
    return _course_child_get(
        TreatmentPlan, user, public_id, "treatment_plan", roles, ("author", "signed_by")
    )


def assessment_get_for_user(user, public_id, roles=STAFF_ROLES):
    return _course_child_get(
        Assessment, user, public_id, "assessment", roles,
        ("author", "signed_by", "checklist__template"),
    )  # fmt: skip


def follow_up_get_for_user(user, public_id, roles=STAFF_ROLES):
    return _course_child_get(FollowUp, user, public_id, "follow_up", roles)


def consultation_get_for_user(user, public_id, roles=STAFF_ROLES):
    return _course_child_get(
        Consultation, user, public_id, "consultation", roles,
        ("author", "signed_by", "consent_obtained_by"),
    )  # fmt: skip


# --- reads of a course the caller has already fetched through a selector ----------------------


def courses_for_patient(patient):
    return patient.treatment_courses.order_by("-created_at", "-id")


def latest_signed_assessment(course):
    loaded = _loaded(course, "assessments")
    if loaded is not None:
        signed = [a for a in loaded if a.signed_at is not None]
        return max(signed, key=lambda a: a.signed_at, default=None)
    return course.assessments.filter(signed_at__isnull=False).order_by("-signed_at").first()


def current_plan(course):
    """The approved plan, else the suspended one, else None."""
    loaded = _loaded(course, "plans")
    plans = {plan.status: plan for plan in (loaded if loaded is not None else course.plans.all())}
    return plans.get(PlanStatus.APPROVED) or plans.get(PlanStatus.SUSPENDED)


def draft_plan(course):
    loaded = _loaded(course, "plans")
    if loaded is not None:
        return next((plan for plan in loaded if plan.status == PlanStatus.DRAFT), None)
    return course.plans.filter(status=PlanStatus.DRAFT).first()


def checklist_answers(response):
    return list(
        ChecklistAnswer.objects.filter(response=response)
        .select_related("item", "response")
        .order_by("item__position")
    )


def active_checklist_template(kind, clinic):
    """The clinic's own active version of a checklist, else the default one."""
    templates = ChecklistTemplate.objects.filter(kind=kind, is_active=True)
    return (
        templates.filter(clinic=clinic).order_by("-version").first()
        or templates.filter(clinic__isnull=True).order_by("-version").first()
    )


def addenda_for(note):
    return (
        Addendum.objects.filter(
            content_type=ContentType.objects.get_for_model(type(note)), object_id=note.pk
        )
        .select_related("author")
        .order_by("signed_at", "id")
    )


def course_timeline(course):
    """What happened in the course, newest first: status changes, notes, plans, follow-ups.

    Each entry is a dict with `at` (a datetime), `kind`, `title`, `detail`, `signed` and,
    where there is one, `url_name` and `public_id` to link to.
    """
    entries = []
    for change in course_status_changes(course):
        entries.append(
            {
                "at": change.changed_at,
                "kind": "status",
                "title": f"Status: {change.get_to_status_display()}",
                "detail": change.reason,
                "by": change.changed_by,
                "signed": None,
            }
        )
    consultation = course_consultation(course)
    if consultation is not None:
        entries.append(_note_entry(consultation, "Consultation", "pathway:consultation"))
    for assessment in course_assessments(course):
        title = "Assessment"
        if assessment.decision:
            title += f": {assessment.get_decision_display()}"
        entries.append(_note_entry(assessment, title, "pathway:assessment"))
    for plan in course_plans(course):
        entries.append(
            _note_entry(plan, f"Plan v{plan.version} ({plan.get_status_display()})", "pathway:plan")
        )
    for follow_up in course_follow_ups(course):
        entry = _note_entry(follow_up, str(follow_up), "pathway:follow_up")
        entry["by"] = follow_up.completed_by or follow_up.scheduled_by
        if follow_up.status == FollowUpStatus.SCHEDULED:
            # Nothing to sign yet: the visit has not happened.
            entry["signed"] = None
            entry["title"] = f"{follow_up} (scheduled)"
        entries.append(entry)
    return sorted(entries, key=lambda entry: entry["at"], reverse=True)


def _note_entry(note, title, url_name):
    return {
        "at": note.signed_at or note.created_at,
        "kind": "note",
        "title": title,
        "detail": "",
        "by": note.signed_by or getattr(note, "author", None),
        "signed": note.is_signed,
        "url_name": url_name,
        "public_id": note.public_id,
    }


def course_next_step(course):
    """The next thing the course needs, and what stands in its way.

    Returns a dict: `title`, `action` (a url name taking the course's public id, or None),
    `action_label`, `blockers` (sentences).
    """
    from clinic.pathway import services  # the guards live with the transitions

    status = course.status
    consultation = course_consultation(course)
    if status == CourseStatus.CONSULTATION:
        blockers = services.course_guard_problems(course, CourseStatus.ASSESSMENT)
        if consultation is None or not consultation.is_signed:
            return _step(
                "Complete and sign the consultation",
                "pathway:consultation_edit",
                "Open consultation",
                blockers,
            )
        return _step("Move the course to assessment", None, "", blockers, CourseStatus.ASSESSMENT)
    if status == CourseStatus.ASSESSMENT:
        blockers = services.course_guard_problems(course, CourseStatus.PLANNING)
        assessment = max(course_assessments(course), key=lambda a: a.created_at, default=None)
        if assessment is None or not assessment.is_signed:
            return _step(
                "Complete the assessment; a prescriber signs the decision",
                "pathway:assessment_start",
                "Open assessment",
                blockers,
            )
        if assessment.decision not in ELIGIBLE_DECISIONS:
            return _step(
                f"Assessment decision: {assessment.get_decision_display()}. Re-assess or close "
                "the course.",
                "pathway:assessment_start",
                "Re-assess",
                blockers,
            )
        return _step("Move the course to planning", None, "", blockers, CourseStatus.PLANNING)
    if status == CourseStatus.PLANNING:
        blockers = services.course_guard_problems(course, CourseStatus.ACTIVE)
        if not has_approved_plan(course):
            return _step(
                "Write the treatment plan; a prescriber approves it",
                "pathway:plan_create",
                "Open plan",
                blockers,
            )
        return _step("Start treatment", None, "", blockers, CourseStatus.ACTIVE)
    if status == CourseStatus.ACTIVE:
        review = next(
            (f for f in course_follow_ups(course) if f.kind == FollowUpKind.INDUCTION_REVIEW),
            None,
        )
        blockers = services.course_guard_problems(course, CourseStatus.MAINTENANCE)
        title = "Sessions per the plan"
        if review is not None and review.status == FollowUpStatus.SCHEDULED:
            title += f"; end-of-induction review due {review.due_on:%-d %b %Y}"
        return _step(title, None, "", blockers, CourseStatus.MAINTENANCE)
    if status == CourseStatus.MAINTENANCE:
        return _step("Maintenance sessions and reviews per the plan", None, "", [])
    if status == CourseStatus.ON_HOLD:
        return _step(
            "On hold: a prescriber resumes or ends the course",
            None,
            "",
            services.course_guard_problems(course, CourseStatus.ACTIVE),
            CourseStatus.ACTIVE,
        )
    return _step(f"Course {course.get_status_display().lower()}", None, "", [])


def _step(title, action, action_label, blockers, target=None):
    return {
        "title": title,
        "action": action,
        "action_label": action_label,
        "blockers": blockers,
        "target": target,
    }


# --- lists for the clinician home -------------------------------------------------------------
# Scoped by the clinic ids the user carries (`patients.selectors.visible_patient_q`; for the
# request's user no query for them) rather than subqueries through memberships.

SIGNATURE_KINDS = {
    # kind: (label, URL name)
    "consultation": ("Consultation", "pathway:consultation_edit_by_id"),
    "follow_up": ("Follow-up", "pathway:follow_up"),
    "assessment": ("Assessment", "pathway:assessment"),
    "plan": ("Plan v{version} to approve", "pathway:plan"),
}


def _awaiting_signature_part(kind, model, condition, version="CAST(NULL AS integer)"):
    """One part of `awaiting_signature_for_user`'s fixed SQL: the notes of `model` on open
    courses that meet `condition`, oldest first, at most the limit. The clinic ids are the
    format fields `clinics` and `prescriber_clinics`; the parameters are (clinic ids...,
    user id, the condition's, limit). Each part is a subquery of its own so that SQLite, too,
    lets it keep its own ORDER BY and LIMIT within the UNION (and PostgreSQL types the plan
    version's NULL, which it would otherwise take for text)."""
    closed = ", ".join(f"'{status.value}'" for status in CLOSED_COURSE_STATUSES)
    return (
        f"SELECT * FROM (SELECT '{kind}' AS note_kind, n.public_id, n.created_at, "  # noqa: S608 # nosec B608 - fixed SQL, no input
        f"{version} AS plan_version, c.public_id AS course_public_id, c.indication, "
        "p.public_id AS patient_public_id, p.medical_record_number, p.family_name, "
        f"p.given_name FROM {model._meta.db_table} n "
        f"JOIN {TreatmentCourse._meta.db_table} c ON c.id = n.course_id "
        f"JOIN {Patient._meta.db_table} p ON p.id = c.patient_id "
        "WHERE p.clinic_id IN ({clinics}) AND (p.user_id IS NULL OR p.user_id <> %s) "
        f"AND c.status NOT IN ({closed}) AND {condition} "
        f"ORDER BY n.created_at LIMIT %s) AS {kind}"
    )


_WRITTEN_BY_USER = "n.signed_at IS NULL AND n.{author} = %s"
_OF_PRESCRIBER_CLINICS = "p.clinic_id IN ({prescriber_clinics})"
# part: (SQL, what its condition takes: the user's id or the prescriber clinics' ids).
AWAITING_SIGNATURE_SQL = {
    "consultation": (
        _awaiting_signature_part(
            "consultation", Consultation, _WRITTEN_BY_USER.format(author="author_id")
        ),
        "user",
    ),
    "follow_up": (
        _awaiting_signature_part(
            "follow_up",
            FollowUp,
            f"n.status = '{FollowUpStatus.COMPLETED.value}' AND "
            + _WRITTEN_BY_USER.format(author="completed_by_id"),
        ),
        "user",
    ),
    "own_assessment": (
        _awaiting_signature_part(
            "assessment", Assessment, _WRITTEN_BY_USER.format(author="author_id")
        ),
        "user",
    ),
    "clinic_assessment": (
        _awaiting_signature_part(
            "assessment", Assessment, f"n.signed_at IS NULL AND {_OF_PRESCRIBER_CLINICS}"
        ),
        "prescriber_clinics",
    ),
    "plan": (
        _awaiting_signature_part(
            "plan",
            TreatmentPlan,
            f"n.status = '{PlanStatus.DRAFT.value}' AND {_OF_PRESCRIBER_CLINICS}",
            version="n.version",
        ),
        "prescriber_clinics",
    ),
}


def awaiting_signature_for_user(user, limit=20):
    """The oldest `limit` notes awaiting the user's signature on open courses of their
    clinics, oldest first, in one query: a UNION of the unsigned consultations and recorded
    follow-ups the user wrote and, for prescribers, the draft plans and unsigned assessments
    of their clinics (for others, the unsigned assessments they wrote). Each item names its
    patient and course by the fields the home page shows.

    Fixed SQL (AWAITING_SIGNATURE_SQL): the ORM's form of this UNION, four querysets each
    scoped and annotated, took longer to build and compile than PostgreSQL took to answer."""
    clinics = clinic_ids_for_user(user, CLINICIAN_ROLES)
    if not clinics:
        return []
    # Any active prescriber membership, the clinic's own state aside (the clinic scope above
    # already keeps to active clinics).
    memberships = memberships_of(user)
    prescriber_clinics = sorted(
        {clinic for role, clinic, _active, _tz in memberships if role == StaffRole.PRESCRIBER}
    )
    names = ["consultation", "follow_up"]
    names += ["clinic_assessment", "plan"] if prescriber_clinics else ["own_assessment"]
    takes = {"user": [user.pk], "prescriber_clinics": prescriber_clinics}
    placeholders = {
        "clinics": ", ".join(["%s"] * len(clinics)),
        "prescriber_clinics": ", ".join(["%s"] * len(prescriber_clinics)),
    }
    parts, params = [], []
    for name in names:
        sql, condition_takes = AWAITING_SIGNATURE_SQL[name]
        parts.append(sql.format(**placeholders))
        params += [*clinics, user.pk, *takes[condition_takes], limit]
    with connection.cursor() as cursor:
        cursor.execute(
            " UNION ALL ".join(parts) + " ORDER BY created_at LIMIT %s", [*params, limit]
        )
        return [_awaiting_signature_item(*row) for row in cursor.fetchall()]


_UUID = Consultation._meta.get_field("public_id")
_CREATED_AT = Consultation._meta.get_field("created_at")


def _awaiting_signature_item(kind, public_id, since, version, course_id, indication,
                             patient_id, mrn, family_name, given_name):  # fmt: skip
    """A row of AWAITING_SIGNATURE_SQL as the home page lists it; the columns read as the
    ORM reads them (SQLite gives UUIDs as hex and times as naive UTC text)."""
    since = _CREATED_AT.to_python(since)
    if timezone.is_naive(since):
        since = timezone.make_aware(since, datetime.UTC)
    label, url_name = SIGNATURE_KINDS[kind]
    return {
        "label": label.format(version=version),
        "patient": {
            "public_id": _UUID.to_python(patient_id),
            "medical_record_number": mrn,
            "family_name": family_name,
            "given_name": given_name,
        },
        "course": {"public_id": _UUID.to_python(course_id), "indication": indication},
        "since": since,
        "url_name": url_name,
        "public_id": _UUID.to_python(public_id),
    }


def overdue_follow_ups_query(user, *, today=None):
    """The scheduled follow-ups of the patients of the user's clinics due before `today`
    (the current date), unordered and without the related rows: for counting, or to list
    with `overdue_follow_ups_for_user`."""
    return FollowUp.objects.filter(
        visible_patient_q(user, through="course__patient__"),
        status=FollowUpStatus.SCHEDULED,
        due_on__lt=today or timezone.localdate(),
    ).order_by()


def overdue_follow_ups_for_user(user, *, today=None, limit=None):
    """`overdue_follow_ups_query`, oldest due first, each with its course, patient and
    clinic; the first `limit` of them when given."""
    follow_ups = (
        overdue_follow_ups_query(user, today=today)
        .select_related("course", "course__patient", "course__patient__clinic")
        .order_by("due_on", "id")
    )
    return follow_ups[:limit] if limit else follow_ups


def sessions_on_day_for_user(user, day=None):
    """The sessions of the user's clinics scheduled on `day` (today, in the user's time
    zone), by time, each with its patient, plan and nurse: one query, of only the fields the
    home page lists (the others deferred)."""
    day = day or timezone.localdate()
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)
    return list(
        AdministrationSession.objects.filter(
            visible_patient_q(user, through="course__patient__"),
            scheduled_at__gte=start,
            scheduled_at__lt=start + datetime.timedelta(days=1),
        )
        .select_related("course__patient", "plan", "nurse")
        .only(*SESSION_LISTED_FIELDS)
        .order_by("scheduled_at", "id")
    )


SESSION_LISTED_FIELDS = (
    "public_id",
    "scheduled_at",
    "session_number",
    "status",
    "dose_mg",
    "course__patient__family_name",
    "course__patient__given_name",
    "plan__drug",
    *(f"nurse__{name}" for name in ("username", "first_name", "last_name", "credentials")),
)


def courses_with_steps(patient):
    """The patient's courses with what the chart shows of each, in one query: the
    consultation joined, and of the plans and follow-ups only what `course_chart_step` needs
    (the newest draft plan's version and id, whether a plan is approved, the next scheduled
    follow-up's kind, date and id), as subqueries of the course."""
    drafts = TreatmentPlan.objects.filter(course=OuterRef("pk"), status=PlanStatus.DRAFT).order_by(
        "-version"
    )
    scheduled = FollowUp.objects.filter(
        course=OuterRef("pk"), status=FollowUpStatus.SCHEDULED
    ).order_by("due_on", "id")
    return (
        courses_for_patient(patient)
        .select_related("consultation")
        .annotate(
            chart_draft_version=Subquery(drafts.values("version")[:1]),
            chart_draft_public_id=Subquery(drafts.values("public_id")[:1]),
            chart_plan_approved=Exists(
                TreatmentPlan.objects.filter(course=OuterRef("pk"), status=PlanStatus.APPROVED)
            ),
            chart_follow_up_kind=Subquery(scheduled.values("kind")[:1]),
            chart_follow_up_due_on=Subquery(scheduled.values("due_on")[:1]),
            chart_follow_up_public_id=Subquery(scheduled.values("public_id")[:1]),
        )
    )


def course_chart_step(course):
    """The next step of a course from `courses_with_steps` as the patient chart shows it:
    (label, url name, public id). Reads only what that query fetched, so a chart of many
    courses costs no query per course."""
    status = course.status
    if status == CourseStatus.CONSULTATION:
        try:
            consultation = course.consultation
        except ObjectDoesNotExist:
            consultation = None
        if consultation is None or not consultation.is_signed:
            return ("Complete the consultation", "pathway:consultation_edit", course.public_id)
        return ("Move to assessment", "pathway:course", course.public_id)
    if status == CourseStatus.ASSESSMENT:
        return ("Eligibility assessment", "pathway:assessment_start", course.public_id)
    if status == CourseStatus.PLANNING:
        if course.chart_draft_public_id is not None:
            return (
                f"Plan v{course.chart_draft_version} awaits approval",
                "pathway:plan",
                course.chart_draft_public_id,
            )
        if not course.chart_plan_approved:
            return ("Write the treatment plan", "pathway:plan_create", course.public_id)
        return ("Start treatment", "pathway:course", course.public_id)
    if status in (CourseStatus.ACTIVE, CourseStatus.MAINTENANCE):
        due_on = course.chart_follow_up_due_on
        if course.chart_follow_up_public_id is not None:
            when = "overdue since" if due_on < timezone.localdate() else "due"
            return (
                f"{FollowUpKind(course.chart_follow_up_kind).label} {when} {due_on:%-d %b %Y}",
                "pathway:follow_up",
                course.chart_follow_up_public_id,
            )
        return ("Sessions per the plan", "pathway:course", course.public_id)
    return ("Open the course", "pathway:course", course.public_id)
