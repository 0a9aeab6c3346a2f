"""Writes for rating scales, schedules, the mood journal and safety alerts.

Every function runs in a transaction, validates with `full_clean()`, audits, and is safe to
repeat: a form carries a `submission_key`, so a double tap or a resend returns the entry the
first request saved instead of saving a second one.
"""

import datetime
import logging
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from clinic.accounts.roles import CLINICIAN_ROLES, StaffRole
from clinic.core.access import user_has_role
from clinic.core.audit import record_access
from clinic.core.lookups import only_row
from clinic.core.models import AccessEvent, Notification
from clinic.core.services import addendum_write, notify
from clinic.measures import instruments
from clinic.measures.models import (
    JOURNAL_BACKFILL_DAYS,
    ClinicMeasureSettings,
    DueStatus,
    InstrumentResponse,
    MeasureDue,
    Mode,
    MoodJournalEntry,
    ReminderPreference,
    SafetyAlert,
    ScheduleRule,
    ScheduleTiming,
    Timepoint,
)

logger = logging.getLogger(__name__)

CLINICIAN = tuple(sorted(CLINICIAN_ROLES))
# A due questionnaire may be answered the day before it is due (the evening before a session).
ANSWERABLE_DAYS_EARLY = 1
# An open occasion this many days past its date is recorded as missed (default; confirm
# clinically), so the overdue list shows what can still be acted on.
MISSED_AFTER_DAYS = 14
DEFAULT_INTERVAL_DAYS = 28

TIMEPOINT_FOR_TIMING = {
    ScheduleTiming.BASELINE: Timepoint.BASELINE,
    ScheduleTiming.SESSIONS: Timepoint.PRE_SESSION,
    ScheduleTiming.END_OF_INDUCTION: Timepoint.SCHEDULED,
    ScheduleTiming.FOLLOW_UP: Timepoint.FOLLOW_UP,
    ScheduleTiming.INTERVAL: Timepoint.SCHEDULED,
}


class IncompleteResponse(ValidationError):
    """A questionnaire with blank items. Carries whether its answered items tripped a safety
    rule, because safety rules run on every submission, complete or not (DOMAIN §7.2)."""

    def __init__(self, message, *, safety_alert):
        super().__init__(message)
        self.safety_alert = safety_alert


def patient_local_date(patient, now=None):
    return (now or timezone.now()).astimezone(ZoneInfo(patient.clinic.timezone)).date()


def _audit(user, action, obj, patient, detail=""):
    record_access(
        user=user,
        action=action,
        object_type=obj._meta.model_name,
        object_public_id=obj.public_id,
        patient=patient,
        detail=detail,
    )


def _is_own_record(user, patient):
    return user.is_authenticated and patient.user_id == user.pk


def _require_clinician(user, patient, what):
    if not user_has_role(user, CLINICIAN, clinic=patient.clinic):
        raise ValidationError(f"Only a clinician of this clinic can {what}.")


def measure_settings_for(clinic):
    """The clinic's measure settings; the defaults, unsaved, until someone changes them, so
    that reading them (on every portal page) never writes.

    A clinic loaded with `select_related("measure_settings")` brings its row (or its absence)
    along: then this reads nothing."""
    relation = ClinicMeasureSettings.clinic.field.remote_field  # Clinic.measure_settings
    carried = relation.is_cached(clinic)
    if carried:
        row = relation.get_cached_value(clinic)
    else:
        row = only_row(ClinicMeasureSettings.objects.filter(clinic=clinic))
    if row is not None:
        return row
    defaults = ClinicMeasureSettings(clinic=clinic)
    # Giving the defaults their clinic made the clinic carry them: it has no row, and a
    # caller's changes to the defaults must not come back from the next read.
    if carried:
        relation.set_cached_value(clinic, None)
    else:
        relation.delete_cached_value(clinic)
    return defaults


