"""Alert rules as users type and read them: the value each kind takes, and a description."""

from __future__ import annotations

from . import parsing
from .errors import UsageError
from .fmt import price as fmt_price
from .model import Rule

ALERT_USAGE = "/alert SYMBOL breakout | near PCT | ratio R | above PRICE | below PRICE"


def rule_value(kind: str, value: str | float | None) -> float | None:
    if kind == "breakout":
        if value not in (None, ""):
            raise UsageError(f"breakout takes no value. Usage: {ALERT_USAGE}")
        return None
    if value in (None, ""):
        if kind in ("near", "ratio", "above", "below"):
            raise UsageError(f"{kind} needs a value. Usage: {ALERT_USAGE}")
    text = str(value)
    if kind == "near":
        return parsing.number(text, "distance %", 0.05, 50)
    if kind == "ratio":
        ratio = parsing.number(text, "ratio", 0.01, 100)
        if ratio < 1:  # `ratio 0.5` is the same alert as `ratio 2`: longs twice the shorts
            ratio = round(1 / ratio, 4)
        if ratio < 1.05:
            raise UsageError("A ratio alert needs R of at least 1.05 (or at most 0.95).")
        return ratio
    if kind in ("above", "below"):
        return parsing.number(text, "price", 1e-9, 1e9)
    raise UsageError(f"Unknown alert kind '{kind[:20]}'. Usage: {ALERT_USAGE}")


def describe_rule(rule: Rule) -> str:
    if rule.kind == "breakout":
        return f"{rule.symbol} breakout through a key level"
    if rule.kind == "near":
        return f"{rule.symbol} within {rule.value:g}% of a key zone"
    if rule.kind == "ratio":
        return f"{rule.symbol} ratio beyond {rule.value:g}× (or 1/{rule.value:g})"
    return f"{rule.symbol} {rule.kind} {fmt_price(rule.value)}"
