"""Reads of scores, journal entries, schedules and alerts for a signed-in user.

Staff lookups scope by the patients the user may see; portal lookups by the user's own
record. Every lookup by public id is audited, allowed or not.
"""

import datetime
import uuid
from decimal import Decimal
from statistics import mean
from zoneinfo import ZoneInfo

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import JSONField, Q, Subquery
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.utils import timezone

from clinic.accounts.roles import CLINICIAN_ROLES, STAFF_ROLES
from clinic.core.audit import record_access
from clinic.core.lookups import scoped_get_or_404
from clinic.core.models import AccessEvent, Addendum
from clinic.measures import instruments
from clinic.measures.models import (
    DueStatus,
    InstrumentResponse,
    MeasureDue,
    MoodJournalEntry,
    ReminderPreference,
    SafetyAlert,
)
from clinic.measures.services import (
    ANSWERABLE_DAYS_EARLY,
    current_course_query,
    measure_settings_for,
    patient_local_date,
)
from clinic.patients.models import Patient
from clinic.patients.selectors import (
    memberships_of,
    patients_visible_to,
    visible_patient_q,
)

JOURNAL_CHART_DAYS = 90
BASELINE_MAX_AGE_DAYS = 30  # DOMAIN §7.4 (default; confirm clinically)
LOW_MOOD = 2
LOW_MOOD_RUN = 3
MOOD_DROP = 3


def instrument_for_slug(slug):
    """The instrument named by a URL slug, or 404."""
    try:
        return instruments.get_by_slug(slug)
    except instruments.UnknownInstrument as exc:
        raise Http404("No such questionnaire.") from exc


def _patient_of(obj):
    return obj.patient


# --- staff ---------------------------------------------------------------------------------


def alerts_visible_to(user):
    return SafetyAlert.objects.filter(
        patient__in=patients_visible_to(user, roles=STAFF_ROLES, include_own=False)
    )


def alert_get_for_user(user, public_id):
    return scoped_get_or_404(
        alerts_visible_to(user).select_related(
            "patient__clinic", "actioned_by", "response", "journal_entry"
        ),
        user=user,
        public_id=public_id,
        object_type="safety_alert",
        patient_of=_patient_of,
    )


def alert_list_for_user(user, *, status=SafetyAlert.Status.OPEN):
    record_access(
        user=user, action=AccessEvent.Action.LIST, object_type="safety_alert_list",
        detail=f"status={status}",
    )  # fmt: skip
    return (
        alerts_visible_to(user)
        .filter(status=status)
        .select_related("patient", "actioned_by")
        .order_by("-raised_at", "-id")
    )


def patient_get_for_user(user, public_id, *, roles=STAFF_ROLES):
    """The patient `public_id` if `user` may see it with `roles`, else 404, audited either
    way: `patients.selectors.patient_get_for_user` (the same scope, the same audit rows), with
    the clinic's measure settings read in the same query, for the measures pages."""
    return scoped_get_or_404(
        patients_visible_to(user, roles=roles, include_own=False).select_related(
            "clinic__measure_settings", "user"
        ),
        user=user,
        public_id=public_id,
        object_type="patient",
        patient_of=lambda patient: patient,
    )


# The patient's open safety alerts as a JSON array, a correlated subquery of the patient's
# query: fixed SQL per vendor (as accounts.backends reads the memberships).
OPEN_ALERTS_SQL = {
    "postgresql": (
        "(SELECT JSONB_AGG(JSONB_BUILD_OBJECT('public_id', a.public_id, 'reason', a.reason, "
        "'raised_at', a.raised_at) ORDER BY a.raised_at DESC, a.id DESC) "
        "FROM measures_safetyalert a "
        "WHERE a.patient_id = patients_patient.id AND a.status = %s)"
    ),
    "sqlite": (
        "(SELECT JSON_GROUP_ARRAY(JSON_OBJECT('public_id', a.public_id, 'reason', a.reason, "
        "'raised_at', a.raised_at)) FROM measures_safetyalert a "
        "WHERE a.patient_id = patients_patient.id AND a.status = %s)"
    ),
}


