"""The report pages: each figure on known data, empty and one-day ranges, bad input, access,
and a fixed number of queries whatever the data size."""

import datetime
import re
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.core.models import AccessEvent
from clinic.ledger import selectors as ledger_selectors
from clinic.ledger import services as ledger_services
from clinic.measures.models import InstrumentResponse
from clinic.pathway.models import CourseStatus, TreatmentCourse
from clinic.reports import services
from tests import factories
from tests.ledger.conftest import book_session, receive
from tests.reports.conftest import History, local

DAY = datetime.timedelta(days=1)
MINUTE = datetime.timedelta(minutes=1)
D = Decimal


def text_of(page, element_id):
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', page, re.S)
    assert match, element_id
    return match.group(1).strip()


def get(client, name, **params):
    return client.get(reverse(f"reports:{name}"), params)


@pytest.fixture
def admin_client(client, clinic_admin):
    client.force_login(clinic_admin)
    return client


# --- dashboard ---------------------------------------------------------------------------------


def test_dashboard_figures_on_known_data(admin_client, clinic, history, today):
    day = today - 3 * DAY
    held = history.session(local(clinic, day, 10), route="iv")
    history.session(local(clinic, day, 11), route="intranasal")
    history.session(local(clinic, day, 12), status="no_show", route="")
    history.session(local(clinic, day, 13), status="cancelled", route="")
    history.side_effect(held, local(clinic, day, 10, 20), term="NAUSEA", grade=2)
    serious = history.side_effect(
        held, local(clinic, day, 10, 30), term="RESP", grade=4, serious=True
    )
    history.critical_reading(held, local(clinic, day, 10), acknowledged_after=MINUTE * 3)
    history.critical_reading(held, local(clinic, day, 10, 5), acknowledged_after=MINUTE * 60)
    history.critical_reading(held, local(clinic, day, 10, 10))
    services.rollups_build(clinic=clinic, start=day - DAY, end=today - DAY)

    page = get(admin_client, "dashboard").content.decode()

    assert text_of(page, "sessions-dosed") == "2"
    assert text_of(page, "sessions-no-show") == "1"
    assert text_of(page, "sessions-cancelled") == "1"
    assert "(25.0% of booked)" in page
    weekly = page[page.index('id="weekly-sessions-table"') :]
    monday = day - datetime.timedelta(days=day.weekday())
    row = re.search(rf"{monday.day} {monday:%b %Y}</th>(.*?)</tr>", weekly, re.S).group(1)
    assert re.findall(r">(\d+)<", row) == ["1", "1", "2"]  # IV, intranasal, total
    assert 'id="weekly-sessions-data"' in page
    side_effects = page[page.index('id="side-effects-table"') :]
    assert "Nausea, vomiting" in side_effects and "Respiratory depression" in side_effects
    assert text_of(page, "critical-total") == "3"
    assert text_of(page, "critical-acknowledged") == "2"
    assert text_of(page, "critical-unacknowledged") == "1"
    assert text_of(page, "critical-mean") == "31.5 min"  # (3 + 60) / 2
    assert text_of(page, "critical-max") == "60.0 min"
    assert text_of(page, "critical-p90") == "15 to 60 min"
    serious_table = page[page.index('id="serious-events"') :]
    assert reverse("patients:detail", args=[history.patient.public_id]) in serious_table
    assert reverse("pathway:session_run", args=[held.public_id]) in serious_table
    assert serious.term_label in serious_table
    # The walked course is open "in treatment"; courses of other statuses are counted too.
    assert "<strong>1</strong> in treatment" in page
    assert f"Figures up to {(today - DAY).day} " in page
    event = AccessEvent.objects.get(object_type="report_dashboard")
    assert event.clinic == clinic and event.action == "list" and "1 serious" in event.detail


