"""Reads of administration sessions for a signed-in user (404 and audit as everywhere)."""

from types import SimpleNamespace

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import OuterRef, Subquery

from clinic.accounts.models import User
from clinic.accounts.roles import STAFF_ROLES
from clinic.monitoring.models import SideEffectReport
from clinic.pathway import json_rows
from clinic.pathway.models import (
    AdministrationSession,
    Assessment,
    BodyMeasurement,
    EsketamineDevice,
    SessionStatusChange,
)
from clinic.pathway.selectors import _get_or_404, courses_visible_to
from clinic.patients.selectors import visible_patient_q


def sessions_visible_to(user, roles=STAFF_ROLES):
    return AdministrationSession.objects.filter(course__in=courses_visible_to(user, roles))


SESSION_RELATED = (
    "course",
    "course__patient",
    "course__patient__clinic",
    "plan",
    "nurse",
    "prescriber",
    "pre_checklist",
    "discharge_checklist",
)


def session_get_for_user(user, public_id, roles=STAFF_ROLES):
    return _session_get(
        user, public_id, sessions_visible_to(user, roles).select_related(*SESSION_RELATED)
    )


def _session_get(user, public_id, queryset):
    return _get_or_404(
        queryset,
        user=user,
        public_id=public_id,
        object_type="session",
        patient_of=lambda session: session.course.patient,
    )


def with_course_record(queryset):
    """Sessions read in one query with what the runner and the printable record need of the
    course; `attach_course_record` then names it on each session."""
    signed = Assessment.objects.filter(
        course_id=OuterRef("course_id"), signed_at__isnull=False
    ).order_by("-signed_at")
    weights = BodyMeasurement.objects.filter(patient_id=OuterRef("course__patient_id")).order_by(
        "-measured_on", "-id"
    )
    return queryset.select_related("course__consultation").annotate(
        _assessment_pk=Subquery(signed.values("pk")[:1]),
        _assessment_rems=Subquery(signed.values("rems_enrolled_on")[:1]),
        _assessment_risk=Subquery(signed.values("suicide_risk")[:1]),
        _weight_pk=Subquery(weights.values("pk")[:1]),
        _weight_kg=Subquery(weights.values("weight_kg")[:1]),
        _weight_on=Subquery(weights.values("measured_on")[:1]),
    )


def attach_course_record(session):
    """On a session read through `with_course_record`: `session.course_consultation` (None
    when the course has none), `session.signed_assessment` (the latest signed assessment's
    `rems_enrolled_on` and `suicide_risk`, or None) and `session.latest_weight` (the
    patient's latest `weight_kg` and `measured_on`, or None), as
    `selectors.latest_signed_assessment` and `services.latest_weight` give them."""
    try:
        session.course_consultation = session.course.consultation
    except ObjectDoesNotExist:
        session.course_consultation = None
    session.signed_assessment = (
        SimpleNamespace(
            pk=session._assessment_pk,
            rems_enrolled_on=session._assessment_rems,
            suicide_risk=session._assessment_risk,
        )
        if session._assessment_pk is not None
        else None
    )
    session.latest_weight = (
        SimpleNamespace(
            pk=session._weight_pk, weight_kg=session._weight_kg, measured_on=session._weight_on
        )
        if session._weight_pk is not None
        else None
    )
    return session


def _user_columns(field, alias):
    """json_rows columns of the user `field` names (joined as `alias`): what
    `display_name` reads."""
    return {
        f"{field}__{name}": f"{alias}.{name}"
        for name in ("id", "username", "first_name", "last_name", "credentials")
    }


def _all_columns(model, alias):
    return {field.attname: f'{alias}."{field.column}"' for field in model._meta.concrete_fields}


_SESSION = AdministrationSession._meta.db_table
# The runner's status history, devices and side effects, read with the session (json_rows):
# every field of each row, and the people the page names.
RUNNER_STATUS_CHANGES_SQL = json_rows.json_rows_sql(
    {**_all_columns(SessionStatusChange, "c"), **_user_columns("changed_by", "u")},
    f"FROM {SessionStatusChange._meta.db_table} c JOIN accounts_user u ON u.id = c.changed_by_id "
    f"WHERE c.session_id = {_SESSION}.id",
)
RUNNER_DEVICES_SQL = json_rows.json_rows_sql(
    {**_all_columns(EsketamineDevice, "d"), **_user_columns("recorded_by", "u")},
    f"FROM {EsketamineDevice._meta.db_table} d JOIN accounts_user u ON u.id = d.recorded_by_id "
    f"WHERE d.session_id = {_SESSION}.id",
)
RUNNER_SIDE_EFFECTS_SQL = json_rows.json_rows_sql(
    {**_all_columns(SideEffectReport, "e"), **_user_columns("reporter", "u")},
    f"FROM {SideEffectReport._meta.db_table} e JOIN accounts_user u ON u.id = e.reporter_id "
    f"WHERE e.session_id = {_SESSION}.id",
)


