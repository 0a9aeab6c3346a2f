"""Posts garbage to every form: never a 500, never an invalid record stored."""

import pytest
from django.urls import reverse

from clinic.core.models import Addendum
from clinic.pathway.demo import walk_course
from clinic.pathway.models import (
    Assessment,
    Consultation,
    FollowUp,
    TreatmentCourse,
    TreatmentPlan,
)
from clinic.patients.models import CareTeamMember, Patient
from tests import factories

GARBAGE_VALUES = [
    "",
    " ",
    "x" * 5000,
    "\x00null\x00byte",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "😀" * 50,
    "-1",
    "99999999999999999999999",
    "2024-02-30",
    "0000-00-00",
    "NaN",
    "../../etc/passwd",
]

FORM_FIELDS = {
    "account_login": ["login", "password", "remember"],
    "account_reset_password": ["email"],
    "account_change_password": ["oldpassword", "password1", "password2"],
    "account_email": ["email", "action_add", "action_remove", "action_primary"],
    "account_reauthenticate": ["password"],
    "patients:create": [
        "clinic",
        "given_name",
        "family_name",
        "date_of_birth",
        "sex_at_birth",
        "email",
        "phone",
        "emergency_contact_phone",
    ],
    "patients:edit": ["given_name", "date_of_birth", "status", "version", "phone"],
    "patients:care_team_add": ["user", "responsibility"],
}
GET_FORMS = {"patients:list": ["q", "clinic", "status", "page"]}
GET_FORMS["ledger:count_sheet"] = ["clinic", "business_time"]
FORM_FIELDS["fhir:tokens"] = ["name"]
GET_FORMS["exports:index"] = ["clinic", "kind", "start", "end"]


def url_for(name, patient):
    if name.startswith("patients:") and name not in ("patients:create", "patients:list"):
        return reverse(name, kwargs={"public_id": patient.public_id})
    return reverse(name)


def assert_every_patient_valid():
    for patient in Patient.objects.all():
        patient.full_clean()
    for member in CareTeamMember.objects.all():
        member.full_clean()


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(FORM_FIELDS))
def test_garbage_posts_never_fail_or_store_invalid_records(client, patient, prescriber, name):
    url = url_for(name, patient)
    before = Patient.objects.count()
    for value in GARBAGE_VALUES:
        client.force_login(prescriber)
        payload = dict.fromkeys(FORM_FIELDS[name], value)
        response = client.post(url, payload)
        assert response.status_code < 500, (name, value)
        if response.status_code == 200 and name.startswith("patients:"):
            assert "invalid-feedback" in response.content.decode() or "alert" in (
                response.content.decode()
            ), (name, value)
    assert Patient.objects.count() == before
    assert_every_patient_valid()


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(GET_FORMS))
def test_garbage_queries_never_fail(client, patient, prescriber, name):
    client.force_login(prescriber)
    for value in GARBAGE_VALUES:
        response = client.get(url_for(name, patient), dict.fromkeys(GET_FORMS[name], value))
        # A value the filter does not offer is a bad request, with the message beside its
        # field; "" and values the form accepts (a search text) show the page.
        assert response.status_code in (200, 400), value
        if response.status_code == 400:
            assert response.context["form"].errors, value


@pytest.mark.django_db
def test_garbage_in_a_multi_value_field_and_unknown_fields_is_harmless(client, patient, prescriber):
    client.force_login(prescriber)
    response = client.post(
        reverse("patients:edit", kwargs={"public_id": patient.public_id}),
        {"given_name": ["a", "b"], "clinic": "1", "medical_record_number": "HACKED", "pk": 1},
    )
    assert response.status_code == 200
    patient.refresh_from_db()
    assert patient.medical_record_number != "HACKED"


# --- treatment pathway -------------------------------------------------------------------------

