"""The demo data for tests that need it, without paying for `seed_demo` in every test.

`seed_demo` walks the real services and takes 10+ seconds on PostgreSQL, and the tables are
empty again for each test (rolled back, or flushed under live_server). So the first test to
ask for the demo data from a given starting state runs `seed_demo` and keeps a copy of every
table (PostgreSQL COPY); later tests that start from the same state get that copy back, row
for row, which takes a fraction of a second. `tests/test_seed_demo.py` proves the copy equals
what `seed_demo` writes.

"The same starting state" is the row count of every table and the calendar date in the
server's and each demo clinic's time zone: the demo is built around "today", so a run that
crosses midnight seeds afresh. A test whose fixtures wrote rows before asking for the demo
data starts from another state, and gets a real `seed_demo`. On SQLite (fast local runs) the
command simply runs each time.
"""

import datetime
import io
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection, transaction

from clinic.patients.management.commands.seed_demo import CLINICS

# (calendar dates, row counts before seeding) -> the tables' contents after seeding.
_copies = {}
TRIGGER_ON_INSERT = 1 << 2  # pg_trigger.tgtype bits
TRIGGER_ON_DELETE = 1 << 3


def load_demo():
    """Puts the demo clinics, logins and patients in the test database."""
    if connection.vendor != "postgresql":
        call_command("seed_demo", stdout=io.StringIO())
        return
    tables = _tables()
    counts = _row_counts(tables)
    state = (_dates(), counts)
    copy = _copies.get(state)
    if copy is None:
        call_command("seed_demo", stdout=io.StringIO())
        _copies[state] = _copy_out(tables)
    else:
        _copy_in(copy, [table for table, count in counts if count])


def _dates():
    now = datetime.datetime.now(datetime.UTC)
    zones = [settings.TIME_ZONE, *(clinic["timezone"] for clinic in CLINICS)]
    return tuple(now.astimezone(ZoneInfo(zone)).date() for zone in zones)


def _tables():
    """Every table that flush empties: all of the project's, not django_migrations."""
    return sorted(connection.introspection.django_table_names(only_existing=True))


def _row_counts(tables):
    quote = connection.ops.quote_name
    # Table names come from introspection, not from input.
    counts = ", ".join(f"(SELECT count(*) FROM {quote(table)})" for table in tables)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")
        return tuple(zip(tables, cursor.fetchone(), strict=True))


def _copy_out(tables):
    quote = connection.ops.quote_name
    contents = {}
    with connection.cursor() as cursor:
        for table in tables:
            with cursor.copy(f"COPY {quote(table)} TO STDOUT") as copy:
                contents[table] = b"".join(bytes(block) for block in copy)
        sequences = [
            (sequence["name"], sequence["table"], sequence["column"])
            for table in tables
            for sequence in connection.introspection.get_sequences(cursor, table)
        ]
        triggered = {}
        for event, bit in (("delete", TRIGGER_ON_DELETE), ("insert", TRIGGER_ON_INSERT)):
            cursor.execute(
                "SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger "
                "WHERE NOT tgisinternal AND tgtype & %s != 0",
                [bit],
            )
            triggered[event] = {table for (table,) in cursor.fetchall()}
    return {"contents": contents, "sequences": sequences, "triggered": triggered}


def _copy_in(copy, filled_tables):
    """Empties the tables that hold rows (only a few do, before seeding) and copies every
    table's rows back; foreign keys are checked before the block ends."""
    quote = connection.ops.quote_name
    # The rows' triggers (history rows, immutability, ledger checks) already ran when
    # seed_demo wrote them, and the copy holds what they wrote: running them again would
    # add rows or refuse the DELETE. Foreign keys (internal triggers) stay on.
    untriggered = sorted(
        {table for table in filled_tables if table in copy["triggered"]["delete"]}
        | {
            table
            for table, rows in copy["contents"].items()
            if rows and table in copy["triggered"]["insert"]
        }
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # ALTER TABLE needs no foreign-key checks pending; then defer them while copying.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for table in untriggered:
            cursor.execute(f"ALTER TABLE {quote(table)} DISABLE TRIGGER USER")
        # DELETE, because TRUNCATE costs a new file per table and index even when empty.
        for table in filled_tables:
            cursor.execute(f"DELETE FROM {quote(table)}")  # noqa: S608
        for table, rows in copy["contents"].items():
            if rows:
                with cursor.copy(f"COPY {quote(table)} FROM STDIN") as target:
                    target.write(rows)
        # Sequences only move forward, past every copied id, so later inserts cannot collide
        # and ids are never reused within the run.
        moves = ", ".join(
            _sequence_move(quote(table), quote(column)) for _, table, column in copy["sequences"]
        )
        names = [name for name, _, _ in copy["sequences"] for _ in range(2)]
        cursor.execute(f"SELECT {moves}", names)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # every foreign key checked here
        for table in untriggered:
            cursor.execute(f"ALTER TABLE {quote(table)} ENABLE TRIGGER USER")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's default, for the test
    # The copy brings its own content types, whose ids differ from the ones a flush recreated.
    ContentType.objects.clear_cache()


def _sequence_move(table, column):
    return f"setval(%s, GREATEST(nextval(%s), (SELECT COALESCE(MAX({column}), 0) FROM {table})))"  # noqa: S608
