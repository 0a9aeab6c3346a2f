"""Checklist answers lock with the note they belong to: once the assessment or the session
record that holds the checklist is signed, its answers cannot change.

A PostgreSQL trigger condition cannot look at another table, so there the check runs in the
trigger function; SQLite allows the subquery in the trigger's WHEN clause.
"""

from django.db import migrations

SIGNED_OWNER = """
    EXISTS (SELECT 1 FROM pathway_assessment a
            WHERE a.checklist_id = OLD.response_id AND a.signed_at IS NOT NULL)
    OR EXISTS (SELECT 1 FROM pathway_administrationsession s
               WHERE (s.pre_checklist_id = OLD.response_id
                      OR s.discharge_checklist_id = OLD.response_id)
                 AND s.signed_at IS NOT NULL)
"""
MESSAGE = "the checklist belongs to a signed record and is locked"

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION kestrel_refuse_signed_checklist_answer() RETURNS trigger AS $$
BEGIN
    IF {SIGNED_OWNER} THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION)
        schema_editor.execute(
            "CREATE TRIGGER pathway_checklistanswer_locked BEFORE UPDATE OR DELETE "
            "ON pathway_checklistanswer FOR EACH ROW "
            "EXECUTE FUNCTION kestrel_refuse_signed_checklist_answer()"
        )
    else:
        schema_editor.execute(
            "CREATE TRIGGER pathway_checklistanswer_locked BEFORE UPDATE "
            f"ON pathway_checklistanswer FOR EACH ROW WHEN {SIGNED_OWNER} "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "DROP TRIGGER IF EXISTS pathway_checklistanswer_locked ON pathway_checklistanswer"
        )
        schema_editor.execute("DROP FUNCTION IF EXISTS kestrel_refuse_signed_checklist_answer()")
    else:
        schema_editor.execute("DROP TRIGGER IF EXISTS pathway_checklistanswer_locked")


class Migration(migrations.Migration):
    dependencies = [("pathway", "0008_session_discharge_checklist")]

    operations = [migrations.RunPython(forward, backward)]
