"""Vital-sign limits (DOMAIN.md §4.2) and the flags a reading gets.

Three tiers per vital: outside the *absolute* limits a value is implausible and refused
(re-measure); a *critical* value is saved, flagged and raises an alert that a clinician must
acknowledge; outside the *normal* range a value is flagged. Clinics may set their own critical
and normal limits (`VitalLimit`); the defaults below are DOMAIN.md's, all "default; confirm
clinically" except MOAA/S 0 = loss of consciousness.

Critical limits are written as `critical_below` (critical when value < it) and
`critical_from` (critical when value >= it), so that "< 90 or >= 180" and "> 110" (>= 111 for
whole beats per minute) are both exact.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import models


class Vital(models.TextChoices):
    SYSTOLIC = "systolic", "Systolic BP"
    DIASTOLIC = "diastolic", "Diastolic BP"
    HEART_RATE = "heart_rate", "Heart rate"
    SPO2 = "spo2", "SpO₂"
    RESPIRATORY_RATE = "respiratory_rate", "Respiratory rate"
    TEMPERATURE = "temperature_c", "Temperature"
    MOAAS = "moaas", "MOAA/S"
    CADSS = "cadss", "CADSS total"


class Flag(models.TextChoices):
    CRITICAL_LOW = "critical_low", "Critical low"
    LOW = "low", "Low"
    HIGH = "high", "High"
    CRITICAL_HIGH = "critical_high", "Critical high"


CRITICAL_FLAGS = (Flag.CRITICAL_LOW, Flag.CRITICAL_HIGH)


@dataclass(frozen=True)
class Limits:
    unit: str
    absolute_low: Decimal
    absolute_high: Decimal
    critical_below: Decimal | None = None
    critical_from: Decimal | None = None
    normal_low: Decimal | None = None
    normal_high: Decimal | None = None
    loinc: str = ""
    ucum: str = ""


def _d(value):
    return None if value is None else Decimal(str(value))


def _limits(unit, absolute, critical, normal, loinc, ucum):
    return Limits(
        unit=unit,
        absolute_low=_d(absolute[0]),
        absolute_high=_d(absolute[1]),
        critical_below=_d(critical[0]),
        critical_from=_d(critical[1]),
        normal_low=_d(normal[0]),
        normal_high=_d(normal[1]),
        loinc=loinc,
        ucum=ucum,
    )


DEFAULT_LIMITS = {
    Vital.SYSTOLIC: _limits("mmHg", (50, 300), (90, 180), (90, 139), "8480-6", "mm[Hg]"),
    Vital.DIASTOLIC: _limits("mmHg", (20, 200), (50, 110), (60, 89), "8462-4", "mm[Hg]"),
    Vital.HEART_RATE: _limits("/min", (20, 250), (50, 111), (60, 100), "8867-4", "/min"),
    Vital.SPO2: _limits("%", (50, 100), (92, None), (95, 100), "59408-5", "%"),
    Vital.RESPIRATORY_RATE: _limits("/min", (2, 60), (8, 25), (12, 20), "9279-1", "/min"),
    Vital.TEMPERATURE: _limits("°C", (30, 45), (35, 39), ("36.0", "37.9"), "8310-5", "Cel"),
    Vital.MOAAS: _limits("", (0, 5), (3, None), (5, 5), "", "{score}"),
    Vital.CADSS: _limits("", (0, 92), (None, None), (None, None), "", "{score}"),
}


def flag_for(value, limits):
    """The flag of `value` under `limits`, or None when it is normal (or has no range)."""
    if value is None:
        return None
    value = Decimal(str(value))
    if limits.critical_below is not None and value < limits.critical_below:
        return Flag.CRITICAL_LOW
    if limits.critical_from is not None and value >= limits.critical_from:
        return Flag.CRITICAL_HIGH
    if limits.normal_low is not None and value < limits.normal_low:
        return Flag.LOW
    if limits.normal_high is not None and value > limits.normal_high:
        return Flag.HIGH
    return None


def is_plausible(value, limits):
    value = Decimal(str(value))
    return limits.absolute_low <= value <= limits.absolute_high
