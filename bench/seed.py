# ruff: noqa: S608 - SQL built from the models and constants of this module, no user input
"""Fills PostgreSQL with a clinic group at scale, set-based: one INSERT ... SELECT per table.

Why here and not in an app: the seeder writes to every app's tables and belongs to none of
them, and docs/architecture.md puts benchmark tooling under bench/. `manage.py seed_bench`
(clinic/core/management/commands/) is the entry point; tests/perf/ calls `seed()` directly.

Every row is one the services could have written: foreign keys inside one clinic, statuses
that follow the pathway, signed notes inserted already signed with the content hash the
services compute (SQL below rebuilds `clinic.core.signing.content_hash` byte for byte),
questionnaire totals from the real scorer, vital flags from the default limits, and ledger
rows whose running balances never go below zero. The immutability triggers check each row
as it is inserted; foreign keys and the ledger's draw-use rule are checked set-based over
every row before COMMIT (below), and a row either would have refused refuses the seed.

Change history (django-pghistory, clinic/core/history.py) is written as the app writes it,
set-based: the per-row insert-event triggers of the tracked tables are switched off inside
the seeding transaction only (ALTER TABLE is transactional: a failure rolls the switch back
with the rows), and before COMMIT each table's new rows are copied into its event table in
one INSERT ... SELECT with what the trigger would have written (every tracked column, label
'insert', the transaction's NOW(), no request context), then the triggers are switched on
again. Row by row, the history triggers took two thirds of the seeding time (measured on
100,000 vitals: 1.5 s with no triggers, 3.3 s with foreign-key checks, 9.8 s with the
history trigger as well).

The same holds for the per-row checks that have an exact set-based form: each foreign key's
insert trigger (an index probe per row and key) and the ledger's draw-use trigger (three
queries per row) are switched off in the transaction, and before COMMIT one anti-join per
foreign key and one windowed query over the ledger find any row they would have refused
(the full seed: 139.7 s with the per-row checks, 101.4 s with the set-based ones, of which
the checks take 5 s).
"""

import json
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import connection, models, transaction
from django.utils import timezone
from psycopg import sql as pgsql

from clinic.accounts.models import User
from clinic.core.models import AccessEvent
from clinic.ledger.models import LedgerEntry, Lot
from clinic.measures import instruments
from clinic.measures.models import (
    ClinicMeasureSettings,
    InstrumentResponse,
    MeasureDue,
    MoodJournalEntry,
    ReminderPreference,
    SafetyAlert,
    ScheduleRule,
    ScheduleTiming,
)
from clinic.monitoring.limits import CRITICAL_FLAGS, DEFAULT_LIMITS
from clinic.monitoring.models import SideEffectReport, VitalAcknowledgment, VitalReading
from clinic.pathway.models import (
    AdministrationSession,
    Assessment,
    BodyMeasurement,
    ChecklistAnswer,
    ChecklistResponse,
    Consultation,
    CourseStatusChange,
    EsketamineDevice,
    FollowUp,
    PlanStatusChange,
    SessionStatusChange,
    TreatmentCourse,
    TreatmentPlan,
)
from clinic.patients.models import CareTeamMember, Clinic, ClinicMembership, Patient

BENCH_PASSWORD = "bench-pass-2026"  # noqa: S105 - invented accounts of a benchmark database
CLINIC_NAME_PREFIX = "Bench Clinic "
STAFF_PER_CLINIC = (("prescriber", 3), ("nurse", 6), ("admin", 1))
DAYS_BETWEEN_SESSIONS = 3
JOURNAL_DAYS = 20
LOT_DRAWS = 1000  # draws per lot; the lot holds more than 1,000 of the largest draw
KETAMINE_MG_PER_ML = Decimal("50.00")
VIAL_ML = Decimal("10.00")
VIALS_PER_LOT = 120
DEVICES_PER_LOT = 3000
WASTE_ML = Decimal("0.05")

FIRST_NAMES = ["Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Iris", "Jonas",
               "Keiko", "Liam", "Maya", "Nils", "Olga", "Pedro", "Quinn", "Rosa", "Sami", "Tara",
               "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe", "Aaron", "Bea", "Carlos",
               "Dana"]  # fmt: skip
FAMILY_NAMES = ["Abbott", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ito",
                "Jensen", "Khan", "Lopez", "Meyer", "Novak", "Okafor", "Patel", "Quist", "Reyes",
                "Silva", "Tanaka", "Ueda", "Varga", "Walsh", "Xu", "Young", "Zimmer", "Adler",
                "Brandt", "Costa", "Dubois", "Engel", "Fox", "Gupta", "Hale", "Ivanov", "Jones",
                "Kowalski", "Larsen", "Moreau", "Nakamura"]  # fmt: skip
SIDE_EFFECT_TERMS = ["DISSOC", "NAUSEA", "DIZZY", "HEADACHE", "SEDATION", "ANXIETY", "BP-HR"]


class SeedRefused(Exception):
    """The database or its contents are not ones the seeder may write to."""


@dataclass
class SeedReport:
    counts: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)
    total_seconds: float = 0.0

    def lines(self):
        for table, count in self.counts.items():
            yield f"{table:<40} {count:>10,} rows {self.seconds[table]:>7.2f} s"
        yield f"{'total':<40} {sum(self.counts.values()):>10,} rows {self.total_seconds:>7.2f} s"


def _qn(name):
    return connection.ops.quote_name(name)


def _lit(value):
    return pgsql.Literal(value).as_string(connection.connection)


def _default_sql(model, f, now_sql):
    """SQL for a column the caller left out: what the model would have put there."""
    if isinstance(f, models.UUIDField) and f.default is uuid.uuid4:
        return "gen_random_uuid()"
    if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
        return now_sql
    if f.has_default():
        if f.default is timezone.now:
            return now_sql
        value = f.get_default()
        if isinstance(f, models.JSONField):
            return f"{_lit(json.dumps(value))}::jsonb"
        return _lit(f.get_db_prep_save(value, connection))
    if f.null:
        return "NULL"
    if f.blank and f.empty_strings_allowed:
        return "''"
    raise ValueError(f"{model.__name__}.{f.name} needs a value in the seeder")


class _Seeder:
    def __init__(self, cursor, report, now):
        self.cursor = cursor
        self.report = report
        self.now = now
        self.now_sql = f"{_lit(now)}::timestamptz"

    def run(self, text):
        self.cursor.execute(text)

    def insert(self, model, columns, source, *, computed=None, label=None):
        """INSERT INTO model's table SELECT columns FROM source; `computed` expressions are
        worked out over the finished row (alias r), e.g. a content hash over its values."""
        computed = computed or {}
        fields = [
            f
            for f in model._meta.concrete_fields
            if not f.primary_key or f.attname in columns  # ids handed out in time order
        ]
        inner, outer = [], []
        for f in fields:
            if f.attname in computed:
                outer.append(computed[f.attname])
                continue
            expr = columns.get(f.attname, columns.get(f.name))
            if expr is None:
                expr = _default_sql(model, f, self.now_sql)
            # Cast to the column's type: a NULL or a CASE in a subquery has none of its own.
            inner.append(f"({expr})::{f.db_type(connection)} AS {_qn(f.column)}")
            outer.append(f"r.{_qn(f.column)}")
        unknown = set(columns) - {f.attname for f in fields} - {f.name for f in fields}
        if unknown:
            raise ValueError(f"{model.__name__} has no fields {sorted(unknown)}")
        table = model._meta.db_table
        text = (
            f"INSERT INTO {_qn(table)} ({', '.join(_qn(f.column) for f in fields)}) "
            f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM {source}) AS r"
        )
        started = time.monotonic()
        self.cursor.execute(text)
        key = label or table
        self.report.counts[key] = self.report.counts.get(key, 0) + self.cursor.rowcount
        self.report.seconds[key] = self.report.seconds.get(key, 0.0) + (time.monotonic() - started)
        return self.cursor.rowcount


# --- Change history, set-based ----------------------------------------------------------------

INSERT_EVENT_TRIGGER = "pgtrigger_insert_insert_%"


@dataclass
class _History:
    event_table: str
    table: str
    trigger: str
    first_new_id: int
    columns: list


def _history_off(s):
    """Switches off each tracked table's insert-event trigger for this transaction and
    notes where the seeded rows will start."""
    from django.apps import apps

    tracked = []
    for event_model in apps.get_models():
        model = getattr(event_model, "pgh_tracked_model", None)
        if model is None:
            continue
        table, event_table = model._meta.db_table, event_model._meta.db_table
        s.cursor.execute(
            "SELECT t.tgname FROM pg_trigger t WHERE t.tgrelid = %s::regclass "
            "AND t.tgname LIKE %s AND t.tgenabled <> 'D' AND pg_get_triggerdef(t.oid) "
            "LIKE '%%AFTER INSERT%%'",
            [table, INSERT_EVENT_TRIGGER],
        )
        triggers = [row[0] for row in s.cursor.fetchall()]
        if len(triggers) != 1:
            raise SeedRefused(f"Expected one history insert trigger on {table}: {triggers}")
        s.cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "AND column_name NOT LIKE 'pgh\\_%%' ORDER BY ordinal_position",
            [event_table],
        )
        columns = [row[0] for row in s.cursor.fetchall()]
        s.cursor.execute(f"SELECT COALESCE(max(id), 0) + 1 FROM {_qn(table)}")
        first_new_id = s.cursor.fetchone()[0]
        s.run(f"ALTER TABLE {_qn(table)} DISABLE TRIGGER {_qn(triggers[0])}")
        tracked.append(_History(event_table, table, triggers[0], first_new_id, columns))
    return tracked


