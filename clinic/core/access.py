"""Role checks for views. Object-level scoping lives in each app's selectors."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from clinic.accounts.roles import CLINICIAN_ROLES, STAFF_ROLES, StaffRole


def user_has_role(user, roles, clinic=None):
    if not user.is_authenticated or not user.is_active:
        return False
    if getattr(user, "is_request_user", False):
        # The memberships the request already read (User.active_memberships): a page asks
        # this several times, and a request's user object lives only as long as the request.
        clinic_id = None if clinic is None else clinic.pk
        return any(
            clinic_active and role in roles and clinic_id in (None, member_clinic)
            for role, member_clinic, clinic_active, _tz in user.active_memberships()
        )
    memberships = user.clinic_memberships.filter(
        is_active=True, clinic__is_active=True, role__in=list(roles)
    )
    if clinic is not None:
        memberships = memberships.filter(clinic=clinic)
    return memberships.exists()


def role_required(*roles):
    """Signed-in users holding one of `roles` in some clinic; 403 for everyone else."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            request.user.is_request_user = True
            if not user_has_role(request.user, roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


staff_required = role_required(*STAFF_ROLES)
clinician_required = role_required(*CLINICIAN_ROLES)
clinic_admin_required = role_required(StaffRole.ADMIN)


def patient_required(view):
    """Signed-in users with a linked patient record; 403 for everyone else."""

    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        request.user.is_request_user = True
        if not hasattr(request.user, "patient_record"):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped
