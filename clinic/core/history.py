"""Change history of clinical tables, kept by the database itself (django-pghistory).

`track_changes` on a model installs PostgreSQL triggers that copy the row into a
`<Model>Event` table on every insert, update and delete, whoever writes: the ORM, a bulk
update, raw SQL or a console session. Each event carries the request's context (user, path,
address; see core.middleware.ChangeHistoryContextMiddleware), and the event tables refuse
UPDATE and DELETE (settings.PGHISTORY_APPEND_ONLY). On SQLite the event tables exist but
stay empty: a system check says so.
"""

import pghistory


def track_changes(model):
    return pghistory.track(
        pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent()
    )(model)