def patient_outcomes_get_for_user(user, public_id):
    """`patient_get_for_user` (staff roles, audited either way) for the outcomes page, in one
    query scoped by the clinic ids the user carries (`visible_patient_q`), with the
    patient's open safety alerts read in the same query: (patient, alerts), the alerts
    newest first, each a dict of its public_id, reason and raised_at."""
    rows = RawSQL(  # noqa: S611 # nosec B611 - fixed SQL, the status a parameter
        OPEN_ALERTS_SQL[connection.vendor], (SafetyAlert.Status.OPEN,), output_field=JSONField()
    )
    patient = scoped_get_or_404(
        Patient.objects.filter(visible_patient_q(user))
        .select_related("clinic__measure_settings", "user")
        .annotate(open_alert_rows=rows),
        user=user,
        public_id=public_id,
        object_type="patient",
        patient_of=lambda patient: patient,
    )
    alerts = [
        {
            "public_id": uuid.UUID(row["public_id"]),
            "reason": row["reason"],
            "raised_at": _json_datetime(row["raised_at"]),
        }
        # PostgreSQL's aggregate of no rows is NULL, SQLite's an empty array.
        for row in patient.open_alert_rows or []
    ]
    del patient.open_alert_rows
    alerts.sort(key=lambda alert: alert["raised_at"], reverse=True)
    return patient, alerts


def _json_datetime(value):
    """A datetime as a JSON aggregate gives it: PostgreSQL's ISO text with its offset,
    SQLite's stored text (UTC, without one)."""
    moment = datetime.datetime.fromisoformat(value)
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=datetime.UTC)


def response_get_for_user(user, public_id):
    return scoped_get_or_404(
        InstrumentResponse.objects.filter(
            patient__in=patients_visible_to(user, include_own=False)
        ).select_related("patient__clinic", "entered_by", "session", "course"),
        user=user,
        public_id=public_id,
        object_type="instrument_response",
        patient_of=_patient_of,
    )


def overdue_for_user(user, *, today=None):
    """Open occasions past their date, for the patients of the user's clinics."""
    record_access(user=user, action=AccessEvent.Action.LIST, object_type="overdue_measures")
    return (
        overdue_measures_query(user, today=today)
        .select_related("patient", "course")
        .order_by("due_on", "patient__family_name", "instrument_code")
    )


def open_alerts_query(user):
    """The open alerts of the patients of the user's clinics, unordered: for counting.
    Scoped by the clinic ids the user carries (`patients.selectors.visible_patient_q`)."""
    return SafetyAlert.objects.filter(
        visible_patient_q(user, through="patient__"), status=SafetyAlert.Status.OPEN
    ).order_by()


def overdue_measures_query(user, *, today=None):
    """The open occasions of the patients of the user's clinics (clinician roles) past
    their date, unordered: before `today` when given, else before each clinic's own today
    (a clinician of clinics in two time zones sees each patient's "today" as that patient's
    clinic has it). Scoped by the clinics and time zones the user's memberships carry."""
    if today is not None:
        past_due = Q(due_on__lt=today)
    else:
        now = timezone.now()
        local_today = {}
        for role, clinic_id, clinic_active, tz in memberships_of(user):
            if clinic_active and role in CLINICIAN_ROLES:
                local_today[clinic_id] = now.astimezone(ZoneInfo(tz)).date()
        past_due = Q(pk__in=[])
        for clinic_id, clinic_today in local_today.items():
            past_due |= Q(patient__clinic_id=clinic_id, due_on__lt=clinic_today)
    return MeasureDue.objects.filter(
        past_due,
        visible_patient_q(user, roles=CLINICIAN_ROLES, through="patient__"),
        status=DueStatus.OPEN,
    ).order_by()


def current_course_sessions(patient, *, limit):
    """The last `limit` sessions of the patient's current course (`services.current_course`),
    newest first, each with its course: one query."""
    from clinic.pathway.models import AdministrationSession

    course = current_course_query(patient).values("pk")[:1]
    return list(
        AdministrationSession.objects.filter(course=Subquery(course))
        .select_related("course")
        .order_by("-session_number")[:limit]
    )


# --- outcomes ------------------------------------------------------------------------------


