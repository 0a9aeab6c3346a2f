"""The session runner and its POST views: a whole IV session through the pages, refusals
shown beside the fields, htmx vitals, the printable record, and a query count that does not
grow with the readings."""

import re
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.core.models import AccessEvent, Notification
from clinic.ledger.models import LedgerEntry
from clinic.monitoring import services as monitoring
from clinic.monitoring.models import SideEffectReport, VitalAcknowledgment, VitalReading
from clinic.pathway import session_services as ss
from clinic.pathway.models import AdministrationSession, Drug, SessionStatus
from tests.factories import PASSWORD
from tests.ledger.conftest import receive
from tests.pathway.sessions import MINUTE, book, fresh, passing_answers, run_iv_session, to_ready

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name, session, anchor=""):
    return reverse(f"pathway:{name}", args=[session.public_id]) + (f"#{anchor}" if anchor else "")


def page(response):
    return response.content.decode()


@pytest.fixture
def iv(clinic, prescriber, nurse):
    return book(clinic, prescriber, nurse)


@pytest.fixture
def iv_lot(clinic, prescriber):
    return receive(clinic, prescriber, lot_number="KV10", concentration="10", container_ml="10")


def _answers_post(answers):
    return {f"answer__{code}": value for code, value in answers.items()}


def _discharge_codes(session):
    from clinic.pathway.models import ChecklistKind
    from clinic.pathway.selectors import active_checklist_template

    template = active_checklist_template(ChecklistKind.DISCHARGE, session.course.patient.clinic)
    return {
        item.code: "no" if item.trigger_answer == "yes" else "yes"
        for item in template.items.all()
        if not item.system
    }


