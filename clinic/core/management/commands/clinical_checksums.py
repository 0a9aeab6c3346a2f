"""Prints, for every table of Kestrel's own apps, its row count and an MD5 of all its rows
in primary-key order: run it on a database and on its restored copy, and the two outputs
must be identical (scripts/restore, docs/operations.md)."""

import json

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

APP_LABELS = (
    "core", "accounts", "patients", "pathway", "monitoring", "measures", "ledger", "portal",
)  # fmt: skip


CHECKSUM_SQL = (
    "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t.{pk}), '')) FROM {table} t"
)


def clinical_checksums():
    if connection.vendor != "postgresql":
        raise CommandError("clinical_checksums needs PostgreSQL (the database of record).")
    result = {}
    with connection.cursor() as cursor:
        for label in APP_LABELS:
            for model in apps.get_app_config(label).get_models():
                table = connection.ops.quote_name(model._meta.db_table)
                pk = connection.ops.quote_name(model._meta.pk.column)
                # Identifiers come from the models and are quoted; nothing here is user input.
                cursor.execute(CHECKSUM_SQL.format(pk=pk, table=table))
                count, digest = cursor.fetchone()
                result[model._meta.db_table] = {"rows": count, "md5": digest}
    return result


class Command(BaseCommand):
    help = "Row counts and checksums of the clinical tables, as JSON."

    def handle(self, *args, **options):
        self.stdout.write(json.dumps(clinical_checksums(), indent=1, sort_keys=True))