def baseline_for(responses, first_dose_at):
    """DOMAIN §7.4: the last score before the first dose, at most 30 days before it."""
    if first_dose_at is None:
        return None
    earliest = first_dose_at - datetime.timedelta(days=BASELINE_MAX_AGE_DAYS)
    before = [r for r in responses if earliest <= r.completed_at <= first_dose_at]
    return before[-1] if before else None


def outcomes_for_patient(patient, *, sessions=None, journal=True):
    """Per-instrument series with bands, baseline, latest, response and remission; the
    treatment sessions and the mood journal, for the outcomes charts; every response, oldest
    first (`responses`). Constant queries.

    `sessions`: every treatment session of the patient (AdministrationSession objects, in
    any order), when the caller has read them already: the dosed ones are taken from them
    rather than read again. `journal=False`, for a page that shows no journal: the journal
    is not read (`journal` and `journal_flags` are None)."""
    from clinic.pathway.models import AdministrationSession
    from clinic.pathway.models.session import DOSED_SESSION_STATUSES

    responses = list(
        InstrumentResponse.objects.filter(patient=patient).order_by("completed_at", "id")
    )
    if sessions is None:
        sessions = list(
            AdministrationSession.objects.filter(
                course__patient=patient, status__in=DOSED_SESSION_STATUSES
            )
            .order_by("dose_started_at")
            .values("session_number", "dose_started_at", "public_id")
        )
    else:
        # As the query orders them: by the dose's start, a session without one last.
        sessions = sorted(
            (
                {
                    "session_number": s.session_number,
                    "dose_started_at": s.dose_started_at,
                    "public_id": s.public_id,
                }
                for s in sessions
                if s.status in DOSED_SESSION_STATUSES
            ),
            key=lambda s: (s["dose_started_at"] is None, s["dose_started_at"]),
        )
    first_dose_at = sessions[0]["dose_started_at"] if sessions else None
    by_code = {}
    for response in responses:
        by_code.setdefault(response.instrument_code, []).append(response)
    series = []
    for instrument in instruments.all_instruments():
        rows = by_code.get(instrument.code)
        if not rows:
            continue
        baseline = baseline_for(rows, first_dose_at)
        latest = rows[-1]
        outcome = instruments.response_status(
            instrument.code, baseline.total if baseline else None, latest.total
        )
        series.append(
            {
                "instrument": instrument,
                "responses": rows,
                "baseline": baseline,
                "latest": latest,
                "outcome": outcome,
                "chart": {
                    "code": instrument.code,
                    "name": instrument.name,
                    "min": instrument.min_total,
                    "max": instrument.max_total,
                    "bands": [
                        {"low": b.low, "high": b.high, "name": b.name} for b in instrument.bands
                    ],
                    "points": [
                        {"x": r.completed_at.isoformat(), "y": r.total, "band": r.band}
                        for r in rows
                    ],
                },
            }
        )
    journal_days = journal_series(patient, days=JOURNAL_CHART_DAYS) if journal else None
    return {
        "responses": responses,
        "series": series,
        "sessions": [
            {"x": s["dose_started_at"].isoformat(), "label": f"Session {s['session_number']}"}
            for s in sessions
            if s["dose_started_at"]
        ],
        "journal": journal_days,
        "journal_flags": journal_flags(journal_days) if journal else None,
        "first_dose_at": first_dose_at,
    }


def journal_series(patient, *, days=JOURNAL_CHART_DAYS, today=None):
    today = today or patient_local_date(patient)
    since = today - datetime.timedelta(days=days - 1)
    rows = (
        MoodJournalEntry.objects.filter(patient=patient, entry_date__gte=since)
        .order_by("entry_date")
        .values("entry_date", "mood", "energy", "anxiety", "sleep_hours", "safety_thoughts")
    )
    return [
        {
            "x": row["entry_date"].isoformat(),
            "mood": row["mood"],
            "energy": row["energy"],
            "anxiety": row["anxiety"],
            "sleep": float(row["sleep_hours"]),
            "safety": row["safety_thoughts"],
        }
        for row in rows
    ]


