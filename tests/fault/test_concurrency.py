"""Two requests at the same moment on PostgreSQL: one wins, the other is told why, and the
record is written once. (Simultaneous ledger draws: tests/ledger/test_database.py.)"""

import threading

from django.core.exceptions import ValidationError
from django.db import connection

from clinic.core.models import AccessEvent
from clinic.pathway import services
from clinic.pathway.demo import walk_course
from clinic.pathway.models import Consultation, PlanStatusChange, TreatmentPlan
from tests import factories

RACE_TIMEOUT_S = 30


def race(*calls):
    """Runs the calls on threads released together; returns "ok" or the refusal of each."""
    barrier = threading.Barrier(len(calls))
    outcomes = []

    def run(call):
        try:
            barrier.wait(timeout=10)
            call()
            outcomes.append("ok")
        except ValidationError as exc:
            outcomes.append(" ".join(exc.messages))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=RACE_TIMEOUT_S)
    assert not any(thread.is_alive() for thread in threads), "a racing request hung"
    return outcomes


def test_two_simultaneous_signatures_of_one_note_sign_it_once(postgres_only):
    clinic = factories.ClinicFactory()
    prescriber = factories.make_staff(clinic=clinic, role="prescriber")
    nurse = factories.make_staff(clinic=clinic, role="nurse")
    course = walk_course(
        stage="consultation_draft", patient=factories.PatientFactory(clinic=clinic),
        prescriber=prescriber, nurse=nurse,
    )  # fmt: skip
    consultation = Consultation.objects.get(course=course)
    sign = lambda: services.consultation_sign(consultation=consultation, by=prescriber)  # noqa: E731

    outcomes = race(sign, sign)

    assert sorted(outcomes) == ["This note is already signed.", "ok"], outcomes
    consultation.refresh_from_db()
    assert consultation.is_signed and consultation.hash_is_intact()
    assert (
        AccessEvent.objects.filter(action="sign", object_public_id=consultation.public_id).count()
        == 1
    )


def test_two_prescribers_approving_one_draft_plan_at_once_approve_it_once(postgres_only):
    clinic = factories.ClinicFactory()
    first, second = (factories.make_staff(clinic=clinic, role="prescriber") for _ in range(2))
    nurse = factories.make_staff(clinic=clinic, role="nurse")
    course = walk_course(
        stage="plan_draft", patient=factories.PatientFactory(clinic=clinic),
        prescriber=first, nurse=nurse,
    )  # fmt: skip
    plan = course.plans.get()

    outcomes = race(
        lambda: services.plan_approve(plan=plan, by=first),
        lambda: services.plan_approve(plan=plan, by=second),
    )

    assert outcomes.count("ok") == 1, outcomes
    plan = TreatmentPlan.objects.get(pk=plan.pk)
    assert plan.status == "approved" and plan.is_signed
    assert PlanStatusChange.objects.filter(plan=plan, to_status="approved").count() == 1
    assert course.follow_ups.count() == 1  # the end-of-induction review, booked once
