"""The CSV stream of one export and its audit row.

The audit row is written when the stream ends, not before it starts: only then is the number
of rows the user actually received known, and counting first would cost a second scan of a
range that may hold millions of rows (and could disagree with what was then sent, as rows
arrive meanwhile). A stream that stops early (the browser cancels, the connection drops) is
closed by the server and writes its row then, marked "aborted" with the rows sent so far.
"""

import csv
import io
import zoneinfo

from django.db import transaction
from django.utils.text import slugify

from clinic.core import audit
from clinic.core.audit import record_access
from clinic.core.models import AccessEvent
from clinic.exports import cells, selectors

BYTE_ORDER_MARK = "\ufeff"
# Rows are written into a buffer and handed to the server about this many characters at a
# time: one chunk per row would make 100,000 tiny writes.
FLUSH_AT_CHARS = 64 * 1024


def export_filename(clinic, kind, start, end):
    return f"{slugify(clinic.name)}-{kind.slug}-{start.isoformat()}-to-{end.isoformat()}.csv"


class AuditedCsvExport:
    """An iterable of CSV text chunks (UTF-8 with BOM once encoded) that records an
    `export` access event with the row count when it is exhausted or closed.

    A class rather than a generator: a generator that was never started skips its `finally`
    when closed, and a download cancelled before its first byte must still be audited.
    """

    def __init__(self, *, user, clinic, kind, start, end, patients, scope, request_context):
        self.user = user
        # The server reads the stream after the view (and the audit middleware) returned.
        self.request_context = request_context
        self.clinic = clinic
        self.kind = kind
        self.start = start
        self.end = end
        self.patients = patients
        self.scope = scope
        self.rows_sent = 0
        self.finished = False
        self.audit_event = None
        self._chunks = None

    def __iter__(self):
        self._chunks = self._generate()
        return self._chunks

    def _generate(self):
        tz_name = self.clinic.timezone
        clock = cells.LocalClock(zoneinfo.ZoneInfo(tz_name))
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write(BYTE_ORDER_MARK)
        writer.writerow(self.kind.headers(tz_name))
        fields = self.kind.fields
        # Read in a transaction: outside one, PostgreSQL opens the server-side cursor WITH
        # HOLD, which runs the whole query and keeps its result before the first row comes
        # back (seconds for a million readings). The transaction only reads; the audit row
        # is written after it.
        with transaction.atomic():
            rows = selectors.export_rows(
                self.kind, patients=self.patients, start=self.start, end=self.end, tz_name=tz_name
            )
            try:
                for values in rows:
                    writer.writerow(self.kind.row(dict(zip(fields, values, strict=True)), clock))
                    self.rows_sent += 1
                    if buffer.tell() >= FLUSH_AT_CHARS:
                        yield buffer.getvalue()
                        buffer.seek(0)
                        buffer.truncate()
                yield buffer.getvalue()
                # Reached only when the consumer came back for more after the last chunk.
                self.finished = True
            finally:
                # Closed inside the transaction that owns the cursor, and now rather than
                # when the garbage collector gets to it.
                rows.close()
        self._record()

    def close(self):
        """Called by the server when the response ends, completed or not (PEP 3333)."""
        if self._chunks is not None:
            self._chunks.close()
        self._record()

    def _record(self):
        if self.audit_event is not None:
            return
        state = "complete" if self.finished else "aborted"
        token = audit.set_request_context(self.request_context)
        try:
            self.audit_event = self._record_access(state)
        finally:
            audit.reset_request_context(token)

    def _record_access(self, state):
        return record_access(
            user=self.user,
            action=AccessEvent.Action.EXPORT,
            object_type=f"{self.kind.slug}_export",
            clinic=self.clinic,
            detail=(
                f"kind={self.kind.slug}; range={self.start.isoformat()}..{self.end.isoformat()}; "
                f"scope={self.scope}; rows={self.rows_sent}; {state}"
            ),
        )
