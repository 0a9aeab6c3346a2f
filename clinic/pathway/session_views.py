"""The session runner: one page a clinician keeps open on a tablet beside the chair, and the
small POST views its forms send to.

Every POST view looks the session up first (404 for another clinic's, whatever the method),
then refuses anything but POST, then calls one service. A refusal goes back beside the
fields (the page is shown again with the typed values) or, for a button without fields, into
a message; success redirects to the runner at the panel's anchor. The vitals forms also
answer htmx requests with the vitals panel alone.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal
from functools import wraps
from types import SimpleNamespace

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from clinic.accounts.roles import CLINICIAN_ROLES, STAFF_ROLES, StaffRole
from clinic.core.access import clinician_required, staff_required, user_has_role
from clinic.ledger import selectors as ledger_selectors
from clinic.ledger import services as ledger_services
from clinic.ledger.forms import AdministerForm, DrawForm, WasteForm, waste_witnesses
from clinic.ledger.models import EntryType, LedgerEntry
from clinic.monitoring import selectors as monitoring_selectors
from clinic.monitoring import services as monitoring_services
from clinic.monitoring.limits import CRITICAL_FLAGS, Flag, Vital
from clinic.monitoring.models import Grade, SideEffectTerm
from clinic.pathway import selectors, session_selectors
from clinic.pathway import session_services as ss
from clinic.pathway.models import (
    ChecklistAnswer,
    ChecklistKind,
    Drug,
    ItemEffect,
    SessionStatus,
    YesNoUnknown,
)
from clinic.pathway.session_forms import (
    AcknowledgeForm,
    CancelForm,
    CheckInForm,
    ChecklistForm,
    ChecklistOverrideForm,
    DischargeForm,
    DoseForm,
    EndDosingForm,
    EnteredInErrorForm,
    SessionBookForm,
    SideEffectForm,
    TransferForm,
    VitalsForm,
    checklist_rows,
    phase_for,
)

S = SessionStatus
PRESCRIBER = (StaffRole.PRESCRIBER,)
PRE_CHECKLIST_OPEN = (S.CHECKED_IN, S.READY)
DISCHARGE_OPEN = (S.MONITORING, S.READY_FOR_DISCHARGE)
LEDGER_OPEN = (S.READY, S.DOSING, S.MONITORING, S.READY_FOR_DISCHARGE)
IN_CHAIR = (S.CHECKED_IN, S.READY, S.DOSING, S.MONITORING, S.READY_FOR_DISCHARGE)
# Esketamine devices are recorded only while dosing (esketamine_device_given): before that
# a session has none to read.
DEVICES_GIVEN = (S.DOSING, S.MONITORING, S.READY_FOR_DISCHARGE, S.DISCHARGED, S.TRANSFERRED)


def runner_url(session, anchor=""):
    url = reverse("pathway:session_run", args=[session.public_id])
    return f"{url}#{anchor}" if anchor else url


def _is_htmx(request):
    return request.headers.get("HX-Request") == "true"


def _messages_from(request, exc, prefix=""):
    for text in exc.messages:
        messages.error(request, f"{prefix}{text}")


def _errors_into(form, exc):
    if hasattr(exc, "error_dict"):
        for key, texts in exc.message_dict.items():
            form.add_error(key if key in form.fields else None, texts)
    else:
        form.add_error(None, exc.messages)


def session_post(*, roles=CLINICIAN_ROLES):
    """A POST-only view of one session: look it up (404 for others), then 405 on GET."""
    decorator = clinician_required if roles == CLINICIAN_ROLES else staff_required

    def wrap(view):
        @wraps(view)
        @decorator
        def wrapped(request, public_id, **kwargs):
            session = session_selectors.session_get_for_user(request.user, public_id, roles=roles)
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            return view(request, session, **kwargs)

        return wrapped

    return wrap


# --- booking ----------------------------------------------------------------------------------


@staff_required
def session_book(request, public_id):
    course = selectors.course_get_for_user(request.user, public_id, roles=STAFF_ROLES)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = SessionBookForm(request.POST, clinic=course.patient.clinic)
    if form.is_valid():
        try:
            session = ss.session_schedule(course=course, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            when = timezone.localtime(session.scheduled_at)
            messages.success(
                request, f"Session {session.session_number} booked for {when:%d %b %Y %H:%M}."
            )
            return redirect(reverse("pathway:course", args=[course.public_id]) + "#sessions")
    from clinic.pathway.views import _course_page

    return _course_page(request, course, session_form=form)


def course_sessions_context(course, user, session_form=None):
    """The course page's Sessions card: the list and, for a course in treatment, the form."""
    clinic = course.patient.clinic
    can_book = (
        course.status in ("active", "maintenance")
        and user_has_role(user, STAFF_ROLES, clinic=clinic)
        and selectors.has_approved_plan(course)
    )
    return {
        "sessions": session_selectors.course_sessions(course),
        "session_form": session_form or (SessionBookForm(clinic=clinic) if can_book else None),
    }


