"""The patient portal: phone-first pages for a patient's own record only.

Every page looks the patient up from the signed-in user (`own_patient_record`), so there is
no patient id in any URL to tamper with; entries and answers are fetched through selectors
scoped to that user.
"""

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from clinic.core.access import patient_required
from clinic.core.forms import add_service_errors, form_helper
from clinic.measures import selectors as measures
from clinic.measures import services as measure_services
from clinic.measures.forms import (
    CorrectionForm,
    JournalForm,
    QuestionnaireForm,
    ReminderPreferenceForm,
)
from clinic.measures.models import Mode
from clinic.patients import selectors as patient_selectors
from clinic.portal import services

JOURNAL_PAGE_SIZE = 30


def _crisis(patient):
    return measure_services.measure_settings_for(patient.clinic).crisis_resources


@patient_required
def portal_home(request):
    patient = patient_selectors.own_patient_record(request.user)
    today = measure_services.patient_local_date(patient)
    journal = list(measures.own_journal_entries(patient)[:7])
    settings_row = measure_services.measure_settings_for(patient.clinic)
    return render(
        request,
        "portal/home.html",
        {
            "patient": patient,
            "care_team": patient_selectors.care_team_for_patient(patient),
            "due": measures.portal_due(patient, today=today, measure_settings=settings_row),
            "today_entry": next((e for e in journal if e.entry_date == today), None),
            "recent_entries": journal,
            "crisis_resources": settings_row.crisis_resources,
        },
    )


@patient_required
def support(request):
    patient = patient_selectors.own_patient_record(request.user)
    return render(
        request, "portal/support.html", {"patient": patient, "crisis_resources": _crisis(patient)}
    )


# --- mood journal --------------------------------------------------------------------------


