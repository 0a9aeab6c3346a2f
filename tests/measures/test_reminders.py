"""Reminders by e-mail (DOMAIN.md §8): the daily mood-journal reminder at the patient's time,
its pause after three missed days, questionnaires due and tomorrow's follow-up visit.

Each test runs `reminders_run(now=...)` at chosen local times of the clinic (New York). The
outbox row (`OutboundEmail`) is what the patient will receive; `ReminderSent` is the record
that stops a second run from sending it again.
"""

import datetime
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from clinic.core.models import Notification, OutboundEmail
from clinic.measures import reminders, services
from clinic.measures.models import (
    DueStatus,
    MeasureDue,
    ReminderKind,
    ReminderPreference,
    ReminderSent,
    ScheduleRule,
    ScheduleTiming,
)
from clinic.pathway.models import Drug, FollowUp, FollowUpKind, TreatmentCourse
from tests import factories

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
JOURNAL_SUBJECT = "A minute for your mood journal?"
QUESTIONNAIRE_SUBJECT = "A short questionnaire is waiting for you"
VISIT_SUBJECT = "Reminder: your follow-up visit is tomorrow"


@pytest.fixture
def today(portal_patient):
    """The patient's local date now (the clinic is in New York)."""
    assert portal_patient.clinic.timezone == "America/New_York"
    return services.patient_local_date(portal_patient)


def at(day, hour, minute=0):
    """An aware datetime at `hour:minute` on `day`, New York time."""
    return datetime.datetime.combine(
        day, datetime.time(hour, minute), tzinfo=ZoneInfo("America/New_York")
    )


def emails(patient, subject):
    return OutboundEmail.objects.filter(to=patient.user.email, subject=subject)


def sent(patient, kind):
    return ReminderSent.objects.filter(patient=patient, kind=kind)


def preference(patient, **fields):
    return ReminderPreference.objects.create(patient=patient, **fields)


def write_journal(patient):
    return services.journal_submit(
        patient=patient,
        by=patient.user,
        submission_key=uuid.uuid4(),
        mood=5,
        energy=5,
        anxiety=4,
        sleep_hours=Decimal("7"),
    )


# --- the mood-journal reminder -------------------------------------------------------------


def test_the_journal_reminder_waits_for_7pm_then_goes_once(portal_patient, today):
    assert reminders.reminders_run(now=at(today, 18, 59)) == 0
    assert not sent(portal_patient, ReminderKind.JOURNAL).exists()

    assert reminders.reminders_run(now=at(today, 19, 0)) == 1

    reminder = sent(portal_patient, ReminderKind.JOURNAL).get()
    assert reminder.key == f"{portal_patient.pk}:{today.isoformat()}"
    email = emails(portal_patient, JOURNAL_SUBJECT).get()
    assert reminder.email == email


def test_the_journal_reminder_comes_at_the_time_the_patient_chose(portal_patient, today):
    preference(portal_patient, journal_time=datetime.time(7, 30))

    reminders.reminders_run(now=at(today, 7, 29))
    assert not emails(portal_patient, JOURNAL_SUBJECT).exists()

    reminders.reminders_run(now=at(today, 7, 30))
    assert emails(portal_patient, JOURNAL_SUBJECT).count() == 1


def test_two_runs_at_the_same_time_send_one_journal_reminder(portal_patient, today):
    reminders.reminders_run(now=at(today, 19, 5))
    reminders.reminders_run(now=at(today, 19, 5))
    reminders.reminders_run(now=at(today, 22, 0))

    assert emails(portal_patient, JOURNAL_SUBJECT).count() == 1
    assert sent(portal_patient, ReminderKind.JOURNAL).count() == 1


def test_the_next_day_brings_the_next_journal_reminder(portal_patient, today):
    reminders.reminders_run(now=at(today, 19, 5))
    reminders.reminders_run(now=at(today + DAY, 19, 5))

    assert emails(portal_patient, JOURNAL_SUBJECT).count() == 2
    assert sorted(sent(portal_patient, ReminderKind.JOURNAL).values_list("key", flat=True)) == [
        f"{portal_patient.pk}:{today.isoformat()}",
        f"{portal_patient.pk}:{(today + DAY).isoformat()}",
    ]


def test_a_patient_who_wrote_todays_entry_is_not_reminded(portal_patient, today):
    write_journal(portal_patient)

    reminders.reminders_run(now=at(today, 19, 5))

    assert not emails(portal_patient, JOURNAL_SUBJECT).exists()
    assert not sent(portal_patient, ReminderKind.JOURNAL).exists()


