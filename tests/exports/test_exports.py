"""CSV exports: rows against the database, ranges in the clinic's time zone, spreadsheet
safety, permissions, the audit row, constant query count."""

import datetime
import zoneinfo
from decimal import Decimal

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.core.models import AccessEvent
from clinic.exports import cells, views
from clinic.exports.kinds import KINDS
from clinic.monitoring import services as monitoring_services
from tests.exports.conftest import BOUNDARY_TIMES, DAY, download, local, read_csv

TZ = "America/New_York"


def _created(world, kind):
    """Four records of `kind` for patient A at the boundary times (dates for the journal)."""
    if kind == "sessions":
        return [world.session(world.course_a, at) for at in BOUNDARY_TIMES]
    if kind == "vitals":
        session = world.session(world.course_a, BOUNDARY_TIMES[0])
        return [world.reading(session, at) for at in BOUNDARY_TIMES]
    if kind == "side-effects":
        return [world.side_effect(world.course_a, at) for at in BOUNDARY_TIMES]
    if kind == "scores":
        return [world.score(world.patient_a, at) for at in BOUNDARY_TIMES]
    days = [DAY - datetime.timedelta(days=1), DAY, DAY, DAY + datetime.timedelta(days=1)]
    entries = [world.journal(world.patient_a, day) for day in (days[0], DAY, days[3])]
    return [entries[0], entries[1], entries[1], entries[2]]


def _local(value):
    return cells.LocalClock(zoneinfo.ZoneInfo(TZ))(value)


