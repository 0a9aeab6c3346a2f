"""Questionnaires, clinician ratings, the mood journal, safety alerts and the measurement
schedule, through the services (DOMAIN.md §7 and §8): what a patient or a clinician would
notice."""

import datetime
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic.core.models import Addendum, Notification
from clinic.measures import instruments, selectors, services
from clinic.measures.models import (
    DueStatus,
    InstrumentResponse,
    MeasureDue,
    MoodJournalEntry,
    ReminderPreference,
    SafetyAlert,
    ScheduleTiming,
)
from clinic.pathway import services as pathway
from clinic.pathway import session_services as ss
from clinic.pathway.demo import walk_course
from clinic.pathway.models import CourseStatus, SessionStatus
from tests import factories

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


# --- helpers -------------------------------------------------------------------------------


def phq9(total=0, item9=0):
    """Nine PHQ-9 answers adding up to `total`, with item 9 (self-harm thoughts) = `item9`."""
    answers, remaining = [], total - item9
    for _ in range(8):
        step = min(3, remaining)
        answers.append(step)
        remaining -= step
    assert remaining == 0, "total out of reach"
    return [*answers, item9]


def submit(patient, answers, *, code="PHQ-9", by=None, mode="self", key=None, **extra):
    return services.response_submit(
        patient=patient,
        instrument_code=code,
        answers=answers,
        entered_by=by or patient.user,
        mode=mode,
        submission_key=key or uuid.uuid4(),
        **extra,
    )


def write_journal(patient, *, by=None, key=None, **fields):
    values = {"mood": 6, "energy": 5, "anxiety": 3, "sleep_hours": Decimal("7.5")}
    values.update(fields)
    return services.journal_submit(
        patient=patient, by=by or patient.user, submission_key=key or uuid.uuid4(), **values
    )


def today_of(patient):
    return services.patient_local_date(patient)


def local_noon(patient, day):
    tz = ZoneInfo(patient.clinic.timezone)
    return datetime.datetime.combine(day, datetime.time(12, 0), tzinfo=tz)


def notified(user, kind="safety_alert"):
    return Notification.objects.filter(recipient=user, kind=kind)


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def care_nurse(portal_patient, nurse):
    """The clinic's nurse, named on the portal patient's care team."""
    factories.CareTeamMemberFactory(patient=portal_patient, user=nurse)
    return nurse


@pytest.fixture
def other_portal_patient(clinic):
    return factories.PatientFactory(clinic=clinic, with_user=True)


@pytest.fixture
def active_course(portal_patient, prescriber, nurse):
    """The portal patient's course, in treatment on an approved IV ketamine plan (6 induction
    sessions), with no session booked yet."""
    course = walk_course(patient=portal_patient, prescriber=prescriber, nurse=nurse, stage="active")
    course.refresh_from_db()
    return course


@pytest.fixture
def book(active_course, nurse, prescriber):
    """book(n) books the next `n` sessions, one a day from tomorrow, at noon local time."""

    def _book(count):
        patient = active_course.patient
        start = active_course.sessions.count() + 1
        return [
            ss.session_schedule(
                course=active_course,
                by=nurse,
                scheduled_at=local_noon(patient, today_of(patient) + number * DAY),
                nurse=nurse,
                prescriber=prescriber,
            )
            for number in range(start, start + count)
        ]

    return _book


def occasions(course, **filters):
    return MeasureDue.objects.filter(course=course, **filters)


def occasion_for(course, code, slot):
    return MeasureDue.objects.get(course=course, instrument_code=code, slot=slot)


# --- responses -----------------------------------------------------------------------------


