from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from clinic.accounts.middleware import start_session_clock


@receiver(user_logged_in, dispatch_uid="clinic_session_clock")
def _start_session_clock(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        start_session_clock(request, user)


@receiver(authenticator_added, dispatch_uid="clinic_enrolment_counts_as_mfa_step")
def _enrolment_counts_as_mfa_step(sender, request, user, authenticator, **kwargs):
    """Activating an authenticator app takes a correct code from it: that proves the second
    factor for this session as much as the login step would, so a staff member who enrols
    goes on to their work instead of being asked for a second code straight away."""
    if authenticator.type == Authenticator.Type.TOTP and request is not None:
        record_authentication(request, user, "mfa", id=authenticator.pk, type=authenticator.type)
