"""Writes of vitals, acknowledgments and side-effect reports. The server computes every flag
and raises every alert; the browser only shows them."""

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from clinic.accounts.roles import CLINICIAN_ROLES, StaffRole
from clinic.core.access import user_has_role
from clinic.core.audit import record_access
from clinic.core.models import AccessEvent
from clinic.core.services import notify
from clinic.monitoring.limits import CRITICAL_FLAGS, DEFAULT_LIMITS, Limits, Vital, flag_for
from clinic.monitoring.models import (
    VITAL_FIELDS,
    ReadingPhase,
    SideEffectReport,
    VitalAcknowledgment,
    VitalLimit,
    VitalReading,
)
from clinic.patients.models import ClinicMembership

# DOMAIN.md §4.3 (default; confirm clinically).
SYSTOLIC_RISE_ALERT_MMHG = 40
CLINICIAN = tuple(sorted(CLINICIAN_ROLES))


def limits_for_clinic(clinic):
    """Each vital's limits: the clinic's own critical/normal limits over the defaults."""
    limits = dict(DEFAULT_LIMITS)
    for own in VitalLimit.objects.filter(clinic=clinic):
        default = DEFAULT_LIMITS[own.vital]
        limits[own.vital] = Limits(
            unit=default.unit,
            absolute_low=default.absolute_low,
            absolute_high=default.absolute_high,
            critical_below=own.critical_below,
            critical_from=own.critical_from,
            normal_low=own.normal_low,
            normal_high=own.normal_high,
            loinc=default.loinc,
            ucum=default.ucum,
        )
    return limits


def _number(value, vital, errors, whole=True):
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        errors[vital] = "Enter a number."
        return None
    if not number.is_finite():
        errors[vital] = "Enter a number."
        return None
    if whole and number != number.to_integral_value():
        errors[vital] = "Enter a whole number."
        return None
    return int(number) if whole else number.quantize(Decimal("0.1"))


def _alert_recipients(session, *, include_admins=False):
    clinic = session.course.patient.clinic
    recipients = [session.prescriber] if session.prescriber else []
    if not recipients:
        recipients = [
            membership.user
            for membership in ClinicMembership.objects.filter(
                clinic=clinic, role=StaffRole.PRESCRIBER, is_active=True
            ).select_related("user")
        ]
    if include_admins:
        recipients += [
            membership.user
            for membership in ClinicMembership.objects.filter(
                clinic=clinic, role=StaffRole.ADMIN, is_active=True
            ).select_related("user")
        ]
    return recipients


def _session_link(session):
    return reverse("pathway:session_run", args=[session.public_id])


@transaction.atomic
def vital_record(*, session, by, phase, taken_at=None, planned_at=None, symptoms="", **values):
    """Saves one set of vitals. Implausible values are refused (re-measure); the rest are
    flagged against the clinic's limits, and a critical value alerts the prescriber."""
    from clinic.pathway.models import AdministrationSession

    session = AdministrationSession.objects.select_related("course__patient__clinic").get(
        pk=session.pk
    )
    clinic = session.course.patient.clinic
    if not user_has_role(by, CLINICIAN, clinic=clinic):
        raise ValidationError("Only a clinician of this clinic can record vitals.")
    if session.is_finished:
        raise ValidationError(f"This session is {session.get_status_display().lower()}.")
    if phase not in ReadingPhase.values:
        raise ValidationError({"phase": "Choose when the reading was taken."})
    unknown = set(values) - set(VITAL_FIELDS)
    if unknown:
        raise TypeError(f"Unknown vitals: {sorted(unknown)}")
    errors = {}
    numbers = {
        vital: _number(values.get(vital), vital, errors, whole=vital != Vital.TEMPERATURE)
        for vital in VITAL_FIELDS
    }
    limits = limits_for_clinic(clinic)
    for vital, number in numbers.items():
        if number is None or vital in errors:
            continue
        bound = limits[vital]
        if not bound.absolute_low <= number <= bound.absolute_high:
            errors[vital] = (
                f"{number} is outside {bound.absolute_low} to {bound.absolute_high}"
                f"{' ' + bound.unit if bound.unit else ''}: check the device and measure again."
            )
    systolic, diastolic = numbers[Vital.SYSTOLIC], numbers[Vital.DIASTOLIC]
    if (systolic is None) != (diastolic is None) and not errors:
        errors[Vital.SYSTOLIC if systolic is None else Vital.DIASTOLIC] = (
            "Blood pressure needs both numbers."
        )
    if systolic is not None and diastolic is not None and systolic <= diastolic:
        errors[Vital.SYSTOLIC] = "Systolic must be higher than diastolic; measure again."
    if not any(number is not None for number in numbers.values()) and not errors:
        errors["__all__"] = "Enter at least one vital sign."
    taken_at = taken_at or timezone.now()
    if taken_at > timezone.now() + datetime.timedelta(minutes=2):
        errors["taken_at"] = "A reading cannot be taken in the future."
    if errors:
        raise ValidationError(errors)

    flags = {
        vital: flag
        for vital, number in numbers.items()
        if number is not None and (flag := flag_for(number, limits[vital]))
    }
    reading = VitalReading(
        session=session,
        phase=phase,
        planned_at=planned_at,
        taken_at=taken_at,
        entered_by=by,
        symptoms=(symptoms or "").strip()[:200],
        flags=flags,
        has_critical=any(flag in CRITICAL_FLAGS for flag in flags.values()),
        **numbers,
    )
    reading.full_clean()
    reading.save()
    record_access(
        user=by,
        action=AccessEvent.Action.CREATE,
        object_type="vital_reading",
        object_public_id=reading.public_id,
        patient=session.course.patient,
    )
    _alert_on_reading(session, reading)
    return reading


