"""Database triggers that make records immutable whatever writes to them (ORM, bulk update,
raw SQL, a console session).

Used from migrations through `RunPython`, so one migration serves PostgreSQL (the database
of record) and SQLite (the demo), each with its own trigger syntax. Both raise an integrity
error, which Django surfaces as `django.db.IntegrityError`.
"""

from django.core.exceptions import ImproperlyConfigured

# Doubled percent signs: Django passes schema SQL through psycopg's placeholder parser.
PG_FUNCTION = """
CREATE OR REPLACE FUNCTION kestrel_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '%% on %%: %%', TG_OP, TG_TABLE_NAME, TG_ARGV[0]
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
"""


def _create(schema_editor, *, name, table, events, columns=None, when=None, message):
    vendor = schema_editor.connection.vendor
    quoted = schema_editor.quote_name(table)
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION)
        for event in events:
            target = event
            if event == "UPDATE" and columns:
                target = "UPDATE OF " + ", ".join(schema_editor.quote_name(c) for c in columns)
            condition = f"WHEN ({when})" if when else ""
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}_{event.lower()} ON {quoted}")
            schema_editor.execute(
                f"CREATE TRIGGER {name}_{event.lower()} BEFORE {target} ON {quoted} "
                f"FOR EACH ROW {condition} "
                f"EXECUTE FUNCTION kestrel_refuse_change('{message}');"
            )
    elif vendor == "sqlite":
        # DELETE stays allowed on SQLite: Django empties test and demo databases with DELETE
        # (PostgreSQL uses TRUNCATE, which row triggers do not see), and SQLite is never the
        # database of record. UPDATE is refused on both.
        for event in (e for e in events if e != "DELETE"):
            target = event
            if event == "UPDATE" and columns:
                target = "UPDATE OF " + ", ".join(schema_editor.quote_name(c) for c in columns)
            condition = f"WHEN {when}" if when else ""
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}_{event.lower()}")
            schema_editor.execute(
                f"CREATE TRIGGER {name}_{event.lower()} BEFORE {target} ON {quoted} "
                f"FOR EACH ROW {condition} BEGIN SELECT RAISE(ABORT, '{message}'); END;"
            )
    else:
        # Refuse to migrate rather than leave clinical records without their locks.
        raise ImproperlyConfigured(
            f"Kestrel supports PostgreSQL and SQLite; {vendor} has no immutability triggers."
        )


def _drop(schema_editor, *, name, table, events):
    vendor = schema_editor.connection.vendor
    for event in events:
        if vendor == "postgresql":
            schema_editor.execute(
                f"DROP TRIGGER IF EXISTS {name}_{event.lower()} "
                f"ON {schema_editor.quote_name(table)};"
            )
        else:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}_{event.lower()}")


def append_only(table):
    """Forward and backward functions for RunPython: no UPDATE or DELETE on `table`."""
    name = f"{table}_append_only"
    events = ("UPDATE", "DELETE")

    def forward(apps, schema_editor):
        _create(
            schema_editor,
            name=name,
            table=table,
            events=events,
            message="rows of this table are never changed or deleted",
        )

    def backward(apps, schema_editor):
        _drop(schema_editor, name=name, table=table, events=events)

    return forward, backward


def locked_when(table, *, condition, columns=None, message):
    """Forward and backward functions for RunPython: UPDATE (of `columns`, or of any column
    when None) and DELETE are refused for rows where `condition` (SQL over OLD) holds."""
    name = f"{table}_locked"
    events = ("UPDATE", "DELETE")

    def forward(apps, schema_editor):
        _create(
            schema_editor,
            name=name,
            table=table,
            events=events,
            columns=columns,
            when=condition,
            message=message,
        )

    def backward(apps, schema_editor):
        _drop(schema_editor, name=name, table=table, events=events)

    return forward, backward