def _history_write_and_on(s, tracked):
    """The event rows the triggers would have written for the seeded rows; triggers on."""
    for h in tracked:
        columns = ", ".join(_qn(c) for c in h.columns)
        copied = ", ".join(f"t.{_qn(c)}" for c in h.columns)
        started = time.monotonic()
        s.cursor.execute(
            f"INSERT INTO {_qn(h.event_table)} (pgh_created_at, pgh_label, pgh_obj_id, "
            f"pgh_context_id, {columns}) SELECT NOW(), 'insert', t.id, NULL, {copied} "
            f"FROM {_qn(h.table)} t WHERE t.id >= %s",
            [h.first_new_id],
        )
        key = f"{h.event_table} (history)"
        s.report.counts[key] = s.cursor.rowcount
        s.report.seconds[key] = time.monotonic() - started
        s.run(f"ALTER TABLE {_qn(h.table)} ENABLE TRIGGER {_qn(h.trigger)}")


# --- Row checks, set-based ----------------------------------------------------------------------

DRAW_USE_TRIGGER = ("ledger_ledgerentry", "ledger_draw_use")


@dataclass
class _ForeignKey:
    table: str
    trigger: str
    name: str
    column: str
    referenced_table: str
    referenced_column: str


def _row_checks_off(s):
    """Switches off, for this transaction, the per-row checks that cost most of the seeding
    time and have an exact set-based equivalent: each foreign key's insert check
    (RI_FKey_check_ins, one index probe per row and key) and the ledger's draw-use trigger
    (three queries per row). `_row_checks_verify_and_on` runs the same checks over every row
    before COMMIT and switches them on again; a violation refuses the seed, rolling it back."""
    s.cursor.execute(
        "SELECT t.tgrelid::regclass::text, t.tgname, c.conname, a.attname, "
        "c.confrelid::regclass::text, fa.attname "
        "FROM pg_trigger t JOIN pg_constraint c ON c.oid = t.tgconstraint "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1] "
        "JOIN pg_namespace n ON n.oid = (SELECT relnamespace FROM pg_class WHERE oid = t.tgrelid) "
        "WHERE t.tgfoid = '\"RI_FKey_check_ins\"'::regproc AND t.tgenabled <> 'D' "
        "AND n.nspname = current_schema() AND cardinality(c.conkey) = 1 ORDER BY 1, 3"
    )
    keys = [_ForeignKey(*row) for row in s.cursor.fetchall()]
    for key in keys:
        s.run(f"ALTER TABLE {_qn(key.table)} DISABLE TRIGGER {_qn(key.trigger)}")
    table, trigger = DRAW_USE_TRIGGER
    s.run(f"ALTER TABLE {_qn(table)} DISABLE TRIGGER {_qn(trigger)}")
    return keys


def _row_checks_verify_and_on(s, keys):
    started = time.monotonic()
    for key in keys:
        s.cursor.execute(
            f"SELECT count(*) FROM {_qn(key.table)} c WHERE c.{_qn(key.column)} IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {_qn(key.referenced_table)} p "
            f"WHERE p.{_qn(key.referenced_column)} = c.{_qn(key.column)})"
        )
        missing = s.cursor.fetchone()[0]
        if missing:
            raise SeedRefused(f"{key.table}: {missing} rows break foreign key {key.name}")
        s.run(f"ALTER TABLE {_qn(key.table)} ENABLE TRIGGER {_qn(key.trigger)}")
    _verify_draw_uses(s)
    table, trigger = DRAW_USE_TRIGGER
    s.run(f"ALTER TABLE {_qn(table)} ENABLE TRIGGER {_qn(trigger)}")
    s.report.counts["(row checks, set-based)"] = 0
    s.report.seconds["(row checks, set-based)"] = time.monotonic() - started


def _verify_draw_uses(s):
    """ledger_check_draw_use (clinic/ledger/migrations/0002_append_only.py) over every row at
    once, in id order (the order the trigger would have seen them): a row that names a draw
    names a DRAW of the same lot, inserted before any reversal of that draw, and the running
    sum of the draw's uses stays within [0, the amount drawn]."""
    s.cursor.execute(
        "SELECT count(*) FROM ("
        "SELECT u.id, u.lot_id, u.draw_id, d.entry_type AS drawn_type, d.lot_id AS drawn_lot, "
        "-d.mg AS drawn_mg, SUM(u.mg) OVER (PARTITION BY u.draw_id ORDER BY u.id) AS used, "
        "(SELECT min(r.id) FROM ledger_ledgerentry r WHERE r.reverses_id = d.id) AS reversed_at "
        "FROM ledger_ledgerentry u JOIN ledger_ledgerentry d ON d.id = u.draw_id) x "
        "WHERE x.drawn_type <> 'draw' OR x.drawn_lot <> x.lot_id OR x.id > x.reversed_at "
        "OR x.used > x.drawn_mg OR x.used < 0"
    )
    broken = s.cursor.fetchone()[0]
    if broken:
        raise SeedRefused(f"ledger_ledgerentry: {broken} draw uses break the draw-use rule")


# --- The content hash of a signed note, in SQL ------------------------------------------------


def _json_of(model, name, alias="r"):
    """JSON text of one field as `clinic.core.signing._canonical` + json.dumps render it."""
    f = model._meta.get_field(name)
    col = f"{alias}.{_qn(f.column)}"
    if f.is_relation:
        related = _qn(f.related_model._meta.db_table)
        value = f"'\"' || (SELECT x.public_id::text FROM {related} x WHERE x.id = {col}) || '\"'"
    elif isinstance(f, models.BooleanField):
        value = f"CASE WHEN {col} THEN 'true' ELSE 'false' END"
    elif isinstance(f, models.DateTimeField):
        utc = f"({col} AT TIME ZONE 'UTC')"
        value = (
            f"'\"' || to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
            f"CASE WHEN date_part('microseconds', {col})::int % 1000000 <> 0 "
            f"THEN to_char({utc}, '.US') ELSE '' END || '+00:00\"'"
        )
    elif isinstance(f, models.DateField):
        value = f"'\"' || to_char({col}, 'YYYY-MM-DD') || '\"'"
    elif isinstance(f, models.DecimalField):
        value = f"'\"' || {col}::text || '\"'"
    elif isinstance(f, models.IntegerField):
        value = f"{col}::text"
    else:
        value = f"to_json({col}::text)::text"
    return f"COALESCE({value}, 'null')"


def content_hash_sql(model, *, extra=None, alias="r"):
    """SQL computing `model(...).compute_content_hash()` over the row `alias`; `extra` maps
    further payload keys (an assessment's checklist answers) to their JSON text."""
    parts = {name: _json_of(model, name, alias) for name in model.SIGNED_FIELDS}
    parts["_note"] = f"'\"{model._meta.label_lower}:' || {alias}.public_id::text || '\"'"
    parts.update(extra or {})
    body = " || ',' || ".join(f"'\"{key}\":' || {parts[key]}" for key in sorted(parts))
    return f"encode(sha256(convert_to('{{' || {body} || '}}', 'UTF8')), 'hex')"


# --- Questionnaire answer pools, scored by the real instruments -------------------------------


def _answer_pool(code, variants=20):
    """(total, variant, answers, score) rows: for every possible total, `variants` answer sets
    spread over the items; the last variant of each total puts 1 on the safety item."""
    instrument = instruments.get(code)
    scored = list(instrument.scored_items)
    high = max(option.value for option in scored[0].options)
    safety = [i for i, item in enumerate(scored) if item.safety_threshold is not None]
    rows = []
    for total in range(high * len(scored) + 1):
        for variant in range(variants):
            answers = [0] * len(scored)
            remaining = total
            if safety and variant == variants - 1 and remaining:
                answers[safety[0]] = 1
                remaining -= 1
            # Spread over the ordinary items first; the safety item only takes what they
            # cannot hold (a PHQ-9 above 24), so alerts stay as rare as the last variant.
            order = [(variant + i) % len(scored) for i in range(len(scored))]
            for group in ([i for i in order if i not in safety], safety):
                while remaining and any(answers[i] < high for i in group):
                    for i in group:
                        if remaining and answers[i] < high:
                            answers[i] += 1
                            remaining -= 1
            result = instrument.score(answers)
            rows.append((total, variant, result))
    return instrument, rows


