"""Dose arithmetic for ketamine and esketamine (DOMAIN.md §3.2).

Pure functions over Decimal, so the numbers a nurse sees are the numbers a test pins down:
every rounding is half-up at a stated precision, never binary floating point and never
banker's rounding. Nothing here touches the database; callers store the result.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from itertools import pairwise

from django.core.exceptions import ValidationError

ESKETAMINE_DEVICE_MG = Decimal("28")
ESKETAMINE_DOSES_MG = (Decimal("28"), Decimal("56"), Decimal("84"))
MAX_ESKETAMINE_DEVICES = len(ESKETAMINE_DOSES_MG)
MAX_WEIGHT_AGE_DAYS = 30
DELIVERABLE_WARNING_PERCENT = Decimal("2")
MIN_INFUSION_MINUTES = 40
ESKETAMINE_DEVICE_INTERVAL_MINUTES = 5
ESKETAMINE_OBSERVATION_MINUTES = 120

# A plan's mg/kg target, minimum and maximum must lie inside its route's range (§3.1).
ROUTE_MG_PER_KG_LIMITS = {
    "iv": (Decimal("0.1"), Decimal("1.0")),
    "im": (Decimal("0.1"), Decimal("1.0")),
    "intranasal": (Decimal("0.25"), Decimal("7")),
    "oral": (Decimal("0.25"), Decimal("7")),
    "sublingual": (Decimal("0.25"), Decimal("7")),
}
ROUTE_LABELS = {
    "iv": "IV",
    "im": "IM",
    "intranasal": "intranasal",
    "oral": "oral",
    "sublingual": "sublingual",
}

MODE_MG_PER_KG = "mg_per_kg"
MODE_FIXED_MG = "fixed_mg"
MODE_DEVICES = "devices"
DOSE_MODES = (MODE_MG_PER_KG, MODE_FIXED_MG, MODE_DEVICES)

_TENTH = Decimal("0.1")
_HUNDREDTH = Decimal("0.01")
# Far beyond any clinical value; keeps quantize() inside Decimal's 28-digit precision.
_LARGEST_INPUT = Decimal("1000000")


def to_decimal(value):
    """Return `value` as a finite Decimal.

    Floats are refused (TypeError) because 0.1 has no exact binary form and a dose must not
    depend on how a float happened to round. Unparseable or non-finite text is a ValueError.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise TypeError(
            f"Dose arithmetic takes Decimal, int or str, not {type(value).__name__}; "
            "floats would introduce binary rounding errors."
        )
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number.") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number.")
    return number


def _half_up(value, step):
    return to_decimal(value).quantize(step, rounding=ROUND_HALF_UP)


def round_mg(value):
    """Round a dose half-up to 0.1 mg."""
    return _half_up(value, _TENTH)


def round_ml(value):
    """Round a volume half-up to 0.01 mL, the resolution a syringe is drawn to."""
    return _half_up(value, _HUNDREDTH)


def round_ml_per_hour(value):
    """Round a pump rate half-up to 0.1 mL/h."""
    return _half_up(value, _TENTH)


@dataclass(frozen=True)
class DoseCalculation:
    """Every intermediate value, so a session can store and show how the dose was reached."""

    weight_kg: Decimal | None
    mg_per_kg: Decimal | None
    raw_dose_mg: Decimal
    dose_mg: Decimal
    capped: bool
    volume_ml: Decimal | None
    deliverable_mg: Decimal | None
    deliverable_difference_percent: Decimal | None
    rate_ml_per_hour: Decimal | None
    devices: int | None
    warnings: tuple[str, ...]


def _read_positive(errors, field, value, what, *, tenths=False, whole=False):
    """`value` as a positive Decimal, or None after recording a message for `field`.

    `what` completes "Enter ..." (e.g. "the patient's weight in kg"), so every message names
    the quantity and its unit.
    """
    if value is None or value == "":
        errors[field] = f"Enter {what}."
        return None
    try:
        number = to_decimal(value)
    except ValueError:
        errors[field] = f"Enter {what} as a number."
        return None
    if number <= 0:
        errors[field] = f"{what[0].upper()}{what[1:]} must be more than zero."
    elif number > _LARGEST_INPUT:
        errors[field] = f"{what[0].upper()}{what[1:]} is too large; check the entry."
    elif tenths and number != number.quantize(_TENTH):
        errors[field] = f"Enter {what} to one decimal place."
    elif whole and number != number.to_integral_value():
        errors[field] = f"Enter {what} as a whole number."
    else:
        return number
    return None


def _read_optional(errors, field, value, what, **kwargs):
    if value is None or value == "":
        return None
    return _read_positive(errors, field, value, what, **kwargs)


def _check_weight_age(errors, measured_on, on_date, max_age_days):
    """Refuse a stale weight: mg/kg dosing is only as good as the weight behind it (PS-WEIGHT)."""
    if measured_on is None or on_date is None:
        return
    if isinstance(measured_on, datetime):
        measured_on = measured_on.date()
    if isinstance(on_date, datetime):
        on_date = on_date.date()
    age_days = (on_date - measured_on).days
    if age_days < 0:
        errors["weight_measured_on"] = (
            "The weight is dated after the dose date; check the date it was measured."
        )
    elif age_days > max_age_days:
        errors["weight_measured_on"] = (
            f"The weight was measured {age_days} days ago; mg/kg dosing needs a weight from "
            f"the last {max_age_days} days. Weigh the patient again."
        )


