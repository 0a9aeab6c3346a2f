"""Checklist templates in the Django admin: answered versions are read-only, and a change
makes a new version that new assessments use while old answers keep their version."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from clinic.pathway import selectors, services
from clinic.pathway.demo import walk_course
from clinic.pathway.models import ChecklistKind, ChecklistTemplate
from tests import factories


@pytest.fixture
def checklist_admin(clinic_admin):
    clinic_admin.is_staff = True
    clinic_admin.save(update_fields=["is_staff"])
    clinic_admin.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="pathway",
            content_type__model__in=["checklisttemplate", "checklistitem"],
        )
    )
    return clinic_admin


def default_template():
    return ChecklistTemplate.objects.get(code="eligibility", version=1, clinic=None)


@pytest.mark.django_db
def test_clinic_admin_copies_the_default_into_a_clinic_version_used_from_then_on(
    client, clinic, checklist_admin, prescriber, nurse
):
    answered = walk_course(
        patient=factories.PatientFactory(clinic=clinic),
        prescriber=prescriber,
        nurse=nurse,
        stage="assessment_draft",
    )
    client.force_login(checklist_admin)
    url = reverse("admin:pathway_checklisttemplate_changelist")
    response = client.post(
        url, {"action": "make_new_version", "_selected_action": [default_template().pk]}
    )
    assert response.status_code == 302
    copy = ChecklistTemplate.objects.get(clinic=clinic, code="eligibility")
    assert copy.version == 1 and copy.is_active
    assert copy.items.count() == default_template().items.count() == 26
    assert selectors.active_checklist_template(ChecklistKind.ELIGIBILITY, clinic) == copy
    # The assessment already started keeps the version its answers were given against.
    assert answered.assessments.get().checklist.template == default_template()

    # The new version is editable by the clinic admin until someone answers it...
    change_url = reverse("admin:pathway_checklisttemplate_change", args=[copy.pk])
    page = client.get(change_url)
    assert page.status_code == 200 and b'name="title"' in page.content
    # ...while the answered default is read-only for them.
    page = client.get(
        reverse("admin:pathway_checklisttemplate_change", args=[default_template().pk])
    )
    assert page.status_code == 200 and b'name="title"' not in page.content


@pytest.mark.django_db
def test_answered_version_cannot_be_changed_through_the_admin(
    client, clinic, checklist_admin, prescriber, nurse
):
    own = services.checklist_template_new_version(template=default_template(), clinic=clinic)
    walk_course(
        patient=factories.PatientFactory(clinic=clinic),
        prescriber=prescriber,
        nurse=nurse,
        stage="assessment_draft",
    )
    assert own.in_use
    client.force_login(checklist_admin)
    url = reverse("admin:pathway_checklisttemplate_change", args=[own.pk])
    response = client.post(url, {"title": "Changed behind the answers", "kind": own.kind})
    assert response.status_code == 403
    own.refresh_from_db()
    assert own.title == "Eligibility and contraindications"


@pytest.mark.django_db
def test_clinic_admin_sees_only_the_defaults_and_their_own_clinics_versions(
    client, clinic, other_clinic, checklist_admin
):
    other = services.checklist_template_new_version(
        template=default_template(), clinic=other_clinic
    )
    client.force_login(checklist_admin)
    response = client.get(reverse("admin:pathway_checklisttemplate_changelist"))
    assert response.status_code == 200
    shown = set(response.context["cl"].queryset)
    assert default_template() in shown
    assert other not in shown
    response = client.get(reverse("admin:pathway_checklisttemplate_change", args=[other.pk]))
    assert response.status_code == 302  # the admin's "does not exist" redirect
