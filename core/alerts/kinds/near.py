"""`near PCT`: the wick comes within PCT % (of the price) of a key zone's nearest edge, or enters
it.

Each side (the key short zone above, the key long zone below) has its own hysteresis, so a price
squeezed between both gives one alert per side. While fired on a side, only a zone wholly beyond
the fired one (further out) can fire before the re-arm (the close is again more than 2·PCT % away
from the zone that fired): two zones taking turns as the biggest must not ping-pong.
"""

from __future__ import annotations

from core.alerts.kinds.base import AlertKind, Fire, Step, number, zone_phrase
from core.alerts.state import Bounds, RuleState
from core.alerts.tick import SymbolTick, gap_pct
from core.kernel import fmt
from core.types import AlertEvent, Rule


def _one_side(
    upward: bool,
    fired: Bounds | None,
    zone: Bounds | None,
    threshold: float,
    tick: SymbolTick,
    first_look: bool,
) -> tuple[Bounds | None, Fire | None]:
    """`near` on one side (short zones above or long zones below), with its own hysteresis."""
    price = tick.price
    judge_by_close = first_look  # the wick may predate a new rule
    if fired is not None and gap_pct(fired, price, price, price) > 2 * threshold:
        fired, judge_by_close = None, True  # after a re-arm only the close proves the order
    if zone is None:
        return fired, None
    # While fired, only a zone wholly beyond the fired one counts: the same zone drifting by a
    # bucket, or two zones taking turns as the biggest, must not alert again and again.
    if fired is not None and not (zone[0] > fired[1] if upward else zone[1] < fired[0]):
        return fired, None
    low, high = (price, price) if judge_by_close else (tick.low, tick.high)
    if gap_pct(zone, low, high, price) > threshold:
        return fired, None
    fire = Fire(
        zone[0] if upward else zone[1],
        upward=upward,
        zone=zone,
        zone_usd=tick.usd.get(zone),
        threshold=threshold,
        first_look=first_look,
    )
    if gap_pct(zone, price, price, price) > 2 * threshold:  # already left again by the close
        return None, fire
    return zone, fire


def step(value: float | None, state: RuleState, tick: SymbolTick, m: float) -> Step:
    threshold = float(value)
    first_look = not state.seen
    near_up, fire_up = _one_side(True, state.near_up, tick.key_up, threshold, tick, first_look)
    near_down, fire_down = _one_side(
        False, state.near_down, tick.key_down, threshold, tick, first_look
    )
    fires = [fire for fire in (fire_up, fire_down) if fire is not None]
    return RuleState(seen=True, near_up=near_up, near_down=near_down), fires


def text(event: AlertEvent) -> str:
    """The price came within the threshold of a key zone; says where it is now."""
    low, high = event.zone or (event.level, event.level)
    price = event.price
    if low <= price <= high:
        where_now = "inside the zone"
    else:
        gap = (low - price) if price < low else (price - high)
        where_now = f"{abs(gap) / price * 100:.2f}% away"
    side = "short" if event.upward else "long"
    return (
        f"{event.symbol} came within {event.threshold:g}% of "
        f"{zone_phrase(side, (low, high), event.zone_usd)}: now {fmt.price(price)}, {where_now}"
    )


def describe(rule: Rule) -> str:
    return f"{rule.symbol} within {rule.value:g}% of a key zone"


KIND = AlertKind(
    name="near",
    syntax="near PCT",
    hint="near: price comes within VALUE % of a key zone",
    describe=describe,
    step=step,
    text=text,
    parse_value=number("distance %", 0.05, 50),
    max_value=100,
)
