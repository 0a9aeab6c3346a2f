from celery import shared_task

from clinic.core import services


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=services.MAX_EMAIL_ATTEMPTS,
)
def send_outbound_email(self, email_id):
    services.email_send(email_id=email_id)


@shared_task(acks_late=True)
def sweep_outbound_email(older_than_seconds=60):
    """Re-queues e-mails that stayed pending (broker outage, lost task). Idempotent:
    sending checks the row first."""
    for email_id in services.pending_email_ids(older_than_seconds=older_than_seconds):
        send_outbound_email.delay(email_id)


@shared_task(acks_late=True, ignore_result=True)
def worker_heartbeat():
    """Stamps the worker's heartbeat; scheduled by beat, so a fresh stamp shows that the
    broker, beat and a worker all work. Idempotent: the row holds only the latest time."""
    services.heartbeat_record(name="worker")


@shared_task(acks_late=True, ignore_result=True)
def prune_form_submissions(older_than_days=3):
    """Forgets used form keys after a few days; nobody resends a form that old. Idempotent."""
    return services.form_submissions_prune(older_than_days=older_than_days)
