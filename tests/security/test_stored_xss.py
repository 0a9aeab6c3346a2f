"""Stored XSS: script and event-handler payloads written into every admin-editable name and
every patient text field come out escaped on every page of the project.

The pages are the URL meta-test's own registry (tests/core/test_url_access.py), so a page
added there is covered here too, opened by the user who may see it.
"""

import pytest
from django.apps import apps
from django.db import DatabaseError, IntegrityError, transaction

from tests.core.test_url_access import (
    OBJECT_URL_KWARGS,
    OBJECT_URL_OWNERS,
    PARAMETER_ROLE_URLS,
    ROLE_URLS,
    World,
    _url_for,
)

SCRIPT = "<script>x()</script>"
HANDLER = '"><svg onload=x()>'
# What must never reach a page unescaped; the escaped forms (&lt;script&gt;...) are fine.
RAW_MARKERS = ("<script>x()", "<svg onload")

# Free text a clinic's staff, admins or patients type, and the names admins give things.
TEXT_FIELDS = {
    "patients.Clinic": ["name", "address"],
    "accounts.User": ["first_name", "last_name"],
    "patients.Patient": [
        "given_name", "family_name", "preferred_name", "gender_identity", "address",
        "emergency_contact_name", "emergency_contact_relationship",
    ],
    "pathway.ChecklistTemplate": ["title"],
    "pathway.ChecklistItem": ["prompt", "help_text"],
    "pathway.TreatmentCourse": ["indication"],
    "pathway.Consultation": [
        "referred_by", "presenting_problem", "diagnoses", "psychiatric_history",
        "medical_history", "substance_use_history", "current_medications", "allergies",
        "prior_treatments", "goals", "notes",
    ],
    "pathway.Assessment": ["decision_reason", "notes"],
    "pathway.TreatmentPlan": ["fasting_instructions", "stop_criteria", "notes"],
    "pathway.FollowUp": ["side_effects_between", "outcome_notes"],
    "pathway.AdministrationSession": ["notes", "escort_name", "escort_relationship"],
    "ledger.Lot": ["product_name", "supplier_name"],
    "monitoring.SideEffectReport": ["other_term", "verbatim", "treatment_given"],
    "measures.ClinicMeasureSettings": ["crisis_resources"],
    "measures.MoodJournalEntry": ["note"],
    "measures.SafetyAlert": ["reason", "action_note"],
    "core.Notification": ["title", "body"],
    "core.Addendum": ["text"],
    "fhir.ApiToken": ["name"],
}  # fmt: skip

# Must be injected for the test to mean anything (others may be locked by signatures).
REQUIRED = {
    "patients.Clinic.name",
    "accounts.User.first_name",
    "patients.Patient.given_name",
    "patients.Patient.family_name",
    "pathway.ChecklistItem.prompt",
    "pathway.Consultation.presenting_problem",
    "ledger.Lot.product_name",
    "core.Notification.title",
    "fhir.ApiToken.name",
}


def _payload_for(field, index):
    payload = (SCRIPT, HANDLER)[index % 2]
    if field.max_length and field.max_length < len(payload):
        return None
    return payload


def inject_payloads():
    """Writes a payload into every listed field of every row that accepts a change (signed
    and locked rows refuse it in the database, as they should); returns what took."""
    injected = set()
    for label, names in TEXT_FIELDS.items():
        model = apps.get_model(label)
        for index, name in enumerate(names):
            field = model._meta.get_field(name)
            payload = _payload_for(field, index)
            if payload is None:
                continue
            # Row by row: a signed row refusing the change must not spare its neighbours.
            for n, pk in enumerate(model.objects.values_list("pk", flat=True)):
                value = f"{payload}{n}" if field.unique else payload
                try:
                    with transaction.atomic():
                        model.objects.filter(pk=pk).update(**{name: value})
                except (IntegrityError, DatabaseError):
                    continue
                injected.add(f"{label}.{name}")
    return injected


def _pages(world):
    for name, holder in ROLE_URLS.items():
        yield name, holder
    for name, (holder, _kwargs) in PARAMETER_ROLE_URLS.items():
        yield name, holder
    for name in OBJECT_URL_KWARGS:
        yield name, OBJECT_URL_OWNERS.get(name, "prescriber")


@pytest.mark.django_db
def test_payloads_in_every_name_and_text_field_render_escaped_on_every_page(client):
    world = World()
    injected = inject_payloads()
    assert injected >= REQUIRED, f"not injected: {sorted(REQUIRED - injected)}"

    unescaped, opened = [], 0
    for name, holder in _pages(world):
        client.force_login(getattr(world, holder))
        response = client.get(_url_for(name, world))
        assert response.status_code < 500, name
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        opened += 1
        html = response.content.decode()
        unescaped += [f"{name}: {marker}" for marker in RAW_MARKERS if marker in html]
        # The payload did reach the page (escaped): otherwise this would prove nothing.
    assert unescaped == []
    assert opened >= 40


@pytest.mark.django_db
def test_the_payloads_are_on_the_pages_escaped(client):
    """Guards the test above against vacuity: the names are shown, just not as markup."""
    world = World()
    inject_payloads()
    client.force_login(world.prescriber)
    html = client.get(_url_for("patients:detail", world)).content.decode()
    assert "&lt;script&gt;x()&lt;/script&gt;" in html or "&lt;svg onload=x()&gt;" in html