CONSULTATION_POST = [
    "version", "action", "referral_source", "referred_by", "referral_date",
    "presenting_problem", "diagnoses", "off_label", "failed_antidepressant_trials",
    "consent_kind", "consent_version", "consent_signed_on", "consent_obtained_by",
]  # fmt: skip
PLAN_POST = [
    "edit_version", "route", "dose_mode", "mg_per_kg", "mg_per_kg_min", "mg_per_kg_max",
    "fixed_dose_mg", "max_dose_mg", "weight_policy", "weight_cap_kg",
    "concentration_mg_per_ml", "final_volume_ml", "infusion_minutes", "induction_sessions",
    "sessions_per_week", "review_after_sessions", "monitoring_interval_minutes", "notes",
]  # fmt: skip
# URL name -> (posted fields, which object of PathwayWorld the URL names)
PATHWAY_FORMS = {
    "pathway:course_create": (["indication", "drug"], "patient"),
    "pathway:course_transition": (["to_status", "reason"], "course"),
    "pathway:consultation_edit": (CONSULTATION_POST, "draft_course"),
    "pathway:consultation_edit_by_id": (CONSULTATION_POST, "draft_consultation"),
    "pathway:consultation_addendum": (["text"], "consultation"),
    "pathway:assessment": (
        [
            "version",
            "action",
            "assessed_on",
            "height_cm",
            "weight_kg",
            "systolic_1",
            "diastolic_1",
            "spo2",
            "pregnancy_test",
            "suicide_risk",
            "baseline_phq9",
            "decision",
            "decision_reason",
            "answer__CI-ANEURYSM",
            "justification__REL-AGE65",
        ],
        "draft_assessment",
    ),
    "pathway:assessment_addendum": (["text"], "assessment"),
    "pathway:plan_create": (PLAN_POST, "course"),
    "pathway:plan_edit": (PLAN_POST, "draft_plan"),
    "pathway:plan_transition": (["to_status", "reason"], "plan"),
    "pathway:plan_addendum": (["text"], "plan"),
    "pathway:follow_up_create": (["kind", "due_on"], "course"),
    "pathway:follow_up": (
        ["action", "completed_on", "decision", "side_effects_between", "outcome_notes"],
        "follow_up",
    ),
    "pathway:follow_up_close": (["status", "reason"], "follow_up"),
}


class PathwayWorld:
    def __init__(self, patient, prescriber):
        nurse = factories.make_staff(clinic=patient.clinic, role="nurse")
        walk = {"patient": patient, "prescriber": prescriber, "nurse": nurse}
        self.patient = patient
        self.course = walk_course(stage="active", **walk)
        self.draft_course = walk_course(stage="consultation_draft", **walk)
        assessed = walk_course(stage="assessment_draft", **walk)
        planned = walk_course(stage="plan_draft", **walk)
        self.consultation = Consultation.objects.get(course=self.course)
        self.draft_consultation = Consultation.objects.get(course=self.draft_course)
        self.assessment = self.course.assessments.get()
        self.draft_assessment = assessed.assessments.get()
        self.plan = self.course.plans.get()
        self.draft_plan = planned.plans.get()
        self.follow_up = self.course.follow_ups.get()


def assert_every_pathway_record_valid():
    for model in (TreatmentCourse, Consultation, Assessment, TreatmentPlan, FollowUp, Addendum):
        for record in model.objects.all():
            record.full_clean()


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(PATHWAY_FORMS))
def test_garbage_posts_to_pathway_forms_never_fail_or_store_invalid_records(
    client, patient, prescriber, name
):
    world = PathwayWorld(patient, prescriber)
    fields, target = PATHWAY_FORMS[name]
    url = reverse(name, kwargs={"public_id": getattr(world, target).public_id})
    courses, plans = TreatmentCourse.objects.count(), TreatmentPlan.objects.count()
    client.force_login(prescriber)
    for value in GARBAGE_VALUES:
        response = client.post(url, dict.fromkeys(fields, value))
        assert response.status_code < 500, (name, value)
        if response.status_code == 200:
            page = response.content.decode()
            assert "invalid-feedback" in page or "alert" in page, (name, value)
    assert (TreatmentCourse.objects.count(), TreatmentPlan.objects.count()) == (courses, plans)
    assert_every_pathway_record_valid()