def _load_pool(seeder, code):
    instrument, rows = _answer_pool(code)
    values = ", ".join(
        "({}, {}, {}, {}::jsonb, {}, {}, {}::jsonb, {}::jsonb)".format(
            _lit(code),
            total,
            variant,
            _lit(json.dumps(list(result.answers))),
            _lit(result.band or ""),
            "true" if result.safety_alert else "false",
            _lit(json.dumps(dict(result.subscales))),
            _lit(json.dumps(dict(result.flags))),
        )
        for total, variant, result in rows
    )
    seeder.run(
        "INSERT INTO b_pool (code, total, variant, answers, band, safety_alert, subscales, flags)"
        f" VALUES {values}"
    )
    return instrument


# --- Vital flags from the default limits -----------------------------------------------------


def _flag_case(vital, alias="r"):
    limits = DEFAULT_LIMITS[vital]
    col = f"{alias}.{_qn(vital)}"
    whens = []
    if limits.critical_below is not None:
        whens.append(f"WHEN {col} < {limits.critical_below} THEN 'critical_low'")
    if limits.critical_from is not None:
        whens.append(f"WHEN {col} >= {limits.critical_from} THEN 'critical_high'")
    if limits.normal_low is not None:
        whens.append(f"WHEN {col} < {limits.normal_low} THEN 'low'")
    if limits.normal_high is not None:
        whens.append(f"WHEN {col} > {limits.normal_high} THEN 'high'")
    if not whens:
        return None
    return f"CASE {' '.join(whens)} END"


def _flags_sql(alias="r"):
    pairs = [f"'{vital}', {case}" for vital in DEFAULT_LIMITS if (case := _flag_case(vital, alias))]
    return f"jsonb_strip_nulls(jsonb_build_object({', '.join(pairs)}))"


def _has_critical_sql(alias="r"):
    critical = ", ".join(f"'{flag}'" for flag in CRITICAL_FLAGS)
    return (
        f"EXISTS (SELECT 1 FROM jsonb_each_text({_flags_sql(alias)}) e "
        f"WHERE e.value IN ({critical}))"
    )


# --- The seeder ---------------------------------------------------------------------------------


def check_database():
    if connection.vendor != "postgresql":
        raise SeedRefused(
            f"seed_bench needs PostgreSQL (set-based SQL, gen_random_uuid, sha256); this "
            f"database is {connection.vendor}. Point DATABASE_URL at a PostgreSQL database."
        )
    if Clinic.objects.filter(name__startswith=CLINIC_NAME_PREFIX).exists():
        raise SeedRefused(
            "This database already holds benchmark clinics; seed a fresh database "
            "(bench/run.py creates one)."
        )


def seed(*, patients=10_000, sessions=None, vitals=1_000_000, clinics=4, analyze=True):
    """Seeds the database and returns a SeedReport (rows and seconds per table)."""
    if patients < 1 or clinics < 1 or vitals < 0:
        raise SeedRefused("Patients and clinics must be at least 1, vitals at least 0.")
    sessions = patients * 10 if sessions is None else sessions
    if sessions < patients:
        raise SeedRefused("Give at least one session per patient.")
    check_database()
    from clinic.pathway.defaults import ensure_default_checklists

    ensure_default_checklists()
    report = SeedReport()
    started = time.monotonic()
    now = timezone.now().replace(microsecond=0)
    with transaction.atomic(), connection.cursor() as cursor:
        seeder = _Seeder(cursor, report, now)
        seeder.run("SET LOCAL work_mem = '256MB'")
        seeder.run("SET LOCAL synchronous_commit = off")
        # Row estimates of generate_series joins are wild; JIT compiling for them costs
        # more than the inserts.
        seeder.run("SET LOCAL jit = off")
        # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: millions of queued checks
        # at COMMIT cost minutes and memory. Checked at the end of each statement instead,
        # so every key is still checked and each table's time includes its checks.
        seeder.run("SET CONSTRAINTS ALL IMMEDIATE")
        history = _history_off(seeder)
        keys = _row_checks_off(seeder)
        _seed_people(seeder, patients=patients, clinics=clinics)
        _seed_courses(seeder, patients=patients, sessions=sessions)
        _seed_sessions(seeder)
        _seed_vitals(seeder, vitals=vitals)
        _seed_ledger(seeder)
        _seed_measures(seeder)
        _seed_audit(seeder)
        _row_checks_verify_and_on(seeder, keys)
        _history_write_and_on(seeder, history)
    if analyze:
        t = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        report.counts["(ANALYZE)"] = 0
        report.seconds["(ANALYZE)"] = time.monotonic() - t
    report.total_seconds = time.monotonic() - started
    return report


def _seed_people(s, *, patients, clinics):
    password = _lit(make_password(BENCH_PASSWORD))
    s.insert(
        Clinic,
        {
            "name": f"{_lit(CLINIC_NAME_PREFIX)} || g",
            "timezone": "'America/New_York'",
            "mrn_prefix": "'B'",
            "phone": "'+1 555 0' || lpad(g::text, 3, '0')",
            "email": "'clinic' || g || '@bench.invalid'",
            "address": "g || ' Benchmark Way, Springfield'",
        },
        f"generate_series(1, {clinics}) g",
    )
    s.run(
        "CREATE TEMP TABLE b_clinic ON COMMIT DROP AS SELECT id, "
        f"substr(name, {len(CLINIC_NAME_PREFIX) + 1})::int AS k FROM patients_clinic "
        f"WHERE name LIKE {_lit(CLINIC_NAME_PREFIX + '%')}"
    )
    staff = ", ".join(f"({_lit(role)}, {count})" for role, count in STAFF_PER_CLINIC)
    s.run(
        "CREATE TEMP TABLE b_staff ON COMMIT DROP AS "
        "SELECT c.id AS clinic_id, c.k, r.role, i AS idx, "
        "'bench-c' || c.k || '-' || r.role || i AS username, NULL::bigint AS user_id "
        f"FROM b_clinic c CROSS JOIN (VALUES {staff}) r(role, n) "
        "CROSS JOIN generate_series(1, r.n) i"
    )
    first = f"(ARRAY{FIRST_NAMES!r})"
    family = f"(ARRAY{FAMILY_NAMES!r})"
    s.insert(
        User,
        {
            "username": "b.username",
            "password": password,
            "first_name": f"{first}[1 + (b.k * 7 + b.idx) % {len(FIRST_NAMES)}]",
            "last_name": f"{family}[1 + (b.k * 11 + b.idx * 3) % {len(FAMILY_NAMES)}]",
            "email": "b.username || '@bench.invalid'",
            "credentials": "CASE b.role WHEN 'prescriber' THEN 'MD' "
            "WHEN 'nurse' THEN 'RN' ELSE '' END",
        },
        "b_staff b",
        label="accounts_user (staff)",
    )
    s.run("UPDATE b_staff b SET user_id = u.id FROM accounts_user u WHERE u.username = b.username")
    s.insert(
        ClinicMembership,
        {"user_id": "b.user_id", "clinic_id": "b.clinic_id", "role": "b.role"},
        "b_staff b",
    )
    # Patients: every other one has a portal login.
    s.run(
        "CREATE TEMP TABLE b_patient ON COMMIT DROP AS "
        "SELECT n, (n - 1) / (SELECT count(*) FROM b_clinic) AS j, c.id AS clinic_id, c.k, "
        "(SELECT user_id FROM b_staff WHERE clinic_id = c.id AND role = 'prescriber' "
        f"  AND idx = 1 + n % {dict(STAFF_PER_CLINIC)['prescriber']}) AS prescriber_id, "
        "(SELECT user_id FROM b_staff WHERE clinic_id = c.id AND role = 'nurse' "
        f"  AND idx = 1 + n % {dict(STAFF_PER_CLINIC)['nurse']}) AS nurse_id, "
        "NULL::bigint AS user_id, NULL::bigint AS id "
        f"FROM generate_series(1, {patients}) n JOIN b_clinic c ON c.k = 1 + (n - 1) % "
        f"(SELECT count(*) FROM b_clinic)"
    )
    s.insert(
        User,
        {
            "username": "'bench-patient-' || p.n",
            "password": password,
            "first_name": f"{first}[1 + p.n % {len(FIRST_NAMES)}]",
            "last_name": f"{family}[1 + (p.n / {len(FIRST_NAMES)}) % {len(FAMILY_NAMES)}]",
            "email": "'bench-patient-' || p.n || '@bench.invalid'",
        },
        "b_patient p WHERE p.j % 2 = 0",
        label="accounts_user (patients)",
    )
    s.run(
        "UPDATE b_patient p SET user_id = u.id FROM accounts_user u "
        "WHERE u.username = 'bench-patient-' || p.n"
    )
    s.insert(
        Patient,
        {
            "clinic_id": "p.clinic_id",
            "user_id": "p.user_id",
            "medical_record_number": "'B-' || lpad(p.n::text, 7, '0')",
            "given_name": f"{first}[1 + p.n % {len(FIRST_NAMES)}]",
            "family_name": f"{family}[1 + (p.n / {len(FIRST_NAMES)}) % {len(FAMILY_NAMES)}]",
            "date_of_birth": "date '1950-01-01' + (p.n * 7919 % 18000)",
            "sex_at_birth": "(ARRAY['female', 'male', 'female', 'intersex'])[1 + p.n % 4]",
            "email": "'bench-patient-' || p.n || '@bench.invalid'",
            "phone": "'+1 555 ' || lpad((p.n % 10000)::text, 4, '0')",
            "address": "p.n || ' Elm Street, Springfield'",
            "emergency_contact_name": "'Alex Contact'",
            "emergency_contact_relationship": "'Partner'",
            "emergency_contact_phone": "'+1 555 0199'",
            "status": "CASE WHEN p.j % 50 = 49 THEN 'inactive' ELSE 'active' END",
            "created_by_id": "p.nurse_id",
            "created_at": f"{s.now_sql} - interval '200 days' + (p.n % 60) * interval '1 day'",
        },
        "b_patient p",
    )
    s.run(
        "UPDATE b_patient b SET id = p.id FROM patients_patient p "
        "WHERE p.clinic_id = b.clinic_id AND p.medical_record_number = "
        "'B-' || lpad(b.n::text, 7, '0')"
    )
    s.run("CREATE UNIQUE INDEX ON b_patient (n)")
    s.run("ANALYZE b_patient")
    for responsibility, column in (("primary_prescriber", "prescriber_id"), ("nurse", "nurse_id")):
        s.insert(
            CareTeamMember,
            {
                "patient_id": "p.id",
                "user_id": f"p.{column}",
                "responsibility": f"'{responsibility}'",
            },
            "b_patient p",
        )
    s.insert(ClinicMeasureSettings, {"clinic_id": "c.id"}, "b_clinic c")
    s.insert(ReminderPreference, {"patient_id": "p.id"}, "b_patient p WHERE p.user_id IS NOT NULL")