def test_now_figures_count_open_alerts_and_overdue_work(admin_client, clinic, history, today):
    from clinic.measures import services as measure_services

    measure_services.response_submit(
        patient=history.patient, instrument_code="PHQ-9", answers=[1] * 9,
        entered_by=history.nurse, mode="assisted", submission_key=uuid.uuid4(),
    )  # fmt: skip
    from clinic.measures.models import DueStatus, MeasureDue

    follow_up = history.course.follow_ups.get()
    history.course.follow_ups.filter(pk=follow_up.pk).update(due_on=today - 2 * DAY)
    # The course's schedule opened questionnaires: one of them is made overdue, the rest not.
    open_items = MeasureDue.objects.filter(patient__clinic=clinic, status=DueStatus.OPEN)
    assert open_items.count() >= 2
    open_items.update(due_on=today)
    open_items.filter(pk=open_items.first().pk).update(due_on=today - 3 * DAY)
    page = get(admin_client, "dashboard").content.decode()
    assert text_of(page, "now-open-alerts") == "1"
    assert text_of(page, "now-overdue-follow-ups") == "1"
    assert text_of(page, "now-overdue-questionnaires") == "1"


def test_todays_figures_are_live_and_past_days_read_the_roll_up(
    admin_client, clinic, history, today
):
    services.rollups_build(clinic=clinic, start=today - 5 * DAY, end=today)
    history.session(local(clinic, today - 2 * DAY, 10))  # after the build: not yet counted
    history.session(local(clinic, today, 1))  # today: counted live
    page = get(admin_client, "dashboard").content.decode()
    assert text_of(page, "sessions-dosed") == "1"
    assert "roll-up, which last ran" in page
    services.rollups_build(clinic=clinic, start=today - 2 * DAY, end=today - 2 * DAY)
    page = get(admin_client, "dashboard").content.decode()
    assert text_of(page, "sessions-dosed") == "2"


def test_without_any_roll_up_every_day_is_live(admin_client, clinic, history, today):
    history.session(local(clinic, today - 10 * DAY, 10))
    page = get(admin_client, "dashboard").content.decode()
    assert text_of(page, "sessions-dosed") == "1"
    assert "has not run yet" in page


def test_an_empty_range_and_a_one_day_range(admin_client, clinic, history, today):
    day = today - 4 * DAY
    history.days(day - DAY, 3, per_day=2)
    services.rollups_build(clinic=clinic, start=day - 5 * DAY, end=today)
    empty = day - 300 * DAY
    page = get(admin_client, "dashboard", start=empty.isoformat(), end=empty.isoformat())
    page = page.content.decode()
    assert text_of(page, "sessions-dosed") == "0"
    assert text_of(page, "critical-total") == "0"
    assert "No sessions were dosed in this range." in page
    assert "No side effects began in this range." in page
    one = get(admin_client, "dashboard", start=day.isoformat(), end=day.isoformat())
    page = one.content.decode()
    held = history.course.sessions.filter(
        scheduled_at__gte=local(clinic, day, 0), scheduled_at__lt=local(clinic, day + DAY, 0)
    )
    dosed = held.filter(status__in=["discharged", "transferred"]).count()
    assert text_of(page, "sessions-dosed") == str(dosed)
    assert f"of {held.count()} booked" in page


# --- outcomes ----------------------------------------------------------------------------------