# --- the runner -------------------------------------------------------------------------------


@dataclass
class DrawRow:
    draw: LedgerEntry
    lot: object
    unit: str
    drawn: Decimal
    administered: Decimal
    wasted: Decimal
    open: Decimal
    uses: list
    administer_form: object = None
    waste_form: object = None


def _ledger_context(session, user, forms):
    # Read with the session, as `ledger_selectors.session_draws_and_uses` reads them.
    draws, uses = session.ledger_draws, session.ledger_uses
    clinic = session.course.patient.clinic
    # The waste forms' witnesses, read once for all of them (a draw of another clinic's lot,
    # which the ledger does not make, would have its form read its own).
    witnesses = None
    rows = []
    totals = {"drawn_mg": Decimal("0"), "administered_mg": Decimal("0"), "wasted_mg": Decimal("0")}
    open_now = session.status in LEDGER_OPEN
    for draw in draws:
        mine = [use for use in uses if use.draw_id == draw.pk]
        administered = sum((u.quantity for u in mine if u.entry_type == EntryType.ADMINISTER), 0)
        wasted = sum((u.quantity for u in mine if u.entry_type == EntryType.WASTE), 0)
        drawn = -draw.quantity
        row = DrawRow(
            draw=draw, lot=draw.lot, unit=draw.lot.unit, drawn=drawn,
            administered=administered, wasted=wasted, open=drawn - administered - wasted,
            uses=mine,
        )  # fmt: skip
        totals["drawn_mg"] += -draw.mg
        totals["administered_mg"] += sum(
            (u.mg for u in mine if u.entry_type == EntryType.ADMINISTER), Decimal("0")
        )
        totals["wasted_mg"] += sum(
            (u.mg for u in mine if u.entry_type == EntryType.WASTE), Decimal("0")
        )
        if open_now and row.open > 0:
            key = str(draw.public_id)
            row.administer_form = forms.get(f"administer:{key}") or AdministerForm(
                draw=draw, initial={"quantity": row.open}, prefix=f"a-{key[:8]}"
            )
            row.waste_form = forms.get(f"waste:{key}")
            if row.waste_form is None:
                listed = None
                if draw.lot.clinic_id == clinic.pk:
                    if witnesses is None:
                        witnesses = waste_witnesses(clinic, user)
                    listed = witnesses
                row.waste_form = WasteForm(
                    draw=draw, user=user, witnesses=listed, initial={"quantity": row.open},
                    prefix=f"w-{key[:8]}",
                )  # fmt: skip
        rows.append(row)
    totals["open_mg"] = totals["drawn_mg"] - totals["administered_mg"] - totals["wasted_mg"]
    draw_form = None
    if open_now and session.dose_mg is not None:
        draw_form = forms.get("draw") or DrawForm(
            session=session, user=user,
            lots=list(ledger_selectors.usable_lots_for_session(session)),
        )  # fmt: skip
    return {"draw_rows": rows, "ledger_totals": totals, "draw_form": draw_form}


