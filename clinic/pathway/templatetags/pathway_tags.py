"""Small display helpers for the pathway pages."""

from django import template
from django.utils import formats
from django.utils.html import conditional_escape, format_html, format_html_join

register = template.Library()

# Bootstrap badge classes; the text-bg-* pairs keep AA contrast.
STATUS_BADGES = {
    # courses
    "consultation": "text-bg-info",
    "assessment": "text-bg-info",
    "planning": "text-bg-primary",
    "active": "text-bg-success",
    "maintenance": "text-bg-success",
    "on_hold": "text-bg-warning",
    "completed": "text-bg-success",
    "discontinued": "text-bg-secondary",
    "closed_not_treated": "text-bg-secondary",
    # plans
    "draft": "text-bg-warning",
    "approved": "text-bg-success",
    "suspended": "text-bg-danger",
    "superseded": "text-bg-secondary",
    "ended": "text-bg-secondary",
    # follow-ups
    "scheduled": "text-bg-info",
    "missed": "text-bg-danger",
    "cancelled": "text-bg-secondary",
    # administration sessions
    "checked_in": "text-bg-info",
    "ready": "text-bg-primary",
    "dosing": "text-bg-danger",
    "monitoring": "text-bg-warning",
    "ready_for_discharge": "text-bg-success",
    "discharged": "text-bg-secondary",
    "no_show": "text-bg-secondary",
    "transferred": "text-bg-danger",
}


@register.filter
def status_badge(status):
    """The badge class for a course, plan or follow-up status."""
    return STATUS_BADGES.get(str(status), "text-bg-light border")


@register.filter
def short_hash(value):
    return (value or "")[:12]


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


# A vital's flag as the table shows it: (class, title, words for screen readers, icon).
VITAL_FLAG_MARKS = {
    "critical_high": (
        "vital-critical",
        "Critical high",
        "critical high",
        "exclamation-octagon-fill",
    ),
    "critical_low": ("vital-critical", "Critical low", "critical low", "exclamation-octagon-fill"),
    "high": ("vital-abnormal", "High", "high", "arrow-up"),
    "low": ("vital-abnormal", "Low", "low", "arrow-down"),
}


@register.simple_tag
def vital_value(value, flag=None, entered_in_error=False):
    """One value of the vitals table: struck through when the reading was entered in error,
    else marked when out of range, by colour, an icon and words for a screen reader. A tag
    rather than an included template: a session's table has some eighty values, and an
    include each was a fifth of the session runner's rendering time."""
    shown = formats.localize(value)
    if entered_in_error:
        return format_html("<s>{}</s>", shown)
    mark = VITAL_FLAG_MARKS.get(flag)
    if mark is None:
        return conditional_escape(shown)
    css, title, words, icon = mark
    return format_html(
        '<span class="vital-flag {}" title="{}">{}<span class="visually-hidden"> ({})</span> '
        '<i class="bi bi-{}" aria-hidden="true"></i></span>',
        css,
        title,
        shown,
        words,
        icon,
    )


@register.simple_tag
def vital_cells(reading):
    """A reading's cells of the vitals table (`reading.cells`: (name, value, flag) in the
    table's order), blood pressure as one "systolic/diastolic" cell; an empty cell for a
    value not taken. In Python for the reason `vital_value` is: the template's loop and
    tests were some five hundred nodes a session page."""
    error = reading.entered_in_error
    values = {name: (value, flag) for name, value, flag in reading.cells}
    cells = []
    for name, value, flag in reading.cells:
        if name == "diastolic":
            continue
        if value is None:
            cells.append(("",))
        elif name == "systolic":
            diastolic = vital_value(*values["diastolic"], error)
            cells.append((format_html("{}/{}", vital_value(value, flag, error), diastolic),))
        else:
            cells.append((vital_value(value, flag, error),))
    return format_html_join("", '<td class="text-nowrap">{}</td>', cells)
