"""`above PRICE` and `below PRICE`: a plain price level, because users expect it.

Fires when a wick reaches the level (the text says when the price closed back); re-arms once the
price is back past the level by the re-arm margin. On its first look a rule judges the current
price only (the wick may predate the rule) and fires at once if the level already holds.
"""

from __future__ import annotations

from core.alerts.kinds.base import AlertKind, Fire, Step, number
from core.alerts.state import RuleState
from core.alerts.tick import SymbolTick, cross_downward, cross_upward
from core.kernel import fmt
from core.types import AlertEvent, Rule


def _step(above: bool, level: float, state: RuleState, tick: SymbolTick, m: float) -> Step:
    first_look = not state.seen
    # On the first look the wick may predate the rule: judge by the current price only.
    high, low = (tick.price, tick.price) if first_look else (tick.high, tick.low)
    cross = cross_upward if above else cross_downward
    fired_before = state.fired_up if above else state.fired_down
    fired, crossed = cross(fired_before, [(level, level)], high, low, tick.price, m)
    fires: list[Fire] = []
    if crossed is not None:
        extreme = tick.high if above else tick.low
        fires.append(Fire(level, upward=above, extreme=extreme, first_look=first_look))
    if above:
        return RuleState(seen=True, fired_up=fired, fired_down=state.fired_down), fires
    return RuleState(seen=True, fired_up=state.fired_up, fired_down=fired), fires


def text(event: AlertEvent) -> str:
    """A plain price level reached: by the close, by a wick only, or already when the rule began."""
    above, level, price = event.upward, float(event.level or 0), event.price
    direction = "above" if above else "below"
    holds = price >= level if above else price <= level
    if event.first_look:
        return f"{event.symbol} is already {direction} {fmt.price(level)}: now {fmt.price(price)}"
    if holds:
        return f"{event.symbol} is {direction} {fmt.price(level)}: now {fmt.price(price)}"
    word = "high" if above else "low"
    return (
        f"{event.symbol} traded {direction} {fmt.price(level)} ({word} {fmt.price(event.extreme)}) "
        f"and is back at {fmt.price(price)}"
    )


def _describe(rule: Rule) -> str:
    return f"{rule.symbol} {rule.kind} {fmt.price(rule.value)}"


def _kind(above: bool) -> AlertKind:
    name = "above" if above else "below"
    return AlertKind(
        name=name,
        syntax=f"{name} PRICE",
        hint=f"{name}: price {'rises above' if above else 'falls below'} VALUE",
        describe=_describe,
        step=lambda value, state, tick, m: _step(above, float(value), state, tick, m),
        text=text,
        parse_value=number("price", 1e-9, 1e9),
    )


ABOVE = _kind(above=True)
BELOW = _kind(above=False)