def _seed_courses(s, *, patients, sessions):
    """One course per patient, with its signed consultation, assessment and approved plan.

    A course has `sessions // patients` sessions (one more for the first few), three days
    apart, the last held 1 to 30 days ago; courses still in treatment have one more
    booked in the next 60 days (today for one in sixty)."""
    per, extra = divmod(sessions, patients)
    s.run(
        "CREATE TEMP TABLE b_course ON COMMIT DROP AS SELECT p.n, p.j, p.id AS patient_id, "
        "p.clinic_id, p.prescriber_id, p.nurse_id, p.user_id AS patient_user_id, "
        "CASE WHEN p.j % 5 = 4 THEN 'esketamine' ELSE 'ketamine' END AS drug, "
        f"{per} + CASE WHEN p.n <= {extra} THEN 1 ELSE 0 END AS n_sess, "
        "CASE WHEN p.j % 20 = 19 THEN 'completed' WHEN p.j % 20 = 1 THEN 'maintenance' "
        "ELSE 'active' END AS status, "
        "(55 + (p.n * 37) % 60)::numeric(4,1) AS weight, NULL::bigint AS id, "
        "NULL::bigint AS plan_id, NULL::timestamptz AS opened_at FROM b_patient p"
    )
    # Sessions already held: all of a completed course's, all but the last of the others.
    s.run(
        "ALTER TABLE b_course ADD COLUMN held int; "
        "UPDATE b_course SET held = CASE WHEN status = 'completed' THEN n_sess ELSE n_sess - 1 "
        "END, opened_at = date_trunc('day', "
        f"{s.now_sql}) - ((CASE WHEN status = 'completed' THEN n_sess ELSE n_sess - 1 END) "
        f"* {DAYS_BETWEEN_SESSIONS} + n % 30 + 30) * interval '1 day' + interval '14 hours'"
    )
    s.insert(
        TreatmentCourse,
        {
            "patient_id": "c.patient_id",
            "indication": "'Treatment-resistant depression'",
            "drug": "c.drug",
            "status": "c.status",
            "status_changed_at": "c.opened_at + interval '20 days'",
            "opened_by_id": "c.nurse_id",
            "created_at": "c.opened_at",
        },
        "b_course c",
    )
    s.run(
        "UPDATE b_course b SET id = t.id FROM pathway_treatmentcourse t "
        "WHERE t.patient_id = b.patient_id; CREATE UNIQUE INDEX ON b_course (id); "
        "ANALYZE b_course"
    )
    steps = [
        ("consultation", "assessment", 2),
        ("assessment", "planning", 9),
        ("planning", "active", 12),
    ]
    for from_status, to_status, day in steps:
        s.insert(
            CourseStatusChange,
            {
                "course_id": "c.id",
                "from_status": f"'{from_status}'",
                "to_status": f"'{to_status}'",
                "changed_by_id": "c.prescriber_id",
                "changed_at": f"c.opened_at + interval '{day} days'",
            },
            "b_course c",
        )
    s.insert(
        CourseStatusChange,
        {
            "course_id": "c.id",
            "from_status": "'active'",
            "to_status": "c.status",
            "changed_by_id": "c.prescriber_id",
            "changed_at": "c.opened_at + interval '20 days'",
            "reason": "CASE c.status WHEN 'completed' THEN 'Course finished; in remission.' "
            "ELSE '' END",
        },
        "b_course c WHERE c.status <> 'active'",
    )
    s.insert(
        Consultation,
        {
            "course_id": "c.id",
            "author_id": "c.prescriber_id",
            "referral_source": "'psychiatrist'",
            "referred_by": "'Dr. Referrer, Springfield Psychiatry'",
            "referral_date": "(c.opened_at - interval '20 days')::date",
            "presenting_problem": "'Low mood and anhedonia for two years despite treatment.'",
            "diagnoses": "'F33.2 Major depressive disorder, recurrent, severe'",
            "off_label": "c.drug = 'ketamine'",
            "psychiatric_history": "'Two SSRI trials and one SNRI trial without response.'",
            "current_medications": "'Sertraline 150 mg daily'",
            "allergies": "'None known'",
            "failed_antidepressant_trials": "3",
            "goals": "'Return to work; enjoy time with family.'",
            "consent_kind": "CASE c.drug WHEN 'ketamine' THEN 'off_label' "
            "ELSE 'esketamine_rems' END",
            "consent_version": "'2025-01'",
            "consent_signed_on": "(c.opened_at + interval '1 day')::date",
            "consent_obtained_by_id": "c.prescriber_id",
            "created_at": "c.opened_at",
            "signed_at": "c.opened_at + interval '1 day'",
            "signed_by_id": "c.prescriber_id",
        },
        "b_course c",
        computed={"content_hash": content_hash_sql(Consultation)},
    )
    # Eligibility checklists, every item answered "no", then the signed assessments.
    s.run(
        "CREATE TEMP TABLE b_template ON COMMIT DROP AS SELECT DISTINCT ON (t.code) t.id, t.code "
        "FROM pathway_checklisttemplate t WHERE t.kind = 'eligibility' AND t.clinic_id IS NULL "
        "AND t.is_active ORDER BY t.code, t.version DESC"
    )
    s.insert(
        ChecklistResponse,
        {
            "template_id": "(SELECT id FROM b_template ORDER BY code LIMIT 1)",
            "course_id": "c.id",
            "drug": "c.drug",
            "created_at": "c.opened_at + interval '5 days'",
        },
        "b_course c",
    )
    s.insert(
        ChecklistAnswer,
        {
            "response_id": "r.id",
            "item_id": "i.id",
            "answer": "'no'",
            "answered_by_id": "c.prescriber_id",
            "answered_at": "c.opened_at + interval '5 days'",
        },
        "pathway_checklistresponse r JOIN b_course c ON c.id = r.course_id "
        "JOIN pathway_checklistitem i ON i.template_id = r.template_id",
    )
    answers_json = (
        "(SELECT COALESCE('[' || string_agg(to_json(i.code || '=' || a.answer || '|' || "
        "a.justification)::text, ',' ORDER BY i.position) || ']', '[]') "
        "FROM pathway_checklistanswer a JOIN pathway_checklistitem i ON i.id = a.item_id "
        "WHERE a.response_id = r.checklist_id)"
    )
    s.insert(
        Assessment,
        {
            "course_id": "c.id",
            "checklist_id": "cr.id",
            "author_id": "c.prescriber_id",
            "assessed_on": "(c.opened_at + interval '5 days')::date",
            "height_cm": "(160 + c.n % 30)::numeric(4,1)",
            "weight_kg": "c.weight",
            "systolic_1": "118 + c.n % 15",
            "diastolic_1": "76 + c.n % 8",
            "systolic_2": "116 + c.n % 15",
            "diastolic_2": "75 + c.n % 8",
            "heart_rate": "64 + c.n % 20",
            "spo2": "98",
            "respiratory_rate": "14",
            "pregnancy_test": "'not_applicable'",
            "suicide_risk": "'low'",
            "baseline_phq9": "18 + c.n % 6",
            "rems_enrolled_on": "CASE c.drug WHEN 'esketamine' THEN "
            "(c.opened_at + interval '5 days')::date END",
            "decision": "'eligible'",
            "decision_reason": "'No contraindications; criteria met.'",
            "created_at": "c.opened_at + interval '5 days'",
            "signed_at": "c.opened_at + interval '6 days'",
            "signed_by_id": "c.prescriber_id",
        },
        "b_course c JOIN pathway_checklistresponse cr ON cr.course_id = c.id",
        computed={"content_hash": content_hash_sql(Assessment, extra={"answers": answers_json})},
    )
    ketamine_dose = "round(c.weight * 0.5, 1)"
    s.insert(
        TreatmentPlan,
        {
            "course_id": "c.id",
            "version": "1",
            "status": "'approved'",
            "status_changed_at": "c.opened_at + interval '12 days'",
            "author_id": "c.prescriber_id",
            "drug": "c.drug",
            "route": "CASE c.drug WHEN 'ketamine' THEN 'iv' ELSE 'intranasal' END",
            "dose_mode": "CASE c.drug WHEN 'ketamine' THEN 'mg_per_kg' ELSE 'devices' END",
            "mg_per_kg": "CASE c.drug WHEN 'ketamine' THEN 0.500 END",
            "mg_per_kg_min": "CASE c.drug WHEN 'ketamine' THEN 0.500 END",
            "mg_per_kg_max": "CASE c.drug WHEN 'ketamine' THEN 0.750 END",
            "device_count": "CASE c.drug WHEN 'esketamine' THEN 2 END",
            "max_dose_mg": "CASE c.drug WHEN 'ketamine' THEN 90.0 ELSE 84.0 END",
            "weight_kg_used": "CASE c.drug WHEN 'ketamine' THEN c.weight END",
            "weight_measured_on": "CASE c.drug WHEN 'ketamine' THEN "
            "(c.opened_at + interval '5 days')::date END",
            "concentration_mg_per_ml": f"CASE c.drug WHEN 'ketamine' THEN {KETAMINE_MG_PER_ML} END",
            "final_volume_ml": "CASE c.drug WHEN 'ketamine' THEN 100.0 END",
            "infusion_minutes": "CASE c.drug WHEN 'ketamine' THEN 40 END",
            "sessions_per_week": "2",
            "monitoring_interval_minutes": "CASE c.drug WHEN 'ketamine' THEN 10 ELSE 15 END",
            "fasting_instructions": "'No food for 6 hours, clear fluids until 2 hours before.'",
            "dose_mg": f"CASE c.drug WHEN 'ketamine' THEN {ketamine_dose} ELSE 56.0 END",
            "volume_ml": f"CASE c.drug WHEN 'ketamine' THEN "
            f"round({ketamine_dose} / {KETAMINE_MG_PER_ML}, 2) END",
            "rate_ml_per_hour": "CASE c.drug WHEN 'ketamine' THEN 150.0 END",
            "created_at": "c.opened_at + interval '10 days'",
            "signed_at": "c.opened_at + interval '12 days'",
            "signed_by_id": "c.prescriber_id",
        },
        "b_course c",
        computed={"content_hash": content_hash_sql(TreatmentPlan)},
    )
    s.run(
        "UPDATE b_course b SET plan_id = t.id FROM pathway_treatmentplan t WHERE t.course_id = b.id"
    )
    s.insert(
        PlanStatusChange,
        {
            "plan_id": "c.plan_id",
            "from_status": "'draft'",
            "to_status": "'approved'",
            "changed_by_id": "c.prescriber_id",
            "changed_at": "c.opened_at + interval '12 days'",
        },
        "b_course c",
    )
    s.insert(
        BodyMeasurement,
        {
            "patient_id": "c.patient_id",
            "measured_on": "(c.opened_at + interval '5 days')::date",
            "weight_kg": "c.weight",
            "height_cm": "(160 + c.n % 30)::numeric(4,1)",
            "recorded_by_id": "c.nurse_id",
        },
        "b_course c",
    )