def journal_flags(journal):
    """DOMAIN §8 clinician flags: the safety item; mood <= 2 three days running; a mood
    3 or more below the mean of the 7 entries before it."""
    flags = []
    for index, day in enumerate(journal):
        if day["safety"]:
            flags.append({"date": day["x"], "text": "Thoughts of self-harm reported"})
        run = journal[max(0, index - LOW_MOOD_RUN + 1) : index + 1]
        consecutive = len(run) == LOW_MOOD_RUN and all(
            (
                datetime.date.fromisoformat(run[i + 1]["x"])
                - datetime.date.fromisoformat(run[i]["x"])
            ).days
            == 1
            for i in range(LOW_MOOD_RUN - 1)
        )
        if consecutive and all(d["mood"] <= LOW_MOOD for d in run):
            flags.append({"date": day["x"], "text": f"Mood {LOW_MOOD} or lower three days running"})
        previous = journal[max(0, index - 7) : index]
        if len(previous) >= 3:
            average = Decimal(str(mean(d["mood"] for d in previous))).quantize(Decimal("0.1"))
            if day["mood"] <= average - MOOD_DROP:
                flags.append(
                    {
                        "date": day["x"],
                        "text": f"Mood {day['mood']}, {MOOD_DROP}+ below the mean of {average}",
                    }
                )
    return flags


def seven_day_mean(journal, today):
    since = today - datetime.timedelta(days=6)
    moods = [d["mood"] for d in journal if datetime.date.fromisoformat(d["x"]) >= since]
    if not moods:
        return None
    return Decimal(str(mean(moods))).quantize(Decimal("0.1"))


def corrections_for(obj):
    return list(
        Addendum.objects.filter(
            content_type=ContentType.objects.get_for_model(type(obj)), object_id=obj.pk
        )
        .select_related("author")
        .order_by("signed_at")
    )


# --- portal --------------------------------------------------------------------------------


def portal_due(patient, *, today=None, measure_settings=None):
    """Questionnaires the patient can answer now: open, patient-rated, due by tomorrow.
    `measure_settings`: the clinic's, when the caller has read them."""
    today = today or patient_local_date(patient)
    patient_codes = [i.code for i in instruments.all_instruments() if i.rater == "patient"]
    enabled = set((measure_settings or measure_settings_for(patient.clinic)).enabled_codes())
    due = (
        MeasureDue.objects.filter(
            patient=patient,
            status=DueStatus.OPEN,
            instrument_code__in=[c for c in patient_codes if c in enabled],
            due_on__lte=today + datetime.timedelta(days=ANSWERABLE_DAYS_EARLY),
        )
        .order_by("due_on")
        .values_list("instrument_code", "due_on", "label")
    )
    # One entry per instrument: answering it once fulfils every open occasion.
    grouped = {}
    for code, due_on, label in due:
        grouped.setdefault(code, {"instrument": instruments.get(code), "due_on": due_on,
                                  "labels": []})["labels"].append(label)  # fmt: skip
    return list(grouped.values())


def own_journal_entries(patient):
    return MoodJournalEntry.objects.filter(patient=patient).order_by("-entry_date", "-id")


def own_responses(patient):
    return InstrumentResponse.objects.filter(patient=patient).order_by("-completed_at", "-id")


def _own_get(queryset, *, user, public_id, object_type):
    return scoped_get_or_404(
        # The clinic's measure settings with it: the page's crisis text.
        queryset.filter(patient__user=user).select_related("patient__clinic__measure_settings"),
        user=user,
        public_id=public_id,
        object_type=object_type,
        patient_of=_patient_of,
    )


def own_journal_entry_get(user, public_id):
    return _own_get(
        MoodJournalEntry.objects.all(), user=user, public_id=public_id, object_type="journal_entry"
    )


def own_response_get(user, public_id):
    return _own_get(
        InstrumentResponse.objects.all(),
        user=user,
        public_id=public_id,
        object_type="instrument_response",
    )


def reminder_preference_for(patient):
    """The patient's reminder settings; the defaults, unsaved, until they change them."""
    return ReminderPreference.objects.filter(patient=patient).first() or ReminderPreference(
        patient=patient
    )
