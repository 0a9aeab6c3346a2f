"""Every page issues the same number of queries whatever the data size.

The registry is built from tests/core/test_url_access.py, which already names an object and
a user for every URL. One world is built for all pages (building it is the slow part) and
grown once, so every list on every page has one row: each page is opened once unmeasured
(the first visit of a process fills Django's content-type cache, and a first visit may
record something once), then counted; the world is grown again (more patients, courses,
answers, journal days, lots, notifications) and every page is counted again. The two counts
must be equal and at most the page's entry in QUERY_COUNTS. A URL that is not a page
(POST-only actions, downloads, APIs, third-party pages) is listed with the reason.
"""

import os
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.core.services import notify
from clinic.measures import services as measure_services
from clinic.pathway.demo import walk_course
from clinic.pathway.urls import SESSION_ACTIONS
from tests import factories
from tests.core.test_url_access import (
    OBJECT_URL_KWARGS,
    OBJECT_URL_OWNERS,
    PARAMETER_ROLE_URLS,
    PUBLIC_URLS,
    ROLE_URLS,
    World,
    project_urls,
)
from tests.ledger.conftest import receive as receive_lot

QUERY_TARGET = 8

# URL names that are not GET pages, and why.
POST_ONLY = {
    *(f"pathway:session_{name}" for _slug, name in SESSION_ACTIONS),
    "patients:care_team_add",
    "patients:care_team_remove",
    "patients:portal_invite",
    "pathway:course_transition",
    "pathway:consultation_sign",
    "pathway:consultation_addendum",
    "pathway:assessment_sign",
    "pathway:assessment_addendum",
    "pathway:plan_approve",
    "pathway:plan_transition",
    "pathway:plan_addendum",
    "pathway:follow_up_sign",
    "pathway:follow_up_close",
    "pathway:follow_up_addendum",
    "ledger:entry_reverse",
    "measures:schedule_rule_stop",
    "core:notification_read",
    "core:notifications_read_all",
    "fhir:token_revoke",
    "pathway:session_book",
}
NOT_PAGES = {
    **dict.fromkeys(POST_ONLY, "POST-only action: answers GET with 405 or a redirect"),
    **dict.fromkeys(
        [n for n in PUBLIC_URLS if n.startswith("fhir:")],
        "FHIR API: JSON, bearer tokens; counted in tests/fhir",
    ),
    **dict.fromkeys(
        [n for n in PUBLIC_URLS if n.startswith("account_")] + ["portal:welcome", "health"],
        "signed-out page or endpoint (allauth, invitation link, load-balancer check)",
    ),
    "home": "redirect to the role's home page",
    "mfa_download_recovery_codes": "download (text file), not a page",
    "exports:download": "CSV download: streamed, its query count is measured by bench/run.py",
}
# django-allauth's own pages (sign-in, passwords, e-mail, two-factor): third-party views whose
# queries are allauth's; the clinic's pages start after sign-in.
THIRD_PARTY_PREFIXES = ("account_", "mfa_")

# Each page's query count today (with one of everything on it; the same with more). A page
# may go below its count (lower it here then); above it fails. Target: QUERY_TARGET; the
# pages above it are the ones to bring down next (see docs/performance.md).
QUERY_COUNTS = {
    "audit:log": 6,
    "core:notifications": 6,
    "exports:index": 3,
    "fhir:tokens": 3,
    "ledger:count_sheet": 5,
    "ledger:lot_adjust": 4,
    "ledger:lot_count": 5,
    "ledger:lot_detail": 8,
    "ledger:lot_dispose": 4,
    "ledger:lot_list": 7,
    "ledger:lot_loss": 4,
    "ledger:lot_quarantine": 4,
    "ledger:lot_receive": 4,
    "ledger:lot_return": 4,
    "measures:alert_detail": 4,
    "measures:alert_list": 5,
    "measures:overdue": 5,
    "measures:rate": 5,
    "measures:response_detail": 5,
    "measures:schedule": 7,
    "measures:settings": 4,
    "pathway:assessment": 6,
    "pathway:assessment_start": 5,
    "pathway:consultation": 5,
    "pathway:consultation_edit": 6,
    "pathway:consultation_edit_by_id": 5,
    "pathway:course_create": 4,
    "pathway:follow_up": 5,
    "pathway:follow_up_create": 4,
    "pathway:follow_ups_overdue": 4,
    "pathway:plan": 7,
    "pathway:plan_create": 6,
    "pathway:plan_edit": 4,
    "patients:create": 4,
    "patients:edit": 4,
    "patients:list": 6,
    "portal:home": 7,
    "portal:journal": 6,
    "portal:journal_entry": 5,
    "portal:journal_new": 4,
    "portal:progress": 6,
    "portal:questionnaire": 4,
    "portal:reminders": 4,
    "portal:response_detail": 5,
    "portal:support": 4,
    "reports:outcomes": 6,
}


def _pages():
    pages = {}
    for name, kwargs in OBJECT_URL_KWARGS.items():
        pages[name] = (OBJECT_URL_OWNERS.get(name, "prescriber"), kwargs)
    for name, holder in ROLE_URLS.items():
        pages[name] = (holder, lambda w: {})
    for name, (holder, kwargs) in PARAMETER_ROLE_URLS.items():
        pages[name] = (holder, lambda w, kwargs=kwargs: kwargs)
    return {
        name: spec
        for name, spec in pages.items()
        if name not in NOT_PAGES and not name.startswith(THIRD_PARTY_PREFIXES)
    }


