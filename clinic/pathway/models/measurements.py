from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from clinic.core.history import track_changes
from clinic.core.models import PublicModel

# DOMAIN.md §4.2 absolute limits: a value outside them is implausible and is re-measured.
WEIGHT_KG_LIMITS = (Decimal("20"), Decimal("350"))
HEIGHT_CM_LIMITS = (Decimal("100"), Decimal("250"))


@track_changes
class BodyMeasurement(PublicModel):
    """The patient's weight (and height) on a day; dose calculations name the one they used."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="body_measurements"
    )
    measured_on = models.DateField()
    weight_kg = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        validators=[MinValueValidator(WEIGHT_KG_LIMITS[0]), MaxValueValidator(WEIGHT_KG_LIMITS[1])],
    )
    height_cm = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(HEIGHT_CM_LIMITS[0]), MaxValueValidator(HEIGHT_CM_LIMITS[1])],
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-measured_on", "-id"]
        indexes = [models.Index(fields=["patient", "-measured_on"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    weight_kg__gte=WEIGHT_KG_LIMITS[0], weight_kg__lte=WEIGHT_KG_LIMITS[1]
                ),
                name="body_weight_plausible",
            ),
            models.CheckConstraint(
                condition=models.Q(height_cm__isnull=True)
                | models.Q(height_cm__gte=HEIGHT_CM_LIMITS[0], height_cm__lte=HEIGHT_CM_LIMITS[1]),
                name="body_height_plausible",
            ),
        ]

    def __str__(self):
        return f"{self.weight_kg} kg on {self.measured_on}"