def session_get_for_runner_for_user(user, public_id, roles=STAFF_ROLES):
    """`session_get_for_user` (same scope, 404 and audit) for the runner, scoped by the
    clinic ids the user carries: the course record of `attach_course_record` and, in the
    same query, `session.status_changes_list` (by time, each with `changed_by`),
    `session.devices_list` (the esketamine devices by number, each with `recorded_by`) and
    `session.side_effects_list` (by onset, each with `reporter`), as
    `session.status_changes`, `session.devices` and
    `monitoring.selectors.side_effects_for_session` give them."""
    queryset = _with_runner_lists(
        AdministrationSession.objects.filter(
            visible_patient_q(user, roles=roles, through="course__patient__")
        )
    )
    return attach_runner_lists(attach_course_record(_session_get(user, public_id, queryset)))


def session_reload_for_runner(session):
    """A session the caller already looked up through a selector, read again (after a
    write) as `session_get_for_runner_for_user` reads it."""
    queryset = _with_runner_lists(AdministrationSession.objects.all())
    return attach_runner_lists(attach_course_record(queryset.get(pk=session.pk)))


def _with_runner_lists(queryset):
    return with_course_record(queryset.select_related(*SESSION_RELATED, "signed_by")).annotate(
        _status_changes=json_rows.json_rows(RUNNER_STATUS_CHANGES_SQL),
        _devices=json_rows.json_rows(RUNNER_DEVICES_SQL),
        _side_effects=json_rows.json_rows(RUNNER_SIDE_EFFECTS_SQL),
    )


def attach_runner_lists(session):
    """The lists of `session_get_for_runner_for_user` from its JSON annotations."""
    session.status_changes_list = sorted(
        json_rows.instances(SessionStatusChange, session._status_changes, {"changed_by": User}),
        key=lambda change: (change.changed_at, change.pk),
    )
    session.devices_list = sorted(
        json_rows.instances(EsketamineDevice, session._devices, {"recorded_by": User}),
        key=lambda device: device.number,
    )
    session.side_effects_list = sorted(
        json_rows.instances(SideEffectReport, session._side_effects, {"reporter": User}),
        key=lambda effect: (effect.onset_at, effect.pk),
    )
    return session


# EsketamineDevice.number runs from 1 to 3 (the device_number_1_to_3 constraint).
DEVICE_NUMBERS = (1, 2, 3)


def session_get_for_print_for_user(user, public_id, roles=STAFF_ROLES):
    """`session_get_for_user` (same scope, 404 and audit) for the printable record, in one
    query scoped by the clinic ids the user carries, with only what the record shows: the
    course, patient and clinic, the plan, the nurse, prescriber and signer;
    `session.signed_assessment` (the latest signed assessment's `rems_enrolled_on`, or
    None); and `session.given_devices`, the esketamine devices given (each with its `number`
    and `given_at`, by number; empty when none was). The checklists are left to their ids
    (`pre_checklist_id`, `discharge_checklist_id`)."""
    signed = Assessment.objects.filter(
        course_id=OuterRef("course_id"), signed_at__isnull=False
    ).order_by("-signed_at")
    given_at = {
        f"_device_{number}_at": Subquery(
            EsketamineDevice.objects.filter(session=OuterRef("pk"), number=number)
            .order_by()
            .values("given_at")[:1]
        )
        for number in DEVICE_NUMBERS
    }
    queryset = (
        AdministrationSession.objects.filter(
            visible_patient_q(user, roles=roles, through="course__patient__")
        )
        .select_related("course__patient__clinic", "plan", "nurse", "prescriber", "signed_by")
        .annotate(
            _assessment_pk=Subquery(signed.values("pk")[:1]),
            _assessment_rems=Subquery(signed.values("rems_enrolled_on")[:1]),
            **given_at,
        )
    )
    session = _session_get(user, public_id, queryset)
    session.signed_assessment = (
        SimpleNamespace(pk=session._assessment_pk, rems_enrolled_on=session._assessment_rems)
        if session._assessment_pk is not None
        else None
    )
    session.given_devices = [
        SimpleNamespace(number=number, given_at=at)
        for number in DEVICE_NUMBERS
        if (at := getattr(session, f"_device_{number}_at")) is not None
    ]
    return session


def sessions_for_course(course):
    return course.sessions.select_related("plan", "nurse").order_by("session_number")


def course_sessions(course):
    """The course's sessions by number, as the course page lists them: those
    `selectors.course_get_with_steps_for_user` read with the course (their number, time,
    dose and status), else `sessions_for_course`."""
    loaded = getattr(course, "loaded_sessions", None)
    return loaded if loaded is not None else list(sessions_for_course(course))
