"""Vital readings keep their values for ever (only the entered-in-error mark may be set) and
acknowledgments are append-only, whatever writes to the tables."""

from django.db import migrations

from clinic.core.triggers import append_only, locked_when

READING_VALUE_COLUMNS = [
    "public_id", "created_at", "session_id", "phase", "planned_at", "taken_at",
    "entered_by_id", "systolic", "diastolic", "heart_rate", "spo2", "respiratory_rate",
    "temperature_c", "moaas", "cadss", "symptoms", "flags", "has_critical",
]  # fmt: skip


def _run(*pairs):
    return [migrations.RunPython(forward, backward) for forward, backward in pairs]


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0001_initial")]

    operations = _run(
        locked_when(
            "monitoring_vitalreading",
            condition="OLD.id IS NOT NULL",
            columns=READING_VALUE_COLUMNS,
            message="a vital reading is never changed; mark it entered in error instead",
        ),
        append_only("monitoring_vitalacknowledgment"),
    )