def test_a_complete_phq9_from_the_patient_is_saved_with_its_score(portal_patient):
    """The patient sends a PHQ-9; the server scores it and keeps the answers it scored."""
    response = submit(portal_patient, [2, 2, 2, 2, 1, 1, 0, 0, 0])

    response.refresh_from_db()
    assert response.total == 10
    assert response.band == "moderate"
    assert response.instrument_version == instruments.get("PHQ-9").version
    assert response.answers[:9] == [2, 2, 2, 2, 1, 1, 0, 0, 0]
    assert response.mode == "self"
    assert response.entered_by == portal_patient.user
    assert response.safety_alert is False
    assert not SafetyAlert.objects.filter(patient=portal_patient).exists()


def test_sending_the_same_form_twice_saves_one_response(portal_patient):
    """A double tap on Submit, or a resend after a dropped connection, saves once."""
    key = uuid.uuid4()
    first = submit(portal_patient, phq9(10), key=key)
    second = submit(portal_patient, phq9(12), key=key)

    assert second.pk == first.pk
    assert second.total == 10
    assert InstrumentResponse.objects.filter(patient=portal_patient).count() == 1


def test_an_unfinished_phq9_is_refused_and_nothing_is_saved(portal_patient, care_nurse):
    answers = [*phq9(6)[:7], None, None]  # items 8 and 9 left blank

    with pytest.raises(services.IncompleteResponse) as refused:
        submit(portal_patient, answers)

    assert refused.value.safety_alert is False
    assert not InstrumentResponse.objects.exists()
    assert not SafetyAlert.objects.exists()
    assert not notified(care_nurse).exists()


def test_an_unfinished_phq9_with_item_9_answered_still_alerts_the_care_team(
    portal_patient, care_nurse, prescriber
):
    """DOMAIN §7.5 P13: items 1-8 blank, item 9 = 2: no total, but a clinician must know."""
    with pytest.raises(services.IncompleteResponse) as refused:
        submit(portal_patient, [None] * 8 + [2])

    assert refused.value.safety_alert is True
    assert not InstrumentResponse.objects.exists()
    alert = SafetyAlert.objects.get(patient=portal_patient)
    assert alert.is_open
    assert alert.source == SafetyAlert.Source.QUESTIONNAIRE
    assert alert.instrument_code == "PHQ-9"
    assert alert.response is None
    notification = notified(care_nurse).get()
    assert notification.patient == portal_patient
    assert notification.severity == "urgent"
    assert str(alert.public_id) in notification.link
    # The care team is named, so the prescribers who are not on it are not disturbed.
    assert not notified(prescriber).exists()


def test_sending_the_same_unfinished_phq9_twice_raises_one_alert(portal_patient, care_nurse):
    """A double tap on an unfinished PHQ-9 with item 9 answered: one alert and one urgent
    notification, not two (the form's submission key makes a resend harmless)."""
    key = uuid.uuid4()
    for _ in range(2):
        with pytest.raises(services.IncompleteResponse):
            submit(portal_patient, [None] * 8 + [2], key=key)

    assert SafetyAlert.objects.filter(patient=portal_patient).count() == 1
    assert notified(care_nurse).count() == 1


def test_a_complete_phq9_with_item_9_opens_an_alert_for_the_care_team(
    portal_patient, care_nurse, prescriber
):
    """DOMAIN §7.5 P10: `000000001` scores 1 (minimal) and still raises the alert."""
    response = submit(portal_patient, phq9(1, item9=1))

    assert response.total == 1 and response.band == "minimal"
    assert response.safety_alert is True
    alert = SafetyAlert.objects.get(patient=portal_patient)
    assert alert.is_open
    assert alert.response == response
    assert alert.source == SafetyAlert.Source.QUESTIONNAIRE
    assert "Item 9" in alert.reason
    assert notified(care_nurse).count() == 1
    assert not notified(prescriber).exists()


def test_without_a_care_team_every_prescriber_of_the_clinic_hears_of_an_alert(
    portal_patient, prescriber, nurse, other_clinician
):
    second_prescriber = factories.make_staff(clinic=portal_patient.clinic, role="prescriber")

    submit(portal_patient, phq9(4, item9=1))

    assert notified(prescriber).count() == 1
    assert notified(second_prescriber).count() == 1
    assert not notified(nurse).exists()
    assert not notified(other_clinician).exists()