def test_a_whole_iv_session_through_the_pages(client, clinic, prescriber, nurse, iv_lot):
    course = book(clinic, prescriber, nurse).course
    client.force_login(nurse)

    # Book from the course page.
    when = timezone.localtime() - 5 * MINUTE
    response = client.post(
        reverse("pathway:session_book", args=[course.public_id]),
        {"scheduled_at": when.strftime("%Y-%m-%dT%H:%M"), "nurse": nurse.pk,
         "prescriber": prescriber.pk},
    )  # fmt: skip
    assert response.status_code == 302
    session = course.sessions.get(session_number=2)
    assert "Session 2" in page(client.get(reverse("pathway:course", args=[course.public_id])))

    assert "Check in" in page(client.get(url("session_run", session)))
    response = client.post(url("session_check_in", session), {"identity_confirmed": "on"})
    assert response.status_code == 302 and response.url == url("session_run", session, "checklist")
    session = fresh(session)
    assert session.status == SessionStatus.CHECKED_IN

    response = client.post(
        url("session_pre_checklist", session),
        _answers_post(passing_answers(session.pre_checklist)),
    )
    assert response.status_code == 302
    response = client.post(
        url("session_vitals", session),
        {"phase": "baseline", "systolic": "124", "diastolic": "78", "heart_rate": "70",
         "spo2": "98", "respiratory_rate": "14", "temperature_c": "36.7", "moaas": "5",
         "cadss": "0"},
    )  # fmt: skip
    assert response.status_code == 302 and response.url.endswith("#vitals")
    response = client.post(url("session_mark_ready", session))
    assert response.url.endswith("#dose")
    assert fresh(session).status == SessionStatus.READY

    # The calculation shows before anything is confirmed (72 kg x 0.5 mg/kg, 10 mg/mL).
    runner = page(client.get(url("session_run", session)))
    assert "36.0 mg" in runner and "3.60 mL" in runner and "150.0 mL/h" in runner
    runner = page(client.get(url("session_run", session) + "?weight_kg=80.0"))
    assert "40.0 mg" in runner
    response = client.post(url("session_dose", session), {"dose_mg": "36.0"})
    assert response.status_code == 302
    assert fresh(session).dose_mg == Decimal("36.0")

    # Ledger: draw 4.00 mL, give 3.60, waste 0.40 witnessed by the prescriber.
    response = client.post(url("session_draw", session), {"lot": iv_lot.pk, "ml": "4.00"})
    assert response.status_code == 302
    draw = LedgerEntry.objects.get(session=session, entry_type="draw")
    prefix = str(draw.public_id)[:8]
    response = client.post(
        url("session_administer", session),
        {"draw": draw.public_id, f"a-{prefix}-quantity": "3.60"},
    )
    assert response.status_code == 302
    response = client.post(
        url("session_waste", session),
        {"draw": draw.public_id, f"w-{prefix}-quantity": "0.40",
         f"w-{prefix}-witness": prescriber.pk, f"w-{prefix}-witness_password": "wrong"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "password is not correct" in page(response)
    response = client.post(
        url("session_waste", session),
        {"draw": draw.public_id, f"w-{prefix}-quantity": "0.40",
         f"w-{prefix}-witness": prescriber.pk, f"w-{prefix}-witness_password": PASSWORD,
         f"w-{prefix}-reason": "Left over"},
    )  # fmt: skip
    assert response.status_code == 302
    assert "reconciled" in page(client.get(url("session_run", session)))

    response = client.post(url("session_start", session))
    assert response.status_code == 302
    session = fresh(session)
    assert session.status == SessionStatus.DOSING and session.dose_started_at

    # Four more readings, one critical; the htmx answer is the vitals panel alone.
    for values in (
        {"systolic": "130", "diastolic": "82", "heart_rate": "76", "spo2": "97"},
        {"systolic": "184", "diastolic": "98", "heart_rate": "88", "spo2": "96"},
        {"systolic": "132", "diastolic": "84", "heart_rate": "80", "spo2": "97", "moaas": "4"},
    ):
        response = client.post(url("session_vitals", session), {"phase": "intra", **values}, **HTMX)
        assert response.status_code == 200
        assert 'id="vitals-panel"' in page(response) and "<html" not in page(response)
    assert "Acknowledge" in page(response)
    # The critical systolic is marked for the eye and for a screen reader.
    assert (
        '<span class="vital-flag vital-critical" title="Critical high">184'
        '<span class="visually-hidden"> (critical high)</span>'
    ) in page(response)
    critical = VitalReading.objects.get(session=session, has_critical=True)
    assert Notification.objects.filter(recipient=prescriber, kind="vital_alert").exists()
    response = client.post(
        url("session_acknowledge", session),
        {"reading": critical.public_id, "action_taken": "Infusion slowed."},
        **HTMX,
    )
    assert "Acknowledged by" in page(response)
    assert VitalAcknowledgment.objects.filter(reading=critical).exists()

    response = client.post(
        url("session_side_effect", session),
        {"term": "NAUSEA", "onset_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
         "resolved_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "grade": "1",
         "relatedness": "probable", "action_taken": "none", "outcome": "recovered",
         "verbatim": "A bit queasy"},
    )  # fmt: skip
    assert response.status_code == 302, page(response)
    response = client.post(url("session_end", session), {"early_stop_reason": ""})
    assert fresh(session).status == SessionStatus.MONITORING

    later = timezone.now() + 45 * MINUTE
    with mock.patch("django.utils.timezone.now", return_value=later):
        # 45 minutes away from the tablet: the staff idle timeout signed the nurse out.
        client.force_login(nurse)
        response = client.post(
            url("session_vitals", session),
            {"phase": "post", "systolic": "122", "diastolic": "78", "heart_rate": "72",
             "spo2": "98", "moaas": "5", "cadss": "0"},
        )  # fmt: skip
        assert response.status_code == 302
        response = client.post(
            url("session_discharge_checklist", session), _answers_post(_discharge_codes(session))
        )
        assert response.status_code == 302
        response = client.post(url("session_ready_for_discharge", session))
        assert fresh(session).status == SessionStatus.READY_FOR_DISCHARGE, [
            m.message for m in response.wsgi_request._messages
        ]
        response = client.post(
            url("session_discharge", session),
            {"escort_name": "Sam Example", "escort_relationship": "Partner",
             "escort_phone": "+1 555 0100", "notes": "Well."},
        )  # fmt: skip
        assert response.status_code == 302
    session = fresh(session)
    assert session.status == SessionStatus.DISCHARGED and session.hash_is_intact()
    assert session.readings.count() == 5

    record = page(client.get(url("session_print", session)))
    for text in ("36.0 mg", "KV10", "Acknowledged by", "Infusion slowed.", "Nausea",
                 session.content_hash, "184/98"):  # fmt: skip
        assert text in record, text
    assert AccessEvent.objects.filter(
        object_type="session", object_public_id=session.public_id, action="view"
    ).exists()


def test_refusals_come_back_beside_the_fields_and_nothing_is_saved(client, iv, nurse):
    client.force_login(nurse)
    response = client.post(url("session_check_in", iv), {})
    assert response.status_code == 200 and "2 identifiers" in page(response)
    assert fresh(iv).status == SessionStatus.SCHEDULED
    session = to_ready(iv, nurse)
    response = client.post(url("session_dose", session), {"dose_mg": "95"})
    assert response.status_code == 200
    assert "above the plan" in page(response) and "invalid-feedback" in page(response)
    assert fresh(session).dose_mg is None
    client.post(url("session_dose", session), {"dose_mg": "36.0"})
    response = client.post(url("session_start", session), follow=True)
    assert "Dosing not started" in page(response) and "draw from a lot" in page(response)
    assert fresh(session).status == SessionStatus.READY


def test_vitals_without_javascript_show_errors_beside_the_fields(client, iv, nurse):
    client.force_login(nurse)
    session = ss.session_check_in(session=iv, by=nurse, identity_confirmed=True)
    response = client.post(
        url("session_vitals", session), {"phase": "baseline", "systolic": "350", "diastolic": "80"}
    )
    assert response.status_code == 200
    assert "measure again" in page(response) and "<html" in page(response)
    response = client.post(
        url("session_vitals", session), {"phase": "baseline", "systolic": "350"}, **HTMX
    )
    assert response.status_code == 200 and "measure again" in page(response)
    assert not VitalReading.objects.exists()


def test_cancel_after_a_draw_is_refused_and_a_no_show_needs_a_reason(
    client, clinic, prescriber, nurse, iv, iv_lot
):
    client.force_login(nurse)
    other = book(clinic, prescriber, nurse)
    response = client.post(url("session_cancel", other), {"status": "no_show", "reason": ""})
    assert response.status_code == 200 and fresh(other).status == SessionStatus.SCHEDULED
    client.post(url("session_cancel", other), {"status": "no_show", "reason": "Did not come"})
    assert fresh(other).status == SessionStatus.NO_SHOW

    session = to_ready(iv, nurse)
    ss.session_confirm_dose(session=fresh(session), by=nurse, dose_mg=Decimal("36.0"))
    from clinic.ledger import services as ledger

    ledger.draw_for_session(lot=iv_lot, session=session, actor=nurse, ml=Decimal("4.00"))
    response = client.post(url("session_cancel", session), {"status": "cancelled",
                                                           "reason": "Unwell"})  # fmt: skip
    assert response.status_code == 200 and "drawn" in page(response)
    assert fresh(session).status == SessionStatus.READY


def test_discharge_is_refused_with_an_unacknowledged_critical_reading(
    client, nurse, prescriber, iv, iv_lot
):
    session = to_ready(iv, nurse)
    ss.session_confirm_dose(session=fresh(session), by=nurse, dose_mg=Decimal("36.0"))
    from tests.pathway.sessions import draw_and_account

    draw_and_account(session, nurse, prescriber, iv_lot, draw=Decimal("3.60"),
                     give=Decimal("3.60"))  # fmt: skip
    now = timezone.now()
    ss.session_start_dosing(session=fresh(session), by=nurse, started_at=now - 90 * MINUTE)
    ss.session_end_dosing(session=fresh(session), by=nurse, ended_at=now - 50 * MINUTE)
    monitoring.vital_record(session=session, by=nurse, phase="post", spo2=88)
    client.force_login(nurse)
    client.post(
        url("session_discharge_checklist", session), _answers_post(_discharge_codes(session))
    )
    response = client.post(url("session_ready_for_discharge", session), follow=True)
    assert "critical vital sign" in page(response)
    assert fresh(session).status == SessionStatus.MONITORING


def test_esketamine_devices_through_the_page(client, clinic, prescriber, nurse):
    lot = receive(clinic, prescriber, lot_number="SPV9", drug=Drug.ESKETAMINE, count=6)
    session = book(clinic, prescriber, nurse, drug=Drug.ESKETAMINE)
    session = to_ready(session, nurse)
    client.force_login(nurse)
    runner = page(client.get(url("session_run", session)))
    assert "Prescriber on site" in runner and "56.0 mg" in runner
    client.post(url("session_dose", session), {"dose_mg": "56", "prescriber_on_site": "on"})
    client.post(url("session_draw", session), {"lot": lot.pk, "units": "2"})
    draw = LedgerEntry.objects.get(session=session, entry_type="draw")
    client.post(url("session_administer", session),
                {"draw": draw.public_id, f"a-{str(draw.public_id)[:8]}-quantity": "2"})  # fmt: skip
    client.post(url("session_start", session))
    assert fresh(session).status == SessionStatus.DOSING
    assert "Device 1 of 2" in page(client.get(url("session_run", session)))
    client.post(url("session_device", session))
    response = client.post(url("session_device", session), follow=True)
    assert "5 min" in page(response) or "minutes" in page(response)  # under 5 minutes apart
    assert fresh(session).devices.count() == 2
    client.post(url("session_end", session), {})
    session = fresh(session)
    assert session.status == SessionStatus.MONITORING
    runner = page(client.get(url("session_run", session)))
    ends = timezone.localtime(ss.observation_ends_at(session))
    assert f"{ends:%H:%M}" in runner


def test_a_clinic_admin_reads_the_runner_but_cannot_dose(client, iv, nurse, clinic_admin):
    session = to_ready(iv, nurse)
    client.force_login(clinic_admin)
    runner = page(client.get(url("session_run", session)))
    assert "Confirm dose" not in runner and "Save reading" not in runner
    response = client.post(url("session_dose", session), {"dose_mg": "36.0"})
    assert response.status_code in (403, 404)
    assert fresh(session).dose_mg is None


def test_post_only_views_refuse_get_after_the_lookup(client, iv, nurse, other_clinician):
    client.force_login(nurse)
    assert client.get(url("session_start", iv)).status_code == 405
    client.force_login(other_clinician)
    assert client.get(url("session_start", iv)).status_code == 404


def test_discharged_session_shows_the_signature_and_no_forms(client, iv, nurse, prescriber):
    session, _ = run_iv_session(iv, nurse, prescriber)
    client.force_login(nurse)
    runner = page(client.get(url("session_run", session)))
    assert "content matches the signature" in runner
    assert "Save reading" not in runner and "Record a side effect" not in runner
    assert SideEffectReport.objects.filter(session=session).count() == 1


def test_todays_sessions_on_the_clinician_home(client, clinic, prescriber, nurse):
    session = book(clinic, prescriber, nurse)
    AdministrationSession.objects.filter(pk=session.pk).update(scheduled_at=timezone.now())
    client.force_login(nurse)
    home = page(client.get(reverse("clinician_home")))
    assert "Today&#x27;s sessions" in home or "Today's sessions" in home
    assert url("session_run", session) in home


def test_runner_query_count_does_not_grow_with_the_readings(client, iv, nurse, prescriber):
    session = to_ready(iv, nurse)
    ss.session_confirm_dose(session=fresh(session), by=nurse, dose_mg=Decimal("36.0"))
    lot = receive(session.course.patient.clinic, prescriber, lot_number="Q1",
                  concentration="10", container_ml="10")  # fmt: skip
    from tests.pathway.sessions import draw_and_account

    draw_and_account(session, nurse, prescriber, lot, draw=Decimal("3.60"),
                     give=Decimal("3.60"))  # fmt: skip
    start = timezone.now() - 200 * MINUTE
    ss.session_start_dosing(session=fresh(session), by=nurse, started_at=start)
    client.force_login(nurse)
    run = url("session_run", session)

    def measure():
        client.get(run)  # settles the checklist's system answers
        with CaptureQueriesContext(connection) as queries:
            assert client.get(run).status_code == 200
        return len(queries)

    assert session.readings.count() == 1  # the baseline
    one = measure()
    for minute in range(1, 60):
        reading = monitoring.vital_record(
            session=session, by=nurse, phase="intra", taken_at=start + minute * 3 * MINUTE,
            systolic=185 if minute % 20 == 0 else 120 + minute % 50,
            diastolic=70, heart_rate=70, spo2=97,
        )  # fmt: skip
        if minute % 20 == 0:
            monitoring.vital_acknowledge(reading=reading, by=prescriber, action_taken="ok")
    assert session.readings.count() == 60
    sixty = measure()
    print(f"session runner queries: {one} at 1 reading, {sixty} at 60 readings")
    assert one == sixty


def test_notification_link_opens_the_runner(client, iv, nurse, prescriber):
    session = ss.session_check_in(session=iv, by=nurse, identity_confirmed=True)
    monitoring.vital_record(session=session, by=nurse, phase="baseline", spo2=85)
    alert = Notification.objects.get(recipient=prescriber)
    client.force_login(prescriber)
    assert client.get(alert.link).status_code == 200


def test_another_clinics_staff_cannot_book(client, iv, other_clinician):
    client.force_login(other_clinician)
    course = iv.course
    response = client.post(
        reverse("pathway:session_book", args=[course.public_id]),
        {"scheduled_at": "2030-01-01T10:00"},
    )
    assert response.status_code == 404
    assert course.sessions.count() == 1


def test_booking_errors_show_on_the_course_page(client, iv, nurse):
    client.force_login(nurse)
    response = client.post(
        reverse("pathway:session_book", args=[iv.course.public_id]), {"scheduled_at": "nope"}
    )
    assert response.status_code == 200 and "invalid-feedback" in page(response)
    assert iv.course.sessions.count() == 1


def test_the_runner_shows_the_record_s_answers_without_writing(client, iv, nurse):
    """Check-in saves the items answered from the record; a GET of the runner works them
    out again for the page (here after baseline vitals) and writes nothing but its audit
    row; the POST that acts on them (ready) saves them."""
    session = ss.session_check_in(session=iv, by=nurse, identity_confirmed=True)
    saved = {a.item.code: a.answer for a in fresh(session).pre_checklist.answers.all()}
    assert saved["PS-CONSENT"] == "yes" and saved["PS-VITALS"] == "no"  # saved at check-in
    ss.checklist_answer(
        session=fresh(session), by=nurse, answers=passing_answers(fresh(session).pre_checklist)
    )
    monitoring.vital_record(
        session=session, by=nurse, phase="baseline", systolic=122, diastolic=78,
        heart_rate=70, spo2=98,
    )  # fmt: skip
    client.force_login(nurse)
    with CaptureQueriesContext(connection) as queries:
        runner = page(client.get(url("session_run", session)))
    # On PostgreSQL a write arrives behind django-pghistory's "SELECT set_config(...); ".
    writes = [
        q["sql"] for q in queries.captured_queries
        if re.search(r'\b(INSERT INTO|UPDATE|DELETE FROM) "', q["sql"])
        and "core_accessevent" not in q["sql"]
    ]  # fmt: skip
    assert writes == []
    assert "Mark ready" in runner or "ready" in runner.lower()
    answers = fresh(session).pre_checklist.answers
    assert answers.get(item__code="PS-VITALS").answer == "no"  # the page did not save it
    ss.session_mark_ready(session=fresh(session), by=nurse)
    assert answers.get(item__code="PS-VITALS").answer == "yes"


def test_the_record_and_the_course_page_show_whole_sessions_in_at_most_8_queries(
    client, clinic, prescriber, nurse, other_clinician
):
    """The printable record of an esketamine session (devices, an acknowledged critical
    reading, a side effect, the signer) and the course page (its sessions and status
    history) each read what they show in at most 8 queries; another clinic sees neither."""
    import datetime
    import zoneinfo

    from django.utils.html import escape

    from clinic.pathway.demo import walk_course
    from clinic.pathway.demo_sessions import demo_past_session
    from tests import factories

    receive(clinic, prescriber, lot_number="SPV1", drug=Drug.ESKETAMINE, count=6)
    patient = factories.PatientFactory(clinic=clinic)
    course = walk_course(
        patient=patient, prescriber=prescriber, nurse=nurse, stage="active",
        drug=Drug.ESKETAMINE,
    )  # fmt: skip
    today = timezone.localdate()
    sessions = [
        fresh(
            demo_past_session(
                course=course,
                prescriber=prescriber,
                nurse=nurse,
                witness_password=PASSWORD,
                day=today - datetime.timedelta(days=days_ago),
                critical=True,
                side_effect=True,
            )
        )
        for days_ago in (3, 1)
    ]
    session = sessions[0]
    tz = zoneinfo.ZoneInfo(clinic.timezone)
    pages = {
        "record": url("session_print", session),
        "course": reverse("pathway:course", args=[course.public_id]),
    }
    client.force_login(nurse)
    shown = {}
    for name, page_url in pages.items():
        client.get(page_url)  # warm caches (content types)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(page_url)
        assert response.status_code == 200
        assert len(queries) <= 8, (name, [q["sql"][:120] for q in queries.captured_queries])
        shown[name] = page(response)

    record = shown["record"]
    devices = list(session.devices.order_by("number"))
    assert devices and len(devices) == session.devices_used
    for device in devices:
        assert f"Device {device.number} at {device.given_at.astimezone(tz):%H:%M:%S}" in record
    assert f"Signed by <strong>{escape(session.signed_by.display_name)}</strong>" in record
    acknowledgment = VitalAcknowledgment.objects.get(reading__session=session)
    assert (
        f"Acknowledged by {escape(prescriber.display_name)} at "
        f"{acknowledgment.acknowledged_at.astimezone(tz):%H:%M}: "
        f"{escape(acknowledgment.action_taken)}"
    ) in record
    assert "Dissociation" in record and "Not acknowledged" not in record

    overview = shown["course"]
    for listed in sessions:
        assert f'{listed.public_id}/">Session {listed.session_number}</a>' in overview
        assert f"{listed.scheduled_at.astimezone(tz):%a %-d %b %Y %H:%M} · {listed.dose_mg} mg" in (
            overview
        )
    for change in course.status_changes.select_related("changed_by"):
        assert f"Status: {change.get_to_status_display()}" in overview
        assert escape(change.changed_by.display_name) in overview

    client.force_login(other_clinician)
    for page_url in pages.values():
        response = client.get(page_url)
        assert response.status_code == 404
        assert patient.family_name not in page(response)
