"""Reads of the audit log for a clinic's admins."""

import datetime
import zoneinfo

from clinic.core.models import AccessEvent


def access_events_for_clinic(
    clinic, *, patient=None, user=None, action="", outcome="", start=None, end=None
):
    """The clinic's access events, newest first, filtered by values the caller has already
    validated; the date range is in the clinic's time zone, both days included."""
    events = AccessEvent.objects.filter(clinic=clinic)
    if patient is not None:
        events = events.filter(patient=patient)
    if user is not None:
        events = events.filter(user=user)
    if action:
        events = events.filter(action=action)
    if outcome:
        events = events.filter(outcome=outcome)
    tz = zoneinfo.ZoneInfo(clinic.timezone)
    if start:
        events = events.filter(
            occurred_at__gte=datetime.datetime.combine(start, datetime.time.min, tzinfo=tz)
        )
    if end:
        day_after = end + datetime.timedelta(days=1)
        events = events.filter(
            occurred_at__lt=datetime.datetime.combine(day_after, datetime.time.min, tzinfo=tz)
        )
    return events.select_related("user", "patient").order_by("-occurred_at", "-id")
