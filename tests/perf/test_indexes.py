"""Every page's queries use an index on the large tables (PostgreSQL only).

The benchmark seeder fills the test database with a small clinic group (200 patients, 2,000
sessions, 50,000 vitals; rolled back with the test) and ANALYZE gives the planner real
statistics. Every page is rendered through the test client, the SQL it really sends is
captured, and every SELECT is EXPLAINed: a Seq Scan on a table of LARGE_TABLE_ROWS rows or
more (at this size: vitals, session status histories, checklist answers and their change
histories) means an access path without an index, and the test fails with the page, the
query and the plan. Smaller tables are read whole when the planner finds that cheaper,
index or not, so at this size they prove nothing either way (docs/performance.md).
"""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.seed import seed
from clinic.accounts.models import User
from clinic.ledger.models import Lot
from clinic.monitoring.models import VitalReading
from clinic.patients.models import Patient
from tests.conftest import skip_or_fail

pytestmark = pytest.mark.perf

LARGE_TABLE_ROWS = 5_000
# Tables that must count as large at this size, or the test would check nothing.
MUST_BE_LARGE = {
    "monitoring_vitalreading",
    "pathway_sessionstatuschange",
    "pathway_checklistanswer",
}


class BenchWorld:
    def __init__(self):
        self.prescriber = User.objects.get(username="bench-c1-prescriber1")
        self.nurse = User.objects.get(username="bench-c1-nurse1")
        self.admin = User.objects.get(username="bench-c1-admin1")
        # Patient 1: clinic 1, a portal login, a ketamine course in treatment.
        self.patient = Patient.objects.get(medical_record_number="B-0000001")
        self.portal_user = self.patient.user
        self.course = self.patient.treatment_courses.get()
        self.session = self.course.sessions.filter(status="discharged").order_by("-id").first()
        self.lot = Lot.objects.filter(clinic=self.patient.clinic).order_by("id").first()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname FROM pg_class WHERE relkind = 'r' AND reltuples >= %s",
                [LARGE_TABLE_ROWS],
            )
            self.large_tables = {row[0] for row in cursor.fetchall()}


def _seed(**sizes):
    if connection.vendor != "postgresql":
        skip_or_fail("EXPLAIN tests need PostgreSQL (DATABASE_URL).")
    seed(analyze=False, **sizes)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("RESET ALL")  # the seeder's work_mem and jit settings
    return BenchWorld()


# Page -> (user attribute, URL kwargs from the world).
PAGES = {
    "clinician_home": ("prescriber", lambda w: {}),
    "patients:list": ("prescriber", lambda w: {}),
    "patients:detail": ("prescriber", lambda w: {"public_id": w.patient.public_id}),
    "pathway:course": ("prescriber", lambda w: {"public_id": w.course.public_id}),
    "pathway:session_run": ("nurse", lambda w: {"public_id": w.session.public_id}),
    "pathway:session_print": ("nurse", lambda w: {"public_id": w.session.public_id}),
    "pathway:follow_ups_overdue": ("prescriber", lambda w: {}),
    "measures:outcomes": ("prescriber", lambda w: {"public_id": w.patient.public_id}),
    "measures:alert_list": ("prescriber", lambda w: {}),
    "measures:overdue": ("prescriber", lambda w: {}),
    "measures:schedule": ("prescriber", lambda w: {"public_id": w.course.public_id}),
    "ledger:lot_list": ("nurse", lambda w: {}),
    "ledger:lot_detail": ("nurse", lambda w: {"public_id": w.lot.public_id}),
    "clinic_admin_home": ("admin", lambda w: {}),
    "core:notifications": ("prescriber", lambda w: {}),
    "portal:home": ("portal_user", lambda w: {}),
    "portal:journal": ("portal_user", lambda w: {}),
    "portal:progress": ("portal_user", lambda w: {}),
    "patients:summary": ("prescriber", lambda w: {"public_id": w.patient.public_id}),
    "reports:dashboard": ("admin", lambda w: {}),
    "reports:outcomes": ("admin", lambda w: {}),
    "reports:controlled_substances": ("admin", lambda w: {}),
    "audit:log": ("admin", lambda w: {}),
}

SEQ_SCAN = re.compile(r"Seq Scan on (\w+)")


def _plans(queries):
    with connection.cursor() as cursor:
        for query in queries:
            sql = query["sql"]
            # A compound query (UNION) opens with its first part's parenthesis.
            if not sql.lstrip("( ").upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN " + sql)
            yield sql, "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.django_db
