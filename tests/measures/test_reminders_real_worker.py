"""The reminder task through the real Redis broker that .ci/run points at, run by a real
in-process Celery worker (skipped on a machine without Redis, failed in CI)."""

import datetime
import time
import uuid

import pytest
from celery.signals import task_postrun
from django.core import mail

from clinic.core import tasks as core_tasks
from clinic.core.models import OutboundEmail
from clinic.measures import tasks
from clinic.measures.models import ReminderKind, ReminderPreference, ReminderSent
from tests import factories
from tests.core.test_real_services import real_broker  # noqa: F401

pytestmark = pytest.mark.services

JOURNAL_SUBJECT = "A minute for your mood journal?"


def zone_where_it_is_about_noon():
    """A fixed-offset time zone where it is about noon now, so that the two runs of the task
    cannot fall on two different local days of the patient."""
    offset = 12 - datetime.datetime.now(datetime.UTC).hour  # -11 .. +12 hours
    return f"Etc/GMT{-offset:+d}"  # POSIX signs: "Etc/GMT-5" is 5 hours ahead of UTC


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_one_journal_reminder_when_the_task_is_queued_twice(
    real_broker,  # noqa: F811 (the fixture imported above)
):
    """Beat queues the reminder task every 5 minutes; a repeated or overlapping run must not
    send the patient a second e-mail."""
    from celery.contrib.testing.worker import start_worker

    clinic = factories.ClinicFactory(timezone=zone_where_it_is_about_noon())
    patient = factories.PatientFactory(clinic=clinic, with_user=True)
    # Reminders from midnight: the journal reminder is due whenever the test runs.
    ReminderPreference.objects.create(patient=patient, journal_time=datetime.time(0, 0))
    queue = f"test-{uuid.uuid4().hex[:8]}"
    finished = []

    def count_finished(sender=None, **kwargs):
        finished.append((getattr(sender, "name", None), kwargs.get("state")))

    def runs_of(task):
        return [state for name, state in finished if name == task.name]

    previous_default_queue = real_broker.conf.task_default_queue
    # The e-mail task that the reminder queues on commit goes to this test's worker too, so
    # the test sends it and leaves nothing behind on the shared broker.
    real_broker.conf.task_default_queue = queue
    task_postrun.connect(count_finished)
    try:
        with start_worker(real_broker, pool="solo", perform_ping_check=False, queues=[queue]):
            for _ in range(2):
                tasks.send_reminders.apply_async(queue=queue)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (
                len(runs_of(tasks.send_reminders)) < 2
                or len(runs_of(core_tasks.send_outbound_email)) < 1
            ):
                time.sleep(0.1)
            time.sleep(0.5)  # a second e-mail task, if one was queued, would run now
    finally:
        task_postrun.disconnect(count_finished)
        real_broker.conf.task_default_queue = previous_default_queue

    assert runs_of(tasks.send_reminders) == ["SUCCESS", "SUCCESS"], "both runs must finish"
    assert runs_of(core_tasks.send_outbound_email) == ["SUCCESS"]
    reminder = ReminderSent.objects.get(patient=patient, kind=ReminderKind.JOURNAL)
    email = OutboundEmail.objects.get(to=patient.user.email)
    assert reminder.email == email
    assert email.subject == JOURNAL_SUBJECT
    assert email.status == OutboundEmail.Status.SENT
    assert [(m.to, m.subject) for m in mail.outbox] == [([patient.user.email], JOURNAL_SUBJECT)]
