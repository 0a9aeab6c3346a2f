"""A worker killed with SIGKILL in the middle of sending an e-mail: after a new worker
starts, the e-mail is sent exactly once (late acks: the unacknowledged task is delivered
again; the row lock and status make the second run the only one that sends)."""

from clinic.core.models import OutboundEmail
from clinic.core.services import email_queue
from tests.fault.conftest import wait_until

SLOW_SEND_S = "6"
REDELIVERY_ENV = {
    # Redeliver an unacknowledged task after 3 s, and look for one every second.
    "CELERY_VISIBILITY_TIMEOUT": "3",
    "CELERY_UNACKED_RESTORE_INTERVAL": "1",
    "CELERY_UNACKED_RESTORE_THROTTLE": "1",
}


def test_a_task_cut_off_by_sigkill_is_done_exactly_once_after_restart(
    postgres_only,
    redis_server,
    app_on,
    worker_factory,
    tmp_path,
    django_capture_on_commit_callbacks,
):
    redis_server.start()
    marker = tmp_path / "sends.log"
    env = {
        **REDELIVERY_ENV,
        "DJANGO_EMAIL_BACKEND": "tests.fault.backends.SlowMarkerBackend",
        "FAULT_MARKER_FILE": str(marker),
        "FAULT_SEND_SECONDS": SLOW_SEND_S,
    }
    first = worker_factory(**env)
    with django_capture_on_commit_callbacks(execute=True):
        email = email_queue(to="nurse@example.invalid", subject="Kill me once", body="x")

    wait_until(
        lambda: marker.exists() and "start" in marker.read_text(), 30, "the send never began"
    )
    first.kill()
    assert "sent" not in marker.read_text()
    assert OutboundEmail.objects.get(pk=email.pk).status == "pending"

    worker_factory(**{**env, "FAULT_SEND_SECONDS": "0"})
    wait_until(
        lambda: OutboundEmail.objects.get(pk=email.pk).status == "sent",
        60,
        "the task was not delivered again after the worker died",
    )
    lines = marker.read_text().splitlines()
    assert lines.count("sent Kill me once") == 1, lines
    assert OutboundEmail.objects.get(pk=email.pk).attempts == 1
