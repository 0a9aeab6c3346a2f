from celery import shared_task

from clinic.reports import services


@shared_task(acks_late=True, ignore_result=True)
def build_nightly_rollups():
    """Rebuilds yesterday and today of every clinic's report roll-ups. Idempotent: each
    clinic-day is deleted and re-inserted in one transaction."""
    return len(services.rollups_nightly())
