"""Writes of API tokens: create (the secret is returned once and only its hash is kept),
revoke, and the last-used stamp."""

import datetime
import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from clinic.accounts.roles import STAFF_ROLES
from clinic.core.access import user_has_role
from clinic.core.audit import record_access
from clinic.core.models import AccessEvent
from clinic.fhir.models import ApiToken

SECRET_PREFIX = "kst_"  # noqa: S105 (a marker that names the secret's kind, not a secret)
SHOWN_PREFIX_LENGTH = 10
# "Last used" is precise to this: a busy client does not write a row per request.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


def hash_secret(secret):
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@transaction.atomic
def token_create(*, user, name):
    """A new token for `user` (clinic staff only). Returns (token, secret): the secret is
    not stored and cannot be shown again."""
    if not user_has_role(user, STAFF_ROLES):
        raise ValidationError("Only clinic staff can create API tokens.")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=" ".join((name or "").split()),
        key_hash=hash_secret(secret),
        key_prefix=secret[:SHOWN_PREFIX_LENGTH],
    )
    token.full_clean()
    token.save()
    record_access(
        user=user,
        action=AccessEvent.Action.CREATE,
        object_type="api_token",
        object_public_id=token.public_id,
    )
    return token, secret


@transaction.atomic
def token_revoke(*, token, by):
    """Revokes `token` at once. Its owner may, and a superuser (from the admin site);
    revoking twice changes nothing."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.user_id != by.pk and not by.is_superuser:
        raise ValidationError("You can revoke only your own tokens.")
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.revoked_by = by
    token.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
    record_access(
        user=by,
        action=AccessEvent.Action.UPDATE,
        object_type="api_token",
        object_public_id=token.public_id,
        detail="revoked",
    )
    return token


def token_mark_used(token, *, now=None):
    """Stamps the token's last use: one UPDATE a request, which writes the row at most once
    a minute."""
    now = now or timezone.now()
    ApiToken.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION),
        pk=token.pk,
    ).update(last_used_at=now)
