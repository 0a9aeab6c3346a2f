"""Against the real PostgreSQL and Redis that .ci/run points at (skipped on a machine
without them, failed in CI)."""

import os
import time
import uuid

import pytest
from celery.signals import task_postrun
from django.core import mail
from django.db import connection

from clinic import celery_app
from clinic.core import tasks
from clinic.core.models import OutboundEmail
from tests.conftest import skip_or_fail

pytestmark = pytest.mark.services

BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")


@pytest.fixture
def real_broker():
    if not BROKER_URL.startswith("redis://"):
        skip_or_fail("CELERY_BROKER_URL does not name a Redis broker")
    previous = celery_app.conf.task_always_eager, celery_app.conf.broker_url
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = BROKER_URL
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        celery_app.conf.task_always_eager, celery_app.conf.broker_url = previous
        pytest.fail(f"Redis broker at {BROKER_URL} is unreachable: {exc}", pytrace=False)
    yield celery_app
    celery_app.conf.task_always_eager, celery_app.conf.broker_url = previous


@pytest.mark.django_db
def test_the_database_is_postgresql_when_ci_says_so():
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        skip_or_fail("DATABASE_URL does not name a PostgreSQL database")
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        assert int(cursor.fetchone()[0].split(".")[0]) >= 15


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_an_email_once_when_its_task_is_queued_twice(real_broker):
    from celery.contrib.testing.worker import start_worker

    queue = f"test-{uuid.uuid4().hex[:8]}"
    email = OutboundEmail.objects.create(to="a@example.invalid", subject="Via Redis", body="x")
    finished = []

    def count_finished(sender=None, **kwargs):
        if getattr(sender, "name", None) == tasks.send_outbound_email.name:
            finished.append(kwargs.get("state"))

    task_postrun.connect(count_finished)
    try:
        with start_worker(real_broker, pool="solo", perform_ping_check=False, queues=[queue]):
            for _ in range(2):
                tasks.send_outbound_email.apply_async(args=[email.pk], queue=queue)
            deadline = time.monotonic() + 20
            while len(finished) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        task_postrun.disconnect(count_finished)
    assert finished == ["SUCCESS", "SUCCESS"], "the worker did not run both deliveries"
    email.refresh_from_db()
    assert email.status == "sent"
    assert [m.subject for m in mail.outbox] == ["Via Redis"]
