"""The patient portal as a patient uses it: journal, questionnaires, progress, reminders,
the invitation link; what they see, what is stored, and what is refused."""

import datetime
import re
import uuid
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.core.models import AccessEvent, Addendum, Notification
from clinic.measures import services as measures
from clinic.measures.models import (
    InstrumentResponse,
    MoodJournalEntry,
    ReminderPreference,
    SafetyAlert,
)
from clinic.portal.models import PortalInvitation
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def me(client, portal_patient, prescriber):
    factories.CareTeamMemberFactory(
        patient=portal_patient, user=prescriber, responsibility="primary_prescriber"
    )
    client.force_login(portal_patient.user)
    return portal_patient


def today(patient):
    return measures.patient_local_date(patient)


def journal_post(patient, **overrides):
    data = {
        "submission_key": str(uuid.uuid4()),
        "entry_date": today(patient).isoformat(),
        "mood": "6",
        "energy": "5",
        "anxiety": "3",
        "sleep_hours": "7.5",
        "note": "Walked by the river.",
        "safety_thoughts": "no",
    }
    data.update(overrides)
    return data


def phq9_post(answers, key=None):
    data = {"submission_key": str(key or uuid.uuid4())}
    for number, value in enumerate(answers, start=1):
        if value is not None:
            data[f"item_{number}"] = str(value)
    return data


# --- mood journal ---------------------------------------------------------------------------


def test_a_journal_entry_is_saved_once_and_shown_on_the_home_page(client, me):
    data = journal_post(me)
    response = client.post(reverse("portal:journal_new"), data)
    assert response.status_code == 302 and response.url == reverse("portal:home")
    again = client.post(reverse("portal:journal_new"), data)  # a double tap: the same key
    assert again.status_code == 302
    entry = MoodJournalEntry.objects.get(patient=me)
    assert (entry.mood, entry.sleep_hours, entry.note) == (
        6,
        Decimal("7.5"),
        "Walked by the river.",
    )
    home = client.get(reverse("portal:home")).content.decode()
    assert "You wrote today's journal entry: mood 6 of 10" in home
    assert AccessEvent.objects.filter(user=me.user, action="create", patient=me).exists()