def _phq9(patient, total, at, by):
    answers = [3] * (total // 3) + [total % 3] + [0] * 9
    return InstrumentResponse.objects.create(
        patient=patient, instrument_code="PHQ-9", instrument_version="test",
        answers=answers[:9], total=total, mode="self", timepoint="scheduled", completed_at=at,
        entered_by=by, submission_key=uuid.uuid4(),
    )  # fmt: skip


def test_outcomes_on_known_data(admin_client, clinic, prescriber, nurse, today):
    first_dose = local(clinic, today - 20 * DAY, 10)
    responder = History(clinic, prescriber, nurse)  # 22 -> 10: response, no remission
    remitter = History(clinic, prescriber, nurse)  # 16 -> 4: response and remission
    non = History(clinic, prescriber, nurse)  # 18 -> 10: no response
    for course, (baseline, scores) in (
        (responder, (22, [(4, 10)])),
        (remitter, (16, [(2, 9), (8, 4)])),
        (non, (18, [(6, 10)])),
    ):
        _phq9(course.patient, baseline, first_dose - 2 * DAY, nurse)
        for number in range(4):
            course.session(first_dose + number * 2 * DAY)
        for days, total in scores:
            _phq9(course.patient, total, first_dose + days * DAY + DAY / 2, nurse)
    TreatmentCourse.objects.filter(pk=non.course.pk).update(
        status=CourseStatus.DISCONTINUED, status_changed_at=first_dose + 10 * DAY
    )
    page = get(admin_client, "outcomes").content.decode()
    row = page[page.index('id="outcome-phq-9"') :].split("</tr>")[0]
    cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
    # courses, with a later score, responders, response, remitters, remission, days, sessions
    assert [c.strip() for c in cells[1:]] == ["3", "3", "2", "66.7%", "1", "33.3%", "6.0", "3.5"]
    assert text_of(page, "courses-dosed") == "3"
    dropout = page[page.index('id="dropout-table"') :]
    assert re.search(r"<td>4</td><td class=\"text-end\">1</td>", dropout)
    assert 'id="outcomes-data"' in page
    assert AccessEvent.objects.filter(object_type="report_outcomes", clinic=clinic).exists()


def test_outcomes_of_an_empty_range(admin_client, clinic, history, today):
    empty = today - 500 * DAY
    response = get(admin_client, "outcomes", start=empty.isoformat(), end=empty.isoformat())
    page = response.content.decode()
    assert text_of(page, "courses-dosed") == "0"
    assert "No course dosed in this range has a baseline score." in page
    assert "No course was discontinued in this range." in page


# --- controlled substances ---------------------------------------------------------------------


@pytest.fixture
def ledger_history(clinic, prescriber, nurse, clinic_admin):
    from tests.factories import PASSWORD

    witness = factories.make_staff(clinic=clinic, role="nurse")
    lot = receive(clinic, prescriber, lot_number="RPT1")
    other = receive(clinic, prescriber, lot_number="RPT2", concentration="10", container_ml="10")
    for amount, given in ((D("0.40"), D("0.35")), (D("0.45"), D("0.44"))):
        session = book_session(clinic, prescriber, nurse)
        draw = ledger_services.draw_for_session(lot=lot, session=session, ml=amount, actor=nurse)
        ledger_services.administer(draw=draw, ml=given, actor=nurse)
        ledger_services.waste(draw=draw, ml=amount - given, actor=nurse, witness=witness,
                              witness_password=PASSWORD)  # fmt: skip
    mistyped = ledger_services.draw_for_session(
        lot=other, session=book_session(clinic, prescriber, nurse), ml=D("1.50"), actor=nurse
    )
    ledger_services.reverse(entry=mistyped, actor=nurse, reason="Wrong lot")
    ledger_services.count(lot=other, actor=nurse, witness=witness, witness_password=PASSWORD,
                          counted_ml=D("9.80"))  # fmt: skip
    return lot, other


def test_reconciliation_matches_the_ledger_and_flags_discrepancies(
    admin_client, clinic, ledger_history, today
):
    lot, other = ledger_history
    lot.refresh_from_db()
    response = get(admin_client, "controlled_substances")
    page = response.content.decode()
    report = response.context["report"]
    by_lot = {r.lot.lot_number: r for r in report["lots"]}
    for each in (lot, other):
        mine = by_lot[each.lot_number]
        ledger = ledger_selectors.reconciliation(each, today - 29 * DAY, today)
        for name in ("opening", "closing", "received", "drawn", "administered", "wasted",
                     "disposed", "lost", "adjusted", "returned"):  # fmt: skip
            assert getattr(mine, name) == getattr(ledger, name), (each.lot_number, name)
    clean = by_lot["RPT1"]
    assert clean.received.quantity == D("5.00") and clean.drawn.quantity == D("0.85")
    assert clean.administered.mg == D("79.00") and clean.wasted.mg == D("6.00")
    assert (clean.wastes, clean.witnessed_wastes) == (2, 2)
    assert clean.expected_now.mg == lot.balance_mg == D("415.00")
    assert not clean.has_discrepancy
    counted = by_lot["RPT2"]
    assert counted.drawn.quantity == 0 and counted.count_differs
    assert counted.last_count_discrepancy_mg == D("-2.00")
    assert report["discrepancies"] == 1
    assert 'id="discrepancy-alert"' in page
    assert re.search(r'class="table-danger" id="lot-RPT2"', page)
    assert not re.search(r'class="table-danger" id="lot-RPT1"', page)
    assert f"{reverse('ledger:count_sheet')}?clinic={clinic.public_id}" in page
    assert AccessEvent.objects.filter(object_type="lot_list", clinic=clinic).exists()


def test_reconciliation_of_an_empty_and_a_one_day_range(
    admin_client, clinic, ledger_history, today
):
    before = today - 100 * DAY
    page = get(admin_client, "controlled_substances", start=before.isoformat(),
               end=before.isoformat()).content.decode()  # fmt: skip
    assert "No lot of" in page
    response = get(admin_client, "controlled_substances", start=today.isoformat(),
                   end=today.isoformat())  # fmt: skip
    assert {r.lot.lot_number for r in response.context["report"]["lots"]} == {"RPT1", "RPT2"}


def test_reconciliation_carries_the_balance_into_a_later_range_and_counts_open_draws(
    admin_client, clinic, prescriber, nurse, ledger_history, today
):
    lot, other = ledger_history
    session = book_session(clinic, prescriber, nurse)
    draw = ledger_services.draw_for_session(lot=lot, session=session, ml=D("0.50"), actor=nurse)
    ledger_services.administer(draw=draw, ml=D("0.20"), actor=nurse)  # 0.30 mL not accounted for
    start, end = today + DAY, today + 7 * DAY
    response = get(admin_client, "controlled_substances", start=start.isoformat(),
                   end=end.isoformat())  # fmt: skip
    by_lot = {r.lot.lot_number: r for r in response.context["report"]["lots"]}
    assert set(by_lot) == {"RPT1", "RPT2"}  # nothing moved in the range, but both hold stock
    for each in (lot, other):
        each.refresh_from_db()
        mine = by_lot[each.lot_number]
        ledger = ledger_selectors.reconciliation(each, start, end)
        assert mine.entries == 0 and mine.opening.mg > 0
        assert mine.opening == mine.closing == ledger.opening == ledger.closing
        assert mine.expected_now.mg == each.balance_mg and not mine.balance_differs
    assert (by_lot["RPT1"].open_draws, by_lot["RPT2"].open_draws) == (1, 0)
    assert "1 draw not yet accounted for" in response.content.decode()


# --- range form, access ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dashboard", "outcomes", "controlled_substances"])
@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"start": "2026-02-30"}, "start", "Enter a date as YYYY-MM-DD."),
        ({"start": "2026-03-10", "end": "2026-03-01"}, "end", "on or after the start"),
        ({"start": "2001-01-01", "end": "2026-01-01"}, "start", "at most five years"),
        ({"end": "0000-00-00"}, "end", "Enter a date as YYYY-MM-DD."),
    ],
)
def test_a_bad_range_is_explained_beside_its_field_and_the_default_shown(
    admin_client, clinic, today, name, params, field, message
):
    response = get(admin_client, name, **params)
    page = response.content.decode()
    assert response.status_code == 200
    assert re.search(rf'id="id_{field}-error">[^<]*{message}', page)
    assert f'value="{params[field]}"' in page  # what the user typed is kept
    assert (response.context["start"], response.context["end"]) == (today - 29 * DAY, today)


