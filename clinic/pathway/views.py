"""Clinician pages of the treatment pathway.

Thin views: every lookup goes through a selector (404 and audit), every write through a
service; service errors go back into the form beside the field they name. Pages that both
show and edit a record look it up with clinician roles for a POST and any staff role for a
GET, so a clinic admin can read (audited) but never write.
"""

import copy

from django.contrib import messages
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone

from clinic.accounts.roles import CLINICIAN_ROLES, STAFF_ROLES, StaffRole
from clinic.core.access import clinician_required, staff_required, user_has_role
from clinic.core.audit import record_access
from clinic.core.forms import add_service_errors as _add_service_errors
from clinic.core.models import AccessEvent
from clinic.pathway import selectors, services, session_views
from clinic.pathway.forms import (
    AddendumForm,
    AssessmentForm,
    ConsultationForm,
    CourseOpenForm,
    CourseTransitionForm,
    FollowUpCloseForm,
    FollowUpOutcomeForm,
    FollowUpScheduleForm,
    PlanForm,
    PlanTransitionForm,
)
from clinic.pathway.models import (
    Consultation,
    CourseStatus,
    DoseMode,
    Drug,
    FollowUpStatus,
    PlanStatus,
    Route,
    WeightPolicy,
)
from clinic.patients import selectors as patient_selectors
from clinic.patients.services import StaleEditError

PRESCRIBER = (StaffRole.PRESCRIBER,)
OVERDUE_PAGE_SIZE = 25
SIGN = "sign"


# --- helpers ----------------------------------------------------------------------------------


def _roles_for(request):
    """Writing needs a clinician role in the record's clinic; reading, any staff role."""
    return CLINICIAN_ROLES if request.method == "POST" else STAFF_ROLES


def _permissions(user, clinic):
    return {
        "can_write": user_has_role(user, CLINICIAN_ROLES, clinic=clinic),
        "can_prescribe": user_has_role(user, PRESCRIBER, clinic=clinic),
    }


def _message_errors(request, exc, prefix=""):
    for text in exc.messages:
        messages.error(request, f"{prefix}{text}")


def _bound(request, addendum_form=None):
    """The POST data for a page's own form; None when another form (an addendum) posted."""
    return request.POST if request.method == "POST" and addendum_form is None else None


def _note_context(note):
    return {"note": note, "addenda": selectors.addenda_for(note) if note.is_signed else []}


def _sign_note(request, note, *, sign, label, url_name):
    """POST-only: sign `note` through `sign`; refusals come back as a message."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        sign(request.user)
    except ValidationError as exc:
        _message_errors(request, exc, "Not signed: ")
    else:
        messages.success(request, f"{label} signed and locked.")
    return redirect(url_name, note.public_id)


# --- courses ----------------------------------------------------------------------------------


@clinician_required
def course_create(request, public_id):
    patient = patient_selectors.patient_get_for_user(
        request.user,
        public_id,
        roles=CLINICIAN_ROLES,
        action=AccessEvent.Action.CREATE if request.method == "POST" else AccessEvent.Action.VIEW,
    )
    form = CourseOpenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            course = services.course_open(
                patient=patient, opened_by=request.user, **form.service_fields()
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, f"Course opened: {course.indication}.")
            return redirect("pathway:course", course.public_id)
    return render(request, "pathway/course_form.html", {"form": form, "patient": patient})


@staff_required
def course_detail(request, public_id):
    course = selectors.course_get_with_steps_for_user(request.user, public_id)
    return _course_page(request, course)


def _course_page(request, course, transition_form=None, status=200, session_form=None):
    user = request.user
    perms = _permissions(user, course.patient.clinic)
    targets = services.course_targets_for_user(course, user) if perms["can_write"] else []
    next_step = selectors.course_next_step(course)
    plan = selectors.current_plan(course)
    follow_ups = list(selectors.course_follow_ups(course))  # by due date (Meta.ordering)
    context = {
        "course": course,
        "patient": course.patient,
        **perms,
        "next_step": next_step,
        "next_target_allowed": next_step["target"] in dict(targets),
        "next_target_label": dict(CourseStatus.choices).get(next_step["target"], ""),
        "transition_form": transition_form or CourseTransitionForm(targets=targets),
        "timeline": selectors.course_timeline(course),
        "plan": plan,
        "plan_rows": _plan_rows(plan) if plan else [],
        "draft_plan": selectors.draft_plan(course),
        "follow_ups": follow_ups,
        "today": timezone.localdate(),
        "can_schedule": perms["can_write"] and not course.is_closed,
        **session_views.course_sessions_context(course, user, session_form),
    }
    return render(request, "pathway/course_detail.html", context, status=status)


@clinician_required
def course_transition(request, public_id):
    course = selectors.course_get_for_user(request.user, public_id, roles=CLINICIAN_ROLES)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = CourseTransitionForm(
        request.POST, targets=services.course_targets_for_user(course, request.user)
    )
    if form.is_valid():
        try:
            course = services.course_transition(
                course=course,
                to_status=form.cleaned_data["to_status"],
                by=request.user,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, f"The course is now {course.get_status_display().lower()}.")
            return redirect("pathway:course", course.public_id)
    return _course_page(request, course, transition_form=form)


# --- consultation -----------------------------------------------------------------------------


@clinician_required
def consultation_edit(request, public_id):
    """The course's consultation form (a new one when the course has none yet)."""
    course = selectors.course_get_for_user(request.user, public_id, roles=CLINICIAN_ROLES)
    consultation = Consultation.objects.filter(course=course).first()
    return _consultation_edit(request, course, consultation)


