"""Every limit tier of every vital, at and either side of each boundary (DOMAIN.md §4.2)."""

from decimal import Decimal

import pytest

from clinic.monitoring.limits import DEFAULT_LIMITS, Flag, Vital, flag_for, is_plausible

CRIT_LOW, LOW, HIGH, CRIT_HIGH = Flag.CRITICAL_LOW, Flag.LOW, Flag.HIGH, Flag.CRITICAL_HIGH

# (vital, value, expected flag): the boundaries of DOMAIN.md's table, written out by hand.
CASES = [
    # Systolic: critical < 90 or >= 180; normal 90-139.
    (Vital.SYSTOLIC, 89, CRIT_LOW), (Vital.SYSTOLIC, 90, None), (Vital.SYSTOLIC, 139, None),
    (Vital.SYSTOLIC, 140, HIGH), (Vital.SYSTOLIC, 179, HIGH), (Vital.SYSTOLIC, 180, CRIT_HIGH),
    # Diastolic: critical < 50 or >= 110; normal 60-89.
    (Vital.DIASTOLIC, 49, CRIT_LOW), (Vital.DIASTOLIC, 50, LOW), (Vital.DIASTOLIC, 59, LOW),
    (Vital.DIASTOLIC, 60, None), (Vital.DIASTOLIC, 89, None), (Vital.DIASTOLIC, 90, HIGH),
    (Vital.DIASTOLIC, 109, HIGH), (Vital.DIASTOLIC, 110, CRIT_HIGH),
    # Heart rate: critical < 50 or > 110; normal 60-100.
    (Vital.HEART_RATE, 49, CRIT_LOW), (Vital.HEART_RATE, 50, LOW), (Vital.HEART_RATE, 59, LOW),
    (Vital.HEART_RATE, 60, None), (Vital.HEART_RATE, 100, None), (Vital.HEART_RATE, 101, HIGH),
    (Vital.HEART_RATE, 110, HIGH), (Vital.HEART_RATE, 111, CRIT_HIGH),
    # SpO2: critical < 92; normal 95-100.
    (Vital.SPO2, 91, CRIT_LOW), (Vital.SPO2, 92, LOW), (Vital.SPO2, 94, LOW),
    (Vital.SPO2, 95, None), (Vital.SPO2, 100, None),
    # Respiratory rate: critical < 8 or > 24; normal 12-20.
    (Vital.RESPIRATORY_RATE, 7, CRIT_LOW), (Vital.RESPIRATORY_RATE, 8, LOW),
    (Vital.RESPIRATORY_RATE, 11, LOW), (Vital.RESPIRATORY_RATE, 12, None),
    (Vital.RESPIRATORY_RATE, 20, None), (Vital.RESPIRATORY_RATE, 21, HIGH),
    (Vital.RESPIRATORY_RATE, 24, HIGH), (Vital.RESPIRATORY_RATE, 25, CRIT_HIGH),
    # Temperature: critical < 35.0 or >= 39.0; normal 36.0-37.9.
    (Vital.TEMPERATURE, "34.9", CRIT_LOW), (Vital.TEMPERATURE, "35.0", LOW),
    (Vital.TEMPERATURE, "35.9", LOW), (Vital.TEMPERATURE, "36.0", None),
    (Vital.TEMPERATURE, "37.9", None), (Vital.TEMPERATURE, "38.0", HIGH),
    (Vital.TEMPERATURE, "38.9", HIGH), (Vital.TEMPERATURE, "39.0", CRIT_HIGH),
    # MOAA/S: critical <= 2; normal 5.
    (Vital.MOAAS, 0, CRIT_LOW), (Vital.MOAAS, 2, CRIT_LOW), (Vital.MOAAS, 3, LOW),
    (Vital.MOAAS, 4, LOW), (Vital.MOAAS, 5, None),
    # CADSS: no flags (change versus pre-dose is shown instead).
    (Vital.CADSS, 0, None), (Vital.CADSS, 92, None),
]  # fmt: skip

# (vital, lowest plausible, highest plausible): one step outside each is refused.
ABSOLUTE = [
    (Vital.SYSTOLIC, 50, 300), (Vital.DIASTOLIC, 20, 200), (Vital.HEART_RATE, 20, 250),
    (Vital.SPO2, 50, 100), (Vital.RESPIRATORY_RATE, 2, 60),
    (Vital.TEMPERATURE, Decimal("30.0"), Decimal("45.0")), (Vital.MOAAS, 0, 5),
    (Vital.CADSS, 0, 92),
]  # fmt: skip


@pytest.mark.parametrize(("vital", "value", "expected"), CASES)
def test_flag_at_each_boundary(vital, value, expected):
    assert flag_for(value, DEFAULT_LIMITS[vital]) == expected


@pytest.mark.parametrize(("vital", "low", "high"), ABSOLUTE)
def test_absolute_limits_are_inclusive_and_refuse_one_step_beyond(vital, low, high):
    step = Decimal("0.1") if vital == Vital.TEMPERATURE else 1
    limits = DEFAULT_LIMITS[vital]
    assert is_plausible(low, limits) and is_plausible(high, limits)
    assert not is_plausible(low - step, limits)
    assert not is_plausible(high + step, limits)


def test_every_vital_has_cases_for_every_tier_it_defines():
    for vital, limits in DEFAULT_LIMITS.items():
        flags = {expected for v, _, expected in CASES if v == vital}
        if limits.critical_below is not None:
            assert CRIT_LOW in flags, vital
        if limits.critical_from is not None:
            assert CRIT_HIGH in flags, vital
        if limits.normal_low is not None:
            assert None in flags, vital
        assert vital in {v for v, _, _ in ABSOLUTE}