def test_bad_journal_input_is_explained_beside_the_field_and_kept(client, me):
    response = client.post(
        reverse("portal:journal_new"),
        journal_post(me, mood="", sleep_hours="7.3", note="Keep this note"),
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Tap a number from 0 to 10." in page
    assert "Use whole or half hours, e.g. 6.5." in page
    assert "Keep this note" in page and 'value="7.3"' in page
    assert not MoodJournalEntry.objects.exists()


def test_a_second_entry_for_the_same_day_is_refused_with_a_pointer_to_the_first(client, me):
    client.post(reverse("portal:journal_new"), journal_post(me))
    response = client.post(reverse("portal:journal_new"), journal_post(me, mood="2"))
    assert response.status_code == 400
    assert "You already wrote an entry for this day" in response.content.decode()
    assert MoodJournalEntry.objects.get(patient=me).mood == 6


def test_an_entry_older_than_the_backfill_window_is_not_offered_or_accepted(client, me):
    old = today(me) - datetime.timedelta(days=3)
    response = client.post(reverse("portal:journal_new"), journal_post(me, entry_date=old))
    assert response.status_code == 400
    assert not MoodJournalEntry.objects.exists()
    yesterday = today(me) - datetime.timedelta(days=1)
    client.post(reverse("portal:journal_new"), journal_post(me, entry_date=yesterday))
    assert MoodJournalEntry.objects.get(patient=me).entry_date == yesterday


def test_thoughts_of_self_harm_show_crisis_resources_at_once_and_alert_the_team(
    client, me, prescriber
):
    response = client.post(
        reverse("portal:journal_new"), journal_post(me, safety_thoughts="yes"), follow=True
    )
    page = response.content.decode()
    assert "Please read this now" in page and "988" in page
    alert = SafetyAlert.objects.get(patient=me)
    assert alert.is_open and alert.source == "journal"
    assert Notification.objects.get(recipient=prescriber).link == reverse(
        "measures:alert_detail", args=[alert.public_id]
    )


def test_the_patient_corrects_an_entry_with_a_note_and_the_entry_stays(client, me):
    client.post(reverse("portal:journal_new"), journal_post(me))
    entry = MoodJournalEntry.objects.get()
    url = reverse("portal:journal_entry", args=[entry.public_id])
    response = client.post(url, {"text": "Mood was 5, not 6."})
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "Mood was 5, not 6." in page and "6 of 10" in page
    assert Addendum.objects.get(object_id=entry.pk).author == me.user
    blank = client.post(url, {"text": "  "})
    assert blank.status_code == 400 and Addendum.objects.count() == 1


def test_a_note_is_never_rendered_as_html(client, me):
    client.post(
        reverse("portal:journal_new"), journal_post(me, note="<b>bold</b><script>x</script>")
    )
    entry = MoodJournalEntry.objects.get()
    page = client.get(reverse("portal:journal_entry", args=[entry.public_id])).content.decode()
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page


# --- questionnaires ---------------------------------------------------------------------------


def test_a_complete_phq9_is_scored_on_the_server_and_shown_back(client, me):
    response = client.post(
        reverse("portal:questionnaire", args=["phq-9"]), phq9_post([2, 2, 2, 2, 1, 1, 0, 0, 0])
    )
    saved = InstrumentResponse.objects.get(patient=me)
    assert response.url == reverse("portal:response_detail", args=[saved.public_id])
    assert (saved.total, saved.band, saved.mode) == (10, "moderate", "self")
    page = client.get(response.url).content.decode()
    assert ">10<" in page and "moderate" in page and "Please read this now" not in page


def test_a_partly_blank_phq9_is_refused_item_by_item_and_keeps_the_answers(client, me):
    response = client.post(
        reverse("portal:questionnaire", args=["phq-9"]), phq9_post([1, 1, None, 1, 1, 1, 1, 1, 0])
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Answer every question" in page
    assert page.count("Answer this question.") == 1
    assert re.search(r'name="item_1" value="1" id="[^"]+" checked', page)
    assert not InstrumentResponse.objects.exists()


def test_phq9_item_9_shows_crisis_resources_and_alerts_even_when_incomplete(client, me, prescriber):
    """DOMAIN P13: items 1-8 blank, item 9 = 2: no score, but the safety rule still runs."""
    response = client.post(
        reverse("portal:questionnaire", args=["phq-9"]), phq9_post([None] * 8 + [2])
    )
    page = response.content.decode()
    assert response.status_code == 400 and "988" in page and "Please read this now" in page
    assert not InstrumentResponse.objects.exists()
    alert = SafetyAlert.objects.get(patient=me)
    assert alert.is_open and "Item 9" in alert.reason
    assert Notification.objects.filter(recipient=prescriber, kind="safety_alert").count() == 1


def test_phq9_item_9_complete_shows_crisis_resources_on_the_result(client, me):
    response = client.post(
        reverse("portal:questionnaire", args=["phq-9"]),
        phq9_post([0] * 8 + [1]),
        follow=True,
    )
    assert "Please read this now" in response.content.decode()
    assert SafetyAlert.objects.get(patient=me).response == InstrumentResponse.objects.get()


def test_the_clinics_own_crisis_text_is_shown(client, me, clinic_admin):
    measures.measure_settings_update(
        clinic=me.clinic,
        by=clinic_admin,
        crisis_resources="Call the Samaritans on 116 123.",
        licensed_instruments=[],
        journal_tags=["therapy"],
    )
    response = client.post(
        reverse("portal:questionnaire", args=["phq-9"]), phq9_post([0] * 8 + [3]), follow=True
    )
    page = response.content.decode()
    assert "Call the Samaritans on 116 123." in page and "988" not in page


def test_clinician_rated_and_unlicensed_instruments_are_not_in_the_portal(client, me):
    for slug in ("moaa-s", "madrs", "qids-sr16", "no-such-thing"):
        assert client.get(reverse("portal:questionnaire", args=[slug])).status_code == 404


# --- progress, reminders, support -------------------------------------------------------------


def test_progress_shows_each_instrument_with_its_scores(client, me):
    for answers in ([2] * 9, [1] * 8 + [0]):
        measures.response_submit(
            patient=me, instrument_code="PHQ-9", answers=answers, entered_by=me.user,
            mode="self", submission_key=uuid.uuid4(),
        )  # fmt: skip
    page = client.get(reverse("portal:progress")).content.decode()
    assert 'data-instrument="PHQ-9"' in page
    assert "Latest: <strong>8</strong> of 27" in page
    assert '"y": 18' in page and '"y": 8' in page  # the chart's points, scored on the server


def test_reminders_are_changed_and_stopped_by_the_patient(client, me):
    page = client.get(reverse("portal:reminders")).content.decode()
    assert 'value="19:00"' in page
    assert not ReminderPreference.objects.exists()  # reading saves nothing
    response = client.post(
        reverse("portal:reminders"), {"journal_time": "08:30", "questionnaires_enabled": "on"}
    )
    assert response.status_code == 302
    preference = ReminderPreference.objects.get(patient=me)
    assert preference.journal_time == datetime.time(8, 30)
    assert not preference.journal_enabled and not preference.visits_enabled
    bad = client.post(reverse("portal:reminders"), {"journal_time": "25:99"})
    assert bad.status_code == 400 and "Enter a valid time." in bad.content.decode()


def test_support_page_is_always_there(client, me):
    page = client.get(reverse("portal:support")).content.decode()
    assert "988" in page and "911" in page


# --- query counts -----------------------------------------------------------------------------


def _bulk_journal(patient, days):
    start = today(patient)
    MoodJournalEntry.objects.bulk_create(
        MoodJournalEntry(
            patient=patient, entry_date=start - datetime.timedelta(days=n), mood=n % 11,
            energy=5, anxiety=4, sleep_hours=Decimal("7.0"), submitted_by=patient.user,
            submission_key=uuid.uuid4(),
        )
        for n in range(days)
    )  # fmt: skip


PORTAL_PAGES = [
    "portal:home",
    "portal:journal",
    "portal:journal_new",
    "portal:progress",
    "portal:reminders",
    "portal:support",
]


@pytest.mark.parametrize("name", PORTAL_PAGES)
def test_portal_pages_issue_the_same_number_of_queries_at_1_and_365_entries(client, clinic, name):
    counts = {}
    for days in (1, 365):
        patient = factories.PatientFactory(clinic=clinic, with_user=True)
        _bulk_journal(patient, days)
        client.force_login(patient.user)
        client.get(reverse(name))  # the first visit creates the clinic's default settings
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse(name)).status_code == 200
        counts[days] = len(queries)
    assert counts[1] == counts[365], counts
    assert counts[365] <= 25, counts


def _tables_read(queries):
    return {
        table
        for query in queries
        for table in re.findall(r'FROM "(\w+)"', query["sql"])
        if query["sql"].lstrip().startswith("SELECT") and "INSERT INTO" not in query["sql"]
    }


@pytest.mark.parametrize("name", PORTAL_PAGES)
def test_portal_pages_take_the_patient_from_the_request_and_still_audit_it(client, me, name):
    """The record comes with the request's user (one query for both): the page does not read
    it again, but writes its audit row as before."""
    client.get(reverse(name))
    before = AccessEvent.objects.filter(user=me.user, object_type="own_record").count()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse(name)).status_code == 200
    assert "patients_patient" not in _tables_read(queries.captured_queries)
    events = AccessEvent.objects.filter(user=me.user, object_type="own_record")
    assert events.count() == before + 1
    assert events.latest("id").patient == me


