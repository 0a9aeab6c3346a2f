import logging
import uuid
import zoneinfo

from django.conf import settings
from django.contrib import messages
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.http import HttpResponse, HttpResponseRedirect
from django.template import loader
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from pghistory.middleware import HistoryMiddleware

from clinic.core import audit


class AuditContextMiddleware:
    """Makes the client address and path available to the audit log."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = audit.set_request_context(
            audit.RequestContext(ip_address=audit.client_ip(request), path=request.path)
        )
        try:
            return self.get_response(request)
        finally:
            audit.reset_request_context(token)


class ChangeHistoryContextMiddleware(HistoryMiddleware):
    """Tags the change-history rows that the database triggers write during a request with
    who made the change and from where (pghistory's context).

    PostgreSQL only: the context travels as a SQL session variable, and SQLite (the demo)
    has neither the variable nor the triggers.
    """

    def get_context(self, request):
        return {**super().get_context(request), "ip_address": audit.client_ip(request)}

    def __call__(self, request):
        if connection.vendor != "postgresql":
            return self.get_response(request)
        return super().__call__(request)


class ClinicTimezoneMiddleware:
    """Shows times in the signed-in user's clinic time zone; they are stored in UTC."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tz_name = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            tz_name = user.display_timezone()
        if tz_name:
            try:
                timezone.activate(zoneinfo.ZoneInfo(tz_name))
            except zoneinfo.ZoneInfoNotFoundError:
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)


class NoStoreForSignedInUsersMiddleware:
    """Pages shown to a signed-in user may hold patient data: never cache them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response["Cache-Control"] = "no-store, private"
        return response


class PermissionsPolicyMiddleware:
    """Sends settings.PERMISSIONS_POLICY (Django has no setting of its own for it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


class DatabaseUnavailableMiddleware:
    """A database that is down or refusing connections gives a clean 503 page that says
    nothing was saved, never a traceback."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OperationalError | InterfaceError):
            return database_unavailable_response(exception)
        return None


def database_unavailable_response(exception):
    logging.getLogger(__name__).error("Database unavailable: %s", exception)
    response = HttpResponse(loader.get_template("503.html").render(), status=503)
    response["Retry-After"] = "30"
    return response


class IdempotentPostMiddleware:
    """A POST that carries a `form_key` (every form of the app renders one with
    `{% form_key %}`, fresh each time the form is shown) is processed once. A double click,
    a browser resend or a retry after a timeout finds the key taken and is answered without
    running the view again: htmx requests with 204 (the page already shows the first
    answer), others with a redirect to where the first request went, or back.

    The key is claimed before the view runs, so two identical requests arriving together
    cannot both get through; a request that fails with an exception or a 5xx frees it."""

    FIELD = "form_key"

    def __init__(self, get_response):
        self.get_response = get_response

    def _key(self, request):
        if request.method != "POST":
            return None
        try:
            return uuid.UUID(request.POST.get(self.FIELD, ""))
        except ValueError:
            return None

    def __call__(self, request):
        from clinic.core.models import FormSubmission

        key = self._key(request)
        if key is None:
            return self.get_response(request)
        user = request.user if request.user.is_authenticated else None
        try:
            with transaction.atomic():
                FormSubmission.objects.create(key=key, user=user, path=request.path[:512])
        except IntegrityError:
            return self._duplicate(request, key)
        except (OperationalError, InterfaceError) as exc:
            return database_unavailable_response(exc)
        try:
            response = self.get_response(request)
        except Exception:
            FormSubmission.objects.filter(key=key).delete()
            raise
        if response.status_code >= 500:
            FormSubmission.objects.filter(key=key).delete()
        elif response.status_code in (301, 302, 303) and response.get("Location"):
            FormSubmission.objects.filter(key=key).update(redirect_to=response["Location"][:512])
        return response

    def _duplicate(self, request, key):
        from clinic.core.models import FormSubmission

        logging.getLogger(__name__).info("Duplicate form submission %s to %s", key, request.path)
        if request.headers.get("HX-Request"):
            return HttpResponse(status=204)
        # Only the user who sent the key first learns where it went: a key copied from
        # someone else's page must not reveal the record their submission opened.
        user = request.user if request.user.is_authenticated else None
        first = FormSubmission.objects.filter(key=key, user=user).values_list(
            "redirect_to", flat=True
        )
        target = first.first() or request.headers.get("Referer", "")
        if not url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            target = reverse("home")
        messages.info(request, "That form was already sent; it was saved once.")
        return HttpResponseRedirect(target)
