"""Sign and lock for clinical notes.

The author signs; from then on the note is read-only (the database refuses to change it,
see `clinic.core.triggers`) and its SHA-256 content hash, taken over a canonical JSON form
of the fields that make up its content, proves that what is shown is what was signed. A
correction after signing is a `clinic.core.models.Addendum`, signed when written and shown
with the note it amends.
"""

import datetime
import decimal
import hashlib
import json
import uuid

from django.conf import settings
from django.db import models


def _canonical(value):
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat()
    if isinstance(value, datetime.date | decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return str(getattr(value, "public_id", value.pk))
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value


def content_hash(payload):
    """SHA-256 over JSON with sorted keys, no whitespace and ISO dates, UTC times and
    decimals as strings: the same content always gives the same hash, whichever process
    computes it."""
    canonical = {key: _canonical(value) for key, value in payload.items()}
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class SignedNote(models.Model):
    """Abstract: a clinical note that is signed once and locked.

    Subclasses list their content in `SIGNED_FIELDS`; those fields, the note's public id and
    the signer go into the hash.
    """

    SIGNED_FIELDS: tuple[str, ...] = ()

    signed_at = models.DateTimeField(null=True, blank=True, editable=False)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    content_hash = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        abstract = True

    @property
    def is_signed(self):
        return self.signed_at is not None

    def signed_payload(self):
        payload = {name: getattr(self, name) for name in self.SIGNED_FIELDS}
        payload["_note"] = f"{self._meta.label_lower}:{self.public_id}"
        return payload

    def compute_content_hash(self):
        return content_hash(self.signed_payload())

    def hash_is_intact(self):
        return self.is_signed and self.compute_content_hash() == self.content_hash
