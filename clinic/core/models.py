import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
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
        SIGN = "sign", "Signed"

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


class OutboundEmail(PublicModel):
    """An e-mail recorded before it is sent (an outbox): a broker or mail-server outage
    delays it, never loses it, and a task that runs twice sends it once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    to = models.EmailField()
    subject = models.CharField(max_length=255)
    body = models.TextField()
    html_body = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(status="pending"),
                name="outbound_email_pending",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "sent", "failed"]),
                name="outbound_email_status_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="sent") | models.Q(sent_at__isnull=False),
                name="outbound_email_sent_has_time",
            ),
        ]

    def __str__(self):
        return f"{self.subject} → {self.to} ({self.status})"


class Addendum(PublicModel):
    """A signed correction or addition to a signed note; never changed or deleted."""

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    note = GenericForeignKey("content_type", "object_id")
    text = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="addenda"
    )
    signed_at = models.DateTimeField(default=timezone.now, editable=False)
    content_hash = models.CharField(max_length=64, editable=False)

    class Meta:
        ordering = ["signed_at", "id"]
        verbose_name_plural = "addenda"
        indexes = [models.Index(fields=["content_type", "object_id", "signed_at"])]
        constraints = [
            models.CheckConstraint(condition=~models.Q(text=""), name="addendum_text_not_blank"),
        ]

    def __str__(self):
        return f"Addendum by {self.author} at {self.signed_at:%Y-%m-%d %H:%M}"


class Notification(PublicModel):
    """An in-app alert for one user (the bell), written in the transaction that raised it;
    its e-mail copy goes through the outbox. Emails never carry clinical details: they say
    that something needs attention and link to the page."""

    class Severity(models.TextChoices):
        INFO = "info", "Information"
        URGENT = "urgent", "Urgent"
        EMERGENCY = "emergency", "Emergency"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notifications"
    )
    clinic = models.ForeignKey(
        "patients.Clinic", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=40)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.URGENT)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    # What raised it, so raising the same alert twice (a retried task, a double submit)
    # notifies once.
    source_key = models.CharField(max_length=120)
    read_at = models.DateTimeField(null=True, blank=True)
    email = models.ForeignKey(
        OutboundEmail, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["recipient", "created_at"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "source_key"], name="notification_once_per_source"
            ),
        ]

    def __str__(self):
        return self.title


class Heartbeat(models.Model):
    """The last time a background component proved it was alive (the worker runs a task from
    the beat schedule that stamps it); `/health/` reads it."""

    name = models.CharField(max_length=40, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} at {self.seen_at:%Y-%m-%d %H:%M:%S}"


class FormSubmission(models.Model):
    """A form key already used: the record that makes a double submission a no-op
    (`IdempotentPostMiddleware`). Pruned after a few days by a beat task."""

    key = models.UUIDField(unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    path = models.CharField(max_length=512)
    redirect_to = models.CharField(max_length=512, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self):
        return f"{self.key} {self.path}"
