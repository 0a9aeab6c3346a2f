"""Portal accounts: inviting a patient and accepting the invitation."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from clinic.accounts.roles import STAFF_ROLES
from clinic.core.access import user_has_role
from clinic.core.audit import record_access
from clinic.core.models import AccessEvent
from clinic.core.services import email_queue
from clinic.portal.models import PortalInvitation


def invitation_link(user):
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("portal:welcome", args=[uid, token])
    return f"{settings.SITE_URL.rstrip('/')}{path}"


@transaction.atomic
def portal_invite(*, patient, by):
    """Creates (or reuses) the patient's portal account without a password and e-mails a
    link to set one. Inviting again sends a fresh link; earlier links stop working."""
    user_model = get_user_model()
    if not user_has_role(by, STAFF_ROLES, clinic=patient.clinic):
        raise ValidationError("Only staff of this clinic can invite a patient.")
    if not patient.email:
        raise ValidationError("Add the patient's e-mail address first.")
    if patient.status != patient.Status.ACTIVE:
        raise ValidationError("Only an active patient can be invited.")
    user = patient.user
    if user is not None and user.has_usable_password():
        raise ValidationError("The patient already has a portal account.")
    clash = user_model.objects.filter(email__iexact=patient.email)
    if user is not None:
        clash = clash.exclude(pk=user.pk)
    if clash.exists():
        raise ValidationError("Another account already uses this e-mail address.")
    if user is None:
        user = user_model(
            username=patient.email.lower(),
            email=patient.email.lower(),
            first_name=patient.preferred_name or patient.given_name,
            last_name=patient.family_name,
        )
        user.full_clean(exclude=["password"])
        user.set_unusable_password()
        user.save()
        patient.__class__.objects.filter(pk=patient.pk).update(user=user)
        patient.user = user
    else:
        user.set_unusable_password()  # a new random marker: older links stop working
        user.save(update_fields=["password"])
    invitation = PortalInvitation.objects.create(patient=patient, email=user.email, invited_by=by)
    email_queue(
        to=user.email,
        subject=f"Your {patient.clinic.name} patient portal",
        body=(
            f"{patient.clinic.name} has invited you to its patient portal, where you can keep "
            "a mood journal, fill in questionnaires and see your progress.\n\n"
            f"Set your password here (the link works once, for {_link_days()} days):\n"
            f"{invitation_link(user)}\n\n"
            "If you did not expect this message, you can ignore it."
        ),
    )
    record_access(
        user=by,
        action=AccessEvent.Action.CREATE,
        object_type="portal_invitation",
        object_public_id=invitation.public_id,
        patient=patient,
    )
    return invitation


def _link_days():
    return max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)


@transaction.atomic
def portal_invitation_accept(*, user, password):
    user.set_password(password)
    user.save(update_fields=["password"])
    patient = user.patient_record
    PortalInvitation.objects.filter(patient=patient, accepted_at__isnull=True).update(
        accepted_at=timezone.now()
    )
    record_access(
        user=user,
        action=AccessEvent.Action.UPDATE,
        object_type="portal_invitation",
        patient=patient,
        detail="password set; invitation accepted",
    )
    return user