def test_a_preset_link_and_the_default_range(admin_client, clinic, today):
    response = get(admin_client, "dashboard")
    assert (response.context["start"], response.context["end"]) == (today - 29 * DAY, today)
    page = response.content.decode()
    week = (today - 6 * DAY).isoformat()
    assert f"start={week}&amp;end={today.isoformat()}" in page
    response = get(admin_client, "dashboard", start=week, end=today.isoformat())
    assert response.context["start"] == today - 6 * DAY


@pytest.mark.parametrize("name", ["dashboard", "outcomes", "controlled_substances"])
def test_only_admins_of_the_clinic_see_reports(
    client, clinic, clinic_admin, prescriber, other_clinic, name
):
    url = reverse(f"reports:{name}")
    assert client.get(url).status_code == 302
    client.force_login(prescriber)
    assert client.get(url).status_code == 403
    client.force_login(clinic_admin)
    assert client.get(url, {"clinic": str(other_clinic.public_id)}).status_code == 404
    assert AccessEvent.objects.filter(outcome="denied", clinic=other_clinic).exists()
    assert client.get(url, {"clinic": "junk"}).status_code == 400
    other_admin = factories.make_staff(clinic=other_clinic, role="admin")
    client.force_login(other_admin)
    response = client.get(url)
    assert response.status_code == 200 and response.context["clinic"] == other_clinic