PAGES = _pages()


def test_every_get_page_has_a_query_count_entry():
    names = {name for name, _route, _pattern in project_urls() if name}
    missing = sorted(
        name
        for name in names
        if name not in PAGES and name not in NOT_PAGES and not name.startswith(THIRD_PARTY_PREFIXES)
    )
    assert not missing, f"Pages without a query-count entry: {missing}"


def grow(world, *, patients):
    """More of everything a page lists: patients with courses in treatment, answers, journal
    days of both portal patients, alerts, a lot, notifications. Callable more than once."""
    world.rounds = getattr(world, "rounds", 0) + 1
    nurse = factories.make_staff(clinic=world.clinic, role="nurse")
    for _ in range(patients):
        patient = factories.PatientFactory(clinic=world.clinic, with_user=True)
        factories.CareTeamMemberFactory(
            patient=patient, user=world.prescriber, responsibility="prescriber"
        )
        walk_course(patient=patient, prescriber=world.prescriber, nurse=nurse, stage="active")
        measure_services.response_submit(
            patient=patient, instrument_code="PHQ-9", answers=[2] * 9,
            entered_by=patient.user, mode="self", submission_key=uuid.uuid4(),
        )  # fmt: skip
    # A patient writes one entry a day for the last few days: the first round takes one
    # free day of each portal patient, the next the rest.
    for patient, user in (
        (world.patient, world.patient_user),
        (world.other_patient, world.portal_user),
    ):
        written = set(patient.journal_entries.values_list("entry_date", flat=True))
        allowed = measure_services.journal_allowed_dates(patient)
        free = [day for day in allowed if day not in written]
        for day in free[:1] if world.rounds == 1 else free:
            measure_services.journal_submit(
                patient=patient, by=user, submission_key=uuid.uuid4(), mood=5, energy=5,
                anxiety=3, sleep_hours=7, safety_thoughts=False, entry_date=day,
            )  # fmt: skip
    for answers in ([1] * 9, [2] * 9):
        measure_services.response_submit(
            patient=world.patient, instrument_code="PHQ-9", answers=answers,
            entered_by=world.patient_user, mode="self", submission_key=uuid.uuid4(),
        )  # fmt: skip
    for answers in ([0] * 9, [1] * 9):
        measure_services.response_submit(
            patient=world.other_patient, instrument_code="PHQ-9", answers=answers,
            entered_by=world.portal_user, mode="self", submission_key=uuid.uuid4(),
        )  # fmt: skip
    receive_lot(world.clinic, world.prescriber, lot_number=f"GROW{uuid.uuid4().hex[:6]}")
    notify(
        recipients=[world.prescriber], kind="test", title="Another alert",
        source_key=f"grow-{uuid.uuid4()}", email=False,
    )  # fmt: skip


def _count(client, world, name):
    """The page's query count, or its status code (as a string) when it is not a 200."""
    holder, kwargs = PAGES[name]
    client.force_login(getattr(world, holder))
    url = reverse(name, kwargs=kwargs(world))
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    if name in os.environ.get("QUERY_COUNT_SHOW", "").split(","):
        # QUERY_COUNT_SHOW=pathway:course,patients:detail prints those pages' SQL (with -s).
        sql = "\n".join(f"  {q['sql'][:400]}" for q in captured.captured_queries)
        print(f"\n{name}: {len(captured.captured_queries)} queries\n{sql}")
    return len(captured.captured_queries)


def _count_all(client, world):
    return {name: _count(client, world, name) for name in sorted(PAGES)}


@pytest.mark.django_db
def test_every_page_issues_a_fixed_number_of_queries(client, record_property):
    world = World()
    grow(world, patients=1)
    first_visit = _count_all(client, world)
    not_pages = {name: status for name, status in first_visit.items() if isinstance(status, str)}
    assert not not_pages, f"Not GET pages (list them in POST_ONLY / NOT_PAGES): {not_pages}"
    small = _count_all(client, world)
    grow(world, patients=3)
    large = _count_all(client, world)
    for name in sorted(PAGES):
        record_property(name, large[name])
    report = "\n".join(f"{name:<40} {small[name]:>3} {large[name]:>3}" for name in sorted(PAGES))
    print(f"\nqueries per page (one of everything, more):\n{report}")
    changed = {name: (small[name], large[name]) for name in PAGES if small[name] != large[name]}
    assert not changed, f"Query count depends on data size (one of everything, more): {changed}"
    over = {
        name: count for name, count in large.items() if count > QUERY_COUNTS.get(name, QUERY_TARGET)
    }
    assert not over, (
        f"Pages above their recorded count (or above {QUERY_TARGET} when not recorded): {over}"
    )


def test_recorded_counts_name_only_pages():
    """A stale entry (a page renamed or removed) would hide nothing but mislead the reader."""
    assert set(QUERY_COUNTS) <= set(PAGES), sorted(set(QUERY_COUNTS) - set(PAGES))