def test_a_phq9_rise_of_5_raises_a_worsening_alert(portal_patient):
    submit(portal_patient, phq9(5))
    later = submit(portal_patient, phq9(10))

    alert = SafetyAlert.objects.get(patient=portal_patient)
    assert alert.source == SafetyAlert.Source.WORSENING
    assert alert.response == later
    assert "rose by 5" in alert.reason


def test_a_phq9_rise_of_4_raises_no_alert(portal_patient):
    submit(portal_patient, phq9(5))
    submit(portal_patient, phq9(9))

    assert not SafetyAlert.objects.filter(patient=portal_patient).exists()


def test_moaas_is_rated_by_a_clinician_not_by_the_patient(portal_patient, nurse):
    with pytest.raises(ValidationError, match="rated by a clinician"):
        submit(portal_patient, [5], code="MOAA/S", mode="self")
    with pytest.raises(ValidationError, match="Only a clinician"):
        submit(portal_patient, [5], code="MOAA/S", mode="clinician")
    assert not InstrumentResponse.objects.exists()

    rating = submit(portal_patient, [5], code="MOAA/S", by=nurse, mode="clinician")

    assert rating.total == 5
    assert rating.entered_by == nurse
    assert rating.mode == "clinician"


def test_madrs_is_refused_until_the_clinic_confirms_its_licence(portal_patient, prescriber):
    answers = [2] * 10

    with pytest.raises(ValidationError, match="not enabled"):
        submit(portal_patient, answers, code="MADRS", by=prescriber, mode="clinician")
    assert not InstrumentResponse.objects.exists()

    measure_settings = services.measure_settings_for(portal_patient.clinic)
    measure_settings.licensed_instruments = ["MADRS"]
    measure_settings.save()
    rating = submit(portal_patient, answers, code="MADRS", by=prescriber, mode="clinician")

    assert rating.total == 20
    assert rating.band == "moderate"


def test_nobody_but_the_patient_sends_a_self_report_as_theirs(
    portal_patient, other_portal_patient, nurse
):
    with pytest.raises(ValidationError, match="Only the patient"):
        submit(portal_patient, phq9(3), by=other_portal_patient.user, mode="self")
    with pytest.raises(ValidationError, match="Only the patient"):
        submit(portal_patient, phq9(3), by=nurse, mode="self")

    assert not InstrumentResponse.objects.exists()


def test_a_clinician_of_another_clinic_cannot_enter_an_assisted_response(
    portal_patient, nurse, other_clinician
):
    with pytest.raises(ValidationError, match="Only a clinician of this clinic"):
        submit(portal_patient, phq9(3), by=other_clinician, mode="assisted")
    assert not InstrumentResponse.objects.exists()

    helped = submit(portal_patient, phq9(3), by=nurse, mode="assisted")

    assert helped.mode == "assisted" and helped.entered_by == nurse


# --- nothing submitted is ever changed -----------------------------------------------------


def test_a_saved_response_cannot_be_changed_even_by_a_bulk_update(portal_patient):
    response = submit(portal_patient, phq9(12))

    with pytest.raises(IntegrityError), transaction.atomic():
        InstrumentResponse.objects.filter(pk=response.pk).update(total=0)

    response.refresh_from_db()
    assert response.total == 12


def test_a_saved_journal_entry_cannot_be_changed_even_by_a_bulk_update(portal_patient):
    entry = write_journal(portal_patient, mood=3)

    with pytest.raises(IntegrityError), transaction.atomic():
        MoodJournalEntry.objects.filter(pk=entry.pk).update(mood=9)

    entry.refresh_from_db()
    assert entry.mood == 3


# --- mood journal --------------------------------------------------------------------------


