"""`/health/` for load balancers and monitoring: the database, the broker and the worker.

Anyone gets the overall state and a 200 or 503, never details; signed-in clinic admins and
superusers also get each component's state, which tells an operator where to look.
"""

import datetime

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone

from clinic import celery_app

WORKER_STALE_AFTER = datetime.timedelta(minutes=3)


def _database():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "down"; the type goes to operators only
        return "down", type(exc).__name__
    return "ok", ""


def _broker():
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "ok", "tasks run in the web process (eager)"
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return "down", type(exc).__name__
    return "ok", ""


def _worker(database_state):
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "ok", "no separate worker (eager)"
    if database_state != "ok":
        return "unknown", "database down"
    from clinic.core.models import Heartbeat

    beat = Heartbeat.objects.filter(name="worker").first()
    if beat is None:
        return "down", "no heartbeat yet"
    age = timezone.now() - beat.seen_at
    if age > WORKER_STALE_AFTER:
        return "down", f"last heartbeat {int(age.total_seconds())} s ago"
    return "ok", f"last heartbeat {int(age.total_seconds())} s ago"


def health(request):
    database = _database()
    broker = _broker()
    worker = _worker(database[0])
    healthy = all(state == "ok" for state, _ in (database, broker, worker))
    body = {"status": "ok" if healthy else "degraded"}
    user = request.user if database[0] == "ok" else None
    if user is not None and user.is_authenticated and (user.is_superuser or user.is_clinic_admin):
        body["components"] = {
            name: {"state": state, "detail": detail}
            for name, (state, detail) in (
                ("database", database),
                ("broker", broker),
                ("worker", worker),
            )
        }
    response = JsonResponse(body, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response