def _refuse_above_max(field, description, dose_mg, max_dose_mg):
    if max_dose_mg is not None and dose_mg > max_dose_mg:
        raise ValidationError(
            {field: f"{description} is above the plan maximum of {round_mg(max_dose_mg)} mg."}
        )


def calculate_dose(
    *,
    mode: str,
    weight_kg=None,
    weight_measured_on: date | None = None,
    on_date: date | None = None,
    mg_per_kg=None,
    fixed_dose_mg=None,
    devices=None,
    max_dose_mg=None,
    concentration_mg_per_ml=None,
    final_volume_ml=None,
    infusion_minutes=None,
    max_weight_age_days: int = MAX_WEIGHT_AGE_DAYS,
) -> DoseCalculation:
    """Calculate one session's dose, volume and pump rate per DOMAIN.md §3.2.

    Only the inputs of `mode` are read: weight and mg/kg for "mg_per_kg", `fixed_dose_mg`
    for "fixed_mg", `devices` for "devices" (esketamine nasal spray, which has no volume or
    rate). A weight-based dose above `max_dose_mg` is capped with a warning the prescriber
    acknowledges; a fixed or device dose above it was chosen outright, so it is refused.

    Raises ValidationError keyed by argument name for missing, non-positive or refused
    inputs, TypeError for floats, and ValueError for an unknown mode.
    """
    if mode not in DOSE_MODES:
        raise ValueError(f"Unknown dose mode {mode!r}; expected one of {DOSE_MODES}.")
    errors = {}
    max_dose = _read_optional(
        errors, "max_dose_mg", max_dose_mg, "the maximum dose in mg", tenths=True
    )
    weight = per_kg = device_count = concentration = final_volume = minutes = None

    if mode == MODE_MG_PER_KG:
        weight = _read_positive(
            errors, "weight_kg", weight_kg, "the patient's weight in kg", tenths=True
        )
        per_kg = _read_positive(errors, "mg_per_kg", mg_per_kg, "the dose in mg/kg")
        _check_weight_age(errors, weight_measured_on, on_date, max_weight_age_days)
    elif mode == MODE_FIXED_MG:
        fixed = _read_positive(errors, "fixed_dose_mg", fixed_dose_mg, "the dose in mg")
    else:
        count = _read_positive(errors, "devices", devices, "the number of devices", whole=True)
        if count is not None and count > MAX_ESKETAMINE_DEVICES:
            errors["devices"] = (
                "Esketamine is given as 1, 2 or 3 devices (28, 56 or 84 mg); "
                f"{count:f} devices is not allowed."
            )
        elif count is not None:
            device_count = int(count)

    if mode != MODE_DEVICES:
        concentration = _read_optional(
            errors,
            "concentration_mg_per_ml",
            concentration_mg_per_ml,
            "the concentration in mg/mL",
        )
        final_volume = _read_optional(
            errors, "final_volume_ml", final_volume_ml, "the final volume in mL"
        )
        minutes = _read_optional(
            errors,
            "infusion_minutes",
            infusion_minutes,
            "the infusion time in minutes",
            whole=True,
        )
        if final_volume_ml not in (None, "") and infusion_minutes in (None, ""):
            errors["infusion_minutes"] = "Enter the infusion time to calculate the pump rate."
        if infusion_minutes not in (None, "") and final_volume_ml in (None, ""):
            errors["final_volume_ml"] = "Enter the final volume to calculate the pump rate."

    if errors:
        raise ValidationError(errors)

    warnings = []
    capped = False
    if mode == MODE_MG_PER_KG:
        raw = weight * per_kg
        dose = round_mg(raw)
        if dose <= 0:
            raise ValidationError(
                {"mg_per_kg": "The calculated dose rounds to 0.0 mg; check the weight and mg/kg."}
            )
        if max_dose is not None and dose > max_dose:
            warnings.append(
                f"Dose capped at the plan maximum of {round_mg(max_dose)} mg "
                f"(calculated {dose} mg); a prescriber must acknowledge it."
            )
            dose = round_mg(max_dose)
            capped = True
    elif mode == MODE_FIXED_MG:
        raw = fixed
        dose = round_mg(raw)
        if dose <= 0:
            raise ValidationError({"fixed_dose_mg": "The dose rounds to 0.0 mg; check the dose."})
        _refuse_above_max("fixed_dose_mg", f"A fixed dose of {dose} mg", dose, max_dose)
    else:
        raw = device_count * ESKETAMINE_DEVICE_MG
        dose = round_mg(raw)
        plural = "" if device_count == 1 else "s"
        _refuse_above_max("devices", f"{device_count} device{plural} ({dose} mg)", dose, max_dose)

    volume = deliverable = difference = None
    if concentration is not None:
        volume = round_ml(dose / concentration)
        if volume <= 0:
            raise ValidationError(
                {
                    "concentration_mg_per_ml": (
                        f"{dose} mg is less than 0.01 mL at {concentration:f} mg/mL; "
                        "use a weaker dilution."
                    )
                }
            )
        deliverable = round_ml(volume * concentration)
        difference = _half_up((deliverable - dose) / dose * 100, _HUNDREDTH)
        if abs(difference) > DELIVERABLE_WARNING_PERCENT:
            warnings.append(
                f"Deliverable dose differs from the calculated dose by {abs(difference)}%."
            )

    rate = None
    if final_volume is not None and minutes is not None:
        rate = round_ml_per_hour(final_volume * 60 / minutes)
        if minutes < MIN_INFUSION_MINUTES:
            warnings.append(
                f"Infusion over {int(minutes)} minutes is shorter than the recommended "
                f"{MIN_INFUSION_MINUTES} minutes."
            )

    return DoseCalculation(
        weight_kg=weight,
        mg_per_kg=per_kg,
        raw_dose_mg=raw,
        dose_mg=dose,
        capped=capped,
        volume_ml=volume,
        deliverable_mg=deliverable,
        deliverable_difference_percent=difference,
        rate_ml_per_hour=rate,
        devices=device_count,
        warnings=tuple(warnings),
    )


