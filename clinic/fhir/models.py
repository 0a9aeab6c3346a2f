"""Per-user API tokens for the read-only FHIR API.

Only a SHA-256 hash of each token's secret is stored: the secret is shown once, when the
token is created, and cannot be recovered afterwards. A token reads exactly what its user's
staff pages show (`clinic.fhir.selectors`); revoking it is immediate and final.
"""

from django.conf import settings
from django.core.validators import ProhibitNullCharactersValidator
from django.db import models

from clinic.core.models import PublicModel


class ApiToken(PublicModel):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens"
    )
    name = models.CharField(
        max_length=80,
        validators=[ProhibitNullCharactersValidator()],
        help_text="What the token is for, e.g. “research export” or “EHR sync”.",
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_prefix = models.CharField(
        max_length=12, editable=False, help_text="The secret's first characters, to tell it apart."
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"
        indexes = [models.Index(fields=["user", "-created_at"], name="api_token_user_time")]
        constraints = [
            models.CheckConstraint(condition=~models.Q(name=""), name="api_token_name_not_blank"),
            models.CheckConstraint(
                condition=models.Q(revoked_at__isnull=True, revoked_by__isnull=True)
                | models.Q(revoked_at__isnull=False, revoked_by__isnull=False),
                name="api_token_revoked_by_whom",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.key_prefix}…)"

    @property
    def is_active(self):
        return self.revoked_at is None