@clinician_required
def consultation_edit_by_id(request, public_id):
    consultation = selectors.consultation_get_for_user(
        request.user, public_id, roles=CLINICIAN_ROLES
    )
    return _consultation_edit(request, consultation.course, consultation)


def _consultation_edit(request, course, consultation):
    if consultation is not None and consultation.is_signed:
        messages.info(request, "The consultation is signed; add an addendum to change it.")
        return redirect("pathway:consultation", consultation.public_id)
    form = ConsultationForm(
        request.POST or None,
        instance=copy.copy(consultation) if consultation else None,
        clinic=course.patient.clinic,
    )
    if request.method == "POST" and form.is_valid():
        sign = request.POST.get("action") == SIGN
        try:
            # Save and sign together, or neither: a refused signature keeps the typed form.
            with transaction.atomic():
                saved = services.consultation_save(
                    course=course,
                    by=request.user,
                    expected_version=form.cleaned_data["version"],
                    **form.service_fields(),
                )
                if sign:
                    services.consultation_sign(consultation=saved, by=request.user)
        except StaleEditError as exc:
            form.add_error(None, exc.messages[0])
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            if sign:
                messages.success(request, "Consultation signed and locked.")
                return redirect("pathway:consultation", saved.public_id)
            messages.success(request, "Consultation draft saved.")
            return redirect("pathway:consultation_edit_by_id", saved.public_id)
    return render(
        request,
        "pathway/consultation_form.html",
        {
            "form": form,
            "course": course,
            "patient": course.patient,
            "consultation": consultation,
            "can_sign": consultation is None or consultation.author_id == request.user.pk,
        },
    )


@staff_required
def consultation_detail(request, public_id):
    consultation = selectors.consultation_get_for_user(request.user, public_id)
    return _consultation_page(request, consultation)


def _consultation_page(request, consultation, addendum_form=None, status=200):
    course = consultation.course
    perms = _permissions(request.user, course.patient.clinic)
    context = {
        "course": course,
        "patient": course.patient,
        "consultation": consultation,
        **perms,
        **_note_context(consultation),
        "addendum_form": addendum_form or AddendumForm(),
        "can_sign": perms["can_write"] and consultation.author_id == request.user.pk,
        "addendum_url_name": "pathway:consultation_addendum",
    }
    return render(request, "pathway/consultation_detail.html", context, status=status)


@clinician_required
def consultation_sign(request, public_id):
    consultation = selectors.consultation_get_for_user(
        request.user, public_id, roles=CLINICIAN_ROLES
    )
    return _sign_note(
        request,
        consultation,
        sign=lambda user: services.consultation_sign(consultation=consultation, by=user),
        label="Consultation",
        url_name="pathway:consultation",
    )


# --- assessment -------------------------------------------------------------------------------