def _seed_sessions(s):
    """Held sessions are discharged and signed (one in seventeen was cancelled instead); the
    booked one is scheduled. Times are whole seconds, as the hash's ISO form assumes."""
    s.run(
        "CREATE TEMP TABLE b_slot ON COMMIT DROP AS SELECT c.id AS course_id, c.plan_id, c.n, "
        "c.patient_id, c.clinic_id, c.drug, c.weight, c.nurse_id, c.prescriber_id, "
        "c.patient_user_id, k, "
        "CASE WHEN k > c.held THEN 'scheduled' WHEN k % 17 = 5 THEN 'cancelled' "
        "ELSE 'discharged' END AS status, "
        f"CASE WHEN k > c.held THEN date_trunc('day', {s.now_sql}) + (c.n % 60) * interval '1 day'"
        f" ELSE date_trunc('day', {s.now_sql}) - ((c.held - k) * {DAYS_BETWEEN_SESSIONS} "
        "+ 1 + c.n % 30) * interval '1 day' END + (13 + c.n % 8) * interval '1 hour' "
        "AS scheduled_at FROM b_course c CROSS JOIN LATERAL generate_series(1, c.n_sess) k"
    )
    discharged = "s.status = 'discharged'"
    ketamine = "s.drug = 'ketamine'"
    dose = f"CASE WHEN {ketamine} THEN round(s.weight * 0.5, 1) ELSE 56.0 END"

    def when_done(value):
        return f"CASE WHEN {discharged} THEN {value} END"

    def text_when_done(value):
        return f"CASE WHEN {discharged} THEN {value} ELSE '' END"

    s.insert(
        AdministrationSession,
        {
            "course_id": "s.course_id",
            "plan_id": "s.plan_id",
            "session_number": "s.k",
            "scheduled_at": "s.scheduled_at",
            "status": "s.status",
            "status_changed_at": "CASE s.status WHEN 'discharged' THEN s.scheduled_at + "
            "interval '150 minutes' WHEN 'cancelled' THEN s.scheduled_at - interval '1 day' END",
            "nurse_id": "s.nurse_id",
            "prescriber_id": "s.prescriber_id",
            "checked_in_at": when_done("s.scheduled_at"),
            "prescriber_on_site": discharged,
            "weight_kg": when_done("s.weight"),
            "weight_measured_on": when_done("s.scheduled_at::date"),
            "calculated_dose_mg": when_done(dose),
            "dose_mg": when_done(dose),
            "volume_ml": when_done(f"CASE WHEN {ketamine} THEN round({dose} / 50, 2) END"),
            "route": text_when_done(f"CASE WHEN {ketamine} THEN 'iv' ELSE 'intranasal' END"),
            "rate_ml_per_hour": when_done(f"CASE WHEN {ketamine} THEN 150.0 END"),
            "devices_used": when_done(f"CASE WHEN NOT {ketamine} THEN 2 END"),
            "dose_started_at": when_done("s.scheduled_at + interval '20 minutes'"),
            "dose_ended_at": when_done(
                f"s.scheduled_at + CASE WHEN {ketamine} THEN interval '60 minutes' "
                "ELSE interval '25 minutes' END"
            ),
            "ready_to_leave_at": when_done("s.scheduled_at + interval '145 minutes'"),
            "discharged_at": when_done("s.scheduled_at + interval '150 minutes'"),
            "escort_name": text_when_done("'Alex Contact'"),
            "escort_phone": text_when_done("'+1 555 0199'"),
            "escort_relationship": text_when_done("'Partner'"),
            "cancel_reason": "CASE s.status WHEN 'cancelled' THEN 'Patient unwell; rebooked.' "
            "ELSE '' END",
            "notes": text_when_done(
                "'Tolerated well; mild dissociation resolved before discharge.'"
            ),
            "created_at": "LEAST(s.scheduled_at, " + s.now_sql + ") - interval '7 days'",
            "signed_at": when_done("s.scheduled_at + interval '150 minutes'"),
            "signed_by_id": when_done("s.nurse_id"),
        },
        "b_slot s",
        computed={
            "content_hash": f"CASE WHEN r.signed_at IS NULL THEN '' ELSE "
            f"{content_hash_sql(AdministrationSession)} END"
        },
    )
    s.run(
        "CREATE TEMP TABLE b_session ON COMMIT DROP AS SELECT a.id, a.public_id, "
        "a.dose_started_at, a.dose_ended_at, a.scheduled_at, a.volume_ml, a.dose_mg, a.status, "
        "b.course_id, b.patient_id, b.clinic_id, b.drug, b.nurse_id, b.prescriber_id, "
        "b.patient_user_id, b.n, b.k "
        "FROM pathway_administrationsession a "
        "JOIN b_slot b ON b.course_id = a.course_id AND b.k = a.session_number; "
        "CREATE UNIQUE INDEX ON b_session (id); ANALYZE b_session"
    )
    s.insert(
        SessionStatusChange,
        {
            "session_id": "s.id",
            "from_status": "''",
            "to_status": "'scheduled'",
            "changed_by_id": "s.nurse_id",
            "changed_at": "LEAST(s.scheduled_at, " + s.now_sql + ") - interval '7 days'",
        },
        "b_session s",
    )
    steps = [
        ("scheduled", "checked_in", 0),
        ("checked_in", "ready", 15),
        ("ready", "dosing", 20),
        ("dosing", "monitoring", 60),
        ("monitoring", "ready_for_discharge", 145),
        ("ready_for_discharge", "discharged", 150),
    ]
    values = ", ".join(f"('{a}', '{b}', {m})" for a, b, m in steps)
    s.insert(
        SessionStatusChange,
        {
            "session_id": "s.id",
            "from_status": "t.a",
            "to_status": "t.b",
            "changed_by_id": "s.nurse_id",
            "changed_at": "s.scheduled_at + t.m * interval '1 minute'",
        },
        f"b_session s CROSS JOIN (VALUES {values}) t(a, b, m) WHERE s.status = 'discharged'",
    )
    s.insert(
        SessionStatusChange,
        {
            "session_id": "s.id",
            "from_status": "'scheduled'",
            "to_status": "'cancelled'",
            "changed_by_id": "s.nurse_id",
            "changed_at": "s.scheduled_at - interval '1 day'",
            "reason": "'Patient unwell; rebooked.'",
        },
        "b_session s WHERE s.status = 'cancelled'",
    )
    s.insert(
        EsketamineDevice,
        {
            "session_id": "s.id",
            "number": "d",
            "given_at": "s.dose_started_at + (d - 1) * interval '5 minutes'",
            "recorded_by_id": "s.nurse_id",
        },
        "b_session s CROSS JOIN generate_series(1, 2) d "
        "WHERE s.status = 'discharged' AND s.drug = 'esketamine'",
    )
    s.insert(
        BodyMeasurement,
        {
            "patient_id": "s.patient_id",
            "measured_on": "s.scheduled_at::date",
            "weight_kg": "(SELECT weight FROM b_course c WHERE c.id = s.course_id)",
            "recorded_by_id": "s.nurse_id",
            "created_at": "s.scheduled_at",
        },
        "b_session s WHERE s.status = 'discharged'",
        label="pathway_bodymeasurement (sessions)",
    )
    s.insert(
        FollowUp,
        {
            "course_id": "s.course_id",
            "plan_id": "(SELECT plan_id FROM b_course c WHERE c.id = s.course_id)",
            "kind": "'induction_review'",
            "due_on": "(s.scheduled_at + interval '7 days')::date",
            "status": "'completed'",
            "scheduled_by_id": "s.prescriber_id",
            "completed_on": "(s.scheduled_at + interval '7 days')::date",
            "completed_by_id": "s.prescriber_id",
            "decision": "'continue'",
            "side_effects_between": "'None reported.'",
            "outcome_notes": "'PHQ-9 falling; continue as planned.'",
            "created_at": "s.scheduled_at",
            "signed_at": "s.scheduled_at + interval '7 days 2 hours'",
            "signed_by_id": "s.prescriber_id",
        },
        f"b_session s WHERE s.k = 6 AND s.status = 'discharged' "
        f"AND s.scheduled_at < {s.now_sql} - interval '8 days'",
        computed={"content_hash": content_hash_sql(FollowUp)},
    )


