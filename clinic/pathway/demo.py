"""Walks a course along the pathway through the real services, with plausible invented
answers: used by `seed_demo` to show patients at every stage, and by tests that need a
course at a given stage without repeating the whole walk."""

import datetime
from decimal import Decimal

from django.utils import timezone

from clinic.pathway import services
from clinic.pathway.models import (
    ChecklistAnswer,
    ConsentKind,
    CourseStatus,
    DoseMode,
    Drug,
    EligibilityDecision,
    FollowUpDecision,
    FollowUpKind,
    ReferralSource,
    SuicideRisk,
    YesNoUnknown,
)

# The stages a demo course can be left at, in pathway order.
STAGES = (
    "consultation_draft",
    "consultation_signed",
    "assessment_draft",
    "assessed_eligible",
    "plan_draft",
    "plan_approved",
    "active",
    "maintenance",
    "ineligible",
)


def walk_course(*, patient, prescriber, nurse, stage, drug=Drug.KETAMINE, weight_kg="72.0"):
    """Opens a course for `patient` and takes it to `stage` (one of STAGES)."""
    if stage not in STAGES:
        raise ValueError(f"Unknown stage {stage!r}; choose from {STAGES}")
    from clinic.pathway.defaults import ensure_default_checklists

    ensure_default_checklists()  # a flushed test database has lost the migrations' rows
    today = timezone.localdate()
    course = services.course_open(
        patient=patient,
        opened_by=nurse,
        indication="Treatment-resistant depression",
        drug=drug,
    )
    consultation = services.consultation_save(
        course=course,
        by=prescriber,
        referral_source=ReferralSource.PSYCHIATRIST,
        referred_by="Dr. Invented Referrer, Demo Psychiatry",
        referral_date=today - datetime.timedelta(days=21),
        presenting_problem="Low mood and anhedonia for two years despite treatment.",
        diagnoses="F33.2 Major depressive disorder, recurrent, severe",
        off_label=drug == Drug.KETAMINE,
        psychiatric_history="Two prior depressive episodes; no psychosis or mania.",
        medical_history="No significant medical history.",
        current_medications="Sertraline 150 mg daily",
        prior_treatments="Sertraline 12 weeks, no response; venlafaxine 10 weeks, partial.",
        failed_antidepressant_trials=2,
        goals="Return to work; enjoy time with family again.",
        consent_kind=(
            ConsentKind.ESKETAMINE_REMS if drug == Drug.ESKETAMINE else ConsentKind.OFF_LABEL
        ),
        consent_version="2026-01",
        consent_signed_on=today - datetime.timedelta(days=14),
        consent_obtained_by=prescriber,
    )
    if stage == "consultation_draft":
        return course
    services.consultation_sign(consultation=consultation, by=prescriber)
    if stage == "consultation_signed":
        return course
    services.course_transition(course=course, to_status=CourseStatus.ASSESSMENT, by=nurse)
    assessment = services.assessment_start(course=course, by=nurse)
    if stage == "assessment_draft":
        return course
    ineligible = stage == "ineligible"
    answers = {
        answer.item.code: (
            YesNoUnknown.YES if ineligible and answer.item.code == "CI-ANEURYSM" else "no",
            "",
        )
        for answer in ChecklistAnswer.objects.filter(response=assessment.checklist).select_related(
            "item"
        )
    }
    assessment = services.assessment_save(
        assessment=assessment,
        by=prescriber,
        answers=answers,
        assessed_on=today - datetime.timedelta(days=7),
        height_cm=Decimal("172.0"),
        weight_kg=Decimal(weight_kg),
        systolic_1=124,
        diastolic_1=78,
        systolic_2=120,
        diastolic_2=76,
        heart_rate=72,
        spo2=98,
        respiratory_rate=14,
        suicide_risk=SuicideRisk.LOW,
        baseline_phq9=19,
        rems_enrolled_on=today - datetime.timedelta(days=7) if drug == Drug.ESKETAMINE else None,
        decision=EligibilityDecision.INELIGIBLE if ineligible else EligibilityDecision.ELIGIBLE,
        decision_reason="Aneurysmal vascular disease." if ineligible else "",
    )
    services.assessment_sign(assessment=assessment, by=prescriber)
    if ineligible:
        services.course_transition(
            course=course,
            to_status=CourseStatus.CLOSED_NOT_TREATED,
            by=prescriber,
            reason="Not eligible: absolute contraindication.",
        )
        return course
    if stage == "assessed_eligible":
        return course
    services.course_transition(course=course, to_status=CourseStatus.PLANNING, by=prescriber)
    plan_fields = (
        {"route": "intranasal", "dose_mode": DoseMode.DEVICES, "device_count": 2,
         "max_dose_mg": Decimal("84"), "induction_sessions": 8, "sessions_per_week": 2,
         "maintenance_interval_weeks": 2, "monitoring_interval_minutes": 15}
        if drug == Drug.ESKETAMINE
        else {"route": "iv", "dose_mode": DoseMode.MG_PER_KG, "mg_per_kg": Decimal("0.5"),
              "mg_per_kg_min": Decimal("0.5"), "mg_per_kg_max": Decimal("0.75"),
              "max_dose_mg": Decimal("90"), "concentration_mg_per_ml": Decimal("10"),
              "final_volume_ml": Decimal("100"), "infusion_minutes": 40,
              "induction_sessions": 6, "sessions_per_week": 3,
              "maintenance_interval_weeks": 4, "monitoring_interval_minutes": 10,
              "fasting_instructions": "No solids for 6 hours; clear fluids until 2 hours before."}
    )  # fmt: skip
    plan = services.plan_draft_create(
        course=course, by=prescriber, stop_criteria="Stop on any serious adverse event.",
        **plan_fields,
    )  # fmt: skip
    if stage == "plan_draft":
        return course
    services.plan_approve(plan=plan, by=prescriber)
    if stage == "plan_approved":
        return course
    services.course_transition(course=course, to_status=CourseStatus.ACTIVE, by=prescriber)
    if stage == "active":
        return course
    review = course.follow_ups.get(kind=FollowUpKind.INDUCTION_REVIEW)
    services.follow_up_record(
        follow_up=review,
        by=prescriber,
        sign=True,
        completed_on=today,
        decision=FollowUpDecision.MAINTENANCE,
        outcome_notes="PHQ-9 19 to 8: response. Move to maintenance.",
    )
    services.course_transition(course=course, to_status=CourseStatus.MAINTENANCE, by=prescriber)
    return course