@clinician_required
def assessment_start(request, public_id):
    """GET: the course's assessments and a button to start one; POST starts it (or finds
    the unsigned one) and goes there."""
    course = selectors.course_get_for_user(request.user, public_id, roles=CLINICIAN_ROLES)
    if request.method == "POST":
        try:
            assessment = services.assessment_start(course=course, by=request.user)
        except ValidationError as exc:
            _message_errors(request, exc, "Assessment not started: ")
            return redirect("pathway:assessment_start", course.public_id)
        return redirect("pathway:assessment", assessment.public_id)
    assessments = list(course.assessments.select_related("signed_by").order_by("-created_at"))
    unsigned = next((a for a in assessments if not a.is_signed), None)
    if unsigned is not None:
        return redirect("pathway:assessment", unsigned.public_id)
    return render(
        request,
        "pathway/assessment_start.html",
        {
            "course": course,
            "patient": course.patient,
            "assessments": assessments,
            "can_start": not course.is_closed
            and course.status in (CourseStatus.ASSESSMENT, CourseStatus.ON_HOLD),
        },
    )


@staff_required
def assessment_detail(request, public_id):
    assessment = selectors.assessment_get_for_user(
        request.user, public_id, roles=_roles_for(request)
    )
    return _assessment_page(request, assessment)


def _assessment_page(request, assessment, addendum_form=None, status=200):
    course = assessment.course
    perms = _permissions(request.user, course.patient.clinic)
    answers = selectors.checklist_answers(assessment.checklist)
    if assessment.is_signed:
        # As stored: a signed assessment's answers never change, and no form edits them.
        assessment.loaded_answers = answers
    form = None
    if not assessment.is_signed and perms["can_write"]:
        form = AssessmentForm(
            _bound(request, addendum_form),
            instance=copy.copy(assessment),
            answers=answers,
            can_decide=perms["can_prescribe"],
            drug=course.drug,
        )
        if form.is_bound and form.is_valid():
            sign = request.POST.get("action") == SIGN
            try:
                with transaction.atomic():
                    saved = services.assessment_save(
                        assessment=assessment,
                        by=request.user,
                        expected_version=form.cleaned_data["version"],
                        answers=form.service_answers(),
                        **form.service_fields(),
                    )
                    if sign:
                        services.assessment_sign(assessment=saved, by=request.user)
            except StaleEditError as exc:
                form.add_error(None, exc.messages[0])
            except ValidationError as exc:
                if sign and not hasattr(exc, "error_dict"):
                    form.add_error(None, ["Saved nothing; it cannot be signed yet:", *exc.messages])
                else:
                    _add_service_errors(form, exc, add=form.add_service_error)
            else:
                messages.success(
                    request, "Assessment signed and locked." if sign else "Assessment saved."
                )
                return redirect("pathway:assessment", saved.public_id)
    context = {
        "course": course,
        "patient": course.patient,
        "assessment": assessment,
        "answers": answers,
        "form": form,
        **perms,
        **_note_context(assessment),
        "sign_problems": (
            [] if assessment.is_signed else services.assessment_sign_problems(assessment)
        ),
        "addendum_form": addendum_form or AddendumForm(),
        "addendum_url_name": "pathway:assessment_addendum",
    }
    return render(request, "pathway/assessment_detail.html", context, status=status)


@clinician_required
def assessment_sign(request, public_id):
    assessment = selectors.assessment_get_for_user(request.user, public_id, roles=CLINICIAN_ROLES)
    return _sign_note(
        request,
        assessment,
        sign=lambda user: services.assessment_sign(assessment=assessment, by=user),
        label="Assessment",
        url_name="pathway:assessment",
    )


# --- treatment plan ---------------------------------------------------------------------------


def _plan_initial(course):
    """A new draft starts from the current plan, else from the usual regimen (DOMAIN.md §3.1),
    which the prescriber confirms field by field."""
    previous = selectors.current_plan(course)
    if previous is not None:
        return {name: getattr(previous, name) for name in services.PLAN_FIELDS}
    if course.drug == Drug.ESKETAMINE:
        return {"route": Route.INTRANASAL, "dose_mode": DoseMode.DEVICES, "device_count": 2,
                "max_dose_mg": 84, "induction_sessions": 8, "sessions_per_week": 2,
                "review_after_sessions": 8}  # fmt: skip
    return {"route": Route.IV, "dose_mode": DoseMode.MG_PER_KG, "mg_per_kg": "0.5",
            "infusion_minutes": 40}  # fmt: skip


