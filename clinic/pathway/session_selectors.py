"""Reads of administration sessions for a signed-in user (404 and audit as everywhere)."""

import datetime

from django.utils import timezone

from clinic.accounts.roles import STAFF_ROLES
from clinic.pathway.models import AdministrationSession
from clinic.pathway.selectors import _get_or_404, courses_visible_to


def sessions_visible_to(user, roles=STAFF_ROLES):
    return AdministrationSession.objects.filter(course__in=courses_visible_to(user, roles))


def session_get_for_user(user, public_id, roles=STAFF_ROLES):
    return _get_or_404(
        sessions_visible_to(user, roles).select_related(
            "course",
            "course__patient",
            "course__patient__clinic",
            "plan",
            "nurse",
            "prescriber",
            "pre_checklist",
            "discharge_checklist",
        ),
        user=user,
        public_id=public_id,
        object_type="session",
        patient_of=lambda session: session.course.patient,
    )


def sessions_on_day_for_user(user, day=None):
    """The user's clinics' sessions scheduled on `day` (today, in the user's time zone)."""
    day = day or timezone.localdate()
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)
    return (
        sessions_visible_to(user)
        .filter(scheduled_at__gte=start, scheduled_at__lt=start + datetime.timedelta(days=1))
        .select_related("course__patient", "plan", "nurse")
        .order_by("scheduled_at", "id")
    )


def sessions_for_course(course):
    return course.sessions.select_related("plan", "nurse").order_by("session_number")
