from django.conf import settings


def navigation(request):
    """Which navigation the base layout shows: it differs per role."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {
            "nav_role": None,
            "demo_mode": getattr(settings, "DEMO_MODE", False),
            "staff_mfa_required": settings.CLINIC_STAFF_MFA_REQUIRED,
        }
    if user.is_clinic_staff:
        role = "staff"
    elif hasattr(user, "patient_record"):
        role = "patient"
    else:
        role = None
    unread = 0
    if role == "staff":
        # The request's user arrives with its count (accounts.backends.load_request_user).
        unread = getattr(user, "unread_alerts", None)
        if unread is None:
            from clinic.core.models import Notification

            unread = Notification.objects.filter(recipient=user, read_at__isnull=True).count()
    return {
        "nav_unread_notifications": unread,
        "nav_role": role,
        "nav_is_clinician": user.is_clinician,
        "nav_is_clinic_admin": user.is_clinic_admin,
        "demo_mode": getattr(settings, "DEMO_MODE", False),
    }