@transaction.atomic
def measure_settings_update(*, clinic, by, crisis_resources, licensed_instruments, journal_tags):
    if not user_has_role(by, (StaffRole.ADMIN, StaffRole.PRESCRIBER), clinic=clinic):
        raise ValidationError("Only a clinic admin or a prescriber can change these settings.")
    ClinicMeasureSettings.objects.get_or_create(clinic=clinic)
    row = ClinicMeasureSettings.objects.select_for_update().get(clinic=clinic)
    row.crisis_resources = crisis_resources.strip()
    row.licensed_instruments = sorted(set(licensed_instruments))
    row.journal_tags = [tag.strip() for tag in journal_tags if tag.strip()]
    row.full_clean()
    row.save()
    # A clinic that carries its settings (measure_settings_for) carries the new ones.
    ClinicMeasureSettings.clinic.field.remote_field.set_cached_value(clinic, row)
    record_access(
        user=by,
        action=AccessEvent.Action.UPDATE,
        object_type="measure_settings",
        clinic=clinic,
        detail=f"licensed={','.join(row.licensed_instruments) or 'none'}",
    )
    return row


def current_course_query(patient):
    """The patient's courses that are not closed, the most recent first."""
    from clinic.pathway.models import CLOSED_COURSE_STATUSES

    return patient.treatment_courses.exclude(status__in=CLOSED_COURSE_STATUSES).order_by(
        "-created_at", "-id"
    )


def current_course(patient):
    """The patient's most recent course that is not closed, if any."""
    return current_course_query(patient).first()


# --- Safety alerts ---------------------------------------------------------------------


def alert_recipients(patient):
    from clinic.accounts.models import User

    team = User.objects.filter(
        care_team_roles__patient=patient, care_team_roles__is_active=True, is_active=True
    )
    if team.exists():
        return list(team)
    # Nobody named on the care team: every prescriber of the clinic must hear of it.
    return list(
        User.objects.filter(
            clinic_memberships__clinic=patient.clinic,
            clinic_memberships__role=StaffRole.PRESCRIBER,
            clinic_memberships__is_active=True,
            is_active=True,
        ).distinct()
    )


def alert_raise(
    *, patient, source, reason, response=None, journal_entry=None, code="", submission_key=None
):
    """Opens a safety alert and tells the patient's clinicians at once (in the app and by an
    e-mail that names no patient). Call inside the transaction that saved the answer.

    A form that already raised an alert (sent unfinished, then again, or finished) raises
    nothing new: the open alert gains the saved response instead."""
    if submission_key is not None:
        earlier = (
            SafetyAlert.objects.select_for_update()
            .filter(patient=patient, submission_key=submission_key, source=source)
            .first()
        )
        if earlier is not None:
            if response is not None and earlier.response_id is None and earlier.is_open:
                earlier.response = response
                earlier.save(update_fields=["response", "updated_at"])
            return earlier
    alert = SafetyAlert(
        patient=patient,
        source=source,
        reason=reason[:300],
        response=response,
        journal_entry=journal_entry,
        instrument_code=code,
        submission_key=submission_key,
    )
    alert.full_clean()
    alert.save()
    link = reverse("measures:alert_detail", args=[alert.public_id])
    notify(
        recipients=alert_recipients(patient),
        kind="safety_alert",
        severity="urgent",
        title=f"Safety alert: {patient.full_name}: {reason}"[:200],
        body="Record the follow-up action you take; the alert stays open until you do.",
        link=link,
        source_key=f"safety-alert:{alert.public_id}",
        clinic=patient.clinic,
        patient=patient,
    )
    return alert


@transaction.atomic
def alert_record_action(*, alert, by, action, note=""):
    """Closes an alert with what the clinician did. Only once: a second clinician who acts
    on a stale page is told who got there first."""
    alert = (
        SafetyAlert.objects.select_for_update().select_related("patient__clinic").get(pk=alert.pk)
    )
    _require_clinician(by, alert.patient, "record the action taken on a safety alert")
    if not alert.is_open:
        raise ValidationError(
            f"{alert.actioned_by.display_name} already recorded an action at "
            f"{timezone.localtime(alert.actioned_at):%H:%M on %d %b}."
        )
    if action not in SafetyAlert.Action.values:
        raise ValidationError({"action": "Choose what you did."})
    note = (note or "").strip()
    alert.status = SafetyAlert.Status.ACTIONED
    alert.action = action
    alert.action_note = note
    alert.actioned_by = by
    alert.actioned_at = timezone.now()
    alert.full_clean()
    alert.save()
    Notification.objects.filter(
        source_key=f"safety-alert:{alert.public_id}", read_at__isnull=True
    ).update(read_at=alert.actioned_at)
    _audit(by, AccessEvent.Action.UPDATE, alert, alert.patient, f"action {action}")
    return alert


