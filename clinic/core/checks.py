"""System checks for what the database itself must enforce."""

from django.core.checks import Warning, register
from django.db import connections


@register("database")
def database_enforces_records(app_configs, databases=None, **kwargs):
    """SQLite (the zero-setup demo) keeps no change history and lets rows be deleted that
    PostgreSQL refuses to delete: fine for a demo, never for patients' records."""
    warnings = []
    for alias in databases or ():
        if connections[alias].vendor == "sqlite":
            warnings.append(
                Warning(
                    f"Database {alias!r} is SQLite: change-history triggers are not active "
                    "and signed records and the audit trail can still be deleted.",
                    hint="Use PostgreSQL (DATABASE_URL=postgres://...) for real patient data.",
                    id="clinic.W001",
                )
            )
    return warnings