def test_a_journal_entry_is_for_the_patients_own_today(portal_patient, monkeypatch):
    """The date is the clinic's local date, not the server's (UTC): at noon UTC it is
    already 2 am the next day on Kiritimati (UTC+14)."""
    clinic = portal_patient.clinic
    clinic.timezone = "Pacific/Kiritimati"
    clinic.save()
    noon_utc = datetime.datetime.combine(
        datetime.datetime.now(datetime.UTC).date(), datetime.time(12, 0), tzinfo=datetime.UTC
    )
    monkeypatch.setattr(timezone, "now", lambda: noon_utc)

    entry = write_journal(portal_patient)

    assert entry.entry_date == noon_utc.date() + DAY
    assert entry.submitted_by == portal_patient.user


def test_the_journal_can_be_filled_in_two_days_late_but_not_three(portal_patient):
    today = today_of(portal_patient)

    with pytest.raises(ValidationError) as refused:
        write_journal(portal_patient, entry_date=today - 3 * DAY)

    assert "entry_date" in refused.value.message_dict
    assert not MoodJournalEntry.objects.exists()
    late = write_journal(portal_patient, entry_date=today - 2 * DAY)
    assert late.entry_date == today - 2 * DAY


def test_a_second_entry_for_the_same_day_is_refused(portal_patient):
    write_journal(portal_patient, mood=4)

    with pytest.raises(ValidationError) as refused:
        write_journal(portal_patient, mood=8)

    assert "entry_date" in refused.value.message_dict
    assert MoodJournalEntry.objects.get(patient=portal_patient).mood == 4


def test_sending_the_same_journal_form_twice_saves_one_entry(portal_patient):
    key = uuid.uuid4()
    first = write_journal(portal_patient, key=key, mood=4)
    second = write_journal(portal_patient, key=key, mood=4)

    assert second.pk == first.pk
    assert MoodJournalEntry.objects.filter(patient=portal_patient).count() == 1


def test_only_the_clinics_journal_tags_are_accepted(portal_patient):
    with pytest.raises(ValidationError) as refused:
        write_journal(portal_patient, tags=["exercise", "skydiving"])

    assert "tags" in refused.value.message_dict
    assert not MoodJournalEntry.objects.exists()
    entry = write_journal(portal_patient, tags=["exercise", "treatment day"])
    assert entry.tags == ["exercise", "treatment day"]


def test_sleep_is_recorded_in_whole_or_half_hours(portal_patient):
    with pytest.raises(ValidationError) as refused:
        write_journal(portal_patient, sleep_hours=Decimal("7.3"))

    assert "sleep_hours" in refused.value.message_dict
    assert not MoodJournalEntry.objects.exists()
    assert write_journal(portal_patient, sleep_hours=Decimal("6.5")).sleep_hours == Decimal("6.5")


def test_thoughts_of_self_harm_in_the_journal_open_an_alert(portal_patient, care_nurse):
    entry = write_journal(portal_patient, safety_thoughts=True)

    alert = SafetyAlert.objects.get(patient=portal_patient)
    assert alert.source == SafetyAlert.Source.JOURNAL
    assert alert.journal_entry == entry
    assert alert.is_open
    assert notified(care_nurse).count() == 1


def test_a_journal_entry_restarts_paused_reminders(portal_patient):
    ReminderPreference.objects.create(
        patient=portal_patient, journal_paused_on=today_of(portal_patient) - DAY
    )

    write_journal(portal_patient)

    assert ReminderPreference.objects.get(patient=portal_patient).journal_paused_on is None


def test_staff_cannot_write_a_patients_journal(portal_patient, nurse):
    with pytest.raises(ValidationError, match="Only the patient"):
        write_journal(portal_patient, by=nurse)
    assert not MoodJournalEntry.objects.exists()


@pytest.mark.parametrize(
    "field, value",
    [("mood", 11), ("energy", 11), ("anxiety", 11), ("sleep_quality", 11),
     ("sleep_hours", Decimal("24.5")), ("sleep_hours", Decimal("-1"))],
)  # fmt: skip
def test_out_of_range_journal_answers_are_refused_beside_their_field(portal_patient, field, value):
    """The fields' own validators refuse what the check constraints would (the service leaves
    the constraints to the database)."""
    with pytest.raises(ValidationError) as refused:
        write_journal(portal_patient, **{field: value})

    assert field in refused.value.message_dict
    assert not MoodJournalEntry.objects.exists()


