"""The ledger is append-only in the database (DOMAIN.md §9): no UPDATE of any row, and on
PostgreSQL no DELETE either (see clinic/core/triggers.py for why SQLite keeps DELETE).

On PostgreSQL a trigger also refuses an ADMINISTER or WASTE row (or a reversal of one) that
would take administered + wasted above its DRAW, or below zero, or that names a reversed draw
or a row of another lot. It locks the DRAW row first, so concurrent writers serialize even
without the service's lock on the lot."""

from django.db import migrations

from clinic.core.triggers import append_only

PG_DRAW_USE = """
CREATE OR REPLACE FUNCTION ledger_check_draw_use() RETURNS trigger AS $$
DECLARE
    drawn ledger_ledgerentry%ROWTYPE;
    used numeric;
BEGIN
    SELECT * INTO drawn FROM ledger_ledgerentry WHERE id = NEW.draw_id FOR UPDATE;
    IF drawn.entry_type <> 'draw' OR drawn.lot_id <> NEW.lot_id THEN
        RAISE EXCEPTION 'ledger: draw_id must name a DRAW of the same lot'
            USING ERRCODE = 'check_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM ledger_ledgerentry WHERE reverses_id = drawn.id) THEN
        RAISE EXCEPTION 'ledger: this draw was reversed' USING ERRCODE = 'check_violation';
    END IF;
    SELECT COALESCE(SUM(mg), 0) INTO used FROM ledger_ledgerentry WHERE draw_id = drawn.id;
    IF used + NEW.mg > -drawn.mg OR used + NEW.mg < 0 THEN
        RAISE EXCEPTION 'ledger: administered + wasted must stay within the draw'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def draw_use_forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite: the service's check under the lot's row lock is the guard
    # No percent signs above, so psycopg's placeholder parser has nothing to mangle except
    # %ROWTYPE, which needs doubling.
    schema_editor.execute(PG_DRAW_USE.replace("%ROWTYPE", "%%ROWTYPE"))
    schema_editor.execute("DROP TRIGGER IF EXISTS ledger_draw_use ON ledger_ledgerentry")
    schema_editor.execute(
        "CREATE TRIGGER ledger_draw_use BEFORE INSERT ON ledger_ledgerentry "
        "FOR EACH ROW WHEN (NEW.draw_id IS NOT NULL) EXECUTE FUNCTION ledger_check_draw_use()"
    )


def draw_use_backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP TRIGGER IF EXISTS ledger_draw_use ON ledger_ledgerentry")
    schema_editor.execute("DROP FUNCTION IF EXISTS ledger_check_draw_use()")


def _run(*pairs):
    return [migrations.RunPython(forward, backward) for forward, backward in pairs]


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [
        *_run(
            append_only("ledger_ledgerentry"),
            append_only("ledger_lotstatuschange"),
            append_only("ledger_inventory"),
        ),
        migrations.RunPython(draw_use_forward, draw_use_backward),
    ]