# --- controlled-substance ledger ----------------------------------------------------------------

LEDGER_LOT_FIELDS = ["quantity", "reason", "witness", "witness_password"]
# URL name -> posted fields (lot and entry URLs name a ketamine lot of the prescriber's clinic).
LEDGER_FORMS = {
    "ledger:lot_receive": [
        "clinic", "drug", "product_name", "ndc", "lot_number", "expiry_date",
        "concentration_mg_per_ml", "container_ml", "container_count", "received_on",
        "supplier_name", "supplier_address", "supplier_dea_number", "invoice_number",
    ],
    "ledger:lot_count": LEDGER_LOT_FIELDS,
    "ledger:lot_adjust": LEDGER_LOT_FIELDS,
    "ledger:lot_dispose": LEDGER_LOT_FIELDS,
    "ledger:lot_loss": LEDGER_LOT_FIELDS,
    "ledger:lot_return": LEDGER_LOT_FIELDS,
    "ledger:lot_quarantine": ["reason"],
    "ledger:entry_reverse": ["reason"],
}  # fmt: skip
# Text fields accept any text: with a valid reason these may store a row (a quarantine, an
# adjustment of -1 mL, a reversal); everything else must come back with field errors.
LEDGER_MAY_ACCEPT = {
    "ledger:lot_quarantine": set(GARBAGE_VALUES) - {"", " ", "x" * 5000},
    "ledger:entry_reverse": set(GARBAGE_VALUES) - {"", " ", "x" * 5000},
    "ledger:lot_adjust": {"-1"},
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(LEDGER_FORMS))
def test_garbage_posts_to_ledger_forms_never_fail_or_store_invalid_records(
    client, patient, prescriber, name
):
    from clinic.ledger.models import LedgerEntry, Lot
    from tests.ledger.conftest import receive

    lot = receive(patient.clinic, prescriber, lot_number="G1")
    if name == "ledger:lot_receive":
        url = reverse(name)
    elif name == "ledger:entry_reverse":
        url = reverse(name, kwargs={"public_id": lot.entries.get().public_id})
    else:
        url = reverse(name, kwargs={"public_id": lot.public_id})
    client.force_login(prescriber)
    for value in GARBAGE_VALUES:
        response = client.post(url, dict.fromkeys(LEDGER_FORMS[name], value))
        assert response.status_code < 500, (name, value)
        if response.status_code == 200:
            page = response.content.decode()
            assert "invalid-feedback" in page or "alert" in page, (name, value)
        else:
            assert value in LEDGER_MAY_ACCEPT.get(name, ()), (name, value)
    assert Lot.objects.count() == 1
    for entry in LedgerEntry.objects.all():
        entry.full_clean()
    for lot in Lot.objects.all():
        lot.full_clean()


# --- administration sessions and alerts ---------------------------------------------------------

