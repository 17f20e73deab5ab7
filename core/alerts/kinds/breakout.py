"""`breakout`: the price clears a key zone (the one `/watch` sets for every watched symbol).

Upward, the price clears the key short zone (`Analysis.key_short`): the level is the zone's
**high** (its far edge: the whole cluster of shorts is liquidated). Downward, it clears the key long
zone: the level is that zone's **low**. The key zones move as maps refresh, and a broken zone
leaves the map or changes side, so the state remembers the key zones of the last good tick and
checks both those and the current ones. While fired upward at level H, only a zone lying wholly
above H (a different, higher cluster) can fire again before the re-arm; a zone that merely drifted
by a bucket is the same zone. The first evaluation only records a baseline: `/watch` must not
greet anyone with a stale alert.
"""

from __future__ import annotations

from core.alerts.kinds.base import AlertKind, Fire, Step, zone_phrase
from core.alerts.state import Bounds, RuleState
from core.alerts.tick import SymbolTick, cross_downward, cross_upward
from core.kernel import fmt
from core.types import AlertEvent, Rule

WATCH_USD_DRIFT = 0.05  # a watched zone's remembered USD is refreshed once it moved by more


def _zone_usd(
    zone: Bounds, tick: SymbolTick, watched: Bounds | None, watched_usd: float | None
) -> float | None:
    """The USD to name for a broken zone: this map's figure, else the one remembered with it."""
    usd = tick.usd.get(zone)
    if usd is None and zone == watched:
        usd = watched_usd
    return usd


def _watched_usd(
    zone: Bounds | None, tick: SymbolTick, before: Bounds | None, before_usd: float | None
) -> float | None:
    """The USD to remember with the zone a breakout rule watches next.

    The same zone keeps its remembered figure while the map lists none (the price is inside it)
    or one within WATCH_USD_DRIFT of it: a map refresh moves every amount a little, and
    rewriting every breakout rule's state each tick for that would cost far more than it says.
    """
    if zone is None:
        return None
    listed = tick.usd.get(zone)
    if zone != before or before_usd is None:
        return listed
    if listed is None or abs(listed - before_usd) <= WATCH_USD_DRIFT * before_usd:
        return before_usd
    return listed


def step(value: float | None, state: RuleState, tick: SymbolTick, m: float) -> Step:
    up_now, down_now = tick.key_up, tick.key_down
    if not state.seen:  # baseline: a level already behind the price counts as fired
        fired_up = up_now[1] if up_now and tick.price >= up_now[1] else None
        fired_down = down_now[0] if down_now and tick.price <= down_now[0] else None
        return RuleState(
            seen=True,
            fired_up=fired_up,
            fired_down=fired_down,
            watch_up=up_now,
            watch_down=down_now,
            watch_up_usd=_watched_usd(up_now, tick, None, None),
            watch_down_usd=_watched_usd(down_now, tick, None, None),
        ), []
    ups = [zone for zone in dict.fromkeys((state.watch_up, up_now)) if zone is not None]
    downs = [zone for zone in dict.fromkeys((state.watch_down, down_now)) if zone is not None]
    args = (tick.high, tick.low, tick.price, m)
    fired_up, crossed_up = cross_upward(state.fired_up, ups, *args)
    fired_down, crossed_down = cross_downward(state.fired_down, downs, *args)
    fires: list[Fire] = []
    if crossed_up is not None:
        usd = _zone_usd(crossed_up, tick, state.watch_up, state.watch_up_usd)
        fires.append(Fire(crossed_up[1], True, crossed_up, usd, extreme=tick.high))
    if crossed_down is not None:
        usd = _zone_usd(crossed_down, tick, state.watch_down, state.watch_down_usd)
        fires.append(Fire(crossed_down[0], False, crossed_down, usd, extreme=tick.low))
    # A zone the price is inside of is still the level to break, although the map now counts
    # only its part beyond the price (so it may no longer rank as the key zone): keep watching it.
    old_up, old_down = state.watch_up, state.watch_down
    watch_up = old_up if old_up and old_up[0] <= tick.price < old_up[1] else up_now
    watch_down = old_down if old_down and old_down[0] < tick.price <= old_down[1] else down_now
    return RuleState(
        seen=True,
        fired_up=fired_up,
        fired_down=fired_down,
        watch_up=watch_up,
        watch_down=watch_down,
        watch_up_usd=_watched_usd(watch_up, tick, old_up, state.watch_up_usd),
        watch_down_usd=_watched_usd(watch_down, tick, old_down, state.watch_down_usd),
    ), fires


def text(event: AlertEvent) -> str:
    """A key zone broken; says so plainly when only a wick went through and the price came back."""
    upward, price = event.upward, event.price
    low, high = event.zone or (event.level, event.level)
    where = zone_phrase("short" if upward else "long", (low, high), event.zone_usd)
    direction = "above" if upward else "below"
    still_through = price >= high if upward else price <= low
    if still_through:
        return f"{event.symbol} broke {direction} {where}: now {fmt.price(price)}"
    word = "high" if upward else "low"
    return (
        f"{event.symbol} wicked {direction} {where} ({word} {fmt.price(event.extreme)}) "
        f"and is back at {fmt.price(price)}"
    )


def describe(rule: Rule) -> str:
    return f"{rule.symbol} breakout through a key level"


KIND = AlertKind(
    name="breakout",
    syntax="breakout",
    hint="breakout: price crosses a key zone",
    describe=describe,
    step=step,
    text=text,
)