def _vitals_context(session, forms, *, can_write, readings=None):
    if readings is None:
        readings = monitoring_selectors.readings_with_acknowledgment(session)
    ack_errors = forms.get("acknowledge")
    error_errors = forms.get("entered_in_error")
    for reading in readings:
        reading.cells = [
            (name, getattr(reading, name), reading.flags.get(name))
            for name, _, _ in VitalsForm.VITALS
        ]
        reading.needs_ack = (
            reading.has_critical and not reading.entered_in_error and not reading.acknowledgment
        )
        reading.ack_form = (
            ack_errors
            if ack_errors is not None and ack_errors.data.get("reading") == str(reading.public_id)
            else None
        )
        reading.error_form = (
            error_errors
            if error_errors is not None
            and error_errors.data.get("reading") == str(reading.public_id)
            else None
        )
    # A correction or acknowledgment that names no reading of this session: say so on top.
    panel_errors = []
    for form in (ack_errors, error_errors):
        if form is not None and not any(
            form.data.get("reading") == str(reading.public_id) for reading in readings
        ):
            panel_errors += [text for texts in form.errors.values() for text in texts] or [
                "Choose a reading of this session."
            ]
    vitals_form = None
    if can_write and session.status in IN_CHAIR:
        vitals_form = forms.get("vitals") or VitalsForm(initial={"phase": phase_for(session)})
    schedule = monitoring_selectors.reading_schedule(session, readings)
    return {
        "readings": readings,
        "schedule": schedule,
        "schedule_alerts": [p for p in schedule if p.state in ("due", "overdue")],
        "chart": monitoring_selectors.chart_series(session, readings),
        "vitals_form": vitals_form,
        "unacknowledged": [r for r in readings if r.needs_ack],
        "vital_columns": VitalsForm.VITALS,
        "panel_errors": panel_errors,
    }


def _pending_checklist_answers(kind, session):
    """Unanswered stand-ins for a checklist not opened yet, so the page can show its items."""
    template = selectors.active_checklist_template(kind, session.course.patient.clinic)
    if template is None:
        return []
    return [
        SimpleNamespace(
            item=item,
            answer=YesNoUnknown.UNKNOWN,
            effect=ItemEffect.NONE,
            is_overridden=False,
            overridden_by=None,
            override_reason="",
            get_answer_display=lambda: "Unknown",
        )
        for item in template.items.order_by("position")
    ]


def _answers(response):
    return list(
        response.answers.select_related(
            "item", "response", "overridden_by", "answered_by"
        ).order_by("item__position")
    )


def _answers_of(*responses):
    """`_answers` of each response (None: no checklist, no answers), in one query."""
    return _answers_of_ids(
        *(response.pk if response is not None else None for response in responses)
    )


def _answers_of_ids(*response_ids):
    """`_answers_of` by the responses' ids (None: no checklist, no answers)."""
    ids = [pk for pk in response_ids if pk is not None]
    by_response = {pk: [] for pk in ids}
    if ids:
        for answer in (
            ChecklistAnswer.objects.filter(response_id__in=ids)
            .select_related("item", "response", "overridden_by", "answered_by")
            .order_by("item__position", "id")
        ):
            by_response[answer.response_id].append(answer)
    return [by_response[pk] if pk is not None else [] for pk in response_ids]


def _guard(session, to_status):
    rule = ss.SESSION_TRANSITIONS.rule(session.status, to_status)
    if rule is None or rule.guard is None:
        return None
    return rule.guard(session)


