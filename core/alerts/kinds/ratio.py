"""`ratio R`: the imbalance reaches R upward (shorts dominate) or falls below 1/R (longs dominate).

R < 1 is read as 1/R. A None ratio (an empty side) never fires and changes nothing; the ratio has
no wick. The first evaluation only records a baseline (a threshold already crossed counts as
fired). Re-arms once the ratio is RATIO_REARM_FRACTION (5 %) back inside.
"""

from __future__ import annotations

from core.alerts.kinds.base import AlertKind, Fire, Step
from core.alerts.state import RuleState
from core.alerts.tick import SymbolTick
from core.kernel import fmt, parse
from core.kernel.errors import UsageError
from core.types import AlertEvent, Rule

RATIO_REARM_FRACTION = 0.05  # a ratio alert re-arms once the ratio is 5 % back inside


def parse_ratio(text: str) -> float:
    ratio = parse.number(text, "ratio", 0.01, 100)
    if ratio < 1:  # `ratio 0.5` is the same alert as `ratio 2`: longs twice the shorts
        ratio = round(1 / ratio, 4)
    if ratio < 1.05:
        raise UsageError("A ratio alert needs R of at least 1.05 (or at most 0.95).")
    return ratio


def step(value: float | None, state: RuleState, tick: SymbolTick, m: float) -> Step:
    ratio = tick.ratio
    if ratio is None:
        return state, []  # no finite imbalance: nothing to compare, nothing changes
    value = float(value)
    upper = max(value, 1 / value)
    lower = 1 / upper
    if not state.seen:  # baseline: a threshold already crossed counts as fired
        fired_up = upper if ratio >= upper else None
        fired_down = lower if ratio < lower else None
        return RuleState(seen=True, fired_up=fired_up, fired_down=fired_down), []
    fired_up, fired_down = state.fired_up, state.fired_down
    if fired_up is not None and ratio <= fired_up * (1 - RATIO_REARM_FRACTION):
        fired_up = None
    if fired_down is not None and ratio >= fired_down * (1 + RATIO_REARM_FRACTION):
        fired_down = None
    fires: list[Fire] = []
    if fired_up is None and ratio >= upper:
        fired_up = upper
        fires.append(Fire(upper, upward=True, threshold=upper, measured=ratio))
    if fired_down is None and ratio < lower:
        fired_down = lower
        fires.append(Fire(lower, upward=False, threshold=lower, measured=ratio))
    return RuleState(seen=True, fired_up=fired_up, fired_down=fired_down), fires


def text(event: AlertEvent) -> str:
    """The imbalance crossed the threshold: which side dominates and what it means."""
    ratio, threshold, price = event.measured, event.threshold, fmt.price(event.price)
    if event.upward:
        return (
            f"{event.symbol} shorts above are now {fmt.ratio(ratio)} the longs below "
            f"(crossed {fmt.ratio(threshold)}): squeeze risk upward; now {price}"
        )
    return (
        f"{event.symbol} longs below now outweigh shorts above: ratio {fmt.ratio(ratio)} "
        f"(fell below {fmt.ratio(threshold)}): flush risk downward; now {price}"
    )


def describe(rule: Rule) -> str:
    return f"{rule.symbol} ratio beyond {rule.value:g}× (or 1/{rule.value:g})"


KIND = AlertKind(
    name="ratio",
    syntax="ratio R",
    hint="ratio: the imbalance crosses VALUE",
    describe=describe,
    step=step,
    text=text,
    parse_value=parse_ratio,
)
