"""The default checklists outside migrations' reach.

Migrations 0003 and 0007 create the default checklists. Databases emptied after migrating
(Django's flush between transactional tests, a wiped demo database) lose them; demo seeding
and test set-up put them back from the same migration code, so there is one definition.
"""

import importlib

from django.apps import apps
from django.db import transaction

from clinic.pathway.models import ChecklistTemplate

DEFAULT_CHECKLIST_MIGRATIONS = {
    "eligibility": "clinic.pathway.migrations.0003_default_eligibility_checklist",
    "pre-session": "clinic.pathway.migrations.0007_default_session_checklists",
}


@transaction.atomic
def ensure_default_checklists():
    """Re-creates the default checklists that are missing; returns how many it made."""
    made = 0
    for code, module in DEFAULT_CHECKLIST_MIGRATIONS.items():
        if not ChecklistTemplate.objects.filter(code=code, clinic__isnull=True).exists():
            importlib.import_module(module).create(apps, None)
            made += 1
    return made
