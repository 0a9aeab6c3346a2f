"""The clinician and clinic-admin home pages read what the request's user carries: the same
lists and counts as the per-app selectors (same scopes: the user's clinics, never another
clinic's patients, never the user's own record), in few queries."""

import datetime
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from clinic.accounts.backends import load_request_user
from clinic.core.audit import record_access
from clinic.core.models import AccessEvent
from clinic.measures import selectors as measure_selectors
from clinic.measures import services as measure_services
from clinic.measures.models import DueStatus, MeasureDue, SafetyAlert
from clinic.pathway import selectors as pathway_selectors
from clinic.pathway import services, session_services
from clinic.pathway.demo import walk_course
from clinic.pathway.models import (
    AdministrationSession,
    Assessment,
    Consultation,
    FollowUp,
    FollowUpDecision,
    TreatmentPlan,
)
from clinic.patients import selectors
from clinic.patients.models import Patient
from tests import factories

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def _course(patient, prescriber, nurse, stage):
    course = walk_course(patient=patient, prescriber=prescriber, nurse=nurse, stage=stage)
    course.refresh_from_db()
    return course


def _overdue_everything(course, prescriber, nurse, *, days):
    """The course's scheduled follow-ups and open questionnaires `days` past due, and, for a
    course in treatment, a session booked for today and one for tomorrow."""
    past = TODAY() - datetime.timedelta(days=days)
    FollowUp.objects.filter(course=course, status="scheduled").update(due_on=past)
    MeasureDue.objects.filter(course=course, status=DueStatus.OPEN).update(due_on=past)
    if course.status == "active":
        for when in (timezone.now(), timezone.now() + datetime.timedelta(days=1)):
            session_services.session_schedule(
                course=course, by=nurse, scheduled_at=when, nurse=nurse, prescriber=prescriber
            )


def _alert(patient):
    measure_services.response_submit(
        patient=patient, instrument_code="PHQ-9", answers=[0] * 8 + [2],
        entered_by=patient.user, mode="self", submission_key=uuid.uuid4(),
    )  # fmt: skip


@pytest.fixture
def world():
    """Clinic A (two time zones apart from clinic B), clinic B, an inactive clinic C; staff
    with one or several roles; in A and B, courses at every stage with something overdue,
    today's sessions, open alerts, care teams and viewed records. One nurse of A is also a
    patient of A: her own record never appears on her staff pages."""
    a = factories.ClinicFactory(name="Alpha", timezone="Pacific/Auckland")
    b = factories.ClinicFactory(name="Bravo", timezone="America/Los_Angeles")
    c = factories.ClinicFactory(name="Charlie", is_active=False)
    w = type("World", (), {})()
    w.a, w.b = a, b
    w.prescriber = factories.make_staff(clinic=a, role="prescriber")
    w.nurse = factories.make_staff(clinic=a, role="nurse")
    w.second_prescriber = factories.make_staff(clinic=a, role="prescriber")
    w.other = factories.make_staff(clinic=b, role="prescriber")
    w.other_nurse = factories.make_staff(clinic=b, role="nurse")
    # Prescriber in A and admin of B: B's follow-ups, sessions and alerts are in a staff
    # member's scope, B's questionnaires and signatures only in a clinician's.
    w.mixed = factories.make_staff(clinic=a, role="prescriber")
    factories.MembershipFactory(user=w.mixed, clinic=b, role="admin")
    # A nurse of A who is a prescriber only in the inactive clinic C: she decides nothing.
    w.nurse_c = factories.make_staff(clinic=a, role="nurse")
    factories.MembershipFactory(user=w.nurse_c, clinic=c, role="prescriber")
    w.staff_patient = factories.PatientFactory(clinic=a, user=w.nurse, family_name="Ownrecord")
    w.admin = factories.make_staff(clinic=a, role="admin")

    for clinic, prescriber, nurse in ((a, w.prescriber, w.nurse), (b, w.other, w.other_nurse)):
        for stage in ("consultation_draft", "assessment_draft", "plan_draft", "active"):
            patient = factories.PatientFactory(clinic=clinic, with_user=True)
            course = _course(patient, prescriber, nurse, stage)
            _overdue_everything(course, prescriber, nurse, days=3)
            _alert(patient)
            factories.CareTeamMemberFactory(patient=patient, user=prescriber)
            record_access(user=prescriber, action="view", object_type="patient", patient=patient)
        recorded = _course(factories.PatientFactory(clinic=clinic), prescriber, nurse, "active")
        review = recorded.follow_ups.get()
        services.follow_up_record(
            follow_up=review, by=nurse, completed_on=TODAY(), decision=FollowUpDecision.CONTINUE
        )
    # The nurse's own record: a course with overdue work, an alert, a care team and a view.
    w.staff_patient_course = _course(w.staff_patient, w.prescriber, w.nurse_c, "active")
    _overdue_everything(w.staff_patient_course, w.prescriber, w.nurse, days=4)
    factories.CareTeamMemberFactory(patient=w.staff_patient, user=w.nurse)
    record_access(user=w.nurse, action="view", object_type="patient", patient=w.staff_patient)
    w.mixed_viewed = Patient.objects.filter(clinic=a).exclude(pk=w.staff_patient.pk).first()
    record_access(user=w.mixed, action="view", object_type="patient", patient=w.mixed_viewed)
    factories.CareTeamMemberFactory(patient=w.mixed_viewed, user=w.mixed)
    inactive = factories.PatientFactory(clinic=a, status=Patient.Status.INACTIVE)
    factories.CareTeamMemberFactory(patient=inactive, user=w.prescriber)
    return w