def _seed_vitals(s, *, vitals):
    """`vitals` readings over the dosed sessions, evenly, at the plan's monitoring interval
    from ten minutes before the dose; about 3% of readings high, 0.5% critical."""
    s.run(
        "CREATE TEMP TABLE b_dosed ON COMMIT DROP AS SELECT s.*, "
        "row_number() OVER (ORDER BY s.id) AS rn, count(*) OVER () AS total "
        "FROM b_session s WHERE s.status = 'discharged'"
    )
    s.run(
        f"ALTER TABLE b_dosed ADD COLUMN readings int; UPDATE b_dosed SET readings = "
        f"{vitals} / total + CASE WHEN rn <= {vitals} % total THEN 1 ELSE 0 END"
    )
    interval = "CASE WHEN d.drug = 'ketamine' THEN 10 ELSE 15 END"
    taken = f"d.dose_started_at + (j * {interval} - 10) * interval '1 minute'"
    s.insert(
        VitalReading,
        {
            "session_id": "d.id",
            "phase": "CASE WHEN j = 0 THEN 'baseline' WHEN j = d.readings - 1 THEN 'discharge' "
            f"WHEN {taken} <= d.dose_ended_at THEN 'intra' ELSE 'post' END",
            "planned_at": taken,
            "taken_at": f"{taken} + (j % 3) * interval '1 minute'",
            "entered_by_id": "d.nurse_id",
            "systolic": "CASE WHEN v.x < 0.005 THEN 182 WHEN v.x < 0.03 THEN 142 + (j % 10) "
            "ELSE 108 + (v.y * 30)::int END",
            "diastolic": "68 + (v.y * 18)::int",
            "heart_rate": "64 + (v.x * 1000)::int % 30",
            "spo2": "96 + (v.y * 3)::int",
            "respiratory_rate": "13 + (v.y * 5)::int",
            "temperature_c": "CASE WHEN j = 0 THEN 36.6 END",
            "moaas": "CASE WHEN j BETWEEN 1 AND 4 THEN 4 ELSE 5 END",
            "created_at": f"{taken} + (j % 3) * interval '1 minute'",
        },
        "b_dosed d CROSS JOIN LATERAL generate_series(0, d.readings - 1) j "
        "CROSS JOIN LATERAL (SELECT random() + j * 0 AS x, random() + j * 0 AS y) v",
        computed={"flags": _flags_sql(), "has_critical": _has_critical_sql()},
    )
    s.insert(
        VitalAcknowledgment,
        {
            "reading_id": "v.id",
            "acknowledged_by_id": "d.prescriber_id",
            "acknowledged_at": "v.taken_at + interval '4 minutes'",
            "action_taken": "'Rechecked after 5 minutes; settled without treatment.'",
        },
        "monitoring_vitalreading v JOIN b_dosed d ON d.id = v.session_id WHERE v.has_critical",
    )
    s.insert(
        SideEffectReport,
        {
            "course_id": "d.course_id",
            "session_id": "d.id",
            "term": f"(ARRAY{SIDE_EFFECT_TERMS!r})[1 + d.n % {len(SIDE_EFFECT_TERMS)}]",
            "verbatim": "'Felt floaty and a little sick for a while.'",
            "onset_at": "d.dose_started_at + interval '20 minutes'",
            "resolved_at": "d.dose_started_at + interval '80 minutes'",
            "grade": "CASE WHEN d.rn % 50 = 0 THEN 2 ELSE 1 END",
            "relatedness": "'probable'",
            "action_taken": "'none'",
            "outcome": "'recovered'",
            "reporter_id": "d.nurse_id",
            "created_at": "d.dose_started_at + interval '30 minutes'",
        },
        "b_dosed d WHERE d.rn % 12 = 0",
    )