def _runner_context(request, session, forms=None):
    """The runner's context. `session` comes from `session_get_for_runner_for_user` or
    `session_reload_for_runner` (the course record and lists read with it). A GET writes nothing:
    the checklists' system answers are worked out for the page, and saved by the POSTs that
    act on them (check-in, checklist answers, the transitions' guards)."""
    forms = forms or {}
    user = request.user
    clinic = session.course.patient.clinic
    can_write = user_has_role(user, CLINICIAN_ROLES, clinic=clinic)
    can_prescribe = user_has_role(user, PRESCRIBER, clinic=clinic)
    can_front_desk = user_has_role(user, ss.FRONT_DESK, clinic=clinic)
    esketamine = session.plan.drug == Drug.ESKETAMINE
    status = session.status
    # Read once, for every panel that shows or judges them.
    readings = monitoring_selectors.readings_with_acknowledgment(session)
    side_effects = session.side_effects_list
    devices = session.devices_list if esketamine and status in DEVICES_GIVEN else []
    record = ss.PreSessionRecord(
        consultation=session.course_consultation,
        weight=session.latest_weight,
        assessment=session.signed_assessment,
        baseline=ss.baseline_of(readings),
    )
    context = {
        "session": session,
        "course": session.course,
        "patient": session.course.patient,
        "plan": session.plan,
        "esketamine": esketamine,
        "can_write": can_write,
        "can_prescribe": can_prescribe,
        "S": {s.name: s.value for s in SessionStatus},
        "devices": devices,
    }
    first_device = context["devices"][0].given_at if context["devices"] else None
    context["timer_start"] = first_device or session.dose_started_at
    context["observation_ends_at"] = (
        ss.observation_ends_at(session, devices=devices)
        if status in (S.MONITORING, S.READY_FOR_DISCHARGE)
        else None
    )

    # Check-in, cancel, transfer.
    if status == S.SCHEDULED and can_front_desk:
        context["check_in_form"] = forms.get("check_in") or CheckInForm()
    cancel_form = None
    if (status == S.SCHEDULED and can_front_desk) or (status in PRE_CHECKLIST_OPEN and can_write):
        cancel_form = forms.get("cancel") or CancelForm()
        if status != S.SCHEDULED:
            cancel_form.fields["status"].choices = [(S.CANCELLED, "Cancelled")]
    context["cancel_form"] = cancel_form
    if status in (S.DOSING, S.MONITORING) and can_prescribe:
        context["transfer_form"] = forms.get("transfer") or TransferForm()

    # Pre-session checklist.
    # Both checklists' answers in one query (the discharge one only while it is open).
    pre_answers, discharge_answers = _answers_of_ids(
        session.pre_checklist_id,
        session.discharge_checklist_id if status in DISCHARGE_OPEN else None,
    )
    pre_problems = None
    if session.pre_checklist is not None:
        answers = pre_answers
        pre_problems, pre_warnings = [], []
        if status in PRE_CHECKLIST_OPEN:
            pre_problems, pre_warnings = ss.pre_checklist_review(session, answers, record)
        checklist_form = None
        if status in PRE_CHECKLIST_OPEN and can_write:
            checklist_form = forms.get("pre_checklist") or ChecklistForm(answers=answers)
        context.update(
            pre_rows=checklist_rows(answers, checklist_form),
            pre_form=checklist_form,
            pre_problems=pre_problems,
            pre_warnings=pre_warnings,
            override_form=forms.get("override"),
        )
    if status in PRE_CHECKLIST_OPEN:
        context["baseline_effect"], context["baseline_message"] = ss.baseline_vitals_problem(
            session, reading=record.baseline
        )

    # Dose (while ready): the calculation is shown before anything is confirmed.
    if status == S.READY:
        weight = request.GET.get("weight_kg") or None
        calc_error = None
        calculation = used_weight = weight_on = None
        try:
            if weight is not None:
                weight = Decimal(weight)
                if not Decimal("20") <= weight <= Decimal("350"):
                    raise ValidationError("Weight must be 20 to 350 kg; weigh again.")
            calculation, used_weight, weight_on = ss.session_dose_calculation(
                session, weight_kg=weight, latest=record.weight
            )
        except (ValidationError, ArithmeticError, ValueError) as exc:
            calc_error = (
                exc.messages if isinstance(exc, ValidationError) else ["Enter a weight in kg."]
            )
            weight = None
        dose_form = forms.get("dose")
        if dose_form is None and can_write:
            initial = {
                "weight_kg": weight,
                "dose_mg": session.dose_mg or (calculation.dose_mg if calculation else None),
                "dose_change_reason": session.dose_change_reason,
                "prescriber_on_site": session.prescriber_on_site,
            }
            dose_form = DoseForm(initial=initial, esketamine=esketamine)
        context.update(
            calculation=calculation, calc_error=calc_error, calc_weight=used_weight,
            calc_weight_on=weight_on, typed_weight=weight, dose_form=dose_form,
            start_problem=_guard(session, S.DOSING),
        )  # fmt: skip
    if status == S.CHECKED_IN:
        # The guard of checked in -> ready is the pre-session checklist's problems (as
        # `_pre_checks_pass` joins them), worked out above without writing.
        if pre_problems is None:
            context["ready_problem"] = _guard(session, S.READY)
        else:
            context["ready_problem"] = " ".join(pre_problems) or None

    # Dosing.
    if status == S.DOSING and can_write:
        context["end_form"] = forms.get("end") or EndDosingForm()
        if esketamine:
            context["devices_left"] = (session.devices_used or 0) - len(context["devices"])

    # Ledger.
    if status in LEDGER_OPEN or session.status in (S.DISCHARGED, S.TRANSFERRED):
        context.update(_ledger_context(session, user, forms if can_write else {}))
        if not can_write:
            context["draw_form"] = None
            for row in context["draw_rows"]:
                row.administer_form = row.waste_form = None

    # Discharge.
    if status in DISCHARGE_OPEN:
        if session.discharge_checklist is not None:
            answers = discharge_answers
            for_status = S.READY_FOR_DISCHARGE if status == S.MONITORING else S.DISCHARGED
            # From the ledger panel's draws (DISCHARGE_OPEN is within LEDGER_OPEN).
            reconciled = ledger_selectors.draws_reconciled(row.draw for row in context["draw_rows"])
            context["discharge_problems"] = ss.discharge_review(
                session, answers, for_status=for_status, readings=readings,
                side_effects=side_effects, devices=devices, reconciled=reconciled,
            )  # fmt: skip
        else:
            answers = _pending_checklist_answers(ChecklistKind.DISCHARGE, session)
            context["discharge_problems"] = ["Answer the discharge criteria."]
        discharge_checklist_form = None
        if can_write:
            discharge_checklist_form = forms.get("discharge_checklist") or ChecklistForm(
                answers=answers
            )
        context.update(
            discharge_rows=checklist_rows(answers, discharge_checklist_form),
            discharge_checklist_form=discharge_checklist_form,
        )
        if status == S.READY_FOR_DISCHARGE and can_write:
            context["discharge_form"] = forms.get("discharge") or DischargeForm(
                initial={"escort_name": session.escort_name,
                         "escort_relationship": session.escort_relationship,
                         "escort_phone": session.escort_phone, "notes": session.notes}
            )  # fmt: skip

    # Side effects.
    context["side_effects"] = side_effects
    if can_write and status in (*IN_CHAIR,):
        context["side_effect_form"] = forms.get("side_effect") or SideEffectForm()
    context["grade_meanings"] = Grade.choices
    context["side_effect_terms"] = SideEffectTerm

    context.update(_vitals_context(session, forms, can_write=can_write, readings=readings))
    context["status_changes"] = session.status_changes_list
    return context


