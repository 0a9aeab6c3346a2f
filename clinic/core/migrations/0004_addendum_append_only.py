from django.db import migrations

from clinic.core.triggers import append_only

forward, backward = append_only("core_addendum")


class Migration(migrations.Migration):
    dependencies = [("core", "0003_alter_accessevent_action_addendum")]

    operations = [migrations.RunPython(forward, backward)]