def _seed_ledger(s):
    """Per clinic and drug, the dosed sessions in time order draw from lot after lot,
    LOT_DRAWS draws each; each lot holds more than LOT_DRAWS of the largest draw, so the
    running balance stays positive. K: draw the dose plus 0.05 mL, administer the dose,
    waste 0.05 mL witnessed by the prescriber; E: draw and administer 2 devices."""
    s.run(
        "CREATE TEMP TABLE b_draw ON COMMIT DROP AS SELECT d.*, "
        "(row_number() OVER (PARTITION BY d.clinic_id, d.drug ORDER BY d.dose_started_at, d.id) "
        f"- 1) / {LOT_DRAWS} AS lot_no, "
        f"CASE WHEN d.drug = 'ketamine' THEN d.volume_ml + {WASTE_ML} END AS draw_ml, "
        "CASE WHEN d.drug = 'esketamine' THEN 2 END AS draw_units FROM b_dosed d"
    )
    s.run(
        "CREATE TEMP TABLE b_lot ON COMMIT DROP AS SELECT clinic_id, drug, lot_no, "
        "min(dose_started_at) AS first_use, sum(draw_ml) AS used_ml, "
        "sum(draw_units) AS used_units, min(nurse_id) AS nurse_id, "
        "min(prescriber_id) AS prescriber_id FROM b_draw GROUP BY clinic_id, drug, lot_no"
    )
    received_ml = VIAL_ML * VIALS_PER_LOT
    ketamine = "l.drug = 'ketamine'"

    def by_form(vial, device):
        return f"CASE WHEN {ketamine} THEN {vial} ELSE {device} END"

    s.insert(
        Lot,
        {
            "clinic_id": "l.clinic_id",
            "drug": "l.drug",
            "product_name": by_form("'Ketamine HCl 50 mg/mL'", "'Spravato 28 mg nasal spray'"),
            "ndc": by_form("'0409-2053-10'", "'50458-028-02'"),
            "form": by_form("'vial'", "'nasal_device'"),
            "concentration_mg_per_ml": by_form(KETAMINE_MG_PER_ML, "NULL"),
            "mg_per_unit": by_form("NULL", "28.00"),
            "container_count": by_form(VIALS_PER_LOT, DEVICES_PER_LOT),
            "container_ml": by_form(VIAL_ML, "NULL"),
            "lot_number": "'BL' || l.clinic_id || '-' || left(l.drug, 1) || '-' || l.lot_no",
            "expiry_date": "(l.first_use + interval '2 years')::date",
            "received_on": "(l.first_use - interval '3 days')::date",
            "received_by_id": "l.nurse_id",
            "supplier_name": "'Springfield Pharmaceutical Supply'",
            "supplier_address": "'1 Depot Road, Springfield'",
            "supplier_dea_number": "'RS1234563'",
            "invoice_number": "'INV-' || l.clinic_id || '-' || l.lot_no",
            "status": "'open'",
            "received_ml": by_form(received_ml, "NULL"),
            "received_units": by_form("NULL", DEVICES_PER_LOT),
            "received_mg": by_form(received_ml * KETAMINE_MG_PER_ML, DEVICES_PER_LOT * 28),
            "balance_ml": by_form(f"{received_ml} - l.used_ml", "NULL"),
            "balance_units": by_form("NULL", f"{DEVICES_PER_LOT} - l.used_units"),
            "balance_mg": by_form(
                f"({received_ml} - l.used_ml) * {KETAMINE_MG_PER_ML}",
                f"({DEVICES_PER_LOT} - l.used_units) * 28",
            ),
            "created_at": "l.first_use - interval '3 days'",
        },
        "b_lot l",
    )
    s.run(
        "ALTER TABLE b_lot ADD COLUMN lot_id bigint; UPDATE b_lot l SET lot_id = x.id "
        "FROM ledger_lot x WHERE x.lot_number = 'BL' || l.clinic_id || '-' || left(l.drug, 1) "
        "|| '-' || l.lot_no AND x.clinic_id = l.clinic_id"
    )
    per_qty = f"CASE WHEN {ketamine} THEN {KETAMINE_MG_PER_ML} ELSE 28.00 END"
    s.insert(
        LedgerEntry,
        {
            "lot_id": "l.lot_id",
            "entry_type": "'receive'",
            "event_at": "l.first_use - interval '3 days'",
            "recorded_at": "l.first_use - interval '3 days'",
            "ml": by_form(received_ml, "NULL"),
            "units": by_form("NULL", DEVICES_PER_LOT),
            "mg": by_form(received_ml * KETAMINE_MG_PER_ML, DEVICES_PER_LOT * 28),
            "mg_per_quantity": per_qty,
            "balance_ml_after": by_form(received_ml, "NULL"),
            "balance_units_after": by_form("NULL", DEVICES_PER_LOT),
            "balance_mg_after": by_form(received_ml * KETAMINE_MG_PER_ML, DEVICES_PER_LOT * 28),
            "actor_id": "l.nurse_id",
        },
        "b_lot l",
    )
    # Draws with running balances (a window over the lot, in time order).
    s.run(
        "CREATE TEMP TABLE b_draw_bal ON COMMIT DROP AS SELECT d.*, l.lot_id, "
        f"{received_ml} - sum(d.draw_ml) OVER w AS bal_ml, "
        f"{DEVICES_PER_LOT} - sum(d.draw_units) OVER w AS bal_units "
        "FROM b_draw d JOIN b_lot l USING (clinic_id, drug, lot_no) "
        "WINDOW w AS (PARTITION BY l.lot_id ORDER BY d.dose_started_at, d.id)"
    )
    # Ids in time order, three per session (draw, administer, waste), so that the ledger
    # read by id runs in the order the clinic wrote it, as the services would have.
    s.run(
        "ALTER TABLE b_draw_bal ADD COLUMN entry_id bigint; "
        "WITH base AS (SELECT nextval(pg_get_serial_sequence('ledger_ledgerentry', 'id')) AS b),"
        " numbered AS (SELECT id, row_number() OVER (ORDER BY dose_started_at, id) AS rn "
        "FROM b_draw_bal) UPDATE b_draw_bal d SET entry_id = base.b + 3 * n.rn "
        "FROM numbered n, base WHERE n.id = d.id; "
        "SELECT setval(pg_get_serial_sequence('ledger_ledgerentry', 'id'), "
        "(SELECT max(entry_id) + 2 FROM b_draw_bal))"
    )
    ketamine = "d.drug = 'ketamine'"

    def by_drug(vial, device):
        return f"CASE WHEN {ketamine} THEN {vial} ELSE {device} END"

    per_qty = by_drug(KETAMINE_MG_PER_ML, "28.00")
    s.insert(
        LedgerEntry,
        {
            "id": "d.entry_id",
            "lot_id": "d.lot_id",
            "entry_type": "'draw'",
            "event_at": "d.dose_started_at - interval '5 minutes'",
            "recorded_at": "d.dose_started_at - interval '4 minutes'",
            "ml": by_drug("-d.draw_ml", "NULL"),
            "units": by_drug("NULL", "-d.draw_units"),
            "mg": by_drug(f"-d.draw_ml * {KETAMINE_MG_PER_ML}", "-d.draw_units * 28"),
            "mg_per_quantity": per_qty,
            "balance_ml_after": by_drug("d.bal_ml", "NULL"),
            "balance_units_after": by_drug("NULL", "d.bal_units"),
            "balance_mg_after": by_drug(f"d.bal_ml * {KETAMINE_MG_PER_ML}", "d.bal_units * 28"),
            "actor_id": "d.nurse_id",
            "patient_id": "d.patient_id",
            "session_id": "d.id",
        },
        "b_draw_bal d",
    )
    draw_join = (
        "b_draw_bal d JOIN ledger_ledgerentry x ON x.session_id = d.id AND x.entry_type = 'draw'"
    )
    s.insert(
        LedgerEntry,
        {
            "id": "d.entry_id + 1",
            "lot_id": "d.lot_id",
            "entry_type": "'administer'",
            "event_at": "d.dose_started_at",
            "recorded_at": "d.dose_started_at + interval '1 minute'",
            "ml": by_drug("d.volume_ml", "NULL"),
            "units": by_drug("NULL", "d.draw_units"),
            "mg": by_drug(f"d.volume_ml * {KETAMINE_MG_PER_ML}", "d.draw_units * 28"),
            "mg_per_quantity": per_qty,
            "balance_ml_after": "x.balance_ml_after",
            "balance_units_after": "x.balance_units_after",
            "balance_mg_after": "x.balance_mg_after",
            "actor_id": "d.nurse_id",
            "patient_id": "d.patient_id",
            "session_id": "d.id",
            "draw_id": "x.id",
        },
        draw_join,
    )
    s.insert(
        LedgerEntry,
        {
            "id": "d.entry_id + 2",
            "lot_id": "d.lot_id",
            "entry_type": "'waste'",
            "event_at": "d.dose_ended_at",
            "recorded_at": "d.dose_ended_at + interval '1 minute'",
            "ml": str(WASTE_ML),
            "mg": str(WASTE_ML * KETAMINE_MG_PER_ML),
            "mg_per_quantity": str(KETAMINE_MG_PER_ML),
            "balance_ml_after": "x.balance_ml_after",
            "balance_mg_after": "x.balance_mg_after",
            "actor_id": "d.nurse_id",
            "witness_id": "d.prescriber_id",
            "patient_id": "d.patient_id",
            "session_id": "d.id",
            "draw_id": "x.id",
            "reason": "'Residual in syringe'",
        },
        f"{draw_join} WHERE {ketamine}",
    )


