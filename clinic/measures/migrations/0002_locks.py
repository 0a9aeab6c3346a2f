"""Submitted answers are never changed: patients and clinicians add a correction note
instead. An alert, once its follow-up action is recorded, is locked too."""

from django.db import migrations

from clinic.core.triggers import append_only, locked_when


def _run(*pairs):
    return [migrations.RunPython(forward, backward) for forward, backward in pairs]


class Migration(migrations.Migration):
    dependencies = [("measures", "0001_initial")]

    operations = _run(
        append_only("measures_instrumentresponse"),
        append_only("measures_moodjournalentry"),
        append_only("measures_remindersent"),
        locked_when(
            "measures_safetyalert",
            condition="OLD.status = 'actioned'",
            message="an alert with a recorded action is locked",
        ),
    )
