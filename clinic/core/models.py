import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class PublicModel(models.Model):
    """Base for every record a URL can name: URLs carry `public_id`, never the pk."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AccessEvent(models.Model):
    """One row per read (or write) of a patient's record, allowed or denied.

    Written on purpose by selectors and services, never by signals, so that the
    row says what the user asked for and whether they got it.
    """

    class Action(models.TextChoices):
        VIEW = "view", "Viewed"
        LIST = "list", "Listed"
        SEARCH = "search", "Searched"
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        EXPORT = "export", "Exported"

    class Outcome(models.TextChoices):
        ALLOWED = "allowed", "Allowed"
        DENIED = "denied", "Denied"

    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="access_events",
    )
    clinic = models.ForeignKey(
        "patients.Clinic",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="access_events",
    )
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="access_events",
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    object_type = models.CharField(max_length=64)
    object_public_id = models.UUIDField(null=True, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    path = models.CharField(max_length=512, blank=True)
    detail = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "-occurred_at"], name="access_patient_time"),
            models.Index(fields=["clinic", "-occurred_at"], name="access_clinic_time"),
            models.Index(fields=["user", "-occurred_at"], name="access_user_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(outcome__in=["allowed", "denied"]),
                name="access_event_outcome_valid",
            ),
        ]

    def __str__(self):
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.user_id} {self.action} {self.object_type}"
