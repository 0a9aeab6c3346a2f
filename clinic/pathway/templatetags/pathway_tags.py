"""Small display helpers for the pathway pages."""

from django import template
from django.utils import formats
from django.utils.html import conditional_escape, format_html

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
