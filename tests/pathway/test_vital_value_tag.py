"""The vitals table's values: struck through when entered in error, marked when out of
range (colour class, an icon, and words for a screen reader), escaped."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.template import Context, Template

OCTAGON = "exclamation-octagon-fill"


def render(value, flag=None, entered_in_error=False):
    template = Template("{% load pathway_tags %}{% vital_value value flag error %}")
    return template.render(Context({"value": value, "flag": flag, "error": entered_in_error}))


@pytest.mark.parametrize(
    ("flag", "css", "title", "words", "icon"),
    [
        ("critical_high", "vital-critical", "Critical high", "critical high", OCTAGON),
        ("critical_low", "vital-critical", "Critical low", "critical low", OCTAGON),
        ("high", "vital-abnormal", "High", "high", "arrow-up"),
        ("low", "vital-abnormal", "Low", "low", "arrow-down"),
    ],
)  # fmt: skip
def test_an_out_of_range_value_is_marked_by_colour_icon_and_words(flag, css, title, words, icon):
    assert render(88, flag) == (
        f'<span class="vital-flag {css}" title="{title}">88'
        f'<span class="visually-hidden"> ({words})</span> '
        f'<i class="bi bi-{icon}" aria-hidden="true"></i></span>'
    )


def test_a_value_in_range_is_shown_plain_and_a_decimal_as_written():
    assert render(72, "normal") == "72"
    assert render(72, None) == "72"
    assert render(Decimal("37.2")) == "37.2"


def test_a_value_entered_in_error_is_struck_through_whatever_its_flag():
    assert render(210, "critical_high", entered_in_error=True) == "<s>210</s>"


def test_the_value_is_escaped():
    assert render("<b>9</b>") == "&lt;b&gt;9&lt;/b&gt;"


def test_a_reading_s_cells_join_the_blood_pressure_and_leave_untaken_values_empty():
    reading = SimpleNamespace(
        entered_in_error=False,
        cells=[
            ("systolic", 184, "critical_high"),
            ("diastolic", 98, "high"),
            ("heart_rate", 72, "normal"),
            ("spo2", None, None),
        ],
    )
    html = Template("{% load pathway_tags %}{% vital_cells reading %}").render(
        Context({"reading": reading})
    )
    assert html == (
        '<td class="text-nowrap">'
        + render(184, "critical_high")
        + "/"
        + render(98, "high")
        + '</td><td class="text-nowrap">72</td><td class="text-nowrap"></td>'
    )


def test_a_reading_entered_in_error_has_every_value_struck_through():
    reading = SimpleNamespace(
        entered_in_error=True, cells=[("systolic", 120, None), ("diastolic", 80, None)]
    )
    html = Template("{% load pathway_tags %}{% vital_cells reading %}").render(
        Context({"reading": reading})
    )
    assert html == '<td class="text-nowrap"><s>120</s>/<s>80</s></td>'