def test_a_journal_form_key_of_another_patient_is_refused(portal_patient, other_portal_patient):
    key = uuid.uuid4()
    write_journal(other_portal_patient, key=key)

    with pytest.raises(ValidationError, match="already used for another record"):
        write_journal(portal_patient, key=key)
    assert not MoodJournalEntry.objects.filter(patient=portal_patient).exists()


def test_a_resent_journal_form_returns_its_entry_even_days_later(portal_patient):
    key = uuid.uuid4()
    first = write_journal(portal_patient, key=key, entry_date=today_of(portal_patient) - DAY)

    # The same form sent again: the saved entry, whatever the day it now names.
    again = write_journal(portal_patient, key=key, entry_date=today_of(portal_patient) - 5 * DAY)
    assert again.pk == first.pk


def test_journal_submit_uses_the_measure_settings_it_is_given(portal_patient):
    settings_row = services.measure_settings_for(portal_patient.clinic)
    settings_row.journal_tags = ["walking"]

    with CaptureQueriesContext(connection) as queries:
        entry = write_journal(portal_patient, tags=["walking"], measure_settings=settings_row)
    assert entry.tags == ["walking"]
    assert not any("measures_clinicmeasuresettings" in q["sql"] for q in queries.captured_queries)
    with pytest.raises(ValidationError) as refused:
        write_journal(
            portal_patient, entry_date=today_of(portal_patient) - DAY, tags=["walking"]
        )  # the clinic's own (default) tags
    assert "tags" in refused.value.message_dict


def test_measure_settings_come_with_a_clinic_that_carries_them(clinic, prescriber):
    from clinic.patients.models import Clinic

    carried = Clinic.objects.select_related("measure_settings").get(pk=clinic.pk)
    with CaptureQueriesContext(connection) as queries:
        defaults = services.measure_settings_for(carried)
    assert len(queries) == 0 and defaults.pk is None  # no row yet: the defaults, unsaved
    services.measure_settings_update(
        clinic=carried, by=prescriber, crisis_resources="Call 988.",
        licensed_instruments=["MADRS"], journal_tags=["walking"],
    )  # fmt: skip
    # The clinic that was updated carries the new row; a fresh read agrees.
    assert services.measure_settings_for(carried).licensed_instruments == ["MADRS"]
    assert services.measure_settings_for(clinic).crisis_resources == "Call 988."
    again = Clinic.objects.select_related("measure_settings").get(pk=clinic.pk)
    with CaptureQueriesContext(connection) as queries:
        assert services.measure_settings_for(again).journal_tags == ["walking"]
    assert len(queries) == 0


# --- safety alerts -------------------------------------------------------------------------


@pytest.fixture
def alert(portal_patient, care_nurse):
    submit(portal_patient, phq9(9, item9=2))
    return SafetyAlert.objects.get(patient=portal_patient)


def test_recording_the_action_closes_the_alert_and_clears_its_notifications(alert, care_nurse):
    assert notified(care_nurse).filter(read_at__isnull=True).count() == 1

    closed = services.alert_record_action(
        alert=alert, by=care_nurse, action=SafetyAlert.Action.CONTACTED, note="Safe at home."
    )

    closed.refresh_from_db()
    assert closed.status == SafetyAlert.Status.ACTIONED
    assert closed.action == "contacted"
    assert closed.action_note == "Safe at home."
    assert closed.actioned_by == care_nurse
    assert closed.actioned_at is not None
    assert not notified(care_nurse).filter(read_at__isnull=True).exists()