def _expected(kind, obj):
    """What the row of `obj` must say, column by column (a subset that covers each type)."""
    name = lambda p: f"{p.given_name} {p.family_name}"  # noqa: E731
    if kind == "sessions":
        return {
            "session_id": str(obj.public_id),
            "patient_mrn": obj.course.patient.medical_record_number,
            "patient_name": name(obj.course.patient),
            "session_number": str(obj.session_number),
            "status": obj.status,
            f"scheduled_at ({TZ})": _local(obj.scheduled_at),
            "route": obj.route or obj.plan.route,
            "nurse": obj.nurse.username,
        }
    if kind == "vitals":
        return {
            "reading_id": str(obj.public_id),
            "session_id": str(obj.session.public_id),
            f"taken_at ({TZ})": _local(obj.taken_at),
            "systolic_mmhg": str(obj.systolic),
            "diastolic_mmhg": str(obj.diastolic),
            "heart_rate_per_min": str(obj.heart_rate),
            "spo2_percent": "",
            "has_critical": "no",
            "entered_by": obj.entered_by.username,
        }
    if kind == "side-effects":
        return {
            "report_id": str(obj.public_id),
            "term_code": "NAUSEA",
            "term": "Nausea, vomiting",
            "expected": "yes",
            f"onset_at ({TZ})": _local(obj.onset_at),
            "grade": "1",
            "serious": "no",
            "outcome": "recovering",
        }
    if kind == "scores":
        return {
            "response_id": str(obj.public_id),
            "instrument": "PHQ-9",
            f"completed_at ({TZ})": _local(obj.completed_at),
            "total": str(obj.total),
            "severity_band": obj.band,
            "item_answers": " ".join("blank" if a is None else str(a) for a in obj.answers),
            "safety_alert": "no",
        }
    return {
        "entry_id": str(obj.public_id),
        "entry_date (patient's local date)": obj.entry_date.isoformat(),
        "mood": "6",
        "sleep_hours": "7.5",
        "safety_thoughts": "no",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_one_day_range_holds_both_local_midnights_and_the_rows_match_the_database(
    client, world, kind
):
    records = _created(world, kind)
    client.force_login(world.admin)
    response = download(client, kind, DAY, DAY)
    assert response.status_code == 200
    _raw, header, rows = read_csv(response)
    assert header == KINDS[kind].headers(TZ)
    inside = list(dict.fromkeys(records[1:3]))  # the journal's two middle records are one
    assert len(rows) == len(inside)
    for row, record in zip(rows, inside, strict=True):
        record.refresh_from_db()
        expected = _expected(kind, record)
        assert {key: row[key] for key in expected} == expected


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_wider_range_holds_every_record_and_an_empty_range_only_the_header(client, world, kind):
    records = list(dict.fromkeys(_created(world, kind)))
    client.force_login(world.admin)
    week = download(client, kind, DAY - datetime.timedelta(days=3), DAY + datetime.timedelta(3))
    _raw, _header, rows = read_csv(week)
    assert [row[KINDS[kind].headers(TZ)[0]] for row in rows] == [str(r.public_id) for r in records]
    empty = download(client, kind, datetime.date(2025, 1, 1), datetime.date(2025, 1, 31))
    _raw, header, rows = read_csv(empty)
    assert rows == []
    assert header == KINDS[kind].headers(TZ)


@pytest.mark.django_db
def test_vitals_carry_the_flags_the_clinic_limits_gave_and_the_acknowledgement(client, world):
    session = world.session(world.course_a, local(DAY, 9))
    critical = world.reading(session, local(DAY, 10), systolic=185, diastolic=95, heart_rate=55)
    world.reading(session, local(DAY, 11), temperature_c="37.5", spo2=97)
    monitoring_services.vital_acknowledge(
        reading=critical, by=world.prescriber, action_taken="Rechecked after 5 min; 150/88."
    )
    client.force_login(world.admin)
    _raw, _header, rows = read_csv(download(client, "vitals", DAY, DAY))
    first, second = rows
    assert first["systolic_flag"] == "critical_high"
    assert first["diastolic_flag"] == "high"
    assert first["heart_rate_flag"] == "low"
    assert first["has_critical"] == "yes"
    assert first["acknowledged_by"] == world.prescriber.username
    assert first["acknowledgment_action"] == "Rechecked after 5 min; 150/88."
    assert first[f"acknowledged_at ({TZ})"].startswith(datetime.date.today().isoformat()[:4])
    assert second["temperature_c"] == "37.5"
    assert second["temperature_c_flag"] == ""
    assert second["has_critical"] == "no"
    assert second["acknowledged_by"] == ""


@pytest.mark.django_db
def test_the_file_is_utf8_with_bom_named_by_clinic_kind_and_range(client, world):
    world.reading(world.session(world.course_a, local(DAY, 9)), local(DAY, 9, 30))
    client.force_login(world.admin)
    response = download(client, "vitals", DAY, DAY + datetime.timedelta(days=21))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="harbour-ketamine-clinic-vitals-2026-03-10-to-2026-03-31.csv"'
    )
    raw, header, rows = read_csv(response)
    assert raw.startswith(b"\xef\xbb\xbfreading_id,")
    assert f"taken_at ({TZ})" in header
    # 09:30 in New York is what the nurse's clock said, whatever the UTC offset.
    assert rows[0][f"taken_at ({TZ})"] == "2026-03-10 09:30:00"


@pytest.mark.django_db
def test_text_that_a_spreadsheet_would_run_is_neutralised_but_numbers_stay_numbers(client, world):
    world.patient_a.given_name = '=HYPERLINK("http://x")'
    world.patient_a.family_name = "@SUM(A1)"
    world.patient_a.save(update_fields=["given_name", "family_name"])
    payloads = ["+cmd|' /C calc'!A0", "-2+3", "\tTabbed", "\rReturn", "Plain -1 text"]
    for minute, verbatim in enumerate(payloads):
        world.side_effect(world.course_a, local(DAY, 10, minute), verbatim=verbatim)
    client.force_login(world.admin)
    _raw, _header, rows = read_csv(download(client, "side-effects", DAY, DAY))
    assert [row["verbatim"] for row in rows] == [
        "'+cmd|' /C calc'!A0", "'-2+3", "'\tTabbed", "'\rReturn", "Plain -1 text",
    ]  # fmt: skip
    assert rows[0]["patient_name"] == '\'=HYPERLINK("http://x") @SUM(A1)'
    assert rows[0]["grade"] == "1"
    # A negative number is a number, written plainly; the same characters as text are not.
    assert cells.number(Decimal("-1.5")) == "-1.5"
    assert cells.number(-3) == "-3"
    assert cells.number(Decimal("1E+1")) == "10"
    assert cells.number(Decimal("1234567.8")) == "1234567.8"
    assert cells.text("-1.5") == "'-1.5"