def test_a_patient_who_turned_journal_reminders_off_is_not_reminded(portal_patient, today):
    preference(portal_patient, journal_enabled=False)

    reminders.reminders_run(now=at(today, 19, 5))

    assert not emails(portal_patient, JOURNAL_SUBJECT).exists()


def test_a_patient_without_a_portal_login_is_not_reminded(clinic, today):
    """Reminders link to the portal; a patient without a login has nothing to open."""
    patient = factories.PatientFactory(clinic=clinic, email="no-login@example.invalid")

    reminders.reminders_run(now=at(today, 19, 5))

    assert not ReminderSent.objects.filter(patient=patient).exists()
    assert not OutboundEmail.objects.filter(to="no-login@example.invalid").exists()


def test_the_journal_reminder_reaches_the_patients_inbox_with_a_portal_link(
    portal_patient, today, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reminders.reminders_run(now=at(today, 19, 5))

    assert [message.to for message in mail.outbox] == [[portal_patient.user.email]]
    assert mail.outbox[0].subject == JOURNAL_SUBJECT
    assert f"{settings.SITE_URL.rstrip('/')}/me/" in mail.outbox[0].body
    assert emails(portal_patient, JOURNAL_SUBJECT).get().status == OutboundEmail.Status.SENT


def test_a_missed_run_is_caught_up_by_the_next_one(portal_patient, today):
    """The 19:00 and 19:05 runs did not happen (worker down); the 21:00 run still sends."""
    reminders.reminders_run(now=at(today, 18, 55))
    assert not emails(portal_patient, JOURNAL_SUBJECT).exists()

    reminders.reminders_run(now=at(today, 21, 0))

    assert emails(portal_patient, JOURNAL_SUBJECT).count() == 1


# --- three missed days pause the journal reminder ------------------------------------------


def test_after_three_reminded_days_without_an_entry_reminders_stop_and_the_team_is_told(
    portal_patient, today, nurse
):
    factories.CareTeamMemberFactory(patient=portal_patient, user=nurse)
    for days_ago in (3, 2, 1):
        reminders.reminders_run(now=at(today - days_ago * DAY, 19, 5))
    assert emails(portal_patient, JOURNAL_SUBJECT).count() == 3

    reminders.reminders_run(now=at(today, 19, 5))

    assert emails(portal_patient, JOURNAL_SUBJECT).count() == 3
    assert not sent(portal_patient, ReminderKind.JOURNAL).filter(key__endswith=str(today))
    lapse = sent(portal_patient, ReminderKind.JOURNAL_LAPSE).get()
    assert lapse.key == f"{portal_patient.pk}:{today.isoformat()}"
    assert lapse.email is None
    assert ReminderPreference.objects.get(patient=portal_patient).journal_paused_on == today
    notice = Notification.objects.get(recipient=nurse, kind="journal_lapse")
    assert notice.patient == portal_patient

    # Paused: the following evenings stay quiet, and the team is not told twice.
    reminders.reminders_run(now=at(today, 21, 0))
    reminders.reminders_run(now=at(today + DAY, 19, 5))
    assert emails(portal_patient, JOURNAL_SUBJECT).count() == 3
    assert Notification.objects.filter(kind="journal_lapse").count() == 1


def test_a_new_entry_restarts_paused_journal_reminders(portal_patient, today):
    for days_ago in (3, 2, 1, 0):
        reminders.reminders_run(now=at(today - days_ago * DAY, 19, 5))
    assert ReminderPreference.objects.get(patient=portal_patient).journal_paused_on == today

    write_journal(portal_patient)
    reminders.reminders_run(now=at(today + DAY, 19, 5))

    assert ReminderPreference.objects.get(patient=portal_patient).journal_paused_on is None
    assert sent(portal_patient, ReminderKind.JOURNAL).filter(
        key=f"{portal_patient.pk}:{(today + DAY).isoformat()}"
    )
    assert emails(portal_patient, JOURNAL_SUBJECT).count() == 4


# --- questionnaires due --------------------------------------------------------------------


@pytest.fixture
def course(portal_patient, nurse):
    return TreatmentCourse.objects.create(
        patient=portal_patient,
        indication="Treatment-resistant depression",
        drug=Drug.KETAMINE,
        opened_by=nurse,
        status_changed_at=timezone.now(),
    )


@pytest.fixture
def phq9_due(course, today):
    """An open PHQ-9 occasion, due today."""
    rule = ScheduleRule.objects.create(
        course=course, instrument_code="PHQ-9", timing=ScheduleTiming.BASELINE
    )
    return MeasureDue.objects.create(
        patient=course.patient,
        course=course,
        rule=rule,
        instrument_code="PHQ-9",
        slot="baseline",
        label="Baseline",
        due_on=today,
    )


def test_a_questionnaire_due_today_is_reminded_from_9am_once_a_day(portal_patient, phq9_due, today):
    reminders.reminders_run(now=at(today, 8, 59))
    assert not emails(portal_patient, QUESTIONNAIRE_SUBJECT).exists()

    reminders.reminders_run(now=at(today, 9, 0))
    reminders.reminders_run(now=at(today, 15, 0))

    email = emails(portal_patient, QUESTIONNAIRE_SUBJECT).get()
    assert "PHQ-9" in email.body
    phq9_due.refresh_from_db()
    assert phq9_due.reminders_sent == 1
    assert phq9_due.last_reminded_on == today


def test_a_questionnaire_is_reminded_three_times_at_most(portal_patient, phq9_due, today):
    for day in range(5):
        reminders.reminders_run(now=at(today + day * DAY, 10, 0))

    assert emails(portal_patient, QUESTIONNAIRE_SUBJECT).count() == 3
    phq9_due.refresh_from_db()
    assert phq9_due.reminders_sent == 3
    assert phq9_due.last_reminded_on == today + 2 * DAY


def test_a_questionnaire_not_due_yet_is_not_reminded(portal_patient, phq9_due, today):
    MeasureDue.objects.filter(pk=phq9_due.pk).update(due_on=today + DAY)

    reminders.reminders_run(now=at(today, 10, 0))

    assert not emails(portal_patient, QUESTIONNAIRE_SUBJECT).exists()


def test_an_answered_questionnaire_is_not_reminded(portal_patient, phq9_due, today):
    services.response_submit(
        patient=portal_patient,
        instrument_code="PHQ-9",
        answers=[1, 1, 1, 1, 0, 0, 0, 0, 0],
        entered_by=portal_patient.user,
        mode="self",
        submission_key=uuid.uuid4(),
    )
    phq9_due.refresh_from_db()
    assert phq9_due.status == DueStatus.COMPLETED

    reminders.reminders_run(now=at(today, 10, 0))

    assert not emails(portal_patient, QUESTIONNAIRE_SUBJECT).exists()
    assert not sent(portal_patient, ReminderKind.QUESTIONNAIRE).exists()


def test_a_patient_who_turned_questionnaire_reminders_off_is_not_reminded(
    portal_patient, phq9_due, today
):
    preference(portal_patient, questionnaires_enabled=False)

    reminders.reminders_run(now=at(today, 10, 0))

    assert not emails(portal_patient, QUESTIONNAIRE_SUBJECT).exists()
    phq9_due.refresh_from_db()
    assert phq9_due.reminders_sent == 0


# --- follow-up visits ----------------------------------------------------------------------


@pytest.fixture
def visit_tomorrow(course, today, nurse):
    return FollowUp.objects.create(
        course=course, kind=FollowUpKind.CHECK_IN, due_on=today + DAY, scheduled_by=nurse
    )


def test_a_visit_tomorrow_is_reminded_once(portal_patient, visit_tomorrow, today):
    reminders.reminders_run(now=at(today, 10, 0))
    reminders.reminders_run(now=at(today, 16, 0))

    email = emails(portal_patient, VISIT_SUBJECT).get()
    assert portal_patient.clinic.name in email.body
    assert sent(portal_patient, ReminderKind.VISIT).count() == 1


def test_a_visit_later_than_tomorrow_is_not_reminded_yet(portal_patient, course, today, nurse):
    FollowUp.objects.create(
        course=course, kind=FollowUpKind.CHECK_IN, due_on=today + 2 * DAY, scheduled_by=nurse
    )

    reminders.reminders_run(now=at(today, 10, 0))

    assert not emails(portal_patient, VISIT_SUBJECT).exists()


def test_a_patient_who_turned_visit_reminders_off_is_not_reminded(
    portal_patient, visit_tomorrow, today
):
    preference(portal_patient, visits_enabled=False)

    reminders.reminders_run(now=at(today, 10, 0))

    assert not emails(portal_patient, VISIT_SUBJECT).exists()
    assert not sent(portal_patient, ReminderKind.VISIT).exists()
