"""Small display helpers for the pathway pages."""

from django import template

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
