"""Database-level locks: signed notes and approved plans cannot be changed or deleted, and
status histories are append-only, whatever code (or person) writes to the tables."""

from django.db import migrations

from clinic.core.triggers import append_only, locked_when

SIGNED = "OLD.signed_at IS NOT NULL"
NOTE_MESSAGE = "a signed note is locked; add an addendum instead"
PLAN_MESSAGE = "an approved plan is locked; make a new version instead"

# Everything but the status columns: those still move after approval.
PLAN_CONTENT_COLUMNS = [
    "public_id", "created_at", "course_id", "version", "previous_version_id", "author_id",
    "drug", "route", "dose_mode", "mg_per_kg", "mg_per_kg_min", "mg_per_kg_max",
    "fixed_dose_mg", "device_count", "max_dose_mg", "weight_policy", "weight_cap_kg",
    "weight_kg_used", "weight_measured_on", "concentration_mg_per_ml", "final_volume_ml",
    "infusion_minutes", "titration_step_mg_per_kg", "induction_sessions", "sessions_per_week",
    "review_after_sessions", "maintenance_interval_weeks", "monitoring_interval_minutes",
    "fasting_instructions", "stop_criteria", "notes", "dose_mg", "volume_ml",
    "rate_ml_per_hour", "dose_capped", "signed_at", "signed_by_id", "content_hash",
]  # fmt: skip


def _run(*pairs):
    return [migrations.RunPython(forward, backward) for forward, backward in pairs]


class Migration(migrations.Migration):
    dependencies = [("pathway", "0001_initial")]

    operations = _run(
        locked_when("pathway_consultation", condition=SIGNED, message=NOTE_MESSAGE),
        locked_when("pathway_assessment", condition=SIGNED, message=NOTE_MESSAGE),
        locked_when("pathway_followup", condition=SIGNED, message=NOTE_MESSAGE),
        locked_when(
            "pathway_treatmentplan",
            condition=SIGNED,
            columns=PLAN_CONTENT_COLUMNS,
            message=PLAN_MESSAGE,
        ),
        append_only("pathway_coursestatuschange"),
        append_only("pathway_planstatuschange"),
    )
