"""Reminders, driven from database state.

Each run looks at what is due now and sends what has not been sent. The `ReminderSent` row
(unique on kind and key) is written in the same transaction as the queued e-mail, so a run
that is missed is caught up by the next one, and a run that is repeated, or two workers
running at once, send nothing twice.
"""

import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from clinic.core.services import email_queue, notify
from clinic.measures import instruments
from clinic.measures.models import (
    DueStatus,
    MeasureDue,
    MoodJournalEntry,
    ReminderKind,
    ReminderPreference,
    ReminderSent,
)
from clinic.measures.services import alert_recipients

MAX_QUESTIONNAIRE_REMINDERS = 3
JOURNAL_LAPSE_DAYS = 3
# Questionnaire and visit reminders go out from this local hour, never at night.
DAYTIME_FROM = datetime.time(9, 0)


def _portal_link():
    return f"{settings.SITE_URL.rstrip('/')}{reverse('portal:home')}"


def _address(patient):
    return (patient.user.email if patient.user_id else "") or patient.email


def _send_once(*, patient, kind, key, subject, body):
    """Sends one reminder unless one with this kind and key was ever sent."""
    address = _address(patient)
    if not address:
        return False
    try:
        # The e-mail and its record commit together or not at all; a duplicate key rolls
        # back the e-mail (and its queued send) with it.
        with transaction.atomic():
            email = email_queue(to=address, subject=subject, body=body)
            ReminderSent.objects.create(patient=patient, kind=kind, key=key, email=email)
    except IntegrityError:
        return False
    return True


def _reachable_patients():
    from clinic.patients.models import Patient

    return Patient.objects.filter(
        status=Patient.Status.ACTIVE, user__isnull=False, user__is_active=True
    ).select_related("clinic", "user", "reminder_preference")


def _preference(patient):
    try:
        return patient.reminder_preference
    except ReminderPreference.DoesNotExist:
        return ReminderPreference(patient=patient)  # the defaults, unsaved


def _journal_reminder(patient, preference, local_now):
    today = local_now.date()
    if not preference.journal_enabled or preference.journal_paused_on:
        return False
    if local_now.time() < preference.journal_time:
        return False
    if MoodJournalEntry.objects.filter(patient=patient, entry_date=today).exists():
        return False
    previous_days = [today - datetime.timedelta(days=n) for n in range(1, JOURNAL_LAPSE_DAYS + 1)]
    reminded_days = ReminderSent.objects.filter(
        kind=ReminderKind.JOURNAL,
        key__in=[f"{patient.pk}:{day.isoformat()}" for day in previous_days],
    ).count()
    written = MoodJournalEntry.objects.filter(
        patient=patient, entry_date__in=previous_days
    ).exists()
    if reminded_days == JOURNAL_LAPSE_DAYS and not written:
        return _journal_lapse(patient, today)
    return _send_once(
        patient=patient,
        kind=ReminderKind.JOURNAL,
        key=f"{patient.pk}:{today.isoformat()}",
        subject="A minute for your mood journal?",
        body=(
            "This is your daily reminder to fill in your mood journal.\n"
            f"{_portal_link()}\n\n"
            "You can change the time of this reminder, or turn it off, under Reminders."
        ),
    )


def _journal_lapse(patient, today):
    """Three reminded days without an entry: stop reminding and hand it to a person."""
    try:
        with transaction.atomic():
            ReminderSent.objects.create(
                patient=patient, kind=ReminderKind.JOURNAL_LAPSE, key=f"{patient.pk}:{today}"
            )
            preference, _ = ReminderPreference.objects.get_or_create(patient=patient)
            preference.journal_paused_on = today
            preference.save(update_fields=["journal_paused_on", "updated_at"])
            notify(
                recipients=alert_recipients(patient),
                kind="journal_lapse",
                severity="info",
                title=f"{patient.full_name} has not written the mood journal for "
                f"{JOURNAL_LAPSE_DAYS} days; reminders are paused",
                body="Check in with the patient. Reminders restart with their next entry.",
                link=reverse("measures:outcomes", args=[patient.public_id]),
                source_key=f"journal-lapse:{patient.pk}:{today}",
                clinic=patient.clinic,
                patient=patient,
                email=False,
            )
    except IntegrityError:
        pass  # another run paused them first
    return False


def _questionnaire_reminder(patient, preference, local_now):
    today = local_now.date()
    if not preference.questionnaires_enabled or local_now.time() < DAYTIME_FROM:
        return False
    patient_codes = [i.code for i in instruments.all_instruments() if i.rater == "patient"]
    with transaction.atomic():
        due = list(
            MeasureDue.objects.select_for_update()
            .filter(
                patient=patient,
                status=DueStatus.OPEN,
                instrument_code__in=patient_codes,
                due_on__lte=today,
                reminders_sent__lt=MAX_QUESTIONNAIRE_REMINDERS,
            )
            .exclude(last_reminded_on=today)
        )
        if not due:
            return False
        names = ", ".join(sorted({d.instrument_code for d in due}))
        sent = _send_once(
            patient=patient,
            kind=ReminderKind.QUESTIONNAIRE,
            key=f"{patient.pk}:{today.isoformat()}",
            subject="A short questionnaire is waiting for you",
            body=(
                f"Your care team asked you to fill in: {names}. It takes a few minutes.\n"
                f"{_portal_link()}\n\n"
                "You can turn these reminders off under Reminders."
            ),
        )
        if sent:
            for occasion in due:
                occasion.reminders_sent += 1
                occasion.last_reminded_on = today
                occasion.save(update_fields=["reminders_sent", "last_reminded_on", "updated_at"])
    return sent


def _visit_reminders(patient, preference, local_now):
    from clinic.pathway.models import FollowUp, FollowUpStatus

    if not preference.visits_enabled or local_now.time() < DAYTIME_FROM:
        return 0
    tomorrow = local_now.date() + datetime.timedelta(days=1)
    sent = 0
    for follow_up in FollowUp.objects.filter(
        course__patient=patient, status=FollowUpStatus.SCHEDULED, due_on=tomorrow
    ):
        sent += _send_once(
            patient=patient,
            kind=ReminderKind.VISIT,
            key=f"{follow_up.pk}:{follow_up.due_on.isoformat()}",
            subject="Reminder: your follow-up visit is tomorrow",
            body=(
                f"You have a follow-up visit with {patient.clinic.name} tomorrow, "
                f"{follow_up.due_on:%A %d %B}.\n"
                f"If you cannot come, please call the clinic"
                f"{' on ' + patient.clinic.phone if patient.clinic.phone else ''}."
            ),
        )
    return sent


def reminders_run(now=None):
    """Sends every reminder that is due at `now` and was not sent before; returns how many."""
    now = now or timezone.now()
    sent = 0
    for patient in _reachable_patients():
        local_now = now.astimezone(ZoneInfo(patient.clinic.timezone))
        preference = _preference(patient)
        sent += _journal_reminder(patient, preference, local_now)
        sent += _questionnaire_reminder(patient, preference, local_now)
        sent += _visit_reminders(patient, preference, local_now)
    return sent