def test_an_admin_of_two_clinics_chooses_with_the_clinic_parameter(
    client, clinic, clinic_admin, other_clinic
):
    factories.MembershipFactory(user=clinic_admin, clinic=other_clinic, role="admin")
    client.force_login(clinic_admin)
    response = client.get(reverse("reports:dashboard"), {"clinic": str(other_clinic.public_id)})
    assert response.context["clinic"] == other_clinic
    assert 'id="report-clinic"' in response.content.decode()


def test_the_nav_links_admins_to_the_reports(admin_client, client, prescriber):
    assert (
        reverse("reports:dashboard")
        in admin_client.get(reverse("clinic_admin_home")).content.decode()
    )


# --- query counts ------------------------------------------------------------------------------


def _queries(client, name, **params):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse(f"reports:{name}"), params).status_code == 200
    return len(captured)


@pytest.mark.parametrize("name", ["dashboard", "outcomes", "controlled_substances"])
def test_each_page_issues_the_same_queries_at_two_data_sizes(
    admin_client, clinic, prescriber, nurse, today, name, django_assert_num_queries
):
    from tests.factories import PASSWORD

    witness = factories.make_staff(clinic=clinic, role="nurse")
    params = {"start": (today - 20 * DAY).isoformat(), "end": today.isoformat()}

    def grow(rounds):
        history = History(clinic, prescriber, nurse)
        history.days(today - 10 * DAY, 4, per_day=rounds)
        for day in range(rounds):
            _phq9(history.patient, 20, local(clinic, today - 12 * DAY, 9) - day * DAY, nurse)
            _phq9(history.patient, 8 + day, local(clinic, today - 2 * DAY, 9) + day * DAY / 48,
                  nurse)  # fmt: skip
        lot = receive(clinic, prescriber, lot_number=f"Q{rounds}")
        for _ in range(rounds):
            session = book_session(clinic, prescriber, nurse)
            draw = ledger_services.draw_for_session(
                lot=lot, session=session, ml=D("0.10"), actor=nurse
            )
            ledger_services.administer(draw=draw, ml=D("0.08"), actor=nurse)
            ledger_services.waste(draw=draw, ml=D("0.02"), actor=nurse, witness=witness,
                                  witness_password=PASSWORD)  # fmt: skip

    grow(1)
    services.rollups_build(clinic=clinic, start=today - 20 * DAY, end=today - DAY)
    _queries(admin_client, name, **params)  # warm the session and content-type caches
    small = _queries(admin_client, name, **params)
    grow(6)
    services.rollups_build(clinic=clinic, start=today - 20 * DAY, end=today - DAY)
    with django_assert_num_queries(small):
        admin_client.get(reverse(f"reports:{name}"), params)
    print(f"{name}: {small} queries")