# Each user's clinics, by name, written out from the world: where they hold a clinician role
# (the questionnaires, signatures, care teams of the home page), any staff role (follow-ups,
# sessions, alerts, viewed records), and the prescriber role (what they decide and approve).
# C is inactive: nurse_c's prescriber role there gives her nothing.
SCOPES = {
    # user: (clinician clinics, staff clinics, prescriber clinics)
    "prescriber": ("a", "a", "a"),
    "nurse": ("a", "a", ""),
    "second_prescriber": ("a", "a", "a"),
    "other": ("b", "b", "b"),
    "mixed": ("a", "ab", "a"),
    "nurse_c": ("a", "a", ""),
    "admin": ("", "a", ""),
}
USERS = tuple(SCOPES)


def _signature_rows(items):
    return sorted(
        (
            item["label"],
            item["public_id"],
            item["since"],
            item["url_name"],
            item["patient"]["public_id"],
            item["course"]["indication"],
        )
        for item in items
    )


def _home(user):
    """What the clinician home reads (clinic/core/views.py `clinician_home`)."""
    clinics, totals = selectors.clinics_with_totals(
        user,
        roles={"prescriber", "nurse"},
        totals={
            "overdue_follow_ups": pathway_selectors.overdue_follow_ups_query(user),
            "open_alerts": measure_selectors.open_alerts_query(user),
            "overdue_measures": measure_selectors.overdue_measures_query(user),
        },
    )
    signature = pathway_selectors.awaiting_signature_for_user(user)
    assert [item["since"] for item in signature] == sorted(item["since"] for item in signature)
    return {
        "clinics": [(clinic, clinic.active_patients) for clinic in clinics],
        "my_patients": selectors.my_care_team_patients(user),
        "recent_patients": selectors.recently_viewed_patients(user),
        "awaiting_signature": _signature_rows(signature),
        "overdue_follow_ups": list(pathway_selectors.overdue_follow_ups_for_user(user, limit=10)),
        "overdue_count": totals["overdue_follow_ups"],
        "todays_sessions": pathway_selectors.sessions_on_day_for_user(user),
        "open_alerts": totals["open_alerts"],
        "overdue_measures": totals["overdue_measures"],
    }


