from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from clinic.accounts.roles import CLINICIAN_ROLES, StaffRole
from clinic.core.access import staff_required, user_has_role
from clinic.core.forms import filter_status
from clinic.core.models import AccessEvent
from clinic.pathway import selectors as pathway_selectors
from clinic.patients import selectors, services
from clinic.patients.forms import CareTeamAddForm, PatientForm, PatientSearchForm
from clinic.patients.models import CareTeamMember
from clinic.portal import services as portal_services

CARE_TEAM_MANAGERS = (StaffRole.PRESCRIBER, StaffRole.ADMIN)


@staff_required
def patient_list(request):
    clinics = list(selectors.clinics_for_user(request.user))
    form = PatientSearchForm(request.GET or None, clinics=clinics)
    query, clinic, status = "", None, ""
    if form.is_bound and form.is_valid():
        query = form.cleaned_data["q"]
        clinic = form.selected_clinic()
        status = form.cleaned_data["status"]
    patients = selectors.patient_search_for_user(
        request.user, query=query, clinic=clinic, status=status
    )
    page = Paginator(patients, settings.PATIENT_LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    querystring = request.GET.copy()
    querystring.pop("page", None)
    return render(
        request,
        "patients/patient_list.html",
        {
            "form": form,
            "page": page,
            "query": query,
            "querystring": querystring.urlencode(),
            "show_clinic": len(clinics) > 1,
            "can_register": bool(clinics),
        },
        status=filter_status(form),
    )


@staff_required
def patient_detail(request, public_id):
    patient = selectors.staff_patient_get(request.user, public_id, with_summary=True)
    can_manage_team = user_has_role(request.user, CARE_TEAM_MANAGERS, clinic=patient.clinic)
    is_admin = user_has_role(request.user, [StaffRole.ADMIN], clinic=patient.clinic)
    courses = [
        (course, pathway_selectors.course_chart_step(course))
        for course in pathway_selectors.courses_with_steps(patient)
    ]
    care_team, team_choices = selectors.care_team_and_choices(patient, choices=can_manage_team)
    return render(
        request,
        "patients/patient_detail.html",
        {
            "patient": patient,
            "care_team": care_team,
            "can_manage_team": can_manage_team,
            "care_team_choices": team_choices,
            "responsibility_choices": CareTeamMember.Responsibility.choices,
            "can_edit": True,
            "courses": courses,
            "can_open_course": user_has_role(request.user, CLINICIAN_ROLES, clinic=patient.clinic),
            **selectors.measures_and_portal_summary(patient),
            "recent_access": (
                AccessEvent.objects.filter(patient=patient)
                .select_related("user")
                .order_by("-occurred_at")[:10]
                if is_admin
                else None
            ),
        },
    )


@staff_required
def patient_summary(request, public_id):
    """A printable summary for a referral letter or an insurer; the read is audited."""
    patient = selectors.staff_patient_get(request.user, public_id)
    return render(
        request,
        "patients/patient_summary.html",
        {
            "patient": patient,
            "printed_on": timezone.localdate(),
            **selectors.patient_summary(patient),
        },
    )


@staff_required
def patient_create(request):
    clinics = selectors.clinics_for_user(request.user)
    form = PatientForm(request.POST or None, clinics=clinics)
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.patient_register(
                clinic=form.cleaned_data["clinic"],
                registered_by=request.user,
                **form.service_fields(),
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"{patient.full_name} is registered with MRN {patient.medical_record_number}.",
            )
            return redirect("patients:detail", public_id=patient.public_id)
    return render(request, "patients/patient_form.html", {"form": form, "patient": None})


@staff_required
def patient_edit(request, public_id):
    patient = selectors.patient_get_for_user(
        request.user,
        public_id,
        action=AccessEvent.Action.UPDATE if request.method == "POST" else AccessEvent.Action.VIEW,
    )
    form = PatientForm(
        request.POST or None, instance=patient, clinics=selectors.clinics_for_user(request.user)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.patient_update(
                patient=patient,
                updated_by=request.user,
                expected_version=form.cleaned_data["version"],
                **form.service_fields(),
            )
        except services.StaleEditError as exc:
            form.add_error(None, exc.messages[0])
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, "Patient details saved.")
            return redirect("patients:detail", public_id=patient.public_id)
    return render(request, "patients/patient_form.html", {"form": form, "patient": patient})


@staff_required
def care_team_add(request, public_id):
    # Look the patient up before checking the method, so that an outsider gets the
    # same 404 whatever they send.
    patient = selectors.patient_get_for_user(
        request.user, public_id, action=AccessEvent.Action.UPDATE, roles=CARE_TEAM_MANAGERS
    )
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = CareTeamAddForm(request.POST, patient=patient)
    if form.is_valid():
        try:
            with transaction.atomic():
                services.care_team_add(
                    patient=patient,
                    user=form.cleaned_data["user"],
                    responsibility=form.cleaned_data["responsibility"],
                    added_by=request.user,
                )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"{form.cleaned_data['user']} joined the care team.")
    else:
        errors = [error for field_errors in form.errors.values() for error in field_errors]
        messages.error(request, "Care team not changed: " + " ".join(errors))
    return redirect("patients:detail", public_id=patient.public_id)


@staff_required
def care_team_remove(request, public_id, member_public_id):
    patient = selectors.patient_get_for_user(
        request.user, public_id, action=AccessEvent.Action.UPDATE, roles=CARE_TEAM_MANAGERS
    )
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    member = get_object_or_404(
        CareTeamMember, patient=patient, public_id=member_public_id, is_active=True
    )
    services.care_team_remove(member=member, removed_by=request.user)
    messages.success(request, f"{member.user} left the care team.")
    return redirect("patients:detail", public_id=patient.public_id)


def _add_service_errors(form, exc):
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@staff_required
def portal_invite(request, public_id):
    patient = selectors.patient_get_for_user(
        request.user, public_id, action=AccessEvent.Action.UPDATE
    )
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        invitation = portal_services.portal_invite(patient=patient, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Invitation sent to {invitation.email}.")
    return redirect("patients:detail", patient.public_id)