# --- permissions ---------------------------------------------------------------------------


def _both_patients_have_readings(world):
    for course in (world.course_a, world.course_b):
        world.reading(world.session(course, local(DAY, 8)), local(DAY, 9))


@pytest.mark.django_db
def test_a_clinic_admin_exports_every_patient_of_their_clinic(client, world):
    _both_patients_have_readings(world)
    client.force_login(world.admin)
    _raw, _header, rows = read_csv(download(client, "vitals", DAY, DAY))
    assert {row["patient_mrn"] for row in rows} == {
        world.patient_a.medical_record_number,
        world.patient_b.medical_record_number,
    }


@pytest.mark.django_db
def test_a_clinician_exports_only_the_patients_whose_care_team_they_are_on(client, world):
    _both_patients_have_readings(world)
    client.force_login(world.prescriber)
    _raw, _header, rows = read_csv(download(client, "vitals", DAY, DAY))
    assert [row["patient_mrn"] for row in rows] == [world.patient_a.medical_record_number]
    event = AccessEvent.objects.get(action="export")
    assert "scope=my patients; rows=1; complete" in event.detail
    # The nurse recorded every reading but is on nobody's care team: nothing to export.
    client.force_login(world.nurse)
    _raw, _header, rows = read_csv(download(client, "vitals", DAY, DAY))
    assert rows == []


@pytest.mark.django_db
def test_another_clinics_id_gives_404_and_is_recorded_as_refused(client, world):
    _both_patients_have_readings(world)
    client.force_login(world.other_admin)
    response = download(client, "vitals", DAY, DAY, clinic=world.clinic)
    assert response.status_code == 404
    assert world.patient_a.medical_record_number.encode() not in response.content
    event = AccessEvent.objects.get(user=world.other_admin, action="export")
    assert (event.outcome, event.clinic) == ("denied", world.clinic)
    index = client.get(reverse("exports:index"), {"clinic": str(world.clinic.public_id)})
    assert index.status_code == 404
    # Their own clinic's export holds none of the first clinic's rows.
    _raw, _header, rows = read_csv(download(client, "vitals", DAY, DAY))
    assert rows == []


@pytest.mark.django_db
def test_patients_get_403_and_anonymous_users_the_login_page(client, world):
    _both_patients_have_readings(world)
    client.force_login(world.patient_a.user)
    assert download(client, "vitals", DAY, DAY).status_code == 403
    assert client.get(reverse("exports:index")).status_code == 403
    client.logout()
    response = download(client, "vitals", DAY, DAY)
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert not AccessEvent.objects.filter(action="export").exists()


# --- audit ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_finished_export_is_audited_with_its_kind_range_and_row_count(client, world):
    _both_patients_have_readings(world)
    client.force_login(world.admin)
    response = download(client, "vitals", DAY, DAY + datetime.timedelta(days=1))
    assert not AccessEvent.objects.filter(action="export").exists()  # nothing sent yet
    read_csv(response)
    event = AccessEvent.objects.get(action="export")
    assert (event.user, event.clinic, event.outcome) == (world.admin, world.clinic, "allowed")
    assert event.object_type == "vitals_export"
    assert event.detail == (
        "kind=vitals; range=2026-03-10..2026-03-11; scope=clinic; rows=2; complete"
    )
    assert event.path == reverse("exports:download", kwargs={"kind": "vitals"})


