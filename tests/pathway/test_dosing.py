"""Dose arithmetic against DOMAIN.md §3.3 vectors D1-D7 and the §3.2 refusal rules.

Decimals are compared as strings too, so a value with the wrong precision (35 vs 35.0)
fails just like a wrong value.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from clinic.pathway.dosing import (
    ESKETAMINE_DOSES_MG,
    ROUTE_MG_PER_KG_LIMITS,
    calculate_dose,
    esketamine_device_warnings,
    esketamine_devices_for_dose,
    esketamine_earliest_discharge,
    round_mg,
    round_ml,
    round_ml_per_hour,
    validate_plan_mg_per_kg,
)


def weight_based(**kwargs):
    return calculate_dose(mode="mg_per_kg", **kwargs)


def field_errors(excinfo):
    return excinfo.value.message_dict


# --- DOMAIN.md §3.3 vectors ---


def test_d1_iv_dose_volume_and_rate():
    result = weight_based(
        weight_kg=Decimal("70.0"),
        mg_per_kg=Decimal("0.5"),
        concentration_mg_per_ml=Decimal("10"),
        final_volume_ml=Decimal("100"),
        infusion_minutes=40,
    )
    assert str(result.dose_mg) == "35.0"
    assert str(result.volume_ml) == "3.50"
    assert str(result.rate_ml_per_hour) == "150.0"
    assert result.capped is False
    assert result.warnings == ()


def test_d2_deliverable_within_two_percent_does_not_warn():
    result = weight_based(
        weight_kg=Decimal("82.4"), mg_per_kg=Decimal("0.5"), concentration_mg_per_ml=50
    )
    assert str(result.raw_dose_mg) == "41.20"
    assert str(result.dose_mg) == "41.2"
    assert str(result.volume_ml) == "0.82"
    assert str(result.deliverable_mg) == "41.00"
    assert str(result.deliverable_difference_percent) == "-0.49"
    assert result.warnings == ()
    assert result.rate_ml_per_hour is None


def test_d3_rounds_half_up_not_to_even():
    result = weight_based(weight_kg="64.5", mg_per_kg="0.5", concentration_mg_per_ml="50")
    assert str(result.raw_dose_mg) == "32.25"
    assert str(result.dose_mg) == "32.3"  # banker's rounding would give 32.2
    assert str(result.volume_ml) == "0.65"


def test_d4_dose_above_plan_maximum_is_capped_with_warning():
    result = weight_based(
        weight_kg=Decimal("130.0"),
        mg_per_kg=Decimal("0.75"),
        max_dose_mg=Decimal("90"),
        concentration_mg_per_ml=Decimal("10"),
    )
    assert str(result.raw_dose_mg) == "97.500"
    assert str(result.dose_mg) == "90.0"
    assert result.capped is True
    assert str(result.volume_ml) == "9.00"
    assert result.warnings == (
        "Dose capped at the plan maximum of 90.0 mg (calculated 97.5 mg); "
        "a prescriber must acknowledge it.",
    )


def test_d5_rate_rounds_half_up():
    result = weight_based(
        weight_kg="70.0", mg_per_kg="0.5", final_volume_ml="103.5", infusion_minutes=40
    )
    assert str(result.rate_ml_per_hour) == "155.3"  # 155.25
    assert result.warnings == ()


def test_d6_weight_older_than_30_days_is_refused():
    with pytest.raises(ValidationError) as excinfo:
        weight_based(
            weight_kg="70.0",
            mg_per_kg="0.5",
            weight_measured_on=date(2025, 1, 1),
            on_date=date(2025, 1, 1) + timedelta(days=45),
        )
    assert field_errors(excinfo) == {
        "weight_measured_on": [
            "The weight was measured 45 days ago; mg/kg dosing needs a weight from the last "
            "30 days. Weigh the patient again."
        ]
    }


def test_d7_esketamine_devices_interval_and_discharge():
    assert esketamine_devices_for_dose(84) == 3
    result = calculate_dose(mode="devices", devices=3)
    assert result.devices == 3
    assert str(result.dose_mg) == "84.0"
    assert result.volume_ml is None

    times = [datetime(2025, 3, 4, 10, 0), datetime(2025, 3, 4, 10, 5), datetime(2025, 3, 4, 10, 9)]
    assert esketamine_device_warnings(times) == [
        "Device 3 was given 4 minutes after device 2; allow at least 5 minutes between devices."
    ]
    assert esketamine_earliest_discharge(times) == datetime(2025, 3, 4, 12, 0)


# --- refusals and warnings beyond the vectors ---


def test_weight_exactly_30_days_old_is_accepted():
    result = weight_based(
        weight_kg="70.0",
        mg_per_kg="0.5",
        weight_measured_on=date(2025, 1, 1),
        on_date=date(2025, 1, 31),
    )
    assert str(result.dose_mg) == "35.0"


def test_fixed_dose_above_maximum_is_refused_not_capped():
    with pytest.raises(ValidationError) as excinfo:
        calculate_dose(mode="fixed_mg", fixed_dose_mg="120", max_dose_mg="100")
    assert field_errors(excinfo) == {
        "fixed_dose_mg": ["A fixed dose of 120.0 mg is above the plan maximum of 100.0 mg."]
    }


def test_fixed_dose_within_maximum_is_rounded_half_up():
    result = calculate_dose(mode="fixed_mg", fixed_dose_mg="50.25", max_dose_mg="100")
    assert str(result.dose_mg) == "50.3"
    assert result.capped is False
    assert result.weight_kg is None


def test_four_devices_refused():
    with pytest.raises(ValidationError) as excinfo:
        calculate_dose(mode="devices", devices=4)
    assert list(field_errors(excinfo)) == ["devices"]


def test_devices_above_maximum_refused():
    with pytest.raises(ValidationError) as excinfo:
        calculate_dose(mode="devices", devices=3, max_dose_mg=56)
    assert field_errors(excinfo) == {
        "devices": ["3 devices (84.0 mg) is above the plan maximum of 56.0 mg."]
    }


@pytest.mark.parametrize("dose", [0, 42, "112"])
def test_esketamine_dose_must_be_a_whole_number_of_devices(dose):
    with pytest.raises(ValidationError):
        esketamine_devices_for_dose(dose)


def test_esketamine_doses_are_multiples_of_one_device():
    assert [esketamine_devices_for_dose(dose) for dose in ESKETAMINE_DOSES_MG] == [1, 2, 3]


def test_float_input_refused():
    with pytest.raises(TypeError):
        weight_based(weight_kg=70.0, mg_per_kg=Decimal("0.5"))
    with pytest.raises(TypeError):
        round_mg(32.25)


def test_missing_weight_refused_beside_the_weight_field():
    with pytest.raises(ValidationError) as excinfo:
        weight_based(mg_per_kg="0.5")
    assert field_errors(excinfo) == {"weight_kg": ["Enter the patient's weight in kg."]}


@pytest.mark.parametrize(
    ("weight", "message"),
    [
        ("0", "The patient's weight in kg must be more than zero."),
        ("-70", "The patient's weight in kg must be more than zero."),
        ("70.05", "Enter the patient's weight in kg to one decimal place."),
        ("NaN", "Enter the patient's weight in kg as a number."),
        ("seventy", "Enter the patient's weight in kg as a number."),
        ("99999999999999999999999", "The patient's weight in kg is too large; check the entry."),
    ],
)
def test_bad_weight_refused(weight, message):
    with pytest.raises(ValidationError) as excinfo:
        weight_based(weight_kg=weight, mg_per_kg="0.5")
    assert field_errors(excinfo) == {"weight_kg": [message]}


def test_every_bad_input_reported_at_once():
    with pytest.raises(ValidationError) as excinfo:
        weight_based(weight_kg=None, mg_per_kg="0", final_volume_ml="100")
    assert sorted(field_errors(excinfo)) == ["infusion_minutes", "mg_per_kg", "weight_kg"]


def test_short_infusion_warns():
    result = weight_based(
        weight_kg="70.0", mg_per_kg="0.5", final_volume_ml="100", infusion_minutes=30
    )
    assert str(result.rate_ml_per_hour) == "200.0"
    assert result.warnings == (
        "Infusion over 30 minutes is shorter than the recommended 40 minutes.",
    )


def test_deliverable_difference_over_two_percent_warns():
    # 8.6 kg x 0.5 mg/kg = 4.3 mg; 4.3 / 50 = 0.086 -> 0.09 mL, which delivers 4.50 mg.
    result = weight_based(weight_kg="8.6", mg_per_kg="0.5", concentration_mg_per_ml="50")
    assert str(result.dose_mg) == "4.3"
    assert str(result.volume_ml) == "0.09"
    assert str(result.deliverable_mg) == "4.50"
    assert str(result.deliverable_difference_percent) == "4.65"
    assert result.warnings == ("Deliverable dose differs from the calculated dose by 4.65%.",)


def test_dose_too_small_to_draw_is_refused():
    with pytest.raises(ValidationError) as excinfo:
        calculate_dose(mode="fixed_mg", fixed_dose_mg="0.4", concentration_mg_per_ml="100")
    assert list(field_errors(excinfo)) == ["concentration_mg_per_ml"]


def test_unknown_mode_is_a_programming_error():
    with pytest.raises(ValueError, match="Unknown dose mode"):
        calculate_dose(mode="mg", fixed_dose_mg="10")


@pytest.mark.parametrize(
    ("helper", "value", "expected"),
    [
        (round_mg, "0.05", "0.1"),
        (round_mg, Decimal("32.25"), "32.3"),
        (round_ml, "0.645", "0.65"),
        (round_ml, "0.125", "0.13"),
        (round_ml_per_hour, "155.25", "155.3"),
        (round_ml_per_hour, 150, "150.0"),
    ],
)
def test_rounding_helpers_round_half_up(helper, value, expected):
    assert str(helper(value)) == expected


def test_device_warning_names_each_short_gap():
    times = [datetime(2025, 3, 4, 10, 0), datetime(2025, 3, 4, 10, 4, 30)]
    assert esketamine_device_warnings(times) == [
        "Device 2 was given 4 minutes 30 seconds after device 1; "
        "allow at least 5 minutes between devices."
    ]
    assert esketamine_device_warnings(times[:1]) == []


# --- plan limits (§3.2 rule 2) ---


def test_route_limits():
    assert ROUTE_MG_PER_KG_LIMITS["iv"] == (Decimal("0.1"), Decimal("1.0"))
    assert ROUTE_MG_PER_KG_LIMITS["oral"] == (Decimal("0.25"), Decimal("7"))


def test_plan_within_route_range_is_accepted():
    validate_plan_mg_per_kg("iv", mg_per_kg="0.5", min_mg_per_kg="0.1", max_mg_per_kg="1.0")


def test_plan_outside_route_range_is_refused():
    with pytest.raises(ValidationError) as excinfo:
        validate_plan_mg_per_kg("iv", mg_per_kg="0.5", max_mg_per_kg="1.5")
    assert field_errors(excinfo) == {
        "max_mg_per_kg": ["The maximum of 1.5 mg/kg is outside the IV range of 0.1 to 1.0 mg/kg."]
    }


def test_plan_target_outside_its_own_min_max_is_refused():
    with pytest.raises(ValidationError) as excinfo:
        validate_plan_mg_per_kg("im", mg_per_kg="0.9", min_mg_per_kg="0.5", max_mg_per_kg="0.75")
    assert list(field_errors(excinfo)) == ["mg_per_kg"]