def _baseline_systolic(session):
    baseline = (
        session.readings.filter(
            phase=ReadingPhase.BASELINE, systolic__isnull=False, entered_in_error=False
        )
        .order_by("-taken_at")
        .values_list("systolic", flat=True)
        .first()
    )
    return baseline


def _alert_on_reading(session, reading):
    patient = session.course.patient
    reasons = []
    if reading.has_critical:
        names = ", ".join(Vital(vital).label for vital in reading.critical_vitals())
        reasons.append(f"critical {names}")
    baseline = _baseline_systolic(session)
    if (
        reading.phase != ReadingPhase.BASELINE
        and baseline is not None
        and reading.systolic is not None
        and reading.systolic - baseline > SYSTOLIC_RISE_ALERT_MMHG
    ):
        reasons.append(f"systolic {reading.systolic - baseline} mmHg above baseline")
    emergency = reading.moaas == 0 or (
        reading.symptoms and reading.flags.get(Vital.SYSTOLIC) in ("high", "critical_high")
    )
    if emergency:
        reasons.insert(0, "possible emergency")
    if not reasons:
        return
    notify(
        recipients=_alert_recipients(session),
        kind="vital_alert",
        severity="emergency" if emergency else "urgent",
        title=(
            f"{patient.display_name}: {'; '.join(reasons)} at "
            f"{timezone.localtime(reading.taken_at):%H:%M}"
        ),
        link=_session_link(session),
        source_key=f"vital:{reading.public_id}",
        clinic=patient.clinic,
        patient=patient,
    )


def unacknowledged_critical_readings(session):
    return session.readings.filter(
        has_critical=True, entered_in_error=False, acknowledgments__isnull=True
    )


@transaction.atomic
def vital_acknowledge(*, reading, by, action_taken):
    reading = (
        VitalReading.objects.select_for_update()
        .select_related("session__course__patient__clinic")
        .get(pk=reading.pk)
    )
    patient = reading.session.course.patient
    if not user_has_role(by, CLINICIAN, clinic=patient.clinic):
        raise ValidationError("Only a clinician of this clinic can acknowledge a reading.")
    if not reading.has_critical:
        raise ValidationError("Only critical readings need an acknowledgment.")
    action_taken = (action_taken or "").strip()
    if not action_taken:
        raise ValidationError({"action_taken": "Say what was done (or why nothing was)."})
    if reading.acknowledgments.exists():
        raise ValidationError("This reading has already been acknowledged.")
    acknowledgment = VitalAcknowledgment.objects.create(
        reading=reading,
        acknowledged_by=by,
        action_taken=action_taken,
        # Explicit, not the field default: the default binds timezone.now at import, so a
        # replayed clock (the demo's past sessions) would stamp the real present instead.
        acknowledged_at=timezone.now(),
    )
    record_access(
        user=by,
        action=AccessEvent.Action.UPDATE,
        object_type="vital_reading",
        object_public_id=reading.public_id,
        patient=patient,
        detail="acknowledged",
    )
    return acknowledgment


