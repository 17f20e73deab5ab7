"""The alert kinds a user can hold, by name. A new kind: one module + one line in KINDS."""

from __future__ import annotations

from core.alerts.kinds import breakout, cascade, cluster, level, near, ratio
from core.alerts.kinds.base import AlertKind, Fire, Step
from core.kernel.errors import UsageError
from core.types import AlertEvent, Notice, Rule

KINDS: dict[str, AlertKind] = {
    kind.name: kind
    for kind in (
        breakout.KIND,
        near.KIND,
        ratio.KIND,
        level.ABOVE,
        level.BELOW,
        cascade.KIND,
        cluster.KIND,
    )
}
KIND_NAMES: tuple[str, ...] = tuple(KINDS)  # in the order /help, usage and pickers list them

ALERT_USAGE = "/alert SYMBOL " + " | ".join(KINDS[name].syntax for name in KIND_NAMES)

__all__ = ["ALERT_USAGE", "KINDS", "KIND_NAMES", "AlertKind", "Fire", "Step"]


def kind_of(name: str) -> AlertKind:
    kind = KINDS.get(name)
    if kind is None:
        raise UsageError(f"Unknown alert kind '{name[:20]}'. Usage: {ALERT_USAGE}")
    return kind


def rule_value(kind: str, value: str | float | None) -> float | None:
    """What the user typed after the kind → the rule's stored value (UsageError if wrong)."""
    return kind_of(kind).parse(value, ALERT_USAGE)


def describe_rule(rule: Rule) -> str:
    kind = KINDS.get(rule.kind)
    return kind.describe(rule) if kind else f"{rule.symbol} {rule.kind}"


def notice(event: AlertEvent) -> Notice:
    """The event with its kind's sentence."""
    kind = KINDS.get(event.kind)
    return Notice(event, kind.text(event) if kind else f"{event.symbol} {event.kind}")
