"""Short child lists read in their parent's query, as accounts.backends reads the memberships.

A correlated subquery aggregates the children into a JSON array of objects (fixed SQL per
vendor: PostgreSQL's JSONB_AGG, SQLite's JSON_GROUP_ARRAY); `instances` makes model
instances back from it, each holding the fields the subquery named (the others are
deferred: reading one would query, so a page that needs more names it in the SQL).
"""

import datetime
import decimal
import json

from django.db import connection, models
from django.db.models.expressions import RawSQL

FUNCTIONS = {
    "postgresql": ("JSONB_AGG", "JSONB_BUILD_OBJECT"),
    "sqlite": ("JSON_GROUP_ARRAY", "JSON_OBJECT"),
}


def json_rows_sql(columns, source):
    """{vendor: SQL} of a scalar subquery: the rows of `source` (fixed SQL, "FROM ... WHERE
    ...", correlated to the outer query) as a JSON array of {key: column} (`columns`, keys
    and fixed SQL). PostgreSQL's aggregate of no rows is NULL, SQLite's an empty array."""
    pairs = ", ".join(f"'{key}', {column}" for key, column in columns.items())
    return {
        vendor: f"(SELECT {aggregate}({build}({pairs})) {source})"
        for vendor, (aggregate, build) in FUNCTIONS.items()
    }


def json_rows(sql):
    """The annotation of `json_rows_sql`'s SQL for the current database: the array's text."""
    return RawSQL(sql[connection.vendor], (), output_field=models.TextField())  # noqa: S611 # nosec B611 - fixed SQL, no input


def instances(model, text, related=None, extra=None):
    """Instances of `model` from the JSON array `text` (None or "[]": none). A key names a
    concrete field's attname; "<field>__<attname>" a field of the instance of the foreign
    key <field>, whose model `related` gives ({field: model}); a key of `extra` ({key:
    field}, e.g. an annotation) an attribute set on the instance, read as that field would
    read its column."""
    rows = json.loads(text or "[]", parse_float=decimal.Decimal)
    return [_instance(model, row, related or {}, extra or {}) for row in rows]


def _instance(model, row, related, extra):
    own = {key: value for key, value in row.items() if "__" not in key and key not in extra}
    obj = _from_values(model, own)
    for key, field in extra.items():
        setattr(obj, key, _python(field, row.get(key)))
    for name, related_model in related.items():
        prefix = f"{name}__"
        values = {key[len(prefix) :]: value for key, value in row.items() if key.startswith(prefix)}
        setattr(obj, name, _from_values(related_model, values) if values.get("id") else None)
    return obj


def _from_values(model, values):
    fields = [field for field in model._meta.concrete_fields if field.attname in values]
    unknown = set(values) - {field.attname for field in fields}
    if unknown:
        raise ValueError(f"Not fields of {model.__name__}: {sorted(unknown)}")
    return model.from_db(
        connection.alias,
        [field.attname for field in fields],
        [_python(field, values[field.attname]) for field in fields],
    )


def _python(field, value):
    """A JSON value as the ORM would read the column: PostgreSQL writes times as ISO text
    with their offset and decimals as numbers; SQLite writes its stored text (times in UTC
    without an offset) and stores a whole decimal as an integer."""
    if value is None:
        return None
    if isinstance(field, models.DateTimeField):
        moment = datetime.datetime.fromisoformat(value)
        return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)
    if isinstance(field, models.DecimalField):
        return decimal.Decimal(str(value)).quantize(
            decimal.Decimal(1).scaleb(-field.decimal_places)
        )
    return field.to_python(value)
