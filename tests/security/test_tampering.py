"""Hidden-field, select and formset-key tampering (issue 8, "attack tests").

The URL's object id is checked by tests/core/test_url_access.py. Here the URL is one the user
may post to, and the reference is inside the form: a hidden `clinic`, a reading's or a draw's
UUID, a checklist item code, a ModelChoiceField (clinician, witness, lot, session). A signed-in
user of the first clinic posts a valid form whose reference names an object of another clinic,
or of another patient or session of the same clinic, and gets a clear refusal with nothing
changed anywhere but the audit log; the same post naming the legitimate object works, so the
refusal is not vacuous.

The two clinics' records are built once for the module (one World, two sessions in the
chair) inside a transaction that is rolled back at the end; each test runs in a savepoint of
it, as pytest-django's `db` fixture does for any test.
"""

import datetime
import html
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from clinic.ledger import services as ledger
from clinic.ledger.models import LedgerEntry, Lot
from clinic.measures.models import ClinicMeasureSettings, InstrumentResponse
from clinic.monitoring import services as monitoring
from clinic.monitoring.models import VitalAcknowledgment, VitalReading
from clinic.pathway import session_services as ss
from clinic.pathway.models import ChecklistAnswer
from clinic.patients.models import CareTeamMember, Patient
from tests import factories
from tests.core.test_url_access import World
from tests.core.test_url_access import snapshot as url_access_snapshot
from tests.factories import PASSWORD
from tests.ledger.conftest import receive
from tests.pathway.sessions import book, fresh, to_ready

SELECT_REFUSED = "Select a valid choice"


def _session_in_the_chair(clinic, prescriber, nurse, lot_number):
    """A new patient's IV ketamine session while dosing: 4 mL drawn and not yet accounted
    for, and an intra-dose reading with a critical blood pressure waiting to be
    acknowledged."""
    lot = receive(clinic, prescriber, lot_number=lot_number, concentration="10", container_ml="10")
    session = to_ready(book(clinic, prescriber, nurse), nurse)
    session = ss.session_confirm_dose(session=fresh(session), by=nurse, dose_mg=Decimal("36.0"))
    draw = ledger.draw_for_session(lot=lot, session=session, actor=nurse, ml=Decimal("4.00"))
    ss.session_start_dosing(session=fresh(session), by=nurse)
    reading = monitoring.vital_record(
        session=fresh(session), by=nurse, phase="intra", systolic=182, diastolic=96,
        heart_rate=88, spo2=96,
    )  # fmt: skip
    assert reading.has_critical
    return SimpleNamespace(
        session=fresh(session), patient=session.course.patient, lot=lot, draw=draw,
        reading=reading,
    )  # fmt: skip


class Scene(World):
    """World's clinic (its prescriber, admin, nurse, checked-in session and lot) plus a
    session in the chair at that clinic (another patient) and one at the outsider's clinic."""

    def __init__(self):
        super().__init__()
        self.nurse = self.session.nurse
        self.outsider_clinic = self.other_clinician.clinic_memberships.get().clinic
        self.outsider_nurse = factories.make_staff(clinic=self.outsider_clinic, role="nurse")
        self.chair = _session_in_the_chair(self.clinic, self.prescriber, self.nurse, "TAMPER-A")
        self.outsider_chair = _session_in_the_chair(
            self.outsider_clinic, self.other_clinician, self.outsider_nurse, "TAMPER-B"
        )
        # World's checked-in session (another patient of the same clinic): a critical
        # baseline reading, and an escort not arranged, which blocks until overridden.
        self.checked_in_reading = monitoring.vital_record(
            session=self.session, by=self.nurse, phase="baseline", systolic=182, diastolic=96,
            heart_rate=80, spo2=97,
        )  # fmt: skip
        ss.checklist_answer(session=self.session, by=self.nurse, answers={"PS-ESCORT": "no"})