def validate_plan_mg_per_kg(route, *, mg_per_kg, min_mg_per_kg=None, max_mg_per_kg=None):
    """Check a plan's mg/kg target, minimum and maximum against its route's range (§3.2 rule 2).

    Raises ValidationError keyed by argument name; returns None when the plan is within limits.
    """
    if route not in ROUTE_MG_PER_KG_LIMITS:
        raise ValueError(f"No mg/kg range for route {route!r}.")
    low, high = ROUTE_MG_PER_KG_LIMITS[route]
    errors = {}
    values = {
        "mg_per_kg": _read_positive(errors, "mg_per_kg", mg_per_kg, "the target dose in mg/kg"),
        "min_mg_per_kg": _read_optional(
            errors, "min_mg_per_kg", min_mg_per_kg, "the minimum dose in mg/kg"
        ),
        "max_mg_per_kg": _read_optional(
            errors, "max_mg_per_kg", max_mg_per_kg, "the maximum dose in mg/kg"
        ),
    }
    names = {"mg_per_kg": "target", "min_mg_per_kg": "minimum", "max_mg_per_kg": "maximum"}
    for field, value in values.items():
        if value is not None and not low <= value <= high:
            errors[field] = (
                f"The {names[field]} of {value:f} mg/kg is outside the {ROUTE_LABELS[route]} "
                f"range of {low:f} to {high:f} mg/kg."
            )
    if not errors:
        target, minimum, maximum = values.values()
        if minimum is not None and maximum is not None and minimum > maximum:
            errors["min_mg_per_kg"] = "The minimum mg/kg is above the maximum."
        elif minimum is not None and target < minimum:
            errors["mg_per_kg"] = "The target mg/kg is below the plan minimum."
        elif maximum is not None and target > maximum:
            errors["mg_per_kg"] = "The target mg/kg is above the plan maximum."
    if errors:
        raise ValidationError(errors)


def esketamine_devices_for_dose(dose_mg):
    """Number of 28 mg devices for an esketamine dose; only 28, 56 and 84 mg exist."""
    dose = to_decimal(dose_mg)
    if dose not in ESKETAMINE_DOSES_MG:
        raise ValidationError(
            {"dose_mg": f"An esketamine dose must be 28, 56 or 84 mg, not {dose:f} mg."}
        )
    return int(dose / ESKETAMINE_DEVICE_MG)


def _describe_gap(gap):
    minutes, seconds = divmod(int(gap.total_seconds()), 60)
    text = f"{minutes} minute{'' if minutes == 1 else 's'}"
    return f"{text} {seconds} seconds" if seconds else text


def esketamine_device_warnings(device_times):
    """Warn for each device given less than 5 minutes after the previous one.

    The interval lets each spray absorb before the next; a short gap is recorded, not blocked,
    because the device has already been used by the time the time is entered.
    """
    interval = timedelta(minutes=ESKETAMINE_DEVICE_INTERVAL_MINUTES)
    warnings = []
    for number, (previous, current) in enumerate(pairwise(device_times), start=2):
        gap = current - previous
        if gap < timedelta(0):
            warnings.append(
                f"Device {number} is recorded before device {number - 1}; check the times."
            )
        elif gap < interval:
            warnings.append(
                f"Device {number} was given {_describe_gap(gap)} after device {number - 1}; "
                f"allow at least {ESKETAMINE_DEVICE_INTERVAL_MINUTES} minutes between devices."
            )
    return warnings


def esketamine_earliest_discharge(device_times):
    """First device + 120 minutes: the observation every esketamine session requires."""
    if not device_times:
        raise ValueError("No esketamine device times recorded.")
    return min(device_times) + timedelta(minutes=ESKETAMINE_OBSERVATION_MINUTES)