def _server_closes(response):
    """What a WSGI server does with a response it stops sending, as the test client does
    (without closing the test's database connection)."""
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_an_export_stopped_early_is_audited_as_aborted(rf, world):
    """As a WSGI server does: it closes the response it stops sending (PEP 3333)."""
    _both_patients_have_readings(world)

    def start_download(kind):
        request = rf.get(f"/exports/{kind}.csv", {"start": DAY.isoformat(), "end": DAY.isoformat()})
        request.user = world.admin
        return views.download(request, kind=kind)

    response = start_download("vitals")
    next(iter(response.streaming_content))  # the browser got the first chunk, then went away
    _server_closes(response)
    event = AccessEvent.objects.get(action="export")
    assert event.detail == (
        "kind=vitals; range=2026-03-10..2026-03-10; scope=clinic; rows=2; aborted"
    )
    assert event.path == "/exports/vitals.csv"
    # A download cancelled before its first byte is recorded too.
    _server_closes(start_download("journal"))
    assert AccessEvent.objects.get(action="export", object_type="journal_export").detail == (
        "kind=journal; range=2026-03-10..2026-03-10; scope=clinic; rows=0; aborted"
    )


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "kind, params, message",
    [
        ("payroll", {"start": "2026-03-01", "end": "2026-03-02"}, "Choose one of the exports"),
        ("vitals", {"start": "2026-02-30", "end": "2026-03-02"}, "Enter a date as YYYY-MM-DD"),
        ("vitals", {"start": "10/03/2026", "end": "2026-03-02"}, "Enter a date as YYYY-MM-DD"),
        ("vitals", {"start": "2026-03-05", "end": "2026-03-01"}, "on or after the start date"),
        ("vitals", {"start": "0001-01-01", "end": "9999-12-31"}, "Enter a date between"),
        ("vitals", {"start": "2026-03-01", "end": "2026-03-02", "clinic": "nope"}, "clinics"),
    ],
)
def test_bad_parameters_give_a_message_on_the_exports_page(client, world, kind, params, message):
    client.force_login(world.admin)
    response = client.get(reverse("exports:download", kwargs={"kind": kind}), params)
    assert response.status_code == 400
    assert "exports/index.html" in [t.name for t in response.templates]
    assert message in response.content.decode()
    assert not AccessEvent.objects.filter(action="export").exists()


@pytest.mark.django_db
def test_the_exports_page_takes_the_dashboard_range_and_its_form_leads_to_the_download(
    client, world
):
    client.force_login(world.admin)
    page = client.get(
        reverse("exports:index"),
        {"start": "2026-03-01", "end": "2026-03-10", "clinic": str(world.clinic.public_id)},
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="2026-03-01"' in html and 'value="2026-03-10"' in html
    assert "Every patient of Harbour Ketamine Clinic" in html
    submitted = client.get(
        reverse("exports:index"),
        {"kind": "scores", "start": "2026-03-01", "end": "2026-03-10"},
    )
    assert submitted.status_code == 302
    assert submitted.url == (
        f"/exports/scores.csv?start=2026-03-01&end=2026-03-10&clinic={world.clinic.public_id}"
    )
    refused = client.get(reverse("exports:index"), {"kind": "scores", "start": "x", "end": ""})
    assert refused.status_code == 200
    assert 'value="x"' in refused.content.decode()  # what the user typed is kept
    assert "Enter a date as YYYY-MM-DD" in refused.content.decode()


# --- queries -------------------------------------------------------------------------------


def _add(world, kind, count, first):
    """`count` more records of `kind` in the fortnight from DAY, numbered from `first`."""
    session = world.session(world.course_a, local(DAY, 7)) if kind == "vitals" else None
    for n in range(first, first + count):
        at = local(DAY, 8) + datetime.timedelta(hours=n)
        if kind == "sessions":
            world.session(world.course_b, at)
        elif kind == "vitals":
            world.reading(session, at)
        elif kind == "side-effects":
            world.side_effect(world.course_b, at)
        elif kind == "scores":
            world.score(world.patient_b, at)
        else:
            world.journal(world.patient_a, DAY + datetime.timedelta(days=n))


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_an_export_issues_the_same_queries_whatever_its_size(client, world, kind):
    client.force_login(world.admin)
    sizes, queries = [], []
    for count, first in ((1, 0), (9, 1)):
        _add(world, kind, count, first)
        with CaptureQueriesContext(connection) as captured:
            _raw, _header, rows = read_csv(
                download(client, kind, DAY, DAY + datetime.timedelta(13))
            )
        sizes.append(len(rows))
        queries.append([q["sql"] for q in captured.captured_queries])
    assert sizes == [1, 10]
    assert len(queries[0]) == len(queries[1])
    # The rows come in one query (a server-side cursor on PostgreSQL), the audit row in one.
    assert sum(kind_table(kind) in sql for sql in queries[1]) == 1
    assert sum(sql.startswith("INSERT") for sql in queries[1]) == 1


def kind_table(kind):
    return f'FROM "{KINDS[kind].model._meta.db_table}"'