# --- Responses ---------------------------------------------------------------------------


def _check_may_enter(*, patient, instrument, entered_by, mode, measure_settings=None):
    enabled = (measure_settings or measure_settings_for(patient.clinic)).enabled_codes()
    if instrument.code not in enabled:
        raise ValidationError(f"{instrument.code} is not enabled at this clinic.")
    if instrument.rater == "clinician":
        if mode != Mode.CLINICIAN:
            raise ValidationError(f"{instrument.code} is rated by a clinician.")
        _require_clinician(entered_by, patient, f"rate {instrument.code}")
    elif mode == Mode.SELF:
        if not _is_own_record(entered_by, patient):
            raise ValidationError("Only the patient can submit a self-report as their own.")
    elif mode in (Mode.ASSISTED, Mode.PROXY):
        _require_clinician(entered_by, patient, "enter a questionnaire for a patient")
    else:
        raise ValidationError("A patient questionnaire is self-report, assisted or by proxy.")


def _occasions_answered(patient, code, today):
    return MeasureDue.objects.select_for_update().filter(
        patient=patient,
        instrument_code=code,
        status=DueStatus.OPEN,
        due_on__lte=today + datetime.timedelta(days=ANSWERABLE_DAYS_EARLY),
    )


def response_submit(
    *,
    patient,
    instrument_code,
    answers,
    entered_by,
    mode,
    submission_key,
    course=None,
    session=None,
    timepoint=None,
    completed_at=None,
    measure_settings=None,
):
    """Scores and saves a completed questionnaire or rating, marks what it answers as done,
    and raises safety and worsening alerts. Blank items refuse the save (no prorating), but
    a safety answer among them still raises its alert before the refusal.

    `measure_settings`: the patient's clinic's settings when the caller has read them."""
    existing = InstrumentResponse.objects.filter(submission_key=submission_key).first()
    if existing is not None:
        if existing.patient_id != patient.pk:
            raise ValidationError("This form was already used for another record.")
        return existing
    instrument = instruments.get(instrument_code)
    _check_may_enter(
        patient=patient,
        instrument=instrument,
        entered_by=entered_by,
        mode=mode,
        measure_settings=measure_settings,
    )
    result = instrument.score(answers)
    if not result.complete:
        if result.safety_alert:
            with transaction.atomic():
                alert_raise(
                    patient=patient,
                    source=SafetyAlert.Source.QUESTIONNAIRE,
                    reason=f"{instrument.code} (not finished): {'; '.join(result.safety_reasons)}",
                    code=instrument.code,
                    submission_key=submission_key,
                )
        raise IncompleteResponse(
            "Answer every question; a questionnaire is only scored when it is complete.",
            safety_alert=result.safety_alert,
        )
    try:
        with transaction.atomic():
            return _response_save(
                patient=patient,
                instrument=instrument,
                result=result,
                entered_by=entered_by,
                mode=mode,
                submission_key=submission_key,
                course=course,
                session=session,
                timepoint=timepoint,
                completed_at=completed_at,
            )
    except IntegrityError:
        # Two requests with one key raced; the loser returns what the winner saved.
        existing = InstrumentResponse.objects.filter(submission_key=submission_key).first()
        if existing is None:
            raise
        return existing