def test_page_queries_use_indexes_on_large_tables(client):
    """One seed for every page (seeding is the slow part); every failure is listed."""
    bench = _seed(patients=200, vitals=50_000, clinics=2)
    assert bench.large_tables >= MUST_BE_LARGE, sorted(MUST_BE_LARGE - bench.large_tables)
    scans, explained = [], 0
    for url_name, (role, kwargs) in sorted(PAGES.items()):
        client.force_login(getattr(bench, role))
        url = reverse(url_name, kwargs=kwargs(bench))
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200, url
        plans = list(_plans(captured.captured_queries))
        explained += len(plans)
        scans += [
            (url_name, table, sql, plan)
            for sql, plan in plans
            for table in SEQ_SCAN.findall(plan)
            if table in bench.large_tables
        ]
    assert explained >= 5 * len(PAGES), explained
    assert not scans, "\n\n".join(
        f"Seq Scan on {table} for {name}:\n{sql}\n{plan}" for name, table, sql, plan in scans
    )


def test_connections_plan_with_the_random_read_cost_of_the_settings(db):
    if connection.vendor != "postgresql":
        skip_or_fail("A PostgreSQL planner setting (DATABASE_URL).")
    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        assert cursor.fetchone()[0] == "1.1"


# Each part of the clinician home's "awaiting your signature" and the index that serves it.
UNSIGNED_NOTE_INDEXES = {
    "pathway_consultation": "consultation_unsigned_idx",
    "pathway_followup": "follow_up_unsigned_idx",
    "pathway_assessment": "assessment_unsigned_idx",
    "pathway_treatmentplan": "plan_one_draft_per_course",
}


@pytest.mark.parametrize("role", ["prescriber", "nurse"])
def test_notes_awaiting_signature_are_found_through_their_partial_indexes(small_bench, role):
    """Signed notes pile up; the unsigned stay few. With sequential scans priced out, every
    part of the query still finds an index: its own partial index of the unsigned rows (at
    this size the planner may read the small tables whole, so the price makes it show which
    index it has)."""
    from clinic.pathway.selectors import awaiting_signature_for_user

    user = getattr(small_bench, role)
    with CaptureQueriesContext(connection) as captured:
        awaiting_signature_for_user(user)
    (sql,) = [query["sql"] for query in captured.captured_queries if "note_kind" in query["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    scanned = {table for table in UNSIGNED_NOTE_INDEXES if f" on {table}" in plan}
    # A nurse signs no plans and sees only the assessments she wrote.
    assert scanned == set(UNSIGNED_NOTE_INDEXES) - (
        {"pathway_treatmentplan"} if role == "nurse" else set()
    )
    for table in scanned:
        assert UNSIGNED_NOTE_INDEXES[table] in plan, plan
    assert not SEQ_SCAN.findall(plan), plan


@pytest.fixture
def small_bench(db):
    return _seed(patients=20, vitals=2_000, clinics=2)


def test_seeded_signed_notes_carry_the_hash_the_services_compute(small_bench):
    """The seeder signs in SQL; the model's own hash over the stored row must agree."""
    bench = small_bench
    course = bench.course
    notes = [
        course.consultation,
        course.assessments.get(),
        course.plans.get(),
        bench.session,
        *course.follow_ups.all(),
    ]
    assert len(notes) == 5
    for note in notes:
        assert note.is_signed and note.hash_is_intact(), note


def test_seeded_scores_are_the_instruments_scores(small_bench):
    bench = small_bench
    from clinic.measures import instruments

    responses = bench.patient.instrument_responses.all()
    assert responses.count() >= 10
    for response in responses:
        result = instruments.score(response.instrument_code, response.answers)
        assert (response.total, response.band, response.safety_alert) == (
            result.total,
            result.band or "",
            result.safety_alert,
        )


def test_seeded_lot_balances_match_their_ledger(small_bench):
    from django.db.models import Sum

    for lot in Lot.objects.filter(lot_number__startswith="BL"):
        moved = lot.entries.exclude(entry_type__in=["administer", "waste"]).aggregate(
            ml=Sum("ml"), units=Sum("units")
        )
        last = lot.entries.order_by("-id").first()
        assert lot.balance >= 0
        assert lot.balance == (moved["units"] if lot.is_device else moved["ml"])
        assert last.balance_after == lot.balance


# The default checklists: rows of data migrations that ran before their history was tracked.
WRITTEN_BY_MIGRATIONS = {"pathway_checklisttemplate", "pathway_checklistitem"}


def test_seeded_rows_have_the_history_the_triggers_write(small_bench):
    """The seeder writes the insert events set-based with its history triggers off; every
    seeded row of a tracked table has its one insert event, and the triggers are on again."""
    from django.apps import apps

    checked, missing = 0, {}
    with connection.cursor() as cursor:
        for event_model in apps.get_models():
            model = getattr(event_model, "pgh_tracked_model", None)
            if model is None:
                continue
            table, events = model._meta.db_table, event_model._meta.db_table
            cursor.execute(
                f'SELECT count(*), count(e.pgh_obj_id) FROM "{table}" t LEFT JOIN "{events}" e '  # noqa: S608
                "ON e.pgh_obj_id = t.id AND e.pgh_label = 'insert'"
            )
            rows, with_event = cursor.fetchone()
            if rows != with_event and table not in WRITTEN_BY_MIGRATIONS:
                missing[table] = rows - with_event
            checked += rows > 0
            cursor.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass "
                "AND tgname LIKE 'pgtrigger_insert_insert_%%' AND tgenabled = 'O'",
                [table],
            )
            assert cursor.fetchone()[0] == 1, f"history trigger of {table} left off"
    assert not missing, f"Seeded rows without their insert event: {missing}"
    assert checked >= 15
    reading = VitalReading.objects.filter(session=small_bench.session).first()
    event = apps.get_model("monitoring", "VitalReadingEvent").objects.get(
        pgh_obj_id=reading.pk, pgh_label="insert"
    )
    assert (event.systolic, event.flags, event.taken_at) == (
        reading.systolic,
        reading.flags,
        reading.taken_at,
    )


def _enabled_row_checks():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE tgenabled = 'D'), count(*) FROM pg_trigger "
            "WHERE tgfoid = '\"RI_FKey_check_ins\"'::regproc OR tgname = 'ledger_draw_use'"
        )
        return cursor.fetchone()


