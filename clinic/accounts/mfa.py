"""Who must use two-factor authentication, and whether this session has passed the step.

allauth records every authentication step of a session (password, mfa, ...) with
`record_authentication`; a session whose records hold an `mfa` step for its user has entered
a TOTP or recovery code since it signed in (the login stage, a re-authentication, or the
enrolment itself, see `clinic.accounts.signals`).
"""

from allauth.account.internal.flows.login import get_authentication_records
from allauth.mfa.models import Authenticator
from django.conf import settings


def mfa_required_for(user):
    """Clinic staff (any active membership) and operators who can open the Django admin,
    because both see patient data; patients choose for themselves."""
    if not settings.CLINIC_STAFF_MFA_REQUIRED or not user.is_authenticated:
        return False
    return user.is_staff or user.is_superuser or user.is_clinic_staff


def session_passed_mfa(request, user):
    return any(
        record.get("method") == "mfa" for record in get_authentication_records(request, user)
    )


def has_totp(user):
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
