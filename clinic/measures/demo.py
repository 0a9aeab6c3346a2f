"""Demo measures for the demo portal patient: a month of mood journal, PHQ-9 and GAD-7 over
the course (a response, not yet remission), and one past safety alert with its action.

Written through the services with the clock moved back, so every row is what the app itself
would have written on those days.
"""

import datetime
import uuid
from zoneinfo import ZoneInfo

from django.utils import timezone

from clinic.measures import services
from clinic.measures.models import Mode, SafetyAlert
from clinic.pathway.demo_sessions import demo_clock

# (days ago, PHQ-9 items 1-9, GAD-7 items 1-7)
DEMO_SCORES = [
    (20, [2, 2, 2, 3, 2, 2, 2, 2, 1], [2, 2, 2, 2, 2, 1, 2]),
    (9, [2, 2, 2, 2, 2, 2, 2, 2, 0], [2, 2, 2, 2, 1, 1, 1]),
    (4, [1, 1, 2, 2, 1, 1, 2, 1, 0], [1, 1, 2, 1, 1, 1, 1]),
    (1, [1, 1, 1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 0, 0, 1]),
]
JOURNAL_DAYS = 30
SKIPPED_DAYS = {6, 13, 19}  # real journals have gaps
JOURNAL_TAGS = {5: ["treatment day"], 2: ["treatment day", "nausea"], 11: ["conflict"]}


def _local(patient, days_ago, hour):
    tz = ZoneInfo(patient.clinic.timezone)
    day = timezone.now().astimezone(tz).date() - datetime.timedelta(days=days_ago)
    return datetime.datetime.combine(day, datetime.time(hour, 0), tzinfo=tz)


def _mood(days_ago):
    """Low before treatment, lifting after the sessions 5 and 2 days ago."""
    base = 3 if days_ago > 5 else 6
    return min(10, base + (JOURNAL_DAYS - days_ago) % 3 // 2 + (1 if days_ago < 2 else 0))


def seed_demo_measures(patient, clinician):
    if patient.user_id is None or patient.instrument_responses.exists():
        return
    user = patient.user
    for days_ago in range(JOURNAL_DAYS, -1, -1):
        if days_ago in SKIPPED_DAYS or days_ago == 0:
            continue  # today stays empty, for the demo patient to fill in
        mood = _mood(days_ago)
        with demo_clock(_local(patient, days_ago, 20)):
            services.journal_submit(
                patient=patient,
                by=user,
                submission_key=uuid.uuid4(),
                mood=mood,
                energy=max(0, mood - 1),
                anxiety=max(0, 8 - mood),
                sleep_hours=f"{5 + (mood % 3)}.5",
                sleep_quality=mood,
                tags=JOURNAL_TAGS.get(days_ago, []),
                note="Felt lighter after the session." if days_ago == 4 else "",
                safety_thoughts=False,
            )
    for days_ago, phq9, gad7 in DEMO_SCORES:
        with demo_clock(_local(patient, days_ago, 9)):
            for code, answers in (("PHQ-9", phq9), ("GAD-7", gad7)):
                services.response_submit(
                    patient=patient,
                    instrument_code=code,
                    answers=answers,
                    entered_by=user,
                    mode=Mode.SELF,
                    submission_key=uuid.uuid4(),
                )
    with demo_clock(_local(patient, 20, 10)):
        for alert in patient.safety_alerts.filter(status=SafetyAlert.Status.OPEN):
            services.alert_record_action(
                alert=alert,
                by=clinician,
                action=SafetyAlert.Action.CONTACTED,
                note="Called within the hour: passive thoughts, no plan or intent. Safety plan "
                "reviewed; partner at home. Next session as planned.",
            )
    course = services.current_course(patient)
    if course is not None:
        services.due_sync(course=course)