def test_the_home_page_reads_the_clinics_measure_settings_once(client, me):
    client.get(reverse("portal:home"))
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("portal:home"))
    settings_reads = [
        q for q in queries.captured_queries if 'FROM "measures_clinicmeasuresettings"' in q["sql"]
    ]
    assert len(settings_reads) <= 1


def test_progress_lists_every_questionnaire_newest_first_twenty_a_page(client, me):
    start = timezone.now() - datetime.timedelta(days=30)
    for n in range(21):
        measures.response_submit(
            patient=me, instrument_code="GAD-7", answers=[n % 4] * 7, entered_by=me.user,
            mode="self", submission_key=uuid.uuid4(),
            completed_at=start + datetime.timedelta(days=n),
        )  # fmt: skip
    newest_first = list(
        InstrumentResponse.objects.filter(patient=me).order_by("-completed_at", "-id")
    )
    first = client.get(reverse("portal:progress"))
    second = client.get(reverse("portal:progress"), {"page": 2})
    assert [r.public_id for r in first.context["responses"]] == [
        r.public_id for r in newest_first[:20]
    ]
    assert [r.public_id for r in second.context["responses"]] == [newest_first[20].public_id]
    assert first.context["responses"].paginator.count == 21


def test_a_journal_entry_is_saved_in_a_handful_of_queries(client, me):
    """The journal POST: the entry, its audit rows and the form's key, and only the reads it
    needs (it issued 31 before: full_clean's unique, foreign-key and check-constraint
    queries, the settings and the record read twice). At most 14, whatever the request's
    own overhead comes to."""
    page = client.get(reverse("portal:journal_new")).content.decode()
    data = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    data.update(journal_post(me, submission_key=data["submission_key"]))
    with CaptureQueriesContext(connection) as queries:
        response = client.post(reverse("portal:journal_new"), data)
    assert response.status_code == 302 and response.url == reverse("portal:home")
    assert len(queries) <= 14, [q["sql"][:120] for q in queries.captured_queries]
    entry = MoodJournalEntry.objects.get(patient=me)
    assert (entry.mood, entry.energy, entry.anxiety, entry.sleep_hours) == (6, 5, 3, Decimal("7.5"))
    assert str(entry.submission_key) == data["submission_key"]
    assert entry.submitted_by == me.user
    created = AccessEvent.objects.get(user=me.user, action="create")
    assert (created.object_type, created.object_public_id, created.patient) == (
        "moodjournalentry",
        entry.public_id,
        me,
    )