def test_a_second_clinician_is_told_who_already_recorded_the_action(alert, care_nurse, prescriber):
    services.alert_record_action(alert=alert, by=care_nurse, action=SafetyAlert.Action.CONTACTED)

    with pytest.raises(ValidationError) as refused:
        services.alert_record_action(alert=alert, by=prescriber, action=SafetyAlert.Action.VISIT)

    assert care_nurse.display_name in refused.value.messages[0]
    alert.refresh_from_db()
    assert alert.actioned_by == care_nurse and alert.action == "contacted"


def test_a_nurse_of_another_clinic_cannot_close_the_alert(alert, other_clinic):
    outsider = factories.make_staff(clinic=other_clinic, role="nurse")

    with pytest.raises(ValidationError):
        services.alert_record_action(alert=alert, by=outsider, action=SafetyAlert.Action.NO_RISK)

    alert.refresh_from_db()
    assert alert.is_open


def test_an_actioned_alert_is_locked_in_the_database(alert, care_nurse):
    services.alert_record_action(alert=alert, by=care_nurse, action=SafetyAlert.Action.CONTACTED)

    with pytest.raises(IntegrityError), transaction.atomic():
        SafetyAlert.objects.filter(pk=alert.pk).update(action="no_risk")

    alert.refresh_from_db()
    assert alert.action == "contacted"


# --- correction notes ----------------------------------------------------------------------


def test_the_patient_corrects_a_journal_entry_with_a_signed_note(portal_patient):
    entry = write_journal(portal_patient, sleep_hours=Decimal("5"))

    note = services.correction_note_add(
        target=entry, author=portal_patient.user, text="  I slept 8 hours, not 5.  "
    )

    note.refresh_from_db()
    assert note.note == entry
    assert note.text == "I slept 8 hours, not 5."
    assert note.author == portal_patient.user
    assert len(note.content_hash) == 64
    assert selectors.corrections_for(entry) == [note]


def test_a_blank_correction_note_is_refused(portal_patient):
    entry = write_journal(portal_patient)

    with pytest.raises(ValidationError) as refused:
        services.correction_note_add(target=entry, author=portal_patient.user, text="   ")

    assert "text" in refused.value.message_dict
    assert not Addendum.objects.exists()


def test_another_patient_cannot_add_a_note_to_my_journal(portal_patient, other_portal_patient):
    entry = write_journal(portal_patient)

    with pytest.raises(ValidationError):
        services.correction_note_add(
            target=entry, author=other_portal_patient.user, text="Not my entry."
        )

    assert not Addendum.objects.exists()


# --- the measurement schedule --------------------------------------------------------------


def test_a_course_in_treatment_gets_its_questionnaires_scheduled(active_course, book):
    """Baseline PHQ-9 and GAD-7; a PHQ-9 before each session; the end-of-induction battery
    on the day of the last induction session (session 6 of this plan)."""
    patient = active_course.patient
    today = today_of(patient)
    plan = active_course.plans.get(status="approved")
    assert plan.induction_sessions == 6

    sessions = book(5)

    assert not occasions(active_course, slot="end-of-induction").exists()
    sessions += book(1)

    for code in ("PHQ-9", "GAD-7"):
        baseline = occasion_for(active_course, code, "baseline")
        assert baseline.due_on == today and baseline.status == DueStatus.OPEN
    pre_session = occasions(active_course, rule__timing=ScheduleTiming.SESSIONS)
    assert sorted(pre_session.values_list("instrument_code", "slot", "due_on")) == sorted(
        ("PHQ-9", f"session-{s.public_id}", today + s.session_number * DAY) for s in sessions
    )
    assert [o.label for o in pre_session.order_by("due_on")] == [
        f"Before session {n}" for n in range(1, 7)
    ]
    end = occasions(active_course, slot="end-of-induction")
    assert sorted(end.values_list("instrument_code", flat=True)) == ["GAD-7", "PHQ-9"]
    assert {o.due_on for o in end} == {today + 6 * DAY}


