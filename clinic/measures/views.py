"""Clinician pages for measures: safety alerts, overdue questionnaires, the outcomes page,
clinician ratings, per-course schedules and the clinic's measure settings.

Thin views: lookups through selectors (404 and audit), writes through services.
"""

from django.contrib import messages
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone

from clinic.accounts.roles import CLINICIAN_ROLES, STAFF_ROLES, StaffRole
from clinic.core.access import clinician_required, staff_required, user_has_role
from clinic.core.forms import add_service_errors, choose_listed
from clinic.measures import instruments, selectors, services
from clinic.measures.forms import (
    AlertActionForm,
    ClinicianRatingForm,
    MeasureSettingsForm,
    ScheduleRuleForm,
)
from clinic.measures.models import SafetyAlert
from clinic.pathway import selectors as pathway_selectors
from clinic.patients import selectors as patient_selectors

LIST_PAGE_SIZE = 30


def _roles_for(request):
    """Writing needs a clinician role in the record's clinic; reading, any staff role."""
    return CLINICIAN_ROLES if request.method == "POST" else STAFF_ROLES


# --- alerts ---------------------------------------------------------------------------------


@staff_required
def alert_list(request):
    status = request.GET.get("status", SafetyAlert.Status.OPEN)
    if status not in SafetyAlert.Status.values:
        raise BadRequest(f"Unknown alert status {status!r}.")
    page = Paginator(selectors.alert_list_for_user(request.user, status=status), LIST_PAGE_SIZE)
    return render(
        request,
        "measures/alert_list.html",
        {
            "page": page.get_page(request.GET.get("page")),
            "status": status,
            "querystring": f"status={status}",
        },
    )