def _seed_measures(s):
    """Schedules, PHQ-9 before every dose and PHQ-9 + GAD-7 at baseline, with their due
    occasions fulfilled; totals fall over a course. Safety answers raise alerts, actioned
    unless raised in the last week. Portal patients keep a journal for the last 20 days."""
    s.run(
        "CREATE TEMP TABLE b_pool (code text, total int, variant int, answers jsonb, band text, "
        "safety_alert bool, subscales jsonb, flags jsonb) ON COMMIT DROP"
    )
    versions = {code: _load_pool(s, code).version for code in ("PHQ-9", "GAD-7")}
    s.run("CREATE INDEX ON b_pool (code, total, variant); ANALYZE b_pool")
    rules = [
        ("PHQ-9", ScheduleTiming.BASELINE, "NULL", "NULL"),
        ("GAD-7", ScheduleTiming.BASELINE, "NULL", "NULL"),
        ("PHQ-9", ScheduleTiming.SESSIONS, "1", "NULL"),
        ("PHQ-9", ScheduleTiming.END_OF_INDUCTION, "NULL", "NULL"),
        ("GAD-7", ScheduleTiming.END_OF_INDUCTION, "NULL", "NULL"),
        ("PHQ-9", ScheduleTiming.INTERVAL, "NULL", "28"),
        ("GAD-7", ScheduleTiming.INTERVAL, "NULL", "28"),
    ]
    values = ", ".join(f"('{c}', '{t}', {n}::int, {d}::int)" for c, t, n, d in rules)
    s.insert(
        ScheduleRule,
        {
            "course_id": "c.id",
            "instrument_code": "r.code",
            "timing": "r.timing",
            "every_n_sessions": "r.n",
            "interval_days": "r.d",
            "created_at": "c.opened_at",
        },
        f"b_course c CROSS JOIN (VALUES {values}) r(code, timing, n, d)",
    )
    pick = "JOIN b_pool p ON p.code = {code} AND p.variant = q.variant AND p.total = {total}"
    response_columns = {
        "patient_id": "q.patient_id",
        "course_id": "q.course_id",
        "session_id": "q.session_id",
        "instrument_code": "p.code",
        "answers": "p.answers",
        "total": "p.total",
        "band": "p.band",
        "safety_alert": "p.safety_alert",
        "subscales": "p.subscales",
        "flags": "p.flags",
        "mode": "CASE WHEN q.patient_user_id IS NULL THEN 'assisted' ELSE 'self' END",
        "entered_by_id": "COALESCE(q.patient_user_id, q.nurse_id)",
        "submission_key": "gen_random_uuid()",
    }
    for code, high in (("PHQ-9", 27), ("GAD-7", 21)):
        s.insert(
            InstrumentResponse,
            {
                **response_columns,
                "instrument_version": _lit(versions[code]),
                "timepoint": "'baseline'",
                "completed_at": "q.at",
                "created_at": "q.at",
            },
            "(SELECT c.id AS course_id, NULL::bigint AS session_id, c.patient_id, c.nurse_id, "
            "c.patient_user_id, c.opened_at + interval '3 days' AS at, "
            "floor(random() * 20)::int AS variant, "
            f"LEAST({high}, 15 + c.n % 8) AS target FROM b_course c) q "
            + pick.format(code=_lit(code), total="q.target"),
            label="measures_instrumentresponse (baseline)",
        )
    s.insert(
        InstrumentResponse,
        {
            **response_columns,
            "instrument_version": _lit(versions["PHQ-9"]),
            "timepoint": "'pre_session'",
            "completed_at": "q.at",
            "created_at": "q.at",
        },
        "(SELECT d.course_id, d.id AS session_id, d.patient_id, d.nurse_id, d.patient_user_id,"
        " d.scheduled_at - interval '30 minutes' AS at, floor(random() * 20)::int AS variant, "
        "GREATEST(0, LEAST(27, 15 + d.n % 8 - d.k * 13 / 10 + d.rn::int % 5 - 2)) AS target "
        "FROM b_dosed d) q " + pick.format(code="'PHQ-9'", total="q.target"),
        label="measures_instrumentresponse (pre-session)",
    )
    s.insert(
        InstrumentResponse,
        {
            **response_columns,
            "instrument_version": _lit(versions["GAD-7"]),
            "timepoint": "'scheduled'",
            "completed_at": "q.at",
            "created_at": "q.at",
        },
        "(SELECT d.course_id, d.id AS session_id, d.patient_id, d.nurse_id, d.patient_user_id,"
        " d.scheduled_at - interval '29 minutes' AS at, floor(random() * 20)::int AS variant, "
        "GREATEST(0, 12 + d.n % 6 - d.k) AS target FROM b_dosed d WHERE d.k = 6) q "
        + pick.format(code="'GAD-7'", total="q.target"),
        label="measures_instrumentresponse (end of induction)",
    )
    # Due occasions, fulfilled by the responses above; the booked session's is still open.
    rule = (
        "(SELECT id FROM measures_schedulerule x WHERE x.course_id = {course} "
        "AND x.instrument_code = {code} AND x.timing = {timing})"
    )
    s.insert(
        MeasureDue,
        {
            "patient_id": "r.patient_id",
            "course_id": "r.course_id",
            "rule_id": rule.format(
                course="r.course_id", code="r.instrument_code", timing="'baseline'"
            ),
            "instrument_code": "r.instrument_code",
            "slot": "'baseline'",
            "label": "'Baseline'",
            "due_on": "r.completed_at::date",
            "status": "'completed'",
            "response_id": "r.id",
        },
        "measures_instrumentresponse r JOIN b_course c ON c.id = r.course_id "
        "WHERE r.timepoint = 'baseline'",
    )
    s.insert(
        MeasureDue,
        {
            "patient_id": "s.patient_id",
            "course_id": "s.course_id",
            "rule_id": rule.format(course="s.course_id", code="'PHQ-9'", timing="'sessions'"),
            "instrument_code": "'PHQ-9'",
            "slot": "'session-' || s.public_id",
            "label": "'Before session ' || s.k",
            "due_on": "s.scheduled_at::date",
            "status": "CASE WHEN r.id IS NULL THEN 'open' ELSE 'completed' END",
            "response_id": "r.id",
        },
        "b_session s LEFT JOIN measures_instrumentresponse r ON r.session_id = s.id "
        "AND r.instrument_code = 'PHQ-9' WHERE s.status <> 'cancelled'",
    )
    s.insert(
        MeasureDue,
        {
            "patient_id": "r.patient_id",
            "course_id": "r.course_id",
            "rule_id": rule.format(
                course="r.course_id", code="r.instrument_code", timing="'end_of_induction'"
            ),
            "instrument_code": "r.instrument_code",
            "slot": "'end-of-induction'",
            "label": "'End of induction'",
            "due_on": "r.completed_at::date",
            "status": "'completed'",
            "response_id": "r.id",
        },
        "measures_instrumentresponse r JOIN b_session s ON s.id = r.session_id WHERE s.k = 6",
    )
    s.insert(
        SafetyAlert,
        {
            "patient_id": "r.patient_id",
            "source": "'questionnaire'",
            "instrument_code": "r.instrument_code",
            "response_id": "r.id",
            "reason": "r.instrument_code || ': item 9 answered 1; alert at 1 or more.'",
            "raised_at": "r.completed_at",
            "status": f"CASE WHEN r.completed_at > {s.now_sql} - interval '7 days' THEN 'open' "
            "ELSE 'actioned' END",
            "action": f"CASE WHEN r.completed_at > {s.now_sql} - interval '7 days' THEN '' "
            "ELSE 'contacted' END",
            "action_note": f"CASE WHEN r.completed_at > {s.now_sql} - interval '7 days' "
            "THEN '' ELSE 'Called the patient; passive thoughts, safety plan reviewed.' END",
            "actioned_by_id": f"CASE WHEN r.completed_at > {s.now_sql} - interval '7 days' "
            "THEN NULL ELSE c.prescriber_id END",
            "actioned_at": f"CASE WHEN r.completed_at > {s.now_sql} - interval '7 days' "
            "THEN NULL ELSE r.completed_at + interval '2 hours' END",
            "created_at": "r.completed_at",
        },
        "measures_instrumentresponse r JOIN b_course c ON c.id = r.course_id WHERE r.safety_alert",
    )
    s.insert(
        MoodJournalEntry,
        {
            "patient_id": "p.id",
            "entry_date": f"({s.now_sql})::date - g",
            "mood": "4 + (random() * 5)::int",
            "energy": "3 + (random() * 5)::int",
            "anxiety": "2 + (random() * 6)::int",
            "sleep_hours": "5 + (random() * 8)::int * 0.5",
            "sleep_quality": "4 + (random() * 5)::int",
            "tags": "CASE WHEN g % 4 = 0 THEN '[\"therapy\"]'::jsonb "
            "WHEN g % 7 = 0 THEN '[\"exercise\"]'::jsonb ELSE '[]'::jsonb END",
            "note": "CASE WHEN g % 3 = 0 THEN 'A steadier day than last week.' ELSE '' END",
            "submitted_by_id": "p.user_id",
            "submission_key": "gen_random_uuid()",
            "created_at": f"({s.now_sql})::date - g + interval '20 hours'",
        },
        f"b_patient p CROSS JOIN generate_series(1, {JOURNAL_DAYS}) g WHERE p.user_id IS NOT NULL",
    )


def _seed_audit(s):
    """The audit trail a year of use leaves: each dosed session's runner was viewed."""
    s.insert(
        AccessEvent,
        {
            "occurred_at": "d.dose_started_at",
            "user_id": "d.nurse_id",
            "clinic_id": "d.clinic_id",
            "patient_id": "d.patient_id",
            "action": "'view'",
            "object_type": "'session'",
            "object_public_id": "d.public_id",
            "outcome": "'allowed'",
            "ip_address": "'10.0.0.' || (1 + d.rn % 200)",
            "path": "'/sessions/' || d.public_id || '/'",
        },
        "b_dosed d",
    )
