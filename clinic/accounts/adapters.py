import logging

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter

from clinic.accounts.mfa import mfa_required_for
from clinic.core.services import email_queue

security_log = logging.getLogger("clinic.security")
LOCKOUT_MESSAGE = (
    "Too many failed sign-in attempts. Sign-in is locked for 15 minutes: wait, then try "
    "again, or reset your password."
)


def _client_address():
    request = getattr(context, "request", None)
    return request.META.get("REMOTE_ADDR") if request is not None else None


class InvitationOnlyAccountAdapter(DefaultAccountAdapter):
    """Staff and patients are invited by their clinic; nobody signs themselves up.

    Failed sign-ins and lockouts (allauth's `login_failed` rate limit, ACCOUNT_RATE_LIMITS,
    shared by the password and the MFA-code steps) are logged to `clinic.security`."""

    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "too_many_login_attempts": LOCKOUT_MESSAGE,
    }

    def is_open_for_signup(self, request):
        return False

    def pre_authenticate(self, request, **credentials):
        self._attempted_login = credentials.get("username") or credentials.get("email") or ""
        super().pre_authenticate(request, **credentials)

    def validation_error(self, code, *args):
        if code == "too_many_login_attempts":
            # The MFA step reaches here through a fresh adapter, without a typed login.
            step = getattr(self, "_attempted_login", None)
            security_log.warning(
                "Sign-in locked out for %s from %s",
                repr(step) if step is not None else "the two-factor step",
                _client_address(),
            )
        return super().validation_error(code, *args)

    def authentication_failed(self, request, **credentials):
        security_log.info(
            "Failed sign-in for %r from %s",
            credentials.get("username") or credentials.get("email") or "",
            request.META.get("REMOTE_ADDR"),
        )

    def send_mail(self, template_prefix, email, context):
        """Account e-mails (password reset, …) go through the outbox, sent by a worker."""
        message = self.render_mail(template_prefix, email, context)
        html_body = next(
            (
                content
                for content, mimetype in getattr(message, "alternatives", [])
                if mimetype == "text/html"
            ),
            "",
        )
        email_queue(to=email, subject=message.subject, body=message.body, html_body=html_body)


class ClinicMFAAdapter(DefaultMFAAdapter):
    """Whoever must use two-factor authentication cannot turn it off."""

    error_messages = {
        **DefaultMFAAdapter.error_messages,
        "cannot_delete_authenticator": (
            "Clinic staff must use two-factor authentication, so the authenticator app "
            "cannot be removed. To move to a new phone, ask your clinic admin."
        ),
    }

    def can_delete_authenticator(self, authenticator):
        return not mfa_required_for(authenticator.user)

    def validation_error(self, code, *args):
        if code == "incorrect_code":
            security_log.info("Wrong two-factor code (from %s)", _client_address())
        return super().validation_error(code, *args)