def test_the_end_of_induction_battery_follows_a_rebooked_last_induction_session(
    active_course, book, nurse
):
    """Session 6 of a 6-session induction is cancelled and rebooked (it becomes session 7,
    a day later): the end-of-induction questionnaires move to the rebooked last dose
    instead of disappearing."""
    sessions = book(6)
    ss.session_cancel(
        session=sessions[5], by=nurse, status=SessionStatus.CANCELLED, reason="Car broke down"
    )
    (rebooked,) = book(1)
    assert rebooked.session_number == 7

    end = occasions(active_course, slot="end-of-induction", status=DueStatus.OPEN)

    assert sorted(end.values_list("instrument_code", flat=True)) == ["GAD-7", "PHQ-9"]
    assert {o.due_on for o in end} == {
        rebooked.scheduled_at.astimezone(ZoneInfo(active_course.patient.clinic.timezone)).date()
    }


def test_syncing_the_schedule_again_adds_nothing(active_course, book):
    book(3)
    before = sorted(occasions(active_course).values_list("instrument_code", "slot", "status"))

    services.due_sync(course=active_course)
    services.due_sync(course=active_course)

    after = sorted(occasions(active_course).values_list("instrument_code", "slot", "status"))
    assert after == before
    assert len(after) == len(set(after))


def test_cancelling_a_session_cancels_the_questionnaire_before_it(active_course, book, nurse):
    first, second = book(2)

    ss.session_cancel(
        session=second, by=nurse, status=SessionStatus.CANCELLED, reason="Patient unwell"
    )

    assert occasion_for(active_course, "PHQ-9", f"session-{second.public_id}").status == (
        DueStatus.CANCELLED
    )
    assert occasion_for(active_course, "PHQ-9", f"session-{first.public_id}").status == (
        DueStatus.OPEN
    )


def test_one_phq9_answers_every_phq9_due_by_tomorrow(active_course, book):
    """The baseline (today) and the one before tomorrow's session are both done by the PHQ-9
    sent now; the one before the session after that stays due, and so does the GAD-7."""
    first, second = book(2)

    response = submit(active_course.patient, phq9(14))

    done = occasions(active_course, status=DueStatus.COMPLETED)
    assert sorted(done.values_list("slot", flat=True)) == sorted(
        ["baseline", f"session-{first.public_id}"]
    )
    assert all(o.response == response for o in done)
    assert all(o.instrument_code == "PHQ-9" for o in done)
    assert occasion_for(active_course, "PHQ-9", f"session-{second.public_id}").status == (
        DueStatus.OPEN
    )
    assert occasion_for(active_course, "GAD-7", "baseline").status == DueStatus.OPEN
    assert response.course == active_course
    assert response.timepoint == "baseline"


def test_a_questionnaire_more_than_14_days_overdue_is_recorded_as_missed(active_course):
    baseline = occasion_for(active_course, "PHQ-9", "baseline")

    services.due_sync(course=active_course, today=baseline.due_on + 14 * DAY)
    baseline.refresh_from_db()
    assert baseline.status == DueStatus.OPEN

    services.due_sync(course=active_course, today=baseline.due_on + 15 * DAY)
    baseline.refresh_from_db()
    assert baseline.status == DueStatus.MISSED


def test_closing_the_course_cancels_what_is_still_due(active_course, book, prescriber):
    book(2)
    submit(active_course.patient, phq9(14))
    completed = set(occasions(active_course, status=DueStatus.COMPLETED).values_list("pk"))
    assert occasions(active_course, status=DueStatus.OPEN).exists()

    pathway.course_transition(
        course=active_course,
        to_status=CourseStatus.DISCONTINUED,
        by=prescriber,
        reason="Patient moved away.",
    )

    assert not occasions(active_course, status=DueStatus.OPEN).exists()
    assert set(occasions(active_course, status=DueStatus.COMPLETED).values_list("pk")) == (
        completed
    )
    assert occasions(active_course, status=DueStatus.CANCELLED).exists()