# URL name -> (posted fields, which session of SessionWorld the URL names). Each session is at
# the point where its form is open; text-only forms post to a session whose status makes the
# service refuse, so garbage can never move a session on.
SESSION_FORMS = {
    "pathway:session_book": (["scheduled_at", "nurse", "prescriber"], "course"),
    "pathway:session_check_in": (["identity_confirmed"], "scheduled"),
    "pathway:session_cancel": (["status", "reason"], "scheduled"),
    "pathway:session_pre_checklist": (["answer__PS-FAST", "answer__PS-ESCORT"], "checked_in"),
    "pathway:session_override": (["item_code", "reason"], "checked_in"),
    "pathway:session_vitals": (
        ["phase", "systolic", "diastolic", "heart_rate", "spo2", "respiratory_rate",
         "temperature_c", "moaas", "cadss", "symptoms"],
        "checked_in",
    ),
    "pathway:session_acknowledge": (["reading", "action_taken"], "checked_in"),
    "pathway:session_reading_error": (["reading", "reason"], "checked_in"),
    "pathway:session_dose": (
        ["weight_kg", "dose_mg", "dose_change_reason", "prescriber_on_site"], "ready"
    ),
    "pathway:session_draw": (["lot", "ml", "units"], "ready"),
    "pathway:session_administer": (["draw", "quantity"], "ready"),
    "pathway:session_waste": (
        ["draw", "quantity", "witness", "witness_password", "reason"], "ready"
    ),
    "pathway:session_end": (["early_stop_reason"], "ready"),
    "pathway:session_side_effect": (
        ["term", "other_term", "verbatim", "onset_at", "resolved_at", "grade", "serious",
         "serious_criteria", "relatedness", "action_taken", "treatment_given", "outcome"],
        "ready",
    ),
    "pathway:session_discharge_checklist": (
        ["answer__DC-MOAAS", "answer__DC-MOOD"], "monitoring"
    ),
    "pathway:session_discharge": (
        ["escort_name", "escort_relationship", "escort_phone", "notes"], "monitoring"
    ),
    "pathway:session_transfer": (["reason"], "monitoring"),
}  # fmt: skip


class SessionWorld:
    def __init__(self, patient, prescriber):
        from decimal import Decimal

        from clinic.pathway import session_services as ss
        from tests.ledger.conftest import receive
        from tests.pathway.sessions import book, draw_and_account, fresh, to_ready

        clinic = patient.clinic
        nurse = factories.make_staff(clinic=clinic, role="nurse")
        lot = receive(clinic, prescriber, lot_number="GS1", concentration="10", container_ml="10")
        self.scheduled = book(clinic, prescriber, nurse, patient=patient)
        self.course = self.scheduled.course
        self.checked_in = ss.session_check_in(
            session=book(clinic, prescriber, nurse), by=nurse, identity_confirmed=True
        )
        self.ready = to_ready(book(clinic, prescriber, nurse), nurse)
        ss.session_confirm_dose(session=fresh(self.ready), by=nurse, dose_mg=Decimal("36.0"))
        from clinic.ledger import services as ledger

        ledger.draw_for_session(lot=lot, session=self.ready, actor=nurse, ml=Decimal("4.00"))
        monitoring = to_ready(book(clinic, prescriber, nurse), nurse)
        ss.session_confirm_dose(session=fresh(monitoring), by=nurse, dose_mg=Decimal("36.0"))
        draw_and_account(monitoring, nurse, prescriber, lot, draw=Decimal("3.60"),
                         give=Decimal("3.60"))  # fmt: skip
        ss.session_start_dosing(session=fresh(monitoring), by=nurse)
        ss.session_end_dosing(session=fresh(monitoring), by=nurse)
        self.monitoring = fresh(monitoring)


def session_state():
    from clinic.core.models import Notification
    from clinic.ledger.models import LedgerEntry
    from clinic.monitoring.models import SideEffectReport, VitalAcknowledgment, VitalReading
    from clinic.pathway.models import AdministrationSession, ChecklistAnswer

    return {
        "sessions": list(
            AdministrationSession.objects.order_by("pk").values_list(
                "status", "dose_mg", "escort_name", "early_stop_reason"
            )
        ),
        # System items are worked out from the record whenever a page shows them.
        "answers": list(
            ChecklistAnswer.objects.filter(item__system=False)
            .order_by("pk")
            .values_list("answer", "override_reason")
        ),
        **{
            model.__name__: model.objects.count()
            for model in (
                VitalReading,
                VitalAcknowledgment,
                SideEffectReport,
                LedgerEntry,
                Notification,
            )
        },
    }


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(SESSION_FORMS))
def test_garbage_posts_to_session_forms_never_fail_or_store_anything(
    client, patient, prescriber, name
):
    world = SessionWorld(patient, prescriber)
    fields, target = SESSION_FORMS[name]
    url = reverse(name, kwargs={"public_id": getattr(world, target).public_id})
    client.force_login(prescriber)
    before = session_state()
    for value in GARBAGE_VALUES:
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = client.post(url, dict.fromkeys(fields, value), **headers)
            assert response.status_code < 500, (name, value)
            if response.status_code == 200:
                page = response.content.decode()
                assert "invalid-feedback" in page or "alert" in page, (name, value)
    assert session_state() == before


