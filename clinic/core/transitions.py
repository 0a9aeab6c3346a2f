"""Status changes through an explicit map of allowed transitions.

A model with a status field declares, next to itself, which `(from, to)` pairs are allowed,
who may make each move and what must be true first. `transition()` is the only way the
status changes: it refuses every pair not in the map with a message a clinician can act on,
and writes one history row for every move it makes.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from clinic.core.access import user_has_role


class TransitionRefused(ValidationError):
    """The move is not in the map, the user may not make it, or a guard failed."""


@dataclass(frozen=True)
class Transition:
    """One allowed move. `roles` are clinic roles (any of them suffices); `guard` returns
    None when the move may go ahead, else the reason it may not."""

    roles: tuple[str, ...]
    reason_required: bool = False
    guard: Callable[[Any], str | None] | None = None
    label: str = ""


@dataclass
class TransitionMap:
    """`allowed` maps (from, to) to a Transition; several sources may share one rule."""

    allowed: dict[tuple[str, str], Transition] = field(default_factory=dict)

    @classmethod
    def build(cls, rules):
        """`rules` is an iterable of (from_statuses, to_statuses, Transition)."""
        allowed = {}
        for sources, targets, rule in rules:
            for source in sources:
                for target in targets:
                    allowed[(source, target)] = rule
        return cls(allowed)

    def targets_from(self, status):
        return [target for (source, target) in self.allowed if source == status]

    def rule(self, source, target):
        return self.allowed.get((source, target))


def check_transition(instance, *, to_status, by, reason, transitions, clinic, status_labels):
    """The rule for moving `instance` to `to_status`, or TransitionRefused saying why not."""
    source = instance.status
    rule = transitions.rule(source, to_status)
    if rule is None:
        raise TransitionRefused(
            f"A {instance._meta.verbose_name} cannot go from “{status_labels.get(source, source)}” "
            f"to “{status_labels.get(to_status, to_status)}”."
        )
    if not user_has_role(by, rule.roles, clinic=clinic):
        names = " or ".join(sorted(role for role in rule.roles))
        raise TransitionRefused(f"Only a {names} of this clinic can make this change.")
    if rule.reason_required and not (reason or "").strip():
        raise TransitionRefused({"reason": "Give a reason for this change."})
    if rule.guard is not None:
        problem = rule.guard(instance)
        if problem:
            raise TransitionRefused(problem)
    return rule


def transition(
    instance, *, to_status, by, reason="", transitions, clinic, history_model, history_fk
):
    """Moves `instance` to `to_status` and writes its history row; the caller holds the
    transaction and a row lock on `instance`."""
    status_labels = dict(type(instance)._meta.get_field("status").choices)
    check_transition(
        instance,
        to_status=to_status,
        by=by,
        reason=reason,
        transitions=transitions,
        clinic=clinic,
        status_labels=status_labels,
    )
    source = instance.status
    instance.status = to_status
    instance.status_changed_at = timezone.now()
    instance.save(update_fields=["status", "status_changed_at", "updated_at"])
    return history_model.objects.create(
        **{history_fk: instance},
        from_status=source,
        to_status=to_status,
        changed_by=by,
        reason=(reason or "").strip(),
    )