def test_a_rule_for_every_second_session_asks_before_sessions_1_3_and_5(
    active_course, book, prescriber
):
    sessions = book(5)

    services.schedule_rule_add(
        course=active_course,
        by=prescriber,
        instrument_code="GAD-7",
        timing=ScheduleTiming.SESSIONS,
        every_n_sessions=2,
    )

    gad7 = occasions(active_course, instrument_code="GAD-7", rule__timing=ScheduleTiming.SESSIONS)
    assert sorted(gad7.values_list("slot", flat=True)) == sorted(
        f"session-{s.public_id}" for s in sessions if s.session_number in (1, 3, 5)
    )
    assert sorted(gad7.values_list("label", flat=True)) == [
        "Before session 1",
        "Before session 3",
        "Before session 5",
    ]


# --- overdue list --------------------------------------------------------------------------


@pytest.fixture
def other_clinic_course(other_clinic, other_clinician):
    """A course in another clinic, far enough along to have its baseline questionnaires due."""
    return walk_course(
        patient=factories.PatientFactory(clinic=other_clinic),
        prescriber=other_clinician,
        nurse=factories.make_staff(clinic=other_clinic, role="nurse"),
        stage="assessment_draft",
    )


def test_the_overdue_list_shows_my_clinics_questionnaires_past_their_date(
    active_course, other_clinic_course, prescriber
):
    today = today_of(active_course.patient)
    mine = set(occasions(active_course, slot="baseline").values_list("pk", flat=True))
    assert len(mine) == 2
    assert occasions(other_clinic_course, slot="baseline").count() == 2

    assert list(selectors.overdue_for_user(prescriber, today=today)) == []
    listed = selectors.overdue_for_user(prescriber, today=today + DAY)

    assert {o.pk for o in listed} == mine
    assert {o.patient for o in listed} == {active_course.patient}


def evening_of(day, zone, monkeypatch, hour=21):
    """Freezes `timezone.now()` at `hour`:00 on `day` in `zone`, and returns that time."""
    evening = datetime.datetime.combine(day, datetime.time(hour, 0), tzinfo=ZoneInfo(zone))
    monkeypatch.setattr(timezone, "now", lambda: evening)
    return evening


def test_the_overdue_list_uses_the_clinics_date_not_the_servers(
    active_course, prescriber, monkeypatch
):
    """At 9 pm in New York it is already tomorrow in UTC; what is due today in New York is
    not overdue yet. (The pages run with the user's clinic time zone active, as
    ClinicTimezoneMiddleware sets it.)"""
    baseline = occasion_for(active_course, "PHQ-9", "baseline")
    evening_of(baseline.due_on, "America/New_York", monkeypatch)

    with timezone.override(ZoneInfo(prescriber.display_timezone())):
        listed = list(selectors.overdue_for_user(prescriber))

    assert baseline not in listed


def test_the_overdue_list_uses_each_clinics_date_for_a_clinician_of_two_clinics(
    prescriber, monkeypatch
):
    """A prescriber who works in New York and in Honolulu opens the overdue list at 8 pm in
    Honolulu (1 am the next day in New York, the time zone the pages use for them): a
    Honolulu patient's questionnaire due today, Honolulu time, is not overdue yet."""
    honolulu = factories.ClinicFactory(timezone="Pacific/Honolulu")
    factories.MembershipFactory(user=prescriber, clinic=honolulu, role="prescriber")
    course = walk_course(
        patient=factories.PatientFactory(clinic=honolulu),
        prescriber=prescriber,
        nurse=factories.make_staff(clinic=honolulu, role="nurse"),
        stage="assessment_draft",
    )
    baseline = occasion_for(course, "PHQ-9", "baseline")
    evening_of(baseline.due_on, "Pacific/Honolulu", monkeypatch, hour=20)
    assert prescriber.display_timezone() == "America/New_York"

    with timezone.override(ZoneInfo(prescriber.display_timezone())):
        listed = list(selectors.overdue_for_user(prescriber))

    assert baseline not in listed
