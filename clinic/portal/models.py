from django.conf import settings
from django.db import models
from django.utils import timezone

from clinic.core.models import PublicModel


class PortalInvitation(PublicModel):
    """An e-mailed link that lets a patient set their portal password. The link itself is a
    password-reset token, so it stops working once used or once the password changes."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="portal_invitations"
    )
    email = models.EmailField()
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    sent_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at"]

    def __str__(self):
        return f"Portal invitation for {self.patient} ({self.sent_at:%Y-%m-%d})"
