"""The alerts bell: the unread count in the navbar (one query), the list, marking read."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.core.context_processors import navigation
from clinic.core.models import Notification
from clinic.core.services import notify

pytestmark = pytest.mark.django_db


def _title(severity, i):
    return f"Alert {i}" if severity == "urgent" else f"{severity.title()} {i}"


def _alerts(user, n, severity="urgent"):
    return [
        notify(
            recipients=[user],
            kind="test",
            title=_title(severity, i),
            source_key=f"k{severity}{i}",
            severity=severity,
            link="/clinician/",
            email=False,
        )[0]
        for i in range(n)
    ]


def test_the_bell_shows_the_unread_count_with_one_query(rf, prescriber, nurse):
    _alerts(prescriber, 3)
    _alerts(nurse, 2)
    Notification.objects.filter(title="Alert 0", recipient=prescriber).update(
        read_at="2026-01-01T00:00Z"
    )
    request = rf.get("/")
    request.user = prescriber
    prescriber.is_clinic_staff  # noqa: B018  (role flags may be cached; count the bell alone)
    with CaptureQueriesContext(connection) as queries:
        context = navigation(request)
    counts = [q for q in queries if "core_notification" in q["sql"]]
    assert len(counts) == 1
    assert context["nav_unread_notifications"] == 2


def test_the_page_lists_own_alerts_newest_first_unread_bold_emergency_red(
    client, prescriber, nurse
):
    _alerts(prescriber, 2)
    (emergency,) = _alerts(prescriber, 1, severity="emergency")
    _alerts(nurse, 1, severity="info")
    client.force_login(prescriber)
    page = client.get(reverse("core:notifications")).content.decode()
    assert page.index(emergency.title) < page.index("Alert 1") < page.index("Alert 0")
    assert "notification-emergency" in page and "notification-unread" in page
    assert "Info 0" not in page and page.count("notification-title") == 3
    assert 'class="badge rounded-pill text-bg-danger" aria-hidden="true">3<' in page


def test_mark_read_is_post_only_and_only_for_the_recipient(client, prescriber, nurse):
    (alert,) = _alerts(prescriber, 1)
    url = reverse("core:notification_read", args=[alert.public_id])
    client.force_login(nurse)
    assert client.post(url).status_code == 404
    assert client.get(url).status_code == 404
    client.force_login(prescriber)
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 302
    alert.refresh_from_db()
    assert alert.read_at is not None


def test_mark_all_read(client, prescriber, nurse):
    _alerts(prescriber, 3)
    (others,) = _alerts(nurse, 1)
    client.force_login(prescriber)
    client.post(reverse("core:notifications_read_all"))
    assert not Notification.objects.filter(recipient=prescriber, read_at__isnull=True).exists()
    others.refresh_from_db()
    assert others.read_at is None


def test_the_list_paginates(client, prescriber):
    _alerts(prescriber, 30)
    client.force_login(prescriber)
    first = client.get(reverse("core:notifications")).content.decode()
    second = client.get(reverse("core:notifications") + "?page=2").content.decode()
    assert "Alert 29" in first and "Alert 0" not in first
    assert "Alert 0" in second and "Page 2 of 2" in second


def test_patients_have_no_bell(client, portal_patient):
    client.force_login(portal_patient.user)
    assert client.get(reverse("core:notifications")).status_code == 403
