import zoneinfo

from django.utils import timezone

from clinic.core import audit


class AuditContextMiddleware:
    """Makes the client address and path available to the audit log."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = audit.set_request_context(
            audit.RequestContext(ip_address=request.META.get("REMOTE_ADDR"), path=request.path)
        )
        try:
            return self.get_response(request)
        finally:
            audit.reset_request_context(token)


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


class DatabaseUnavailableMiddleware:
    """A database that is down or refusing connections gives a clean 503 page that says
    nothing was saved, never a traceback."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.db import InterfaceError, OperationalError

        if isinstance(exception, OperationalError | InterfaceError):
            import logging

            from django.http import HttpResponse
            from django.template import loader

            logging.getLogger(__name__).error("Database unavailable: %s", exception)
            response = HttpResponse(loader.get_template("503.html").render(), status=503)
            response["Retry-After"] = "30"
            return response
        return None