def _expected(world, name):
    """The home page's lists and counts for `name`, from the world's rows and the user's
    clinics as SCOPES writes them out: every list of the patients of those clinics, never
    the user's own record."""
    user = getattr(world, name)
    clinician, staff, prescribing = (
        [getattr(world, letter) for letter in letters] for letters in SCOPES[name]
    )
    mine = Patient.objects.filter(clinic__in=staff).exclude(user=user)
    clinical = Patient.objects.filter(clinic__in=clinician).exclude(user=user)
    follow_ups = FollowUp.objects.filter(
        course__patient__in=mine, status="scheduled", due_on__lt=TODAY()
    ).order_by("due_on", "id")
    start = datetime.datetime.combine(
        TODAY(), datetime.time.min, tzinfo=timezone.get_current_timezone()
    )
    now = timezone.now()
    overdue_measures = [
        due
        for due in MeasureDue.objects.filter(patient__in=clinical, status=DueStatus.OPEN)
        if due.due_on < now.astimezone(ZoneInfo(due.patient.clinic.timezone)).date()
    ]
    views = AccessEvent.objects.filter(
        user=user, action="view", outcome="allowed", patient__in=mine
    ).order_by("-occurred_at")
    recent = list(dict.fromkeys(event.patient for event in views))[:8]
    open_courses = {
        "course__patient__in": clinical,
        "course__status__in": ["consultation", "assessment", "planning", "active",
                               "maintenance", "on_hold"],
    }  # fmt: skip
    assessments = Q(course__patient__clinic__in=prescribing) if prescribing else Q(author=user)
    unsigned = {"signed_at__isnull": True, **open_courses}
    notes = [
        (note, label.format(version=getattr(note, "version", None)), url_name)
        for queryset, label, url_name in (
            (
                Consultation.objects.filter(author=user, **unsigned),
                "Consultation",
                "pathway:consultation_edit_by_id",
            ),
            (
                FollowUp.objects.filter(completed_by=user, status="completed", **unsigned),
                "Follow-up",
                "pathway:follow_up",
            ),
            (
                Assessment.objects.filter(assessments, **unsigned),
                "Assessment",
                "pathway:assessment",
            ),
            (
                TreatmentPlan.objects.filter(
                    course__patient__clinic__in=prescribing, status="draft", **open_courses
                ),
                "Plan v{version} to approve",
                "pathway:plan",
            ),
        )
        for note in queryset
    ]
    notes.sort(key=lambda note: note[0].created_at)
    return {
        "clinics": [
            (clinic, Patient.objects.filter(clinic=clinic, status="active").count())
            for clinic in sorted(clinician, key=lambda clinic: clinic.name)
        ],
        "my_patients": list(
            mine.filter(status="active", care_team__user=user, care_team__is_active=True)
            .distinct()
            .order_by("family_name", "given_name")[:10]
        ),
        "recent_patients": recent,
        "awaiting_signature": sorted(
            (
                label,
                note.public_id,
                note.created_at,
                url_name,
                note.course.patient.public_id,
                note.course.indication,
            )
            for note, label, url_name in notes[:20]
        ),
        "overdue_follow_ups": list(follow_ups[:10]),
        "overdue_count": follow_ups.count(),
        "todays_sessions": list(
            AdministrationSession.objects.filter(
                course__patient__in=mine,
                scheduled_at__gte=start,
                scheduled_at__lt=start + datetime.timedelta(days=1),
            ).order_by("scheduled_at", "id")
        ),
        "open_alerts": SafetyAlert.objects.filter(patient__in=mine, status="open").count(),
        "overdue_measures": len(overdue_measures),
    }


