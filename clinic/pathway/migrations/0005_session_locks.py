from django.db import migrations

from clinic.core.triggers import append_only, locked_when


def _run(*pairs):
    return [migrations.RunPython(forward, backward) for forward, backward in pairs]


class Migration(migrations.Migration):
    dependencies = [("pathway", "0004_administration_session")]

    operations = _run(
        locked_when(
            "pathway_administrationsession",
            condition="OLD.signed_at IS NOT NULL",
            message="a signed session record is locked; add an addendum instead",
        ),
        append_only("pathway_sessionstatuschange"),
        append_only("pathway_esketaminedevice"),
    )