def test_seeding_leaves_every_foreign_key_and_draw_check_on(small_bench):
    """The seeder checks foreign keys and draw uses set-based with the per-row triggers off
    inside its transaction; afterwards every one of them is on again."""
    disabled, total = _enabled_row_checks()
    assert total > 50 and disabled == 0


def _copy_of_a_row(cursor, table, where, **overrides):
    """INSERT of a copy of the first row of `table` matching `where`, with `overrides`
    (SQL expressions) and a new id and public id."""
    cursor.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
        "AND column_name <> 'id' ORDER BY ordinal_position",
        [table],
    )
    columns = [row[0] for row in cursor.fetchall()]
    overrides.setdefault("public_id", "gen_random_uuid()")
    values = [overrides.get(column, f'"{column}"') for column in columns]
    names = ", ".join(f'"{column}"' for column in columns)
    return (
        f'INSERT INTO "{table}" ({names}) SELECT {", ".join(values)} FROM "{table}" '  # noqa: S608
        f"WHERE {where} ORDER BY id LIMIT 1"
    )


@pytest.mark.parametrize(
    "table, where, overrides, message",
    [
        # An access event of a patient who does not exist.
        ("core_accessevent", "patient_id IS NOT NULL", {"patient_id": "987654321"},
         "break foreign key"),
        # A second administration from the same draw: more than was drawn.
        ("ledger_ledgerentry", "entry_type = 'administer'", {}, "draw-use rule"),
    ],
)  # fmt: skip
def test_a_seeded_row_that_breaks_a_check_refuses_the_seed(
    db, monkeypatch, table, where, overrides, message
):
    """The set-based checks are real: a row that the per-row trigger would have refused makes
    the whole seed fail and roll back."""
    if connection.vendor != "postgresql":
        skip_or_fail("The seeder needs PostgreSQL (DATABASE_URL).")
    from bench import seed as seeder_module

    real_audit = seeder_module._seed_audit

    def audit_then_break(s):
        real_audit(s)
        s.run(_copy_of_a_row(s.cursor, table, where, **overrides))

    monkeypatch.setattr(seeder_module, "_seed_audit", audit_then_break)
    with pytest.raises(seeder_module.SeedRefused, match=message):
        seed(analyze=False, patients=5, vitals=200, clinics=1)
    assert not Patient.objects.exists()
    assert _enabled_row_checks()[0] == 0