@staff_required
def alert_detail(request, public_id):
    alert = selectors.alert_get_for_user(request.user, public_id)
    can_act = user_has_role(request.user, CLINICIAN_ROLES, clinic=alert.patient.clinic)
    form = AlertActionForm()
    if request.method == "POST":
        if not can_act:
            raise PermissionDenied
        form = AlertActionForm(request.POST)
        if form.is_valid():
            try:
                services.alert_record_action(
                    alert=alert,
                    by=request.user,
                    action=form.cleaned_data["action"],
                    note=form.cleaned_data["note"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Action recorded; the alert is closed.")
                return redirect("measures:alert_detail", alert.public_id)
    return render(
        request,
        "measures/alert_detail.html",
        {
            "alert": alert,
            "patient": alert.patient,
            "form": form if can_act and alert.is_open else None,
        },
        status=400 if form.errors else 200,
    )


# --- overdue --------------------------------------------------------------------------------


@clinician_required
def overdue(request):
    page = Paginator(selectors.overdue_for_user(request.user), LIST_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "measures/overdue.html",
        {"page": page, "today": timezone.localdate(), "querystring": ""},
    )


# --- outcomes and responses ----------------------------------------------------------------


@staff_required
def outcomes(request, public_id):
    patient, open_alerts = selectors.patient_outcomes_get_for_user(request.user, public_id)
    data = selectors.outcomes_for_patient(patient)
    enabled = services.measure_settings_for(patient.clinic).enabled_codes()
    today = services.patient_local_date(patient)
    return render(
        request,
        "measures/outcomes.html",
        {
            "patient": patient,
            "outcomes": data,
            "seven_day_mean": selectors.seven_day_mean(data["journal"], today),
            "open_alerts": open_alerts,
            "due": list(
                patient.measures_due.filter(status="open")
                .order_by("due_on")
                .select_related("course")[:20]
            ),
            "rateable": [i for i in instruments.all_instruments() if i.code in enabled],
            "can_write": user_has_role(request.user, CLINICIAN_ROLES, clinic=patient.clinic),
            "today": today,
            "chart_data": {
                "series": [s["chart"] for s in data["series"]],
                "sessions": data["sessions"],
                "journal": data["journal"],
            },
        },
    )


@staff_required
def response_detail(request, public_id):
    response = selectors.response_get_for_user(request.user, public_id)
    return render(
        request,
        "measures/response_detail.html",
        {
            "response": response,
            "patient": response.patient,
            "rows": response.item_rows(),
            "corrections": selectors.corrections_for(response),
        },
    )


@clinician_required
def rate(request, public_id, slug):
    """A clinician enters a rating (MADRS, MOAA/S, ...) or a patient's questionnaire with
    or for them."""
    patient = selectors.patient_get_for_user(request.user, public_id, roles=CLINICIAN_ROLES)
    instrument = selectors.instrument_for_slug(slug)
    if instrument.code not in services.measure_settings_for(patient.clinic).enabled_codes():
        raise Http404("This instrument is not enabled at this clinic.")
    sessions = selectors.current_course_sessions(patient, limit=12)
    kwargs = {"instrument": instrument, "sessions": sessions}
    if request.method == "POST":
        form = ClinicianRatingForm(request.POST, **kwargs)
        if form.is_valid():
            try:
                response = services.response_submit(
                    patient=patient,
                    instrument_code=instrument.code,
                    answers=form.answers(),
                    entered_by=request.user,
                    mode=form.chosen_mode(),
                    submission_key=form.cleaned_data["submission_key"],
                    session=form.chosen_session(),
                )
            except services.IncompleteResponse as exc:
                form.mark_blank_items()
                form.add_error(None, exc.messages)
                if exc.safety_alert:
                    form.add_error(None, "A safety answer was recorded; an alert is open.")
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"{instrument.code} saved: {response.total}.")
                return redirect("measures:response_detail", response.public_id)
    else:
        initial = {"submission_key": ClinicianRatingForm.fresh_key()}
        if request.GET.get("session"):
            initial["session"] = request.GET["session"]
        form = ClinicianRatingForm(initial=initial, **kwargs)
    return render(
        request,
        "measures/rate.html",
        {"patient": patient, "instrument": instrument, "form": form},
        status=400 if form.errors else 200,
    )


# --- schedules ------------------------------------------------------------------------------


@staff_required
def schedule(request, public_id):
    course = pathway_selectors.course_get_for_user(request.user, public_id, _roles_for(request))
    patient = course.patient
    enabled = services.measure_settings_for(patient.clinic).enabled_codes()
    can_write = user_has_role(request.user, CLINICIAN_ROLES, clinic=patient.clinic)
    form = ScheduleRuleForm(enabled_codes=enabled)
    if request.method == "POST":
        form = ScheduleRuleForm(request.POST, enabled_codes=enabled)
        if form.is_valid():
            try:
                services.schedule_rule_add(course=course, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Added to the schedule.")
                return redirect("measures:schedule", course.public_id)
    return render(
        request,
        "measures/schedule.html",
        {
            "course": course,
            "patient": patient,
            "rules": list(course.measure_rules.filter(is_active=True)),
            "occasions": list(
                course.measures_due.exclude(status="cancelled")
                .select_related("response")
                .order_by("due_on")
            ),
            "form": form if can_write else None,
            "today": services.patient_local_date(patient),
        },
        status=400 if form.errors else 200,
    )


@clinician_required
def schedule_rule_stop(request, public_id, rule_id):
    course = pathway_selectors.course_get_for_user(request.user, public_id, CLINICIAN_ROLES)
    rule = course.measure_rules.filter(public_id=rule_id, is_active=True).first()
    if rule is None:
        raise Http404("No such schedule rule.")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        services.schedule_rule_stop(rule=rule, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Stopped: {rule.instrument_code} {rule.describe()}.")
    return redirect("measures:schedule", course.public_id)


# --- clinic settings ------------------------------------------------------------------------


SETTINGS_ROLES = (StaffRole.ADMIN, StaffRole.PRESCRIBER)


@staff_required
def clinic_settings(request):
    clinics = list(patient_selectors.clinics_for_user(request.user, roles=SETTINGS_ROLES))
    if not clinics:
        raise Http404("No clinic whose settings you manage.")
    clinic = choose_listed(clinics, request.GET.get("clinic") or request.POST.get("clinic"))
    row = services.measure_settings_for(clinic)
    if request.method == "POST":
        form = MeasureSettingsForm(request.POST)
        if form.is_valid():
            try:
                services.measure_settings_update(
                    clinic=clinic, by=request.user, **form.cleaned_data
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Measure settings of {clinic.name} saved.")
                return redirect(f"{request.path}?clinic={clinic.public_id}")
    else:
        form = MeasureSettingsForm(
            initial={
                "crisis_resources": row.crisis_resources,
                "licensed_instruments": row.licensed_instruments,
                "journal_tags": "\n".join(row.journal_tags),
            }
        )
    return render(
        request,
        "measures/settings.html",
        {"form": form, "clinic": clinic, "clinics": clinics, "enabled": row.enabled_codes()},
        status=400 if form.errors else 200,
    )