# --- invitation -------------------------------------------------------------------------------


def test_staff_invite_a_patient_who_sets_a_password_and_lands_in_the_portal(
    client, nurse, patient, django_capture_on_commit_callbacks
):
    patient.email = "avery@example.invalid"
    patient.save()
    client.force_login(nurse)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("patients:portal_invite", args=[patient.public_id]))
    assert response.status_code == 302
    invitation = PortalInvitation.objects.get(patient=patient)
    assert invitation.invited_by == nurse and invitation.accepted_at is None
    (message,) = mail.outbox
    link = re.search(r"https?://\S+/me/welcome/\S+/", message.body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    client.logout()
    page = client.get(f"/{path}")
    assert page.status_code == 200 and "Choose a password" in page.content.decode()
    weak = client.post(f"/{path}", {"new_password1": "short", "new_password2": "short"})
    assert weak.status_code == 400 and "too short" in weak.content.decode()
    done = client.post(
        f"/{path}",
        {"new_password1": "a-long-river-walk-42", "new_password2": "a-long-river-walk-42"},
    )
    assert done.url == reverse("portal:home")
    assert client.get(reverse("portal:home")).status_code == 200
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    client.logout()
    reused = client.get(f"/{path}")
    assert reused.status_code == 400 and "no longer works" in reused.content.decode()


def test_a_patient_without_an_email_address_cannot_be_invited(client, nurse, patient):
    client.force_login(nurse)
    response = client.post(reverse("patients:portal_invite", args=[patient.public_id]), follow=True)
    assert "Add the patient&#x27;s e-mail address first." in response.content.decode()
    assert not PortalInvitation.objects.exists()


def test_a_tampered_invitation_link_explains_itself(client):
    response = client.get(reverse("portal:welcome", args=["MQ", "not-a-token"]))
    assert response.status_code == 400 and "no longer works" in response.content.decode()