@transaction.atomic
def vital_mark_entered_in_error(*, reading, by, reason):
    """Readings are never edited or deleted; a wrong one is marked and taken again."""
    reading = (
        VitalReading.objects.select_for_update()
        .select_related("session__course__patient__clinic")
        .get(pk=reading.pk)
    )
    patient = reading.session.course.patient
    if not user_has_role(by, CLINICIAN, clinic=patient.clinic):
        raise ValidationError("Only a clinician of this clinic can correct a reading.")
    if not (reason or "").strip():
        raise ValidationError({"reason": "Give the reason."})
    if reading.entered_in_error:
        return reading
    VitalReading.objects.filter(pk=reading.pk).update(
        entered_in_error=True, entered_in_error_reason=reason.strip(), updated_at=timezone.now()
    )
    reading.refresh_from_db()
    record_access(
        user=by,
        action=AccessEvent.Action.UPDATE,
        object_type="vital_reading",
        object_public_id=reading.public_id,
        patient=patient,
        detail="entered in error",
    )
    return reading


SIDE_EFFECT_FIELDS = (
    "term", "other_term", "verbatim", "onset_at", "resolved_at", "grade", "serious",
    "serious_criteria", "relatedness", "action_taken", "treatment_given", "outcome",
)  # fmt: skip


def _side_effect_problems(report):
    errors = {}
    if report.grade == 5:
        if report.outcome != "fatal":
            errors["outcome"] = "Grade 5 means death: the outcome is fatal."
        if not report.serious or "death" not in (report.serious_criteria or []):
            errors["serious"] = "Grade 5 is serious, with the criterion death."
    if report.serious and not report.serious_criteria:
        errors["serious_criteria"] = "Tick at least one seriousness criterion."
    if not report.serious and report.serious_criteria:
        errors["serious"] = "Seriousness criteria are ticked: mark the event serious."
    if report.outcome in ("recovered", "recovered_with_sequelae") and not report.resolved_at:
        errors["resolved_at"] = "Give the time it resolved."
    if report.resolved_at and report.onset_at and report.resolved_at < report.onset_at:
        errors["resolved_at"] = "Resolution cannot come before onset."
    if report.onset_at and report.onset_at > timezone.now() + datetime.timedelta(minutes=2):
        errors["onset_at"] = "Onset cannot be in the future."
    if report.action_taken == "treatment_given" and not report.treatment_given.strip():
        errors["treatment_given"] = "Say what treatment was given."
    return errors


@transaction.atomic
def side_effect_report(*, course, by, session=None, **fields):
    """Records a side effect; a serious one, or grade 3 or more, alerts the prescriber and
    the clinic admins at once (DOMAIN.md §6.2)."""
    patient = course.patient
    if not user_has_role(by, CLINICIAN, clinic=patient.clinic):
        raise ValidationError("Only a clinician of this clinic can report a side effect.")
    if session is not None and session.course_id != course.pk:
        raise ValidationError("That session belongs to another course.")
    unknown = set(fields) - set(SIDE_EFFECT_FIELDS)
    if unknown:
        raise TypeError(f"Unexpected fields: {sorted(unknown)}")
    report = SideEffectReport(course=course, session=session, reporter=by, **fields)
    errors = _side_effect_problems(report)
    try:
        report.full_clean()
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key, messages[0])
    if errors:
        raise ValidationError(errors)
    report.save()
    record_access(
        user=by,
        action=AccessEvent.Action.CREATE,
        object_type="side_effect",
        object_public_id=report.public_id,
        patient=patient,
    )
    if report.needs_immediate_alert or report.is_emergency:
        link = (
            _session_link(session)
            if session is not None
            else reverse("pathway:course", args=[course.public_id])
        )
        notify(
            recipients=(
                _alert_recipients(session, include_admins=True)
                if session is not None
                else _course_recipients(course)
            ),
            kind="side_effect",
            severity="emergency" if report.is_emergency else "urgent",
            title=(
                f"{patient.display_name}: {'serious ' if report.serious else ''}"
                f"{report.term_label.lower()}, grade {report.grade}"
            ),
            link=link,
            source_key=f"side_effect:{report.public_id}",
            clinic=patient.clinic,
            patient=patient,
        )
    return report


def _course_recipients(course):
    return [
        membership.user
        for membership in ClinicMembership.objects.filter(
            clinic=course.patient.clinic,
            role__in=[StaffRole.PRESCRIBER, StaffRole.ADMIN],
            is_active=True,
        ).select_related("user")
    ]