def test_home_reads_keep_to_the_users_clinics(client, world):
    for name in USERS:
        user = getattr(world, name)
        expected = _expected(world, name)
        assert _home(type(user).objects.get(pk=user.pk)) == expected, name
        # The request's user, with its memberships loaded (no query for them).
        request_user = load_request_user(user.pk)
        request_user.is_request_user = True
        assert _home(request_user) == expected, name
    # Else the comparison proves little: something in every list.
    seen = _home(world.prescriber)
    assert all(seen[key] for key in seen), [key for key in seen if not seen[key]]
    assert {p.clinic for p in seen["recent_patients"]} == {world.a}
    mixed = _home(world.mixed)
    assert {p.clinic for p in mixed["recent_patients"]} == {world.a}
    assert {f.course.patient.clinic for f in mixed["overdue_follow_ups"]} == {world.a, world.b}
    assert [clinic for clinic, _n in mixed["clinics"]] == [world.a]
    assert _home(world.nurse_c)["awaiting_signature"] == []
    assert [clinic for clinic, _n in _home(world.nurse_c)["clinics"]] == [world.a]
    other = _home(world.other)
    assert {f.course.patient.clinic for f in other["overdue_follow_ups"]} == {world.b}
    assert {s.course.patient.clinic for s in other["todays_sessions"]} == {world.b}
    # The nurse's own record has overdue work, an alert, a care team and a view: none of it
    # is hers to see here.
    nurse = _home(world.nurse)
    own = world.staff_patient
    assert own not in nurse["my_patients"] and own not in nurse["recent_patients"]
    assert not [f for f in nurse["overdue_follow_ups"] if f.course.patient == own]
    assert not [s for s in nurse["todays_sessions"] if s.course.patient == own]
    assert nurse["overdue_count"] < seen["overdue_count"]

    # The page: my clinics' work, never another clinic's, never my own record.
    client.force_login(world.nurse)
    page = client.get(reverse("clinician_home")).content.decode()
    mine = Patient.objects.filter(clinic=world.a).exclude(pk=world.staff_patient.pk)
    theirs = Patient.objects.filter(clinic=world.b)
    assert any(patient.family_name in page for patient in mine)
    assert not any(patient.medical_record_number in page for patient in theirs)
    assert world.staff_patient.family_name not in page
    assert "Follow-up" in page and "Assessment" in page  # what the nurse signs
    assert "Plan v1 to approve" not in page  # a prescriber's
    assert "Alpha" in page and "Bravo" not in page


def test_clinic_admin_home_counts_and_pages_the_clinics_own_records(
    client, clinic, other_clinic, clinic_admin, other_clinician
):
    a, b = clinic, other_clinic
    factories.PatientFactory(clinic=a, status=Patient.Status.INACTIVE)
    factories.PatientFactory.create_batch(2, clinic=a, with_user=True)
    factories.PatientFactory(clinic=b, with_user=True)
    for patient in factories.PatientFactory.create_batch(16, clinic=a):
        record_access(user=clinic_admin, action="view", object_type="patient", patient=patient)
    now = timezone.now()
    for outcome, days in (("denied", 1), ("denied", 8), ("allowed", 0)):
        AccessEvent.objects.create(
            user=clinic_admin,
            action="view",
            object_type="patient",
            clinic=a,
            outcome=outcome,
            occurred_at=now - datetime.timedelta(days=days),
        )
    record_access(user=other_clinician, action="view", object_type="patient", clinic=b,
                  outcome="denied")  # fmt: skip
    client.force_login(clinic_admin)
    response = client.get(reverse("clinic_admin_home"))
    context = response.context
    patients = Patient.objects.filter(clinic=a)
    assert context["clinic"] == a and list(context["clinics"]) == [a]
    assert context["patient_counts"] == {
        status: patients.filter(status=status).count() for status in Patient.Status.values
    }
    assert context["portal_accounts"] == patients.filter(user__isnull=False).count()
    assert context["denied_last_7_days"] == 1
    events = AccessEvent.objects.filter(clinic=a)
    assert context["events"].paginator.count == events.count() > 15
    assert list(context["events"]) == list(events.order_by("-occurred_at", "-id")[:15])
    second = client.get(reverse("clinic_admin_home"), {"page": 2}).context["events"]
    assert list(second) == list(events.order_by("-occurred_at", "-id")[15:30])