@clinician_required
def plan_create(request, public_id):
    course = selectors.course_get_for_user(request.user, public_id, roles=CLINICIAN_ROLES)
    draft = selectors.draft_plan(course)
    if draft is not None:
        messages.info(request, f"This course already has a draft (version {draft.version}).")
        return redirect("pathway:plan", draft.public_id)
    form = PlanForm(request.POST or None, initial=_plan_initial(course), drug=course.drug)
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.plan_draft_create(
                course=course, by=request.user, **form.service_fields()
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, f"Plan version {plan.version} saved as a draft.")
            return redirect("pathway:plan", plan.public_id)
    return render(
        request,
        "pathway/plan_form.html",
        {
            "form": form,
            "course": course,
            "patient": course.patient,
            "plan": None,
            "not_yet": course.status in (CourseStatus.CONSULTATION, CourseStatus.ASSESSMENT),
        },
    )


@clinician_required
def plan_edit(request, public_id):
    plan = selectors.plan_get_for_user(request.user, public_id, roles=CLINICIAN_ROLES)
    if plan.status != PlanStatus.DRAFT:
        messages.info(request, "An approved plan cannot change; write a new version instead.")
        return redirect("pathway:plan", plan.public_id)
    course = plan.course
    form = PlanForm(request.POST or None, instance=copy.copy(plan), drug=plan.drug)
    if request.method == "POST" and form.is_valid():
        try:
            services.plan_draft_update(
                plan=plan,
                by=request.user,
                expected_version=form.cleaned_data["edit_version"],
                **form.service_fields(),
            )
        except StaleEditError as exc:
            form.add_error(None, exc.messages[0])
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, f"Draft plan version {plan.version} saved.")
            return redirect("pathway:plan", plan.public_id)
    return render(
        request,
        "pathway/plan_form.html",
        {"form": form, "course": course, "patient": course.patient, "plan": plan},
    )


def _plan_rows(plan):
    """(label, value, unit) of the fields that matter for this plan's route and dose mode."""

    def row(name, unit=""):
        field = plan._meta.get_field(name)
        value = getattr(plan, name)
        if field.choices:
            value = getattr(plan, f"get_{name}_display")()
        return (field.verbose_name[:1].upper() + field.verbose_name[1:], value, unit)

    rows = [row("route"), row("dose_mode")]
    if plan.dose_mode == DoseMode.MG_PER_KG:
        rows += [row("mg_per_kg"), row("mg_per_kg_min"), row("mg_per_kg_max"),
                 row("titration_step_mg_per_kg"), row("weight_policy")]  # fmt: skip
        if plan.weight_policy == WeightPolicy.CAPPED:
            rows.append(row("weight_cap_kg"))
    elif plan.dose_mode == DoseMode.FIXED_MG:
        rows.append(row("fixed_dose_mg"))
    else:
        rows.append(row("device_count"))
    rows.append(row("max_dose_mg"))
    if plan.dose_mode != DoseMode.DEVICES:
        rows.append(row("concentration_mg_per_ml"))
    if plan.route == Route.IV:
        rows += [row("final_volume_ml"), row("infusion_minutes")]
    rows += [row("induction_sessions"), row("sessions_per_week"), row("review_after_sessions"),
             row("maintenance_interval_weeks"), row("monitoring_interval_minutes")]  # fmt: skip
    return rows


def _plan_targets(plan, user):
    clinic = plan.course.patient.clinic
    labels = {PlanStatus.APPROVED: "Resume (approved)", PlanStatus.SUSPENDED: "Suspend",
              PlanStatus.ENDED: "End"}  # fmt: skip
    if plan.status == PlanStatus.DRAFT:
        return []  # a draft is replaced by editing it, never ended (services.plan_transition)
    return [
        (target, labels.get(target, target))
        for target in services.PLAN_TRANSITIONS.targets_from(plan.status)
        if user_has_role(
            user, services.PLAN_TRANSITIONS.rule(plan.status, target).roles, clinic=clinic
        )
    ]


@staff_required
def plan_detail(request, public_id):
    plan = selectors.plan_get_for_user(request.user, public_id)
    return _plan_page(request, plan)