@patient_required
def journal_new(request):
    patient = patient_selectors.own_patient_record(request.user)
    settings_row = measure_services.measure_settings_for(patient.clinic)
    form_kwargs = {
        "allowed_dates": measure_services.journal_allowed_dates(patient),
        "tags": settings_row.journal_tags,
    }
    if request.method == "POST":
        form = JournalForm(request.POST, **form_kwargs)
        if form.is_valid():
            try:
                entry = measure_services.journal_submit(
                    patient=patient,
                    by=request.user,
                    submission_key=form.cleaned_data["submission_key"],
                    measure_settings=settings_row,
                    **form.service_fields(),
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                if entry.safety_thoughts:
                    return redirect("portal:journal_entry", entry.public_id)
                messages.success(request, "Thank you. Your journal entry is saved.")
                return redirect("portal:home")
    else:
        form = JournalForm(
            initial={"submission_key": JournalForm.fresh_key(), "safety_thoughts": None},
            **form_kwargs,
        )
    return render(
        request,
        "portal/journal_form.html",
        {"patient": patient, "form": form, "crisis_resources": settings_row.crisis_resources},
        status=400 if form.errors else 200,
    )


@patient_required
def journal_history(request):
    patient = patient_selectors.own_patient_record(request.user)
    page = Paginator(measures.own_journal_entries(patient), JOURNAL_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "portal/journal_history.html",
        {
            "patient": patient,
            "page": page,
            "chart_data": {"journal": measures.journal_series(patient, days=30)},
        },
    )


def _submitted_record_page(request, target, *, url_name, template, context):
    """A submitted entry or questionnaire with its correction notes, and the form to add
    one (the record itself never changes)."""
    form = CorrectionForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            measure_services.correction_note_add(
                target=target, author=request.user, text=form.cleaned_data["text"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Your note is added.")
            return redirect(url_name, target.public_id)
    return render(
        request,
        template,
        {
            "patient": target.patient,
            "corrections": measures.corrections_for(target),
            "form": form,
            **context,
        },
        status=400 if form.errors else 200,
    )


@patient_required
def journal_entry(request, public_id):
    entry = measures.own_journal_entry_get(request.user, public_id)
    return _submitted_record_page(
        request,
        entry,
        url_name="portal:journal_entry",
        template="portal/journal_entry.html",
        context={
            "entry": entry,
            "crisis_resources": _crisis(entry.patient) if entry.safety_thoughts else "",
        },
    )


# --- questionnaires -------------------------------------------------------------------------


@patient_required
def questionnaire(request, slug):
    patient = patient_selectors.own_patient_record(request.user)
    instrument = measures.instrument_for_slug(slug)
    settings_row = measure_services.measure_settings_for(patient.clinic)
    if instrument.rater != "patient" or instrument.code not in settings_row.enabled_codes():
        raise Http404("No such questionnaire.")
    show_crisis = False
    if request.method == "POST":
        form = QuestionnaireForm(request.POST, instrument=instrument)
        if form.is_valid():
            try:
                response = measure_services.response_submit(
                    patient=patient,
                    instrument_code=instrument.code,
                    answers=form.answers(),
                    entered_by=request.user,
                    mode=Mode.SELF,
                    submission_key=form.cleaned_data["submission_key"],
                    measure_settings=settings_row,
                )
            except measure_services.IncompleteResponse as exc:
                form.mark_blank_items()
                form.add_error(None, exc.messages)
                show_crisis = exc.safety_alert
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                if not response.safety_alert:
                    messages.success(request, f"Thank you. Your {instrument.code} is saved.")
                return redirect("portal:response_detail", response.public_id)
    else:
        form = QuestionnaireForm(
            initial={"submission_key": QuestionnaireForm.fresh_key()}, instrument=instrument
        )
    return render(
        request,
        "portal/questionnaire.html",
        {
            "patient": patient,
            "instrument": instrument,
            "form": form,
            "crisis_resources": settings_row.crisis_resources if show_crisis else "",
        },
        status=400 if form.errors else 200,
    )


@patient_required
def response_detail(request, public_id):
    response = measures.own_response_get(request.user, public_id)
    return _submitted_record_page(
        request,
        response,
        url_name="portal:response_detail",
        template="portal/response_detail.html",
        context={
            "response": response,
            "rows": response.item_rows(),
            "crisis_resources": _crisis(response.patient) if response.safety_alert else "",
        },
    )


@patient_required
def progress(request):
    patient = patient_selectors.own_patient_record(request.user)
    outcomes = measures.outcomes_for_patient(patient)
    # Every response is read for the charts already: the list pages through them, newest
    # first (as measures.own_responses orders them).
    responses = Paginator(outcomes["responses"][::-1], 20).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/progress.html",
        {
            "patient": patient,
            "outcomes": outcomes,
            "responses": responses,
            "chart_data": {
                "series": [s["chart"] for s in outcomes["series"]],
                "sessions": outcomes["sessions"],
                "journal": outcomes["journal"],
            },
        },
    )


# --- reminders -----------------------------------------------------------------------------


@patient_required
def reminders(request):
    patient = patient_selectors.own_patient_record(request.user)
    preference = measures.reminder_preference_for(patient)
    if request.method == "POST":
        form = ReminderPreferenceForm(request.POST, instance=preference)
        if form.is_valid():
            try:
                measure_services.reminder_preference_update(
                    patient=patient,
                    by=request.user,
                    **{name: form.cleaned_data[name] for name in form.Meta.fields},
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Your reminder settings are saved.")
                return redirect("portal:reminders")
        preference = measures.reminder_preference_for(patient)
    else:
        form = ReminderPreferenceForm(instance=preference)
    return render(
        request,
        "portal/reminders.html",
        {"patient": patient, "form": form, "preference": preference},
        status=400 if form.errors else 200,
    )


# --- invitation ----------------------------------------------------------------------------


def _invited_user(uidb64, token):
    try:
        user = get_user_model().objects.get(pk=force_str(urlsafe_base64_decode(uidb64)))
    except (ValueError, TypeError, OverflowError, get_user_model().DoesNotExist):
        return None
    if not hasattr(user, "patient_record") or not user.is_active:
        return None
    if not default_token_generator.check_token(user, token):
        return None
    return user


@never_cache
@sensitive_post_parameters("new_password1", "new_password2")
def welcome(request, uidb64, token):
    """Public: the invitation link. A used, expired or altered link explains what to do."""
    user = _invited_user(uidb64, token)
    if user is None:
        return render(request, "portal/welcome_invalid.html", status=400)
    if request.method == "POST":
        form = SetPasswordForm(user, request.POST)
        if form.is_valid():
            services.portal_invitation_accept(
                user=user, password=form.cleaned_data["new_password1"]
            )
            login(request, user, backend="clinic.accounts.backends.ModelBackend")
            messages.success(request, "Welcome. Your password is set.")
            return redirect("portal:home")
    else:
        form = SetPasswordForm(user)
    form.helper = form_helper()
    return render(
        request,
        "portal/welcome.html",
        {"form": form, "invited_user": user},
        status=400 if form.errors else 200,
    )
