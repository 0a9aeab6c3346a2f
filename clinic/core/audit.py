"""Audit trail of access to patient records.

The request's address and path are captured by `AuditContextMiddleware` in a context
variable, so selectors and services can record them without taking the request.
"""

from contextvars import ContextVar
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured, PermissionDenied

from clinic.core.models import AccessEvent


@dataclass(frozen=True)
class RequestContext:
    ip_address: str | None
    path: str


_request_context: ContextVar[RequestContext | None] = ContextVar("audit_request", default=None)


def client_ip(request):
    """The client's address as allauth's sign-in throttling sees it: REMOTE_ADDR, or behind
    ALLAUTH_TRUSTED_PROXY_COUNT reverse proxies the address they put in X-Forwarded-For (so
    the audit trail names the client, not the proxy)."""
    from allauth.account.adapter import get_adapter

    try:
        return get_adapter(request).get_client_ip(request)
    except (PermissionDenied, ImproperlyConfigured):
        # No address at all, or fewer forwarding hops than configured: record what the
        # socket says rather than refuse to audit.
        return request.META.get("REMOTE_ADDR")


def set_request_context(context):
    return _request_context.set(context)


def reset_request_context(token):
    _request_context.reset(token)


def record_access(
    *,
    user,
    action,
    object_type,
    outcome=AccessEvent.Outcome.ALLOWED,
    patient=None,
    clinic=None,
    object_public_id=None,
    detail="",
):
    context = _request_context.get()
    clinic_id = clinic.pk if clinic is not None else None
    if clinic_id is None and patient is not None:
        clinic_id = patient.clinic_id
    return AccessEvent.objects.create(
        user=user if getattr(user, "is_authenticated", False) else None,
        clinic_id=clinic_id,
        patient=patient,
        action=action,
        object_type=object_type,
        object_public_id=object_public_id,
        outcome=outcome,
        ip_address=context.ip_address if context else None,
        path=context.path[:512] if context else "",
        detail=detail[:255],
    )