def _plan_page(request, plan, addendum_form=None, transition_form=None, status=200):
    course = plan.course
    perms = _permissions(request.user, course.patient.clinic)
    calculation = calc_problems = None
    approval_problems = []
    preview = plan
    if plan.status == PlanStatus.DRAFT:
        # The dose as it would be approved today, with the patient's latest weight.
        preview = copy.copy(plan)
        try:
            calculation = services.plan_calculate(preview)
        except ValidationError as exc:
            calc_problems = _labelled_messages(plan, exc)
        approval_problems = [
            problem
            for problem in services.plan_approval_problems(copy.copy(plan))
            if not calc_problems or problem not in _flat(calc_problems)
        ]
    targets = _plan_targets(plan, request.user)
    versions = list(course.plans.select_related("signed_by").order_by("-version"))
    context = {
        "course": course,
        "patient": course.patient,
        "crumb": f"Plan v{plan.version}",
        "plan": plan,
        "has_draft": any(version.status == PlanStatus.DRAFT for version in versions),
        "preview": preview,
        "calculation": calculation,
        "calc_problems": calc_problems,
        "approval_problems": approval_problems,
        "plan_rows": _plan_rows(plan),
        "versions": versions,
        "status_changes": list(plan.status_changes.select_related("changed_by")),
        "transition_form": transition_form
        or (PlanTransitionForm(targets=targets) if targets else None),
        **perms,
        **_note_context(plan),
        "addendum_form": addendum_form or AddendumForm(),
        "addendum_url_name": "pathway:plan_addendum",
    }
    return render(request, "pathway/plan_detail.html", context, status=status)


def _labelled_messages(plan, exc):
    if not hasattr(exc, "error_dict"):
        return [(None, text) for text in exc.messages]
    out = []
    for key, texts in exc.message_dict.items():
        try:
            label = plan._meta.get_field(key).verbose_name
        except FieldDoesNotExist:  # a key that names no field is shown unlabelled
            label = None
        out += [(label, text) for text in texts]
    return out


def _flat(labelled):
    return {text for _label, text in labelled}


@clinician_required
def plan_approve(request, public_id):
    plan = selectors.plan_get_for_user(request.user, public_id, roles=CLINICIAN_ROLES)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        services.plan_approve(plan=plan, by=request.user)
    except ValidationError as exc:
        _message_errors(request, exc, "Not approved: ")
    else:
        messages.success(request, f"Plan version {plan.version} approved and locked.")
    return redirect("pathway:plan", plan.public_id)


