from django.conf import settings
from django.core.checks import Error, register


@register()
def staff_mfa_only_off_in_the_demo(app_configs, **kwargs):
    """The staff two-factor requirement may be switched off only by the demo settings."""
    if settings.CLINIC_STAFF_MFA_REQUIRED or getattr(settings, "DEMO_MODE", False):
        return []
    return [
        Error(
            "CLINIC_STAFF_MFA_REQUIRED is off outside the demo settings.",
            hint="Staff must use two-factor authentication; only clinic/settings/demo.py "
            "may turn it off.",
            id="clinic.accounts.E001",
        )
    ]
