"""Session limits and the staff two-factor requirement, enforced on every request."""

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone

from clinic.accounts.mfa import has_totp, mfa_required_for, session_passed_mfa

logger = logging.getLogger("clinic.security")

SIGNED_IN_AT = "clinic.signed_in_at"
LAST_SEEN_AT = "clinic.last_seen_at"
STAFF_SESSION = "clinic.staff_session"
# The activity stamp is rewritten at most this often, so that an ordinary page view does not
# write the session row each time; the idle timeout is exact to within this interval.
LAST_SEEN_WRITE_INTERVAL_SECONDS = 60


def start_session_clock(request, user):
    """Called when a user signs in (`user_logged_in`): the 12-hour limit and the idle
    timeout count from now, and the session remembers whether it began as staff's."""
    now = timezone.now().timestamp()
    request.session[SIGNED_IN_AT] = now
    request.session[LAST_SEEN_AT] = now
    request.session[STAFF_SESSION] = bool(user.is_clinic_staff or user.is_staff)


def _redirect(request, url):
    """htmx swaps the body of a redirect into the page; tell it to navigate instead."""
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=200)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def _login_url(request):
    url = reverse("account_login")
    if request.method == "GET" and not request.headers.get("HX-Request"):
        url += "?" + urlencode({"next": request.get_full_path()})
    return url


def _sign_out(request, message, reason):
    user = request.user
    logger.info("Signed out %s (user %s): %s", reason, user.pk, request.path)
    logout(request)
    messages.info(request, message)
    return _redirect(request, _login_url(request))


class SessionLimitsMiddleware:
    """Signs a user out after CLINIC_STAFF_IDLE_TIMEOUT_SECONDS of inactivity (staff) or
    CLINIC_PATIENT_IDLE_TIMEOUT_SECONDS (patients), after CLINIC_SESSION_MAX_AGE_SECONDS
    whatever the activity, and as soon as a staff member's last clinic membership is
    deactivated. (A deactivated user, is_active=False, is already anonymous to Django's
    authentication backends, and a password change invalidates every other session through
    the session's auth hash.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated:
            ended = self._check(request, user)
            if ended is not None:
                return ended
        return self.get_response(request)

    def _check(self, request, user):
        session = request.session
        now = timezone.now().timestamp()
        if SIGNED_IN_AT not in session:
            # A session from before these limits existed: they count from now.
            start_session_clock(request, user)
            return None
        staff_session = session.get(STAFF_SESSION, False)
        if staff_session and not (user.is_clinic_staff or user.is_staff):
            return _sign_out(
                request,
                "You were signed out because your clinic access was withdrawn.",
                "access withdrawn",
            )
        idle_limit = (
            settings.CLINIC_STAFF_IDLE_TIMEOUT_SECONDS
            if staff_session
            else settings.CLINIC_PATIENT_IDLE_TIMEOUT_SECONDS
        )
        last_seen = session.get(LAST_SEEN_AT, now)
        if now - last_seen > idle_limit:
            minutes = round(idle_limit / 60)
            return _sign_out(
                request,
                f"You were signed out after {minutes} minutes of inactivity. "
                "Sign in again to continue.",
                "idle",
            )
        if now - session[SIGNED_IN_AT] > settings.CLINIC_SESSION_MAX_AGE_SECONDS:
            hours = round(settings.CLINIC_SESSION_MAX_AGE_SECONDS / 3600)
            return _sign_out(
                request,
                f"You were signed out because sessions last at most {hours} hours. "
                "Sign in again to continue.",
                "session age",
            )
        if now - last_seen >= LAST_SEEN_WRITE_INTERVAL_SECONDS:
            session[LAST_SEEN_AT] = now
        return None


# While the two-factor step is outstanding, only these pages open: what it takes to finish
# it, and signing out.
ENROLMENT_URLS = frozenset(
    {"mfa_activate_totp", "mfa_index", "account_reauthenticate", "account_logout"}
)
VERIFICATION_URLS = frozenset({"mfa_reauthenticate", "account_logout"})


class StaffMfaMiddleware:
    """Staff see nothing until this session has passed the two-factor step.

    A staff member without an authenticator app is sent to set one up; one with an app whose
    session has not entered a code (a session from before enrolment was required, or one
    signed in outside allauth's login stages) is asked for a code. Nothing else opens
    meanwhile but signing out. Sessions that passed the step cost no query here."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not session_passed_mfa(request, user)
            and mfa_required_for(user)
        ):
            refused = self._refuse(request, user)
            if refused is not None:
                return refused
        return self.get_response(request)

    def _refuse(self, request, user):
        try:
            url_name = resolve(request.path_info).url_name
        except Resolver404:
            url_name = None
        if has_totp(user):
            if url_name in VERIFICATION_URLS:
                return None
            target = reverse("mfa_reauthenticate")
            if request.method == "GET" and not request.headers.get("HX-Request"):
                target += "?" + urlencode({"next": request.get_full_path()})
            messages.info(
                request,
                "Enter the code from your authenticator app to continue.",
                fail_silently=True,
            )
            return _redirect(request, target)
        if url_name in ENROLMENT_URLS:
            return None
        messages.warning(
            request,
            "Clinic staff must use two-factor authentication. Set up an authenticator app "
            "to continue.",
            fail_silently=True,
        )
        return _redirect(request, reverse("mfa_activate_totp"))