@clinician_required
def plan_transition(request, public_id):
    plan = selectors.plan_get_for_user(request.user, public_id, roles=CLINICIAN_ROLES)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = PlanTransitionForm(request.POST, targets=_plan_targets(plan, request.user))
    if form.is_valid():
        try:
            services.plan_transition(
                plan=plan,
                to_status=form.cleaned_data["to_status"],
                by=request.user,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            plan.refresh_from_db()
            status = plan.get_status_display().lower()
            messages.success(request, f"Plan version {plan.version} is now {status}.")
            return redirect("pathway:plan", plan.public_id)
    return _plan_page(request, plan, transition_form=form)


# --- follow-ups -------------------------------------------------------------------------------


@clinician_required
def follow_up_create(request, public_id):
    course = selectors.course_get_for_user(request.user, public_id, roles=CLINICIAN_ROLES)
    form = FollowUpScheduleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            follow_up = services.follow_up_schedule(
                course=course,
                by=request.user,
                kind=form.cleaned_data["kind"],
                due_on=form.cleaned_data["due_on"],
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, f"{follow_up} scheduled.")
            return redirect("pathway:course", course.public_id)
    return render(
        request,
        "pathway/follow_up_form.html",
        {"form": form, "course": course, "patient": course.patient},
    )


@staff_required
def follow_up_detail(request, public_id):
    follow_up = selectors.follow_up_get_for_user(request.user, public_id, roles=_roles_for(request))
    return _follow_up_page(request, follow_up, outcome_posted=request.method == "POST")


def _follow_up_page(
    request, follow_up, *, outcome_posted=False, close_form=None, addendum_form=None, status=200
):
    course = follow_up.course
    perms = _permissions(request.user, course.patient.clinic)
    editable = (
        perms["can_write"]
        and not follow_up.is_signed
        and follow_up.status in (FollowUpStatus.SCHEDULED, FollowUpStatus.COMPLETED)
        and follow_up.completed_by_id in (None, request.user.pk)
    )
    form = None
    if editable:
        form = FollowUpOutcomeForm(
            request.POST if outcome_posted else None, instance=copy.copy(follow_up)
        )
        if form.is_bound and form.is_valid():
            sign = request.POST.get("action") == SIGN
            try:
                services.follow_up_record(
                    follow_up=follow_up, by=request.user, sign=sign, **form.service_fields()
                )
            except ValidationError as exc:
                _add_service_errors(form, exc)
            else:
                messages.success(
                    request, "Follow-up signed and locked." if sign else "Follow-up outcome saved."
                )
                return redirect("pathway:follow_up", follow_up.public_id)
    can_close = perms["can_write"] and follow_up.status == FollowUpStatus.SCHEDULED
    context = {
        "course": course,
        "patient": course.patient,
        "follow_up": follow_up,
        "form": form,
        "close_form": close_form or (FollowUpCloseForm() if can_close else None),
        "overdue": follow_up.status == FollowUpStatus.SCHEDULED
        and follow_up.due_on < timezone.localdate(),
        "other_recorder": follow_up.completed_by
        if follow_up.completed_by_id not in (None, request.user.pk) and not follow_up.is_signed
        else None,
        **perms,
        **_note_context(follow_up),
        "addendum_form": addendum_form or AddendumForm(),
        "addendum_url_name": "pathway:follow_up_addendum",
    }
    return render(request, "pathway/follow_up_detail.html", context, status=status)


@clinician_required
def follow_up_sign(request, public_id):
    follow_up = selectors.follow_up_get_for_user(request.user, public_id, roles=CLINICIAN_ROLES)
    return _sign_note(
        request,
        follow_up,
        sign=lambda user: services.follow_up_sign(follow_up=follow_up, by=user),
        label="Follow-up",
        url_name="pathway:follow_up",
    )


@clinician_required
def follow_up_close(request, public_id):
    follow_up = selectors.follow_up_get_for_user(request.user, public_id, roles=CLINICIAN_ROLES)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = FollowUpCloseForm(request.POST)
    if form.is_valid():
        try:
            services.follow_up_close(
                follow_up=follow_up,
                by=request.user,
                status=form.cleaned_data["status"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            follow_up.refresh_from_db()
            messages.success(request, f"Follow-up marked {follow_up.get_status_display().lower()}.")
            return redirect("pathway:follow_up", follow_up.public_id)
    return _follow_up_page(request, follow_up, close_form=form)


@staff_required
def follow_ups_overdue(request):
    follow_ups = selectors.overdue_follow_ups_for_user(request.user)
    page = Paginator(follow_ups, OVERDUE_PAGE_SIZE).get_page(request.GET.get("page"))
    record_access(
        user=request.user,
        action=AccessEvent.Action.LIST,
        object_type="follow_up_list",
        detail=f"overdue; page {page.number}; {len(page.object_list)} rows",
    )
    return render(
        request,
        "pathway/follow_up_overdue.html",
        {"page": page, "today": timezone.localdate(), "querystring": ""},
    )


# --- addenda ----------------------------------------------------------------------------------

ADDENDUM_NOTES = {
    "consultation": (selectors.consultation_get_for_user, _consultation_page),
    "assessment": (selectors.assessment_get_for_user, _assessment_page),
    "plan": (selectors.plan_get_for_user, _plan_page),
    "follow_up": (selectors.follow_up_get_for_user, _follow_up_page),
}


@clinician_required
def addendum_add(request, public_id, note_kind):
    get_note, render_page = ADDENDUM_NOTES[note_kind]
    note = get_note(request.user, public_id, roles=CLINICIAN_ROLES)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = AddendumForm(request.POST)
    if form.is_valid():
        try:
            services.addendum_add(note=note, author=request.user, text=form.cleaned_data["text"])
        except ValidationError as exc:
            if not note.is_signed:  # the page shows no addendum form for an unsigned note
                _message_errors(request, exc, "No addendum added: ")
                return redirect(f"pathway:{note_kind}", note.public_id)
            _add_service_errors(form, exc)
        else:
            messages.success(request, "Addendum signed and added.")
            return redirect(f"pathway:{note_kind}", note.public_id)
    return render_page(request, note, addendum_form=form)