@pytest.mark.django_db
def test_garbage_to_the_alerts_pages_never_fails(client, prescriber):
    client.force_login(prescriber)
    for value in GARBAGE_VALUES:
        assert client.get(reverse("core:notifications"), {"page": value}).status_code == 200
        response = client.post(reverse("core:notifications_read_all"), {"page": value})
        assert response.status_code == 302


# --- measures and the patient portal -------------------------------------------------------

JOURNAL_FIELDS = [
    "submission_key", "entry_date", "mood", "energy", "anxiety", "sleep_hours",
    "sleep_quality", "tags", "note", "safety_thoughts",
]  # fmt: skip
# URL name -> (posted fields, who posts, URL kwargs from MeasuresWorld)
MEASURE_FORMS = {
    "portal:journal_new": (JOURNAL_FIELDS, "patient_user", lambda w: {}),
    "portal:questionnaire": (
        ["submission_key"] + [f"item_{n}" for n in range(1, 11)],
        "patient_user",
        lambda w: {"slug": "phq-9"},
    ),
    "portal:reminders": (
        ["journal_enabled", "journal_time", "questionnaires_enabled", "visits_enabled"],
        "patient_user",
        lambda w: {},
    ),
    "portal:journal_entry": (["text"], "patient_user", lambda w: {"public_id": w.entry.public_id}),
    "measures:alert_detail": (
        ["action", "note"], "prescriber", lambda w: {"public_id": w.alert.public_id}
    ),
    "measures:rate": (
        ["submission_key", "item_1", "session"],
        "prescriber",
        lambda w: {"public_id": w.patient.public_id, "slug": "moaa-s"},
    ),
    "measures:schedule": (
        ["instrument_code", "timing", "every_n_sessions", "interval_days"],
        "prescriber",
        lambda w: {"public_id": w.course.public_id},
    ),
    "measures:settings": (
        ["crisis_resources", "licensed_instruments", "journal_tags"], "prescriber", lambda w: {}
    ),
}  # fmt: skip
# Free-text fields take any text but blank or overlong: these may store (a note, new crisis text).
TEXT_ACCEPTED = set(GARBAGE_VALUES) - {"", " ", "x" * 5000, "\x00null\x00byte"}
MEASURE_MAY_ACCEPT = {"portal:journal_entry": TEXT_ACCEPTED, "measures:settings": TEXT_ACCEPTED}


class MeasuresWorld:
    def __init__(self, patient, prescriber):
        import uuid

        from clinic.measures import services as measures

        nurse = factories.make_staff(clinic=patient.clinic, role="nurse")
        self.patient = patient
        self.patient_user = factories.UserFactory()
        Patient.objects.filter(pk=patient.pk).update(user=self.patient_user)
        patient.refresh_from_db()
        self.course = walk_course(
            stage="active", patient=patient, prescriber=prescriber, nurse=nurse
        )
        self.entry = measures.journal_submit(
            patient=patient, by=self.patient_user, submission_key=uuid.uuid4(), mood=3,
            energy=3, anxiety=6, sleep_hours=5, safety_thoughts=True,
        )  # fmt: skip
        self.alert = self.entry.safety_alerts.get()