@pytest.fixture(scope="module")
def scene(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield Scene()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def w(scene, db):
    return scene


def snapshot():
    """test_url_access's snapshot (patients, care teams, users, every clinical and ledger
    table) and the measure settings a clinic's form writes."""
    return {
        **url_access_snapshot(),
        "measure_settings": list(ClinicMeasureSettings.objects.order_by("pk").values()),
    }


def _text(response):
    return html.unescape(response.content.decode())


def _run_url(action, session):
    return reverse(f"pathway:session_{action}", kwargs={"public_id": session.public_id})


def _use_prefix(kind, draw):
    return f"{kind}-{str(draw.public_id)[:8]}"


def _administer(w, draw):
    prefix = _use_prefix("a", draw)
    return {"draw": draw.public_id, f"{prefix}-quantity": "3.00"}


def _waste(draw, witness):
    prefix = _use_prefix("w", draw)
    return {
        "draw": draw.public_id,
        f"{prefix}-quantity": "0.50",
        f"{prefix}-witness": witness.pk,
        f"{prefix}-witness_password": PASSWORD,
        f"{prefix}-reason": "Left in the syringe",
    }


def _uses(draw, entry_type):
    return LedgerEntry.objects.filter(draw=draw, entry_type=entry_type).count()


def _lot_receipt(clinic):
    today = timezone.localdate()
    return {
        "clinic": clinic.pk,
        "drug": "ketamine",
        "product_name": "Ketamine HCl",
        "ndc": "0409-2051-05",
        "lot_number": "FORGED1",
        "expiry_date": (today + datetime.timedelta(days=200)).isoformat(),
        "concentration_mg_per_ml": "100",
        "container_ml": "5",
        "container_count": "2",
        "received_on": today.isoformat(),
        "supplier_name": "Invented Wholesale",
        "supplier_address": "1 Test Street",
        "supplier_dea_number": "AB1234563",
        "invoice_number": "INV-T",
    }


@dataclass
class Tamper:
    """A form of the first clinic whose post names an object in one field.

    `post(w, ref)` is the valid form naming `ref`; `legit(w)` the object the form offers;
    `tampered` the objects it must refuse; `refusal` what the user is told; `worked(w)` is
    true once the legitimate post has been saved. A refusal may come back as the page with
    the form (200/400), a 404, or a redirect to a page that carries the message."""

    user: str
    url: Callable
    post: Callable
    legit: Callable
    tampered: dict
    refusal: str
    worked: Callable
    extra: dict = field(default_factory=dict)


FORMS = {
    # Registration: the clinic is a hidden field for a one-clinic user.
    "patient_create.clinic": Tamper(
        user="prescriber",
        url=lambda w: reverse("patients:create"),
        post=lambda w, clinic: {
            "clinic": clinic.pk,
            "given_name": "Tamsin",
            "family_name": "Forgewright",
            "date_of_birth": "1980-05-17",
            "sex_at_birth": "female",
        },
        legit=lambda w: w.clinic,
        tampered={"other_clinic": lambda w: w.outsider_clinic},
        refusal="you can register patients only in your own clinics",
        worked=lambda w: Patient.objects.filter(
            family_name="Forgewright", clinic=w.clinic
        ).exists(),
    ),
    "care_team_add.user": Tamper(
        user="prescriber",
        url=lambda w: reverse("patients:care_team_add", kwargs={"public_id": w.patient.public_id}),
        post=lambda w, user: {"user": user.pk, "responsibility": "nurse"},
        legit=lambda w: w.nurse,
        tampered={
            "other_clinic_clinician": lambda w: w.other_clinician,
            "patient_of_the_clinic": lambda w: w.portal_user,
            "clinic_admin_not_clinician": lambda w: w.clinic_admin,
        },
        refusal=f"Care team not changed: {SELECT_REFUSED}",
        worked=lambda w: CareTeamMember.objects.filter(
            patient=w.patient, user=w.nurse, responsibility="nurse", is_active=True
        ).exists(),
    ),
    # Booking a session: the nurse and the prescriber are selects of the clinic's staff.
    "session_book.nurse": Tamper(
        user="prescriber",
        url=lambda w: reverse("pathway:session_book", kwargs={"public_id": w.course.public_id}),
        post=lambda w, nurse: {
            "scheduled_at": (timezone.localtime() + datetime.timedelta(days=2)).strftime(
                "%Y-%m-%dT%H:%M"
            ),
            "nurse": nurse.pk,
            "prescriber": w.prescriber.pk,
        },
        legit=lambda w: w.nurse,
        tampered={
            "other_clinic_nurse": lambda w: w.outsider_nurse,
            "patient_of_the_clinic": lambda w: w.portal_user,
        },
        refusal=SELECT_REFUSED,
        worked=lambda w: w.course.sessions.filter(nurse=w.nurse).count() == 2,
    ),
    "session_book.prescriber": Tamper(
        user="prescriber",
        url=lambda w: reverse("pathway:session_book", kwargs={"public_id": w.course.public_id}),
        post=lambda w, prescriber: {
            "scheduled_at": (timezone.localtime() + datetime.timedelta(days=2)).strftime(
                "%Y-%m-%dT%H:%M"
            ),
            "nurse": w.nurse.pk,
            "prescriber": prescriber.pk,
        },
        legit=lambda w: w.prescriber,
        tampered={
            "other_clinic_prescriber": lambda w: w.other_clinician,
            "nurse_not_prescriber": lambda w: w.nurse,
        },
        refusal=SELECT_REFUSED,
        worked=lambda w: w.course.sessions.count() == 2,
    ),
    # The runner's vitals: a reading's UUID in a hidden field.
    "session_acknowledge.reading": Tamper(
        user="prescriber",
        url=lambda w: _run_url("acknowledge", w.chair.session),
        post=lambda w, reading: {"reading": reading.public_id, "action_taken": "BP rechecked"},
        legit=lambda w: w.chair.reading,
        tampered={
            "other_clinic_reading": lambda w: w.outsider_chair.reading,
            "other_session_reading": lambda w: w.checked_in_reading,
        },
        refusal="No such reading in this session.",
        worked=lambda w: VitalAcknowledgment.objects.filter(reading=w.chair.reading).exists(),
    ),
    "session_reading_error.reading": Tamper(
        user="nurse",
        url=lambda w: _run_url("reading_error", w.chair.session),
        post=lambda w, reading: {"reading": reading.public_id, "reason": "Cuff too small"},
        legit=lambda w: w.chair.reading,
        tampered={
            "other_clinic_reading": lambda w: w.outsider_chair.reading,
            "other_session_reading": lambda w: w.checked_in_reading,
        },
        refusal="No such reading in this session.",
        worked=lambda w: VitalReading.objects.get(pk=w.chair.reading.pk).entered_in_error,
    ),
    # The checklist override names an item of the session's open checklist by its code.
    "session_override.item_code": Tamper(
        user="prescriber",
        url=lambda w: _run_url("override", w.session),
        post=lambda w, code: {"item_code": code, "reason": "Escort is on the way"},
        legit=lambda w: "PS-ESCORT",
        tampered={"item_of_another_checklist": lambda w: "DC-ESCORT"},
        refusal="Not overridden: No such checklist item.",
        worked=lambda w: ChecklistAnswer.objects.filter(
            response=fresh(w.session).pre_checklist,
            item__code="PS-ESCORT",
            overridden_by=w.prescriber,
        ).exists(),
    ),
    # The controlled-substance ledger: a lot select, a draw's UUID, a witness select.
    "session_draw.lot": Tamper(
        user="nurse",
        url=lambda w: _run_url("draw", w.chair.session),
        post=lambda w, lot: {"lot": lot.pk, "ml": "0.50"},
        legit=lambda w: w.chair.lot,
        tampered={"other_clinic_lot": lambda w: w.outsider_chair.lot},
        refusal=SELECT_REFUSED,
        worked=lambda w: (
            LedgerEntry.objects.filter(session=w.chair.session, entry_type="draw").count() == 2
        ),
    ),
    "session_administer.draw": Tamper(
        user="nurse",
        url=lambda w: _run_url("administer", w.chair.session),
        post=_administer,
        legit=lambda w: w.chair.draw,
        tampered={"other_clinic_draw": lambda w: w.outsider_chair.draw},
        refusal="Choose a draw of this session.",
        worked=lambda w: _uses(w.chair.draw, "administer") == 1,
    ),
    "session_administer.draw_via_another_session": Tamper(
        # The draw belongs to a session of the same clinic that is dosing, so only the
        # session scoping stands between this post and the ledger.
        user="nurse",
        url=lambda w: _run_url("administer", w.session),
        post=_administer,
        legit=lambda w: w.chair.draw,
        tampered={"draw_of_another_session": lambda w: w.chair.draw},
        refusal="Choose a draw of this session.",
        worked=lambda w: _uses(w.chair.draw, "administer") == 1,
        extra={"legit_url": lambda w: _run_url("administer", w.chair.session)},
    ),
    "session_waste.draw": Tamper(
        user="nurse",
        url=lambda w: _run_url("waste", w.chair.session),
        post=lambda w, draw: _waste(draw, w.prescriber),
        legit=lambda w: w.chair.draw,
        tampered={"other_clinic_draw": lambda w: w.outsider_chair.draw},
        refusal="Choose a draw of this session.",
        worked=lambda w: _uses(w.chair.draw, "waste") == 1,
    ),
    "session_waste.witness": Tamper(
        user="nurse",
        url=lambda w: _run_url("waste", w.chair.session),
        post=lambda w, witness: _waste(w.chair.draw, witness),
        legit=lambda w: w.prescriber,
        tampered={
            "other_clinic_clinician": lambda w: w.other_clinician,
            "patient_of_the_clinic": lambda w: w.portal_user,
        },
        refusal=SELECT_REFUSED,
        worked=lambda w: LedgerEntry.objects.filter(
            draw=w.chair.draw, entry_type="waste", witness=w.prescriber
        ).exists(),
    ),
    "lot_receive.clinic": Tamper(
        user="prescriber",
        url=lambda w: reverse("ledger:lot_receive"),
        post=lambda w, clinic: _lot_receipt(clinic),
        legit=lambda w: w.clinic,
        tampered={"other_clinic": lambda w: w.outsider_clinic},
        refusal="you can receive stock only for your own clinics",
        worked=lambda w: Lot.objects.filter(lot_number="FORGED1", clinic=w.clinic).exists(),
    ),
    "lot_count.witness": Tamper(
        user="prescriber",
        url=lambda w: reverse("ledger:lot_count", kwargs={"public_id": w.ledger_lot.public_id}),
        post=lambda w, witness: {
            "quantity": "5.00",
            "witness": witness.pk,
            "witness_password": PASSWORD,
        },
        legit=lambda w: w.nurse,
        tampered={
            "other_clinic_staff": lambda w: w.other_clinician,
            "patient_of_the_clinic": lambda w: w.portal_user,
        },
        refusal=SELECT_REFUSED,
        worked=lambda w: w.ledger_lot.entries.filter(entry_type="count", witness=w.nurse).exists(),
    ),
    # Measures: a rating tied to a session of the patient's current course.
    "measures_rate.session": Tamper(
        user="prescriber",
        url=lambda w: reverse(
            "measures:rate", kwargs={"public_id": w.chair.patient.public_id, "slug": "moaa-s"}
        ),
        post=lambda w, session: {
            "submission_key": uuid.uuid4(),
            "item_1": "5",
            "session": session.public_id,
        },
        legit=lambda w: w.chair.session,
        tampered={
            "other_clinic_session": lambda w: w.outsider_chair.session,
            "other_patients_session": lambda w: w.session,
        },
        refusal=SELECT_REFUSED,
        worked=lambda w: InstrumentResponse.objects.filter(
            patient=w.chair.patient, session=w.chair.session
        ).exists(),
    ),
    "measure_settings.clinic": Tamper(
        user="prescriber",
        url=lambda w: reverse("measures:settings"),
        post=lambda w, clinic: {
            "clinic": clinic.public_id,
            "crisis_resources": "Call 988 any time.",
            "journal_tags": "calm",
        },
        legit=lambda w: w.clinic,
        tampered={"other_clinic": lambda w: w.outsider_clinic},
        refusal="",  # a 400 page: the settings form is never shown for another clinic
        worked=lambda w: ClinicMeasureSettings.objects.filter(
            clinic=w.clinic, crisis_resources="Call 988 any time."
        ).exists(),
    ),
}

CASES = [(form, variant) for form, case in FORMS.items() for variant in case.tampered]


@pytest.mark.parametrize(("form", "variant"), CASES, ids=[f"{f}-{v}" for f, v in CASES])
def test_a_tampered_reference_is_refused_and_the_genuine_one_is_saved(client, w, form, variant):
    case = FORMS[form]
    client.force_login(getattr(w, case.user))
    before = snapshot()

    response = client.post(case.url(w), case.post(w, case.tampered[variant](w)))

    assert snapshot() == before, "a refused post changed the database"
    if response.status_code == 302:  # the refusal is a message on the page it goes back to
        response = client.get(response.url)
    assert response.status_code in (200, 400, 404)
    if response.status_code != 404 and case.refusal:
        assert case.refusal in _text(response)
    else:
        assert response.status_code in (400, 404)

    url = case.extra.get("legit_url", case.url)(w)
    response = client.post(url, case.post(w, case.legit(w)))
    assert response.status_code == 302, _text(response)[:3000]
    assert case.worked(w)


def test_editing_a_patient_ignores_a_clinic_in_the_post(client, w):
    """The edit form has no clinic field: a forged one moves nobody to another clinic."""
    client.force_login(w.prescriber)
    patient = fresh(w.patient)
    url = reverse("patients:edit", kwargs={"public_id": patient.public_id})
    response = client.post(
        url,
        {
            "clinic": w.outsider_clinic.pk,
            "given_name": "Philippa",
            "family_name": patient.family_name,
            "date_of_birth": patient.date_of_birth.isoformat(),
            "sex_at_birth": patient.sex_at_birth,
            "status": patient.status,
            "phone": "+1 555 0142",
            "version": patient.version,
        },
    )
    assert response.status_code == 302
    saved = fresh(patient)
    assert (saved.clinic, saved.phone) == (w.clinic, "+1 555 0142")


def test_a_forged_record_version_is_refused_as_a_conflict(client, w):
    """`version` is hidden: a value other than the record's (an attacker skipping ahead of a
    colleague's edit) is refused, and what the user typed is kept."""
    client.force_login(w.prescriber)
    patient = fresh(w.patient)
    url = reverse("patients:edit", kwargs={"public_id": patient.public_id})
    data = {
        "given_name": "Philippa",
        "family_name": patient.family_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "sex_at_birth": patient.sex_at_birth,
        "status": patient.status,
        "phone": "+1 555 0177",
    }
    before = snapshot()
    for forged in (patient.version + 1, patient.version - 1):
        response = client.post(url, {**data, "version": forged})
        assert response.status_code == 200
        assert "Someone else saved this patient's details" in _text(response)
        assert 'value="+1 555 0177"' in response.content.decode()
    assert snapshot() == before
    assert client.post(url, {**data, "version": patient.version}).status_code == 302
    assert fresh(patient).phone == "+1 555 0177"


def test_checklist_answers_write_only_the_items_of_the_sessions_open_checklist(client, w):
    """The checklist is a set of `answer__<item code>` fields: a key naming an item of another
    checklist (the discharge criteria) or of another session writes nothing there."""
    client.force_login(w.nurse)
    session = fresh(w.session)
    own = session.pre_checklist
    answers = {
        f"answer__{a.item.code}": "yes" if a.item.trigger_answer == "no" else "no"
        for a in own.answers.select_related("item")
        if not a.item.system
    }
    elsewhere = ChecklistAnswer.objects.exclude(response=own).order_by("pk")
    before = list(elsewhere.values())
    forged = {"answer__DC-MOAAS": "yes", "answer__DC-ESCORT": "yes", "answer__PS-ESCORT": "yes"}
    response = client.post(_run_url("pre_checklist", session), {**answers, **forged})
    assert response.status_code == 302
    assert list(elsewhere.values()) == before
    assert own.answers.get(item__code="PS-ESCORT").answer == "yes"


@pytest.mark.parametrize(
    ("url_name", "kwargs"),
    [
        ("exports:index", {}),
        ("exports:download", {"kind": "sessions"}),
        ("audit:log", {}),
    ],
)
def test_an_admin_cannot_name_another_clinic_in_a_report_filter(client, w, url_name, kwargs):
    client.force_login(w.clinic_admin)
    url = reverse(url_name, kwargs=kwargs)
    refused = client.get(url, {"clinic": str(w.outsider_clinic.public_id)})
    assert refused.status_code == 404
    assert w.outsider_clinic.name not in _text(refused)
    assert client.get(url, {"clinic": str(w.clinic.public_id)}).status_code == 200


def test_another_users_form_key_runs_nothing_and_reveals_nothing(client, w):
    """`form_key` is a hidden UUID that makes a resend a no-op: replayed by someone else, it
    saves nothing and does not send them to the record the first submission opened."""
    key = str(uuid.uuid4())
    registration = {
        "given_name": "Tamsin", "family_name": "Keyholder", "date_of_birth": "1980-05-17",
        "sex_at_birth": "female", "form_key": key,
    }  # fmt: skip
    client.force_login(w.prescriber)
    first = client.post(reverse("patients:create"), registration)
    registered = Patient.objects.get(family_name="Keyholder")
    assert first.url == reverse("patients:detail", kwargs={"public_id": registered.public_id})
    assert client.post(reverse("patients:create"), registration).url == first.url  # a resend

    client.force_login(w.other_clinician)
    before = snapshot()
    replayed = client.post(reverse("patients:create"), registration)
    assert replayed.status_code == 302
    assert str(registered.public_id) not in replayed.url
    assert snapshot() == before
