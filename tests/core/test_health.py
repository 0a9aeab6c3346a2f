"""`/health/`, and the clean 503 page when the database fails."""

import datetime
from unittest import mock

import pytest
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone

from clinic.core import tasks
from clinic.core.models import Heartbeat

pytestmark = pytest.mark.django_db


def test_anonymous_users_get_the_state_but_no_details(client):
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}  # tests run tasks eagerly: no worker needed
    assert response["Cache-Control"] == "no-store"


def test_clinic_admins_see_each_component(client, clinic_admin):
    client.force_login(clinic_admin)
    body = client.get(reverse("health")).json()
    assert set(body["components"]) == {"database", "broker", "worker"}
    assert body["components"]["database"]["state"] == "ok"


def test_clinicians_do_not_see_details(client, nurse):
    client.force_login(nurse)
    assert "components" not in client.get(reverse("health")).json()


def test_a_stale_worker_heartbeat_makes_the_service_degraded(client, settings, clinic_admin):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with mock.patch("clinic.core.health._broker", return_value=("ok", "")):
        response = client.get(reverse("health"))
        assert response.status_code == 503 and response.json() == {"status": "degraded"}
        tasks.worker_heartbeat()
        assert client.get(reverse("health")).status_code == 200
        Heartbeat.objects.update(seen_at=timezone.now() - datetime.timedelta(minutes=5))
        client.force_login(clinic_admin)
        response = client.get(reverse("health"))
    assert response.status_code == 503
    assert response.json()["components"]["worker"]["state"] == "down"


def test_heartbeat_task_is_idempotent():
    tasks.worker_heartbeat()
    tasks.worker_heartbeat()
    assert Heartbeat.objects.count() == 1


def test_a_database_failure_gives_a_clean_503_page(client, nurse):
    client.force_login(nurse)
    with mock.patch(
        "clinic.patients.views.selectors.patient_search_for_user",
        side_effect=OperationalError("connection refused"),
    ):
        response = client.get(reverse("patients:list"))
    assert response.status_code == 503
    page = response.content.decode()
    assert "was not saved" in page and "Traceback" not in page and "connection refused" not in page
    assert response["Retry-After"] == "30"
