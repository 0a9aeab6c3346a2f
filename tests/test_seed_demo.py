import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from clinic.accounts.models import User
from clinic.core.models import AccessEvent
from clinic.pathway.models import (
    CourseStatus,
    FollowUp,
    PlanStatus,
    TreatmentCourse,
    TreatmentPlan,
)
from clinic.patients.models import CareTeamMember, Clinic, ClinicMembership, Patient


def counts():
    return {
        model.__name__: model.objects.count()
        for model in (
            Clinic,
            User,
            ClinicMembership,
            Patient,
            CareTeamMember,
            AccessEvent,
            TreatmentCourse,
            TreatmentPlan,
            FollowUp,
        )
    }


@pytest.mark.django_db
def test_seed_demo_creates_two_clinics_the_logins_and_20_patients_each(capsys):
    call_command("seed_demo")
    assert Clinic.objects.count() == 2
    for clinic in Clinic.objects.all():
        assert clinic.patients.count() == 20
    roles = dict(ClinicMembership.objects.values_list("user__username", "role"))
    assert roles == {
        "prescriber": "prescriber",
        "nurse": "nurse",
        "clinicadmin": "admin",
        "otherclinician": "prescriber",
    }
    patient_user = User.objects.get(username="patient")
    assert patient_user.patient_record.clinic.name == "Riverside Demo Clinic"
    assert User.objects.get(username="otherclinician").clinic_memberships.get().clinic.name == (
        "Hillside Demo Clinic"
    )
    assert "demo-pass-2026" in capsys.readouterr().out


@pytest.mark.django_db
def test_seed_demo_is_idempotent():
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first


@pytest.mark.django_db
def test_seed_demo_is_refused_where_demo_data_is_not_allowed(settings):
    settings.DEMO_DATA_ALLOWED = False
    with pytest.raises(CommandError, match="refused"):
        call_command("seed_demo")
    assert Patient.objects.count() == 0


@pytest.mark.django_db
def test_seed_demo_leaves_courses_at_every_stage_of_the_pathway():
    call_command("seed_demo")
    riverside = TreatmentCourse.objects.filter(patient__clinic__name="Riverside Demo Clinic")
    statuses = set(riverside.values_list("status", flat=True))
    assert statuses == {
        CourseStatus.CONSULTATION,
        CourseStatus.ASSESSMENT,
        CourseStatus.PLANNING,
        CourseStatus.ACTIVE,
        CourseStatus.MAINTENANCE,
        CourseStatus.CLOSED_NOT_TREATED,
    }
    # Within those statuses, the steps differ: unsigned and signed notes, draft and approved
    # plans, both drugs, and an overdue follow-up for the overdue list.
    assert riverside.filter(consultation__signed_at__isnull=True).exists()
    assert riverside.filter(
        status=CourseStatus.CONSULTATION, consultation__signed_at__isnull=False
    ).exists()
    assert riverside.filter(assessments__signed_at__isnull=True).exists()
    assert TreatmentPlan.objects.filter(status=PlanStatus.DRAFT).exists()
    assert set(riverside.values_list("drug", flat=True)) == {"ketamine", "esketamine"}
    assert FollowUp.objects.filter(status="scheduled", due_on__lt=timezone.localdate()).exists()
    portal_patient = User.objects.get(username="patient").patient_record
    assert portal_patient.treatment_courses.get().status == CourseStatus.MAINTENANCE
    # The other clinic has courses of its own, seen only by its clinician.
    assert TreatmentCourse.objects.filter(patient__clinic__name="Hillside Demo Clinic").count() == 2