def _response_save(
    *, patient, instrument, result, entered_by, mode, submission_key, course, session,
    timepoint, completed_at,
):  # fmt: skip
    today = patient_local_date(patient)
    if session is not None:
        course = session.course
    if course is None:
        course = current_course(patient)
    if course is not None and course.patient_id != patient.pk:
        raise ValidationError("The course belongs to another patient.")
    occasions = list(_occasions_answered(patient, instrument.code, today).select_related("rule"))
    if timepoint is None:
        timepoint = (
            TIMEPOINT_FOR_TIMING[occasions[0].rule.timing] if occasions else Timepoint.AD_HOC
        )
    completed_at = completed_at or timezone.now()
    if completed_at > timezone.now() + datetime.timedelta(minutes=5):
        raise ValidationError({"completed_at": "The time cannot be in the future."})
    previous = (
        InstrumentResponse.objects.filter(patient=patient, instrument_code=instrument.code)
        .order_by("-completed_at", "-id")
        .first()
    )
    response = InstrumentResponse(
        patient=patient,
        course=course,
        session=session,
        instrument_code=instrument.code,
        instrument_version=instrument.version,
        answers=list(result.answers),
        total=result.total,
        band=result.band or "",
        safety_alert=result.safety_alert,
        subscales=dict(result.subscales),
        flags=dict(result.flags),
        mode=mode,
        timepoint=timepoint,
        completed_at=completed_at,
        entered_by=entered_by,
        submission_key=submission_key,
    )
    response.full_clean()
    response.save()
    for occasion in occasions:
        occasion.status = DueStatus.COMPLETED
        occasion.response = response
        occasion.save(update_fields=["status", "response", "updated_at"])
    source = (
        SafetyAlert.Source.CLINICIAN_SCALE
        if instrument.rater == "clinician"
        else SafetyAlert.Source.QUESTIONNAIRE
    )
    if result.safety_alert:
        alert_raise(
            patient=patient,
            source=source,
            reason=f"{instrument.code}: {'; '.join(result.safety_reasons)}",
            response=response,
            code=instrument.code,
            submission_key=submission_key,
        )
    rise = instrument.worsening_rise
    if rise and previous is not None and response.total - previous.total >= rise:
        alert_raise(
            patient=patient,
            source=SafetyAlert.Source.WORSENING,
            reason=(
                f"{instrument.code} rose by {response.total - previous.total} "
                f"(from {previous.total} to {response.total})"
            ),
            response=response,
            code=instrument.code,
        )
    _audit(
        entered_by,
        AccessEvent.Action.CREATE,
        response,
        patient,
        f"{instrument.code} total {response.total} ({mode})",
    )
    return response


# --- Mood journal --------------------------------------------------------------------------


def journal_allowed_dates(patient, now=None):
    today = patient_local_date(patient, now)
    return [today - datetime.timedelta(days=back) for back in range(JOURNAL_BACKFILL_DAYS + 1)]


def journal_submit(
    *, patient, by, submission_key, entry_date=None, tags=(), measure_settings=None, **fields
):
    """Saves a patient's journal entry for one of the last few local days, once.

    `measure_settings`: the patient's clinic's settings when the caller has read them."""
    allowed = journal_allowed_dates(patient)
    entry_date = entry_date or allowed[0]
    # One read answers both "was this form already saved?" and "is this day taken?".
    key = MoodJournalEntry._meta.get_field("submission_key").to_python(submission_key)
    day_taken = Q(patient=patient, entry_date=entry_date) if entry_date in allowed else Q(pk__in=[])
    earlier = list(MoodJournalEntry.objects.filter(Q(submission_key=key) | day_taken))
    existing = next((e for e in earlier if e.submission_key == key), None)
    if existing is not None:
        if existing.patient_id != patient.pk:
            raise ValidationError("This form was already used for another record.")
        return existing
    if not _is_own_record(by, patient):
        raise ValidationError("Only the patient writes their mood journal.")
    if entry_date not in allowed:
        raise ValidationError(
            {"entry_date": f"Choose today or one of the {JOURNAL_BACKFILL_DAYS} days before."}
        )
    clinic_tags = (measure_settings or measure_settings_for(patient.clinic)).journal_tags
    unknown = [tag for tag in tags if tag not in clinic_tags]
    if unknown:
        raise ValidationError({"tags": f"Unknown tag: {unknown[0]}."})
    if earlier:  # not this form's key: an entry of this patient on this day
        raise ValidationError(
            {
                "entry_date": "You already wrote an entry for this day. Open it to add "
                "a correction note."
            }
        )
    try:
        with transaction.atomic():
            entry = MoodJournalEntry(
                patient=patient,
                entry_date=entry_date,
                tags=list(tags),
                submitted_by=by,
                submission_key=submission_key,
                **fields,
            )
            # The fields' own checks only. Left to the database, which refuses them anyway
            # (IntegrityError, answered below): the patient and the author, rows this request
            # has read (the author checked as the patient's own user above); the day and the
            # form key, both read above; the new public id. The check constraints repeat the
            # fields' validators (0 to 10, 0 to 24 hours), which have just passed. Each of
            # these is a query of its own in full_clean: 14 of them.
            entry.full_clean(
                exclude=["patient", "submitted_by"],
                validate_unique=False,
                validate_constraints=False,
            )
            entry.save()
            if entry.safety_thoughts:
                alert_raise(
                    patient=patient,
                    source=SafetyAlert.Source.JOURNAL,
                    reason=f"Mood journal {entry_date:%d %b}: thoughts of self-harm today",
                    journal_entry=entry,
                )
            ReminderPreference.objects.filter(
                patient=patient, journal_paused_on__isnull=False
            ).update(journal_paused_on=None)
            _audit(by, AccessEvent.Action.CREATE, entry, patient, f"journal {entry_date}")
            return entry
    except IntegrityError:
        existing = MoodJournalEntry.objects.filter(submission_key=submission_key).first()
        if existing is not None:
            return existing
        raise ValidationError({"entry_date": "You already wrote an entry for this day."}) from None


