from celery import shared_task

from clinic.measures import reminders, services


@shared_task(acks_late=True, ignore_result=True)
def send_reminders():
    """Sends the reminders due now. Idempotent: each reminder is recorded once, in the same
    transaction as its e-mail, so a repeated or overlapping run sends nothing twice."""
    return reminders.reminders_run()


@shared_task(acks_late=True, ignore_result=True)
def sync_measure_schedules():
    """Re-derives every open course's due questionnaires (new interval occasions, missed
    ones). Idempotent: it only adds what is missing and closes what no longer applies."""
    return services.due_sync_open_courses()
