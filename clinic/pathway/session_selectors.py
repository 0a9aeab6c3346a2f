"""Reads of administration sessions for a signed-in user (404 and audit as everywhere)."""

from types import SimpleNamespace

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import OuterRef, Subquery

from clinic.accounts.models import User
from clinic.accounts.roles import STAFF_ROLES
from clinic.ledger.models import EntryType, LedgerEntry, Lot
from clinic.monitoring.models import SideEffectReport
from clinic.pathway import json_rows
from clinic.pathway.models import (
    AdministrationSession,
    Assessment,
    BodyMeasurement,
    ChecklistResponse,
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


def _user_columns(field, alias, prefix=True):
    """json_rows columns of the user `field` names (joined as `alias`): what
    `display_name` reads; keyed "<field>__<name>" for a row's related user, or by the bare
    names (`prefix=False`) for a row that is the user."""
    return {
        f"{field}__{name}" if prefix else name: f"{alias}.{name}"
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

# The session's ledger (json_rows), as `ledger.selectors.session_draws_and_uses` reads it:
# its standing draws (not reversed), each with `used_mg` (the mg of every row that splits it,
# reversals of them included), `actor` and `witness`; the standing administrations and
# wastes of those draws (each with `actor`, `witness` and `used_mg`); and, apart (a row of
# every column of the entry, its lot and two users is too many arguments for PostgreSQL's
# JSONB_BUILD_OBJECT), the lots of all of them.
_ENTRY = LedgerEntry._meta.db_table
_USER = User._meta.db_table


def _standing(alias, probe):
    sql = f"SELECT 1 FROM {_ENTRY} {probe} WHERE {probe}.reverses_id = {alias}.id"  # noqa: S608 # nosec B608 - fixed SQL, no input
    return f"NOT EXISTS ({sql})"


def _standing_draw(alias):
    return (
        f"{alias}.session_id = {_SESSION}.id AND {alias}.entry_type = '{EntryType.DRAW.value}' "
        f"AND {_standing(alias, alias + '_r')}"
    )


_USE_TYPES = ", ".join(f"'{kind.value}'" for kind in (EntryType.ADMINISTER, EntryType.WASTE))
# (joins, condition) of the draws and of the uses, each entry as `e`.
_LEDGER_DRAWS = ("", _standing_draw("e"))
_LEDGER_USES = (
    f"JOIN {_ENTRY} d ON d.id = e.draw_id",
    f"{_standing_draw('d')} AND e.entry_type IN ({_USE_TYPES}) AND {_standing('e', 'e_r')}",
)
_LEDGER_ENTRY_COLUMNS = {
    **_all_columns(LedgerEntry, "e"),
    **_user_columns("actor", "a"),
    **_user_columns("witness", "w"),
    "used_mg": f"COALESCE((SELECT SUM(x.mg) FROM {_ENTRY} x WHERE x.draw_id = e.id), 0)",  # noqa: S608 # nosec B608 - fixed SQL, no input
}


def _ledger_entries_sql(entries):
    joins, condition = entries
    return json_rows.json_rows_sql(
        _LEDGER_ENTRY_COLUMNS,
        f"FROM {_ENTRY} e {joins} JOIN {_USER} a ON a.id = e.actor_id "
        f"LEFT JOIN {_USER} w ON w.id = e.witness_id WHERE {condition}",
    )


def _lot_ids_sql(entries):
    joins, condition = entries
    return f"SELECT e.lot_id FROM {_ENTRY} e {joins} WHERE {condition}"  # noqa: S608 # nosec B608 - fixed SQL, no input


RUNNER_LEDGER_DRAWS_SQL = _ledger_entries_sql(_LEDGER_DRAWS)
RUNNER_LEDGER_USES_SQL = _ledger_entries_sql(_LEDGER_USES)
RUNNER_LEDGER_LOTS_SQL = json_rows.json_rows_sql(
    _all_columns(Lot, "l"),
    f"FROM {Lot._meta.db_table} l WHERE l.id IN "
    f"({_lot_ids_sql(_LEDGER_DRAWS)} UNION {_lot_ids_sql(_LEDGER_USES)})",
)


def session_get_for_runner_for_user(user, public_id, roles=STAFF_ROLES):
    """`session_get_for_user` (same scope, 404 and audit) for the runner, scoped by the
    clinic ids the user carries: the course record of `attach_course_record` and, in the
    same query, `session.status_changes_list` (by time, each with `changed_by`),
    `session.devices_list` (the esketamine devices by number, each with `recorded_by`) and
    `session.side_effects_list` (by onset, each with `reporter`), as
    `session.status_changes`, `session.devices` and
    `monitoring.selectors.side_effects_for_session` give them; and `session.ledger_draws`
    and `session.ledger_uses`, the `(draws, uses)` of
    `ledger.selectors.session_draws_and_uses` (each with its `lot`, `actor` and `witness`,
    the draws with `used_mg`; in ledger order)."""
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


# The runner's session row joins only what its scope and course record need; its people
# and checklists come as JSON, each from its own small subquery. Joined, their five tables
# took the query to eleven, and PostgreSQL's search over the join orders of eleven tables
# planned for 6 to 12 ms on every runner page (about 2 ms without them).
RUNNER_JOINED = ("course", "course__patient", "course__patient__clinic", "plan")
RUNNER_PEOPLE = ("nurse", "prescriber", "signed_by")
RUNNER_CHECKLISTS = ("pre_checklist", "discharge_checklist")


def _to_one_sql(field_name, columns, alias):
    field = AdministrationSession._meta.get_field(field_name)
    return json_rows.json_rows_sql(
        columns,
        f"FROM {field.related_model._meta.db_table} {alias} "
        f'WHERE {alias}.id = {_SESSION}."{field.column}"',
    )


RUNNER_TO_ONE_SQL = {
    **{
        name: _to_one_sql(name, _user_columns(name, "u", prefix=False), "u")
        for name in RUNNER_PEOPLE
    },
    **{
        name: _to_one_sql(name, _all_columns(ChecklistResponse, "r"), "r")
        for name in RUNNER_CHECKLISTS
    },
}  # fmt: skip


def _with_runner_lists(queryset):
    return with_course_record(queryset.select_related(*RUNNER_JOINED)).annotate(
        **{f"_{name}_row": json_rows.json_rows(sql) for name, sql in RUNNER_TO_ONE_SQL.items()},
        _status_changes=json_rows.json_rows(RUNNER_STATUS_CHANGES_SQL),
        _devices=json_rows.json_rows(RUNNER_DEVICES_SQL),
        _side_effects=json_rows.json_rows(RUNNER_SIDE_EFFECTS_SQL),
        _ledger_draws=json_rows.json_rows(RUNNER_LEDGER_DRAWS_SQL),
        _ledger_uses=json_rows.json_rows(RUNNER_LEDGER_USES_SQL),
        _ledger_lots=json_rows.json_rows(RUNNER_LEDGER_LOTS_SQL),
    )


def attach_runner_lists(session):
    """The lists of `session_get_for_runner_for_user` from its JSON annotations, and its
    nurse, prescriber, signer (what `display_name` reads) and checklists, cached on the
    session as `select_related` would have left them."""
    for name in (*RUNNER_PEOPLE, *RUNNER_CHECKLISTS):
        field = AdministrationSession._meta.get_field(name)
        rows = json_rows.instances(field.related_model, getattr(session, f"_{name}_row"))
        field.set_cached_value(session, rows[0] if rows else None)
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
    session.ledger_draws, session.ledger_uses = _ledger_entries(session)
    return session


def _ledger_entries(session):
    """`(draws, uses)` of the JSON annotations, as `session_draws_and_uses` gives them."""
    lots = {lot.pk: lot for lot in json_rows.instances(Lot, session._ledger_lots)}
    people = {"actor": User, "witness": User}
    used = {"used_mg": LedgerEntry._meta.get_field("mg")}
    draws, uses = (
        sorted(json_rows.instances(LedgerEntry, text, people, used), key=lambda entry: entry.pk)
        for text in (session._ledger_draws, session._ledger_uses)
    )
    for entry in (*draws, *uses):
        entry.lot = lots[entry.lot_id]
    return draws, uses


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