def _runner_page(request, session, forms=None, status=200):
    return render(
        request,
        "pathway/session_run.html",
        _runner_context(request, session, forms),
        status=status,
    )


@staff_required
def session_run(request, public_id):
    session = session_selectors.session_get_for_runner_for_user(
        request.user, public_id, roles=STAFF_ROLES
    )
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return _runner_page(request, session)


def _done(request, session, anchor, text=None):
    if text:
        messages.success(request, text)
    return redirect(runner_url(session, anchor))


def _refused(request, session, anchor, exc, prefix=""):
    _messages_from(request, exc, prefix)
    return redirect(runner_url(session, anchor))


def _reload(session):
    return session_selectors.session_reload_for_runner(session)


# --- check-in, checklists ---------------------------------------------------------------------


@session_post(roles=STAFF_ROLES)
def session_check_in(request, session):
    form = CheckInForm(request.POST)
    if form.is_valid():
        try:
            ss.session_check_in(
                session=session,
                by=request.user,
                identity_confirmed=form.cleaned_data["identity_confirmed"],
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            return _done(request, session, "checklist", "Checked in.")
    return _runner_page(request, _reload(session), {"check_in": form})


def _checklist_post(request, session, key, anchor):
    status = session.status
    if key == "pre_checklist":
        response = session.pre_checklist if status in PRE_CHECKLIST_OPEN else None
        answers = _answers(response) if response else []
    else:
        if status not in DISCHARGE_OPEN:
            response = None
            answers = []
        elif session.discharge_checklist is not None:
            answers = _answers(session.discharge_checklist)
        else:
            answers = _pending_checklist_answers(ChecklistKind.DISCHARGE, session)
    if not answers:
        messages.error(request, "No checklist is open at this point of the session.")
        return redirect(runner_url(session, anchor))
    form = ChecklistForm(request.POST, answers=answers)
    if form.is_valid():
        try:
            ss.checklist_answer(session=session, by=request.user, answers=form.answers())
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            return _done(request, session, anchor, "Checklist saved.")
    return _runner_page(request, _reload(session), {key: form})


@session_post()
def session_pre_checklist(request, session):
    return _checklist_post(request, session, "pre_checklist", "checklist")


@session_post()
def session_discharge_checklist(request, session):
    return _checklist_post(request, session, "discharge_checklist", "discharge")


@session_post(roles=CLINICIAN_ROLES)
def session_override(request, session):
    form = ChecklistOverrideForm(request.POST)
    anchor = "discharge" if session.status in DISCHARGE_OPEN else "checklist"
    if form.is_valid():
        try:
            answer = ss.checklist_override(
                session=session,
                by=request.user,
                item_code=form.cleaned_data["item_code"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            return _done(request, session, anchor, f"{answer.item.code} overridden.")
    if "item_code" in form.errors:
        # No override row of the page names this item, so no field to show the error beside.
        for text in form.errors["item_code"]:
            messages.error(request, f"Not overridden: {text}")
        return redirect(runner_url(session, anchor))
    return _runner_page(request, _reload(session), {"override": form})


@session_post()
def session_mark_ready(request, session):
    try:
        ss.session_mark_ready(session=session, by=request.user)
    except ValidationError as exc:
        return _refused(request, session, "checklist", exc, "Not ready: ")
    return _done(request, session, "dose", "Pre-session checks passed: ready to dose.")


# --- vitals (htmx or plain POST) --------------------------------------------------------------


def _vitals_response(request, session, ok, forms):
    if _is_htmx(request):
        session = _reload(session)
        if ok and session.status in PRE_CHECKLIST_OPEN:
            # The checklist and go/no-go panels depend on the baseline: reload the page.
            response = HttpResponse(status=204)
            response["HX-Redirect"] = runner_url(session, "vitals")
            return response
        context = {
            "session": session,
            "can_write": user_has_role(
                request.user, CLINICIAN_ROLES, clinic=session.course.patient.clinic
            ),
            **_vitals_context(session, forms, can_write=True),
        }
        return render(request, "pathway/_session_vitals.html", context)
    if ok:
        return redirect(runner_url(session, "vitals"))
    return _runner_page(request, _reload(session), forms)


@session_post()
def session_vitals(request, session):
    form = VitalsForm(request.POST)
    ok = False
    if form.is_valid():
        try:
            monitoring_services.vital_record(
                session=session, by=request.user, **form.service_fields()
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            ok = True
            form = None
    return _vitals_response(request, session, ok, {"vitals": form} if form else {})


def _reading_of(session, form):
    return session.readings.filter(public_id=form.cleaned_data["reading"]).first()


def _reading_action(request, session, *, form, service, field, missing, context_key):
    """A POST about one reading of the session (acknowledge it, or mark it in error)."""
    ok = False
    if form.is_valid():
        reading = _reading_of(session, form)
        if reading is None:
            form.add_error(None, "No such reading in this session.")
        else:
            try:
                service(reading=reading, by=request.user, **{field: form.cleaned_data[field]})
            except ValidationError as exc:
                _errors_into(form, exc)
            else:
                ok = True
    if not ok and not _is_htmx(request) and "reading" in form.errors:
        messages.error(request, missing)
        return redirect(runner_url(session, "vitals"))
    return _vitals_response(request, session, ok, {} if ok else {context_key: form})


@session_post()
def session_acknowledge(request, session):
    return _reading_action(
        request,
        session,
        form=AcknowledgeForm(request.POST),
        service=monitoring_services.vital_acknowledge,
        field="action_taken",
        missing="Choose a reading to acknowledge.",
        context_key="acknowledge",
    )


@session_post()
def session_reading_error(request, session):
    return _reading_action(
        request,
        session,
        form=EnteredInErrorForm(request.POST),
        service=monitoring_services.vital_mark_entered_in_error,
        field="reason",
        missing="Choose a reading to correct.",
        context_key="entered_in_error",
    )


# --- dose and ledger --------------------------------------------------------------------------


@session_post()
def session_dose(request, session):
    form = DoseForm(request.POST, esketamine=session.plan.drug == Drug.ESKETAMINE)
    if form.is_valid():
        data = form.cleaned_data
        try:
            ss.session_confirm_dose(
                session=session,
                by=request.user,
                dose_mg=data["dose_mg"],
                weight_kg=data.get("weight_kg"),
                dose_change_reason=data["dose_change_reason"],
                prescriber_on_site=data.get("prescriber_on_site", False),
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            return _done(request, session, "ledger", f"Dose confirmed: {data['dose_mg']} mg.")
    return _runner_page(request, _reload(session), {"dose": form})


@session_post()
def session_draw(request, session):
    form = DrawForm(request.POST, session=session, user=request.user)
    if form.is_valid():
        try:
            ledger_services.draw_for_session(actor=request.user, **form.service_kwargs())
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            return _done(request, session, "ledger", "Draw recorded in the ledger.")
    return _runner_page(request, _reload(session), {"draw": form})


def _draw_of(request, session):
    key = request.POST.get("draw", "")
    draws = ledger_selectors.session_draws(session)
    try:
        return draws.filter(public_id=key).first()
    except ValidationError:
        return None


def _use_post(request, session, kind):
    draw = _draw_of(request, session)
    if draw is None:
        messages.error(request, "Choose a draw of this session.")
        return redirect(runner_url(session, "ledger"))
    key = str(draw.public_id)
    if kind == "administer":
        form = AdministerForm(request.POST, draw=draw, user=request.user, prefix=f"a-{key[:8]}")
        service, text = ledger_services.administer, "Administration recorded."
    else:
        form = WasteForm(request.POST, draw=draw, user=request.user, prefix=f"w-{key[:8]}")
        service, text = ledger_services.waste, "Witnessed waste recorded."
    if form.is_valid():
        try:
            service(actor=request.user, **form.service_kwargs())
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            return _done(request, session, "ledger", text)
    return _runner_page(request, _reload(session), {f"{kind}:{key}": form})


@session_post()
def session_administer(request, session):
    return _use_post(request, session, "administer")


@session_post()
def session_waste(request, session):
    return _use_post(request, session, "waste")


# --- dosing -----------------------------------------------------------------------------------


@session_post()
def session_start(request, session):
    try:
        ss.session_start_dosing(session=session, by=request.user)
    except ValidationError as exc:
        return _refused(request, session, "start", exc, "Dosing not started: ")
    return _done(request, session, "vitals", "Dosing started.")


@session_post()
def session_device(request, session):
    try:
        warnings = ss.esketamine_device_given(session=session, by=request.user)
    except ValidationError as exc:
        return _refused(request, session, "devices", exc, "Device not recorded: ")
    for warning in warnings:
        messages.warning(request, warning)
    return _done(request, session, "devices", "Device recorded.")


def _form_action(request, session, form, *, call, anchor, done, key):
    """A runner POST with a form: `call(cleaned_data)` on valid input, then back to the
    runner at `anchor`; otherwise the runner again with `form` (its errors, the typed values)
    under `key`."""
    if form.is_valid():
        try:
            call(form.cleaned_data)
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            return _done(request, session, anchor, done)
    return _runner_page(request, _reload(session), {key: form})


@session_post()
def session_end(request, session):
    return _form_action(
        request,
        session,
        EndDosingForm(request.POST),
        call=lambda data: ss.session_end_dosing(
            session=session, by=request.user, early_stop_reason=data["early_stop_reason"]
        ),
        anchor="vitals",
        done="Administration ended; monitoring.",
        key="end",
    )


# --- side effects -----------------------------------------------------------------------------


@session_post()
def session_side_effect(request, session):
    form = SideEffectForm(request.POST)
    return _form_action(
        request,
        session,
        form,
        call=lambda data: monitoring_services.side_effect_report(
            course=session.course, session=session, by=request.user, **form.service_fields()
        ),
        anchor="side-effects",
        done="Side effect recorded.",
        key="side_effect",
    )


# --- discharge, cancel, transfer --------------------------------------------------------------


@session_post()
def session_ready_for_discharge(request, session):
    try:
        ss.session_ready_for_discharge(session=session, by=request.user)
    except ValidationError as exc:
        return _refused(request, session, "discharge", exc, "Not ready to leave: ")
    return _done(request, session, "discharge", "Judged ready to leave.")


@session_post()
def session_discharge(request, session):
    return _form_action(
        request,
        session,
        DischargeForm(request.POST),
        call=lambda data: ss.session_discharge(session=session, by=request.user, **data),
        anchor="",
        done="Discharged; the session record is signed and locked.",
        key="discharge",
    )


@session_post(roles=STAFF_ROLES)
def session_cancel(request, session):
    return _form_action(
        request,
        session,
        CancelForm(request.POST),
        call=lambda data: ss.session_cancel(
            session=session, by=request.user, status=data["status"], reason=data["reason"]
        ),
        anchor="",
        done="Session closed.",
        key="cancel",
    )


@session_post()
def session_transfer(request, session):
    return _form_action(
        request,
        session,
        TransferForm(request.POST),
        call=lambda data: ss.session_transfer(
            session=session, by=request.user, reason=data["reason"]
        ),
        anchor="",
        done="Emergency transfer recorded.",
        key="transfer",
    )


# --- the printable record ---------------------------------------------------------------------


def _nearest(readings, at, window_minutes=15):
    if at is None:
        return None
    window = datetime.timedelta(minutes=window_minutes)
    close = [r for r in readings if r.systolic is not None and abs(r.taken_at - at) <= window]
    return min(close, key=lambda r: abs(r.taken_at - at), default=None)


@staff_required
def session_print(request, public_id):
    # The session with what the record shows of it, then one query each for the readings
    # (with their acknowledgments), draws, side effects and checklist answers.
    session = session_selectors.session_get_for_print_for_user(
        request.user, public_id, roles=STAFF_ROLES
    )
    all_readings = monitoring_selectors.readings_with_acknowledgment(session)
    readings = [r for r in all_readings if not r.entered_in_error]
    for reading in all_readings:
        reading.flag_text = [
            (Vital(vital).label, Flag(flag).label.lower(), flag in CRITICAL_FLAGS)
            for vital, flag in reading.flags.items()
        ]
    draws = list(ledger_selectors.session_draws(session))
    for draw in draws:
        draw.drawn = -draw.quantity
    devices = (
        session.given_devices
        if session.plan.drug == Drug.ESKETAMINE and session.status in DEVICES_GIVEN
        else []
    )
    start = devices[0].given_at if devices else session.dose_started_at
    with_bp = [r for r in readings if r.systolic is not None]
    baseline = [r for r in with_bp if r.phase == "baseline"]
    side_effects = list(monitoring_selectors.side_effects_for_session(session))
    terms = {effect.term for effect in side_effects}
    minutes = lambda a, b: round((b - a).total_seconds() / 60) if a and b else None  # noqa: E731
    pre_answers, discharge_answers = _answers_of_ids(
        session.pre_checklist_id, session.discharge_checklist_id
    )
    assessment = session.signed_assessment
    med_today = next((a for a in pre_answers if a.item.code == "PS-MEDTODAY"), None)
    context = {
        "session": session,
        "course": session.course,
        "patient": session.course.patient,
        "clinic": session.course.patient.clinic,
        "plan": session.plan,
        "devices": devices,
        "draws": draws,
        "pre_answers": pre_answers,
        "discharge_answers": discharge_answers,
        "readings": all_readings,
        "vital_columns": VitalsForm.VITALS,
        "bp_before": baseline[-1] if baseline else None,
        "bp_40": _nearest(with_bp, start + datetime.timedelta(minutes=40)) if start else None,
        "bp_end": with_bp[-1] if with_bp and with_bp[-1].phase != "baseline" else None,
        "side_effects": side_effects,
        "sedation": "SEDATION" in terms
        or "LOC" in terms
        or any(r.moaas is not None and r.moaas <= 3 for r in readings),
        "dissociation": "DISSOC" in terms
        or any((r.cadss or 0) > 0 for r in readings if r.phase != "baseline"),
        "respiratory": "RESP" in terms or any(r.spo2 is not None and r.spo2 < 92 for r in readings),
        "start": start,
        "monitoring_minutes": minutes(start, session.discharged_at),
        "ready_minutes": minutes(start, session.ready_to_leave_at),
        "first_treatment": session.session_number == 1,
        "rems_enrolled_on": assessment.rems_enrolled_on if assessment else None,
        "med_today": med_today,
    }
    return render(request, "pathway/session_print.html", context)
