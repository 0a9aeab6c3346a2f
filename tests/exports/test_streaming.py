"""A vitals export of 100,000 readings streams in constant memory.

Runs everywhere the suite runs, CI's PostgreSQL included (no marker excludes it): there the
rows come through a server-side cursor in chunks of `CHUNK_SIZE`. The readings are inserted
set-based (INSERT ... SELECT generate_series on PostgreSQL; bulk_create in batches on SQLite,
which is only the developer's quick run and uses fewer rows).
"""

import datetime
import tracemalloc

import pytest
from django.db import connection, transaction

from clinic.exports.selectors import CHUNK_SIZE
from clinic.monitoring.models import VitalReading
from tests.exports.conftest import DAY, download, local

# Peak Python memory allocated while the whole file is read, whatever its length: a few
# chunks of rows and one 64 KiB buffer of text. The file itself is ~20 MiB at 100,000 rows.
MEMORY_BOUND_BYTES = 8 * 1024 * 1024


def _row_count():
    return 100_000 if connection.vendor == "postgresql" else 20_000


def _insert_readings(session, nurse, count):
    first = local(DAY, 8)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # The change-history trigger would copy every synthetic row into its event table
            # (minutes for 100,000 rows): switched off for this insert only, inside the test's
            # transaction; foreign keys (internal triggers) stay checked.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER needs no pending checks
            cursor.execute("ALTER TABLE monitoring_vitalreading DISABLE TRIGGER USER")
            cursor.execute(
                """
                INSERT INTO monitoring_vitalreading (
                    public_id, created_at, updated_at, session_id, phase, taken_at,
                    entered_by_id, systolic, diastolic, heart_rate, spo2, temperature_c,
                    symptoms, flags, has_critical, entered_in_error, entered_in_error_reason
                )
                SELECT gen_random_uuid(), now(), now(), %(session)s, 'intra',
                       %(first)s + g * interval '100 milliseconds', %(nurse)s,
                       100 + g %% 80, 60 + g %% 30, 60 + g %% 40, 95 + g %% 6, 36.5,
                       CASE WHEN g %% 97 = 0 THEN '=cmd' ELSE '' END,
                       CASE WHEN 100 + g %% 80 >= 140 THEN '{"systolic": "high"}'
                            ELSE '{}' END::jsonb,
                       false, false, ''
                FROM generate_series(0, %(count)s - 1) AS g
                """,
                {"session": session.pk, "first": first, "nurse": nurse.pk, "count": count},
            )
            cursor.execute("ALTER TABLE monitoring_vitalreading ENABLE TRIGGER USER")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        return
    batch = []
    for g in range(count):
        batch.append(
            VitalReading(
                session=session,
                phase="intra",
                entered_by=nurse,
                taken_at=first + datetime.timedelta(milliseconds=100 * g),
                systolic=100 + g % 80,
                diastolic=60 + g % 30,
                heart_rate=60 + g % 40,
                spo2=95 + g % 6,
                temperature_c="36.5",
                symptoms="=cmd" if g % 97 == 0 else "",
                flags={"systolic": "high"} if 100 + g % 80 >= 140 else {},
            )
        )
        if len(batch) == 5000:
            VitalReading.objects.bulk_create(batch)
            batch = []
    VitalReading.objects.bulk_create(batch)


@pytest.mark.django_db
def test_a_vitals_export_of_100k_readings_streams_in_constant_memory(client, world):
    count = _row_count()
    _insert_readings(world.session(world.course_a, local(DAY, 7)), world.nurse, count)
    client.force_login(world.admin)
    response = download(client, "vitals", DAY, DAY)
    lines = size = high_flags = neutralised = 0
    tracemalloc.start()
    try:
        for chunk in response.streaming_content:
            size += len(chunk)
            lines += chunk.count(b"\r\n")
            high_flags += chunk.count(b",high,")
            neutralised += chunk.count(b",'=cmd,")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"\n{count} rows, {size / 2**20:.1f} MiB streamed, peak {peak / 2**20:.2f} MiB")
    assert lines == count + 1  # the header and every reading
    assert high_flags == sum(1 for g in range(count) if 100 + g % 80 >= 140)
    assert neutralised == len(range(0, count, 97))
    assert peak < MEMORY_BOUND_BYTES
    # The bound means something: the file is many times larger than what was ever held.
    assert size > 2 * MEMORY_BOUND_BYTES
    assert count > CHUNK_SIZE


@pytest.mark.skipif(connection.vendor != "postgresql", reason="server-side cursors: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_the_export_cursor_is_read_inside_a_transaction_so_rows_come_before_the_query_ends(
    client,
):
    """Outside a transaction PostgreSQL declares the cursor WITH HOLD, which runs the whole
    query and stores its result before the first row is fetched: a million readings would
    wait seconds for the first byte. Autocommit (no test transaction around it) as in
    production; the download still finishes and is audited once the read is over."""
    from django.test.utils import CaptureQueriesContext

    from clinic.core.models import AccessEvent
    from tests.exports.conftest import ExportWorld

    world = ExportWorld()
    with transaction.atomic():  # the insert switches a trigger off for its transaction only
        _insert_readings(world.session(world.course_a, local(DAY, 7)), world.nurse, CHUNK_SIZE + 1)
    client.force_login(world.admin)
    with CaptureQueriesContext(connection) as captured:
        response = download(client, "vitals", DAY, DAY)
        lines = sum(chunk.count(b"\r\n") for chunk in response.streaming_content)
        response.close()
    declared = [q["sql"] for q in captured.captured_queries if "CURSOR" in q["sql"].upper()]
    assert len(declared) == 1
    assert "WITH HOLD" not in declared[0].upper()
    assert lines == CHUNK_SIZE + 2
    exported = AccessEvent.objects.get(action=AccessEvent.Action.EXPORT)
    assert f"rows={CHUNK_SIZE + 1}; complete" in exported.detail