def measures_state():
    from clinic.measures.models import (
        InstrumentResponse,
        MoodJournalEntry,
        ReminderPreference,
        SafetyAlert,
        ScheduleRule,
    )

    return {
        "responses": InstrumentResponse.objects.count(),
        "journal": MoodJournalEntry.objects.count(),
        "alerts": list(SafetyAlert.objects.order_by("pk").values_list("status", "action")),
        "rules": ScheduleRule.objects.filter(is_active=True).count(),
        "reminders": list(ReminderPreference.objects.values_list("journal_time", flat=True)),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(MEASURE_FORMS))
def test_garbage_posts_to_measure_forms_never_fail_or_store_anything(
    client, patient, prescriber, name
):
    world = MeasuresWorld(patient, prescriber)
    fields, poster, kwargs = MEASURE_FORMS[name]
    url = reverse(name, kwargs=kwargs(world))
    client.force_login(prescriber if poster == "prescriber" else world.patient_user)
    before = measures_state()
    for value in GARBAGE_VALUES:
        response = client.post(url, dict.fromkeys(fields, value))
        assert response.status_code < 500, (name, value)
        if response.status_code in (200, 400):
            page = response.content.decode()
            assert "invalid-feedback" in page or "alert" in page, (name, value)
            assert response.status_code == 400, (name, value)
        else:
            assert value in MEASURE_MAY_ACCEPT.get(name, ()), (name, value)
    assert measures_state() == before


# --- FHIR API tokens ---------------------------------------------------------------------------

# A token name is any text of 1 to 80 characters without NUL: these are accepted as names.
TOKEN_NAME_ACCEPTED = set(GARBAGE_VALUES) - {"", " ", "x" * 5000, "\x00null\x00byte"}


@pytest.mark.django_db
def test_garbage_token_names_never_fail_or_store_invalid_tokens(client, prescriber):
    from clinic.fhir.models import ApiToken

    client.force_login(prescriber)
    for value in GARBAGE_VALUES:
        response = client.post(reverse("fhir:tokens"), {"name": value})
        assert response.status_code == 200, value
        page = response.content.decode()
        created = 'id="new-token"' in page
        assert created == (value in TOKEN_NAME_ACCEPTED), value
        if not created:
            assert "invalid-feedback" in page, value
    assert ApiToken.objects.count() == len(TOKEN_NAME_ACCEPTED)
    for token in ApiToken.objects.all():
        token.full_clean()
        assert token.name.strip() and "\x00" not in token.name


@pytest.mark.django_db
def test_garbage_to_the_exports_and_the_audit_viewer_gives_a_message_never_a_500(
    client, clinic_admin
):
    client.force_login(clinic_admin)
    filters = ["clinic", "patient", "user", "action", "outcome", "start", "end", "page"]
    for value in GARBAGE_VALUES:
        download = client.get(
            reverse("exports:download", kwargs={"kind": "vitals"}),
            dict.fromkeys(["clinic", "start", "end"], value),
        )
        assert download.status_code == 400, value
        assert b"invalid-feedback" in download.content or b"alert-danger" in download.content
        audit = client.get(reverse("audit:log"), dict.fromkeys(filters, value))
        assert audit.status_code in (200, 400), value
        if audit.status_code == 400:
            assert b"invalid-feedback" in audit.content or b"alert-danger" in audit.content


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["dashboard", "outcomes", "controlled_substances"])
def test_garbage_date_ranges_on_the_reports_give_a_message_and_the_default_range(
    client, clinic_admin, name
):
    client.force_login(clinic_admin)
    for value in GARBAGE_VALUES:
        response = client.get(reverse(f"reports:{name}"), {"start": value, "end": value})
        assert response.status_code == 200, value
        if value.strip():
            assert b"invalid-feedback" in response.content, value
        junk_clinic = client.get(reverse(f"reports:{name}"), {"clinic": value})
        assert junk_clinic.status_code in (200, 400), value