@transaction.atomic
def correction_note_add(*, target, author, text):
    """A dated, hashed note on a submitted journal entry or questionnaire: the way to correct
    it, since the entry itself never changes."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write what should be corrected."})
    if len(text) > 2000:
        raise ValidationError({"text": "Keep the note under 2,000 characters."})
    patient = target.patient
    if not (_is_own_record(author, patient) or user_has_role(author, CLINICIAN, patient.clinic)):
        raise ValidationError("Only the patient or their clinicians can add a note.")
    addendum = addendum_write(
        target=target,
        author=author,
        text=text,
        bound_to={"target": f"{target._meta.label_lower}:{target.public_id}"},
    )
    _audit(author, AccessEvent.Action.UPDATE, target, patient, "correction note added")
    return addendum


@transaction.atomic
def reminder_preference_update(*, patient, by, **fields):
    if not _is_own_record(by, patient):
        raise ValidationError("Only the patient can change their reminders.")
    ReminderPreference.objects.get_or_create(patient=patient)
    preference = ReminderPreference.objects.select_for_update().get(patient=patient)
    for name, value in fields.items():
        setattr(preference, name, value)
    if fields.get("journal_enabled"):
        preference.journal_paused_on = None
    preference.full_clean()
    preference.save()
    record_access(
        user=by,
        action=AccessEvent.Action.UPDATE,
        object_type="reminder_preference",
        patient=patient,
    )
    return preference


# --- Schedules -----------------------------------------------------------------------------


def _default_rules(course):
    """DOMAIN §7.4 cadence: PHQ-9 before each induction dose; PHQ-9 and GAD-7 at baseline,
    at the end of induction, at follow-ups and every 4 weeks in maintenance; PCL-5 as well
    when the course treats PTSD (all default; confirm clinically)."""
    rules = [
        ("PHQ-9", ScheduleTiming.BASELINE, {}),
        ("GAD-7", ScheduleTiming.BASELINE, {}),
        ("PHQ-9", ScheduleTiming.SESSIONS, {"every_n_sessions": 1}),
        ("PHQ-9", ScheduleTiming.END_OF_INDUCTION, {}),
        ("GAD-7", ScheduleTiming.END_OF_INDUCTION, {}),
        ("PHQ-9", ScheduleTiming.FOLLOW_UP, {}),
        ("GAD-7", ScheduleTiming.FOLLOW_UP, {}),
        ("PHQ-9", ScheduleTiming.INTERVAL, {"interval_days": DEFAULT_INTERVAL_DAYS}),
        ("GAD-7", ScheduleTiming.INTERVAL, {"interval_days": DEFAULT_INTERVAL_DAYS}),
    ]
    if "ptsd" in course.indication.lower() or "stress" in course.indication.lower():
        rules += [
            ("PCL-5", ScheduleTiming.BASELINE, {}),
            ("PCL-5", ScheduleTiming.END_OF_INDUCTION, {}),
        ]
    return rules


def schedule_ensure_defaults(course):
    """Gives a course the default schedule the first time it needs one."""
    if course.measure_rules.exists():
        return
    enabled = set(measure_settings_for(course.patient.clinic).enabled_codes())
    rules = [
        ScheduleRule(course=course, instrument_code=code, timing=timing, **extra)
        for code, timing, extra in _default_rules(course)
        if code in enabled
    ]
    for rule in rules:
        rule.full_clean(validate_unique=False, validate_constraints=False)
    # One insert; the database's unique and check constraints still hold every row.
    ScheduleRule.objects.bulk_create(rules)


@transaction.atomic
def schedule_rule_add(*, course, by, instrument_code, timing, every_n_sessions=None,
                      interval_days=None):  # fmt: skip
    _require_clinician(by, course.patient, "change the measurement schedule")
    enabled = measure_settings_for(course.patient.clinic).enabled_codes()
    if instrument_code not in enabled:
        raise ValidationError({"instrument_code": f"{instrument_code} is not enabled here."})
    if course.measure_rules.filter(
        instrument_code=instrument_code, timing=timing, is_active=True
    ).exists():
        raise ValidationError({"timing": f"{instrument_code} already has this timing."})
    rule = ScheduleRule(
        course=course,
        instrument_code=instrument_code,
        timing=timing,
        every_n_sessions=every_n_sessions if timing == ScheduleTiming.SESSIONS else None,
        interval_days=interval_days if timing == ScheduleTiming.INTERVAL else None,
    )
    rule.full_clean()
    rule.save()
    _audit(by, AccessEvent.Action.CREATE, rule, course.patient, f"schedule {rule}")
    due_sync(course=course)
    return rule


@transaction.atomic
def schedule_rule_stop(*, rule, by):
    _require_clinician(by, rule.course.patient, "change the measurement schedule")
    ScheduleRule.objects.filter(pk=rule.pk).update(is_active=False, updated_at=timezone.now())
    _audit(by, AccessEvent.Action.UPDATE, rule, rule.course.patient, f"stopped {rule}")
    due_sync(course=rule.course)


def _local_date(value, tz):
    return value.astimezone(tz).date()


def _wanted_occasions(course, rules, tz, today):
    """{(code, slot): (rule, due_on, label)} for every occasion the rules call for now."""
    from clinic.pathway.models import CourseStatus, FollowUpStatus, PlanStatus, SessionStatus

    not_held = (SessionStatus.CANCELLED, SessionStatus.NO_SHOW)
    # Positions, not session numbers: a cancelled or missed booking keeps its number, and
    # the rebooked dose is the one that counts.
    live_sessions = sorted(
        (s for s in course.sessions.all() if s.status not in not_held),
        key=lambda s: s.session_number,
    )
    plan = course.plans.filter(status=PlanStatus.APPROVED).first()
    follow_ups = [f for f in course.follow_ups.all() if f.status != FollowUpStatus.CANCELLED]
    wanted = {}
    for rule in rules:
        code = rule.instrument_code
        if rule.timing == ScheduleTiming.BASELINE:
            wanted[code, "baseline"] = (rule, _local_date(course.created_at, tz), "Baseline")
        elif rule.timing == ScheduleTiming.SESSIONS:
            for position, session in enumerate(live_sessions):
                if position % rule.every_n_sessions == 0:
                    wanted[code, f"session-{session.public_id}"] = (
                        rule,
                        _local_date(session.scheduled_at, tz),
                        f"Before session {session.session_number}",
                    )
        elif rule.timing == ScheduleTiming.END_OF_INDUCTION and plan and plan.induction_sessions:
            if len(live_sessions) >= plan.induction_sessions:
                last = live_sessions[plan.induction_sessions - 1]
                wanted[code, "end-of-induction"] = (
                    rule,
                    _local_date(last.scheduled_at, tz),
                    "End of induction",
                )
        elif rule.timing == ScheduleTiming.FOLLOW_UP:
            for follow_up in follow_ups:
                wanted[code, f"follow-up-{follow_up.public_id}"] = (
                    rule,
                    follow_up.due_on,
                    f"{follow_up.get_kind_display()} follow-up",
                )
        elif rule.timing == ScheduleTiming.INTERVAL and course.status == CourseStatus.MAINTENANCE:
            last = (
                course.instrument_responses.filter(instrument_code=code)
                .order_by("-completed_at")
                .values_list("completed_at", flat=True)
                .first()
            )
            start = _local_date(last or course.status_changed_at or timezone.now(), tz)
            due_on = start + datetime.timedelta(days=rule.interval_days)
            wanted[code, f"interval-{due_on.isoformat()}"] = (
                rule,
                due_on,
                f"Every {rule.interval_days} days",
            )
    return wanted


def due_sync(*, course, today=None):
    """Brings the course's due occasions in line with its rules and its sessions, visits
    and status. Idempotent: it only adds occasions that are missing and closes those that no
    longer apply, so any number of runs (events, the nightly sweep) agree."""
    from clinic.pathway.models.session import FINISHED_SESSION_STATUSES

    with transaction.atomic():
        course = (
            course.__class__.objects.select_for_update()
            .select_related("patient__clinic")
            .get(pk=course.pk)
        )
        tz = ZoneInfo(course.patient.clinic.timezone)
        today = today or timezone.now().astimezone(tz).date()
        existing = {(d.instrument_code, d.slot): d for d in course.measures_due.all()}
        if course.is_closed:
            course.measures_due.filter(status=DueStatus.OPEN).update(
                status=DueStatus.CANCELLED, updated_at=timezone.now()
            )
            return
        schedule_ensure_defaults(course)
        rules = list(course.measure_rules.filter(is_active=True))
        wanted = _wanted_occasions(course, rules, tz, today)
        for (code, slot), (rule, due_on, label) in wanted.items():
            occasion = existing.get((code, slot))
            if occasion is None:
                MeasureDue.objects.create(
                    patient=course.patient,
                    course=course,
                    rule=rule,
                    instrument_code=code,
                    slot=slot,
                    label=label,
                    due_on=due_on,
                )
            elif occasion.status == DueStatus.CANCELLED:
                # Wanted again (a rule restarted, the last induction dose rebooked).
                occasion.status, occasion.due_on, occasion.rule = DueStatus.OPEN, due_on, rule
                occasion.save(update_fields=["status", "due_on", "rule", "updated_at"])
            elif occasion.status == DueStatus.OPEN and occasion.due_on != due_on:
                occasion.due_on = due_on  # the session or visit was moved
                occasion.save(update_fields=["due_on", "updated_at"])
        finished_sessions = {
            f"session-{s.public_id}"
            for s in course.sessions.filter(status__in=FINISHED_SESSION_STATUSES)
        }
        for key, occasion in existing.items():
            if occasion.status != DueStatus.OPEN:
                continue
            if key not in wanted:
                occasion.status = DueStatus.CANCELLED
            elif occasion.slot in finished_sessions or (
                occasion.due_on < today - datetime.timedelta(days=MISSED_AFTER_DAYS)
            ):
                occasion.status = DueStatus.MISSED
            else:
                continue
            occasion.save(update_fields=["status", "updated_at"])


def due_sync_open_courses(today=None):
    """The nightly sweep: every course that is not closed, plus closed ones with open items."""
    from clinic.pathway.models import CLOSED_COURSE_STATUSES, TreatmentCourse

    course_ids = set(
        TreatmentCourse.objects.exclude(status__in=CLOSED_COURSE_STATUSES).values_list(
            "pk", flat=True
        )
    ) | set(MeasureDue.objects.filter(status=DueStatus.OPEN).values_list("course_id", flat=True))
    for course in TreatmentCourse.objects.filter(pk__in=course_ids):
        try:
            due_sync(course=course, today=today)
        except Exception:  # one bad course must not stop the sweep for the others
            logger.exception("due_sync failed for course %s", course.pk)
    return len(course_ids)
