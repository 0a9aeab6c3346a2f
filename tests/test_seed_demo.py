import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.db import connection, transaction
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
from tests import demo_data, factories


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


def _table_rows():
    """Every row of every table, as COPY writes it, in a stable order."""
    contents = demo_data._copy_out(demo_data._tables())["contents"]
    return {table: sorted(rows.splitlines()) for table, rows in contents.items()}


@pytest.mark.django_db
def test_the_demo_data_tests_share_is_row_for_row_what_seed_demo_wrote(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("on SQLite the demo fixtures run seed_demo itself every time")
    monkeypatch.setattr(demo_data, "_copies", {})
    before_seeding = transaction.savepoint()
    demo_data.load_demo()  # no copy yet: runs seed_demo and keeps a copy
    seeded = _table_rows()
    assert len(seeded["patients_patient"]) == 40
    transaction.savepoint_rollback(before_seeding)
    assert Patient.objects.count() == 0

    demo_data.load_demo()  # the same starting state: the copy comes back
    assert _table_rows() == seeded
    # New rows get fresh ids after the copied ones.
    clinic = Clinic.objects.get(name="Riverside Demo Clinic")
    added = factories.PatientFactory(clinic=clinic)
    assert added.pk > max(Patient.objects.exclude(pk=added.pk).values_list("pk", flat=True))
    assert User.objects.get(username="nurse").check_password("demo-pass-2026")


@pytest.mark.django_db
def test_a_test_that_wrote_rows_before_asking_for_the_demo_keeps_them(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("on SQLite the demo fixtures run seed_demo itself every time")
    monkeypatch.setattr(demo_data, "_copies", dict(demo_data._copies))
    before_seeding = transaction.savepoint()
    demo_data.load_demo()  # a copy for the empty database, if no earlier test made one
    transaction.savepoint_rollback(before_seeding)
    copies = len(demo_data._copies)

    own = factories.ClinicFactory()  # another starting state: seed_demo runs for real
    demo_data.load_demo()
    assert Clinic.objects.filter(pk=own.pk).exists()
    assert Clinic.objects.count() == 3
    assert len(demo_data._copies) == copies + 1


@pytest.mark.django_db(transaction=True)
def test_after_each_flush_the_copy_comes_back_whole_with_its_own_content_types():
    """live_server tests start from flushed tables, whose content types a flush recreated
    under new ids; the copy brings back its own, and Django's cache of them follows."""
    if connection.vendor != "postgresql":
        pytest.skip("on SQLite the demo fixtures run seed_demo itself every time")
    call_command("flush", interactive=False, verbosity=0)
    demo_data.load_demo()
    first = _table_rows()
    call_command("flush", interactive=False, verbosity=0)
    demo_data.load_demo()
    assert _table_rows() == first
    cached = ContentType.objects.get_for_model(Patient)
    assert ContentType.objects.filter(pk=cached.pk, model="patient").exists()
    clinic = Clinic.objects.get(name="Riverside Demo Clinic")
    assert factories.PatientFactory(clinic=clinic).pk > 0
