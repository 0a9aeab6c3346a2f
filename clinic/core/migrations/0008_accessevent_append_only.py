"""The audit trail cannot be edited or erased: the database refuses UPDATE (and, on
PostgreSQL, DELETE) of access events, whatever the client."""

from django.db import migrations

from clinic.core.triggers import append_only

forward, backward = append_only("core_accessevent")


class Migration(migrations.Migration):
    dependencies = [("core", "0007_form_submission")]

    operations = [migrations.RunPython(forward, backward)]
