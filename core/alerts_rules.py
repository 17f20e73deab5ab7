"""The maths of each alert kind: one rule, its state and one symbol's tick → new state + fires.

Split from core/alerts.py (which holds the public types, the per-tick loop and the semantics in
its docstring) along the seam "loop over 100,000 rules" vs "what one rule does".
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .alerts_messages import breakout_text, level_text, near_text, ratio_text
from .alerts_state import Bounds, RuleState

RATIO_REARM_FRACTION = 0.05  # a ratio alert re-arms once the ratio is 5 % back inside
WATCH_USD_DRIFT = 0.05  # a watched zone's remembered USD is refreshed once it moved by more

Fire = tuple[str, float | None]  # (text, level) of one alert
Step = tuple[RuleState, list[Fire]]


# ---- per-symbol figures, computed once per tick -----------------------------------------------


def _finite_positive(value: object) -> bool:
    try:
        return isinstance(value, int | float) and math.isfinite(value) and value > 0
    except OverflowError:  # an int too big for a float
        return False


def _zone_bounds(zone: object) -> Bounds | None:
    low, high = getattr(zone, "low", None), getattr(zone, "high", None)
    if _finite_positive(low) and _finite_positive(high) and low <= high:
        return (float(low), float(high))
    return None


class SymbolTick:
    """One symbol's numbers at this tick, sanitised, shared by every rule on that symbol."""

    __slots__ = ("symbol", "price", "high", "low", "ratio", "key_up", "key_down", "usd")

    def __init__(self, view: object):  # a core.alerts.MarketView (duck-typed: no import cycle)
        self.symbol = view.symbol
        self.price = float(view.price)
        high, low = view.high_since, view.low_since
        self.high = max(float(high), self.price) if _finite_positive(high) else self.price
        self.low = min(float(low), self.price) if _finite_positive(low) else self.price
        analysis = view.analysis
        ratio = getattr(analysis, "ratio", None)
        usable = ratio == 0 or _finite_positive(ratio)  # 0: no shorts above, a real answer
        self.ratio = float(ratio) if usable else None
        self.key_up = _zone_bounds(getattr(analysis, "key_short", None))
        self.key_down = _zone_bounds(getattr(analysis, "key_long", None))
        # USD of every zone by its bounds, so an alert on last tick's zone can still name its size.
        self.usd: dict[Bounds, float] = {}
        for zone in getattr(analysis, "zones", ()) or ():
            bounds = _zone_bounds(zone)
            if bounds is not None and _finite_positive(getattr(zone, "usd", None)):
                self.usd.setdefault(bounds, float(zone.usd))
        for zone in (getattr(analysis, "key_short", None), getattr(analysis, "key_long", None)):
            bounds = _zone_bounds(zone)
            if bounds is not None and _finite_positive(getattr(zone, "usd", None)):
                self.usd[bounds] = float(zone.usd)


def build_tick(view: object) -> SymbolTick | None:
    """The tick of one MarketView, or None for broken data (rules on it keep their state)."""
    if not _finite_positive(getattr(view, "price", None)):
        return None  # broken data: rules on this symbol keep their state
    return SymbolTick(view)


# ---- one direction of a price-level crossing -------------------------------------------------


def _cross_upward(
    fired: float | None, zones: Sequence[Bounds], high: float, low: float, close: float, m: float
) -> tuple[float | None, Bounds | None]:
    """Upward crossing of the zones' highs with hysteresis → (new fired level, zone that fired).

    Downward crossings use the same code on negated prices (see _cross_downward).
    """
    rearmed = False
    if fired is not None and low <= fired - abs(fired) * m:
        fired, rearmed = None, True
    reach = close if rearmed else high  # after a re-arm only the close proves the order
    crossed: Bounds | None = None
    for zone in zones:
        if reach >= zone[1] and (fired is None or zone[0] > fired):
            if crossed is None or zone[1] > crossed[1]:
                crossed = zone
    if crossed is not None:
        fired = crossed[1]
        if close <= fired - abs(fired) * m:  # the close came back past the margin after the high
            fired = None
    return fired, crossed


def _cross_downward(
    fired: float | None, zones: Sequence[Bounds], high: float, low: float, close: float, m: float
) -> tuple[float | None, Bounds | None]:
    """Downward crossing of the zones' lows: the upward case on negated prices."""
    negated = [(-zone[1], -zone[0]) for zone in zones]
    new_fired, crossed = _cross_upward(
        None if fired is None else -fired, negated, -low, -high, -close, m
    )
    return (
        None if new_fired is None else -new_fired,
        None if crossed is None else (-crossed[1], -crossed[0]),
    )


# ---- one step per rule kind: (value, state, tick, margin) → (new state, fires) ---------------


def _step_level(above: bool, level: float, state: RuleState, tick: SymbolTick, m: float) -> Step:
    first_look = not state.seen
    # On the first look the wick may predate the rule: judge by the current price only.
    high, low = (tick.price, tick.price) if first_look else (tick.high, tick.low)
    cross = _cross_upward if above else _cross_downward
    fired_before = state.fired_up if above else state.fired_down
    fired, crossed = cross(fired_before, [(level, level)], high, low, tick.price, m)
    fires: list[Fire] = []
    if crossed is not None:
        extreme = tick.high if above else tick.low
        text = level_text(tick.symbol, above, level, tick.price, extreme, first_look)
        fires.append((text, level))
    if above:
        return RuleState(seen=True, fired_up=fired, fired_down=state.fired_down), fires
    return RuleState(seen=True, fired_up=state.fired_up, fired_down=fired), fires


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


def _step_breakout(state: RuleState, tick: SymbolTick, m: float) -> Step:
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
    fired_up, crossed_up = _cross_upward(state.fired_up, ups, *args)
    fired_down, crossed_down = _cross_downward(state.fired_down, downs, *args)
    fires: list[Fire] = []
    if crossed_up is not None:
        usd = _zone_usd(crossed_up, tick, state.watch_up, state.watch_up_usd)
        text = breakout_text(tick.symbol, True, crossed_up, usd, tick.price, tick.high)
        fires.append((text, crossed_up[1]))
    if crossed_down is not None:
        usd = _zone_usd(crossed_down, tick, state.watch_down, state.watch_down_usd)
        text = breakout_text(tick.symbol, False, crossed_down, usd, tick.price, tick.low)
        fires.append((text, crossed_down[0]))
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


def _gap_pct(zone: Bounds, low: float, high: float, price: float) -> float:
    """% of the price between the range [low, high] and the zone; 0 when they overlap."""
    return max(0.0, zone[0] - high, low - zone[1]) / price * 100


def _near_one_side(
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
    if fired is not None and _gap_pct(fired, price, price, price) > 2 * threshold:
        fired, judge_by_close = None, True  # after a re-arm only the close proves the order
    if zone is None:
        return fired, None
    # While fired, only a zone wholly beyond the fired one counts: the same zone drifting by a
    # bucket, or two zones taking turns as the biggest, must not alert again and again.
    if fired is not None and not (zone[0] > fired[1] if upward else zone[1] < fired[0]):
        return fired, None
    low, high = (price, price) if judge_by_close else (tick.low, tick.high)
    if _gap_pct(zone, low, high, price) > threshold:
        return fired, None
    side = "short" if upward else "long"
    text = near_text(tick.symbol, threshold, side, zone, tick.usd.get(zone), price)
    fire = (text, zone[0] if upward else zone[1])
    if _gap_pct(zone, price, price, price) > 2 * threshold:  # already left again by the close
        return None, fire
    return zone, fire


def _step_near(threshold: float, state: RuleState, tick: SymbolTick) -> Step:
    first_look = not state.seen
    near_up, fire_up = _near_one_side(True, state.near_up, tick.key_up, threshold, tick, first_look)
    near_down, fire_down = _near_one_side(
        False, state.near_down, tick.key_down, threshold, tick, first_look
    )
    fires = [fire for fire in (fire_up, fire_down) if fire is not None]
    return RuleState(seen=True, near_up=near_up, near_down=near_down), fires


def _step_ratio(value: float, state: RuleState, tick: SymbolTick) -> Step:
    ratio = tick.ratio
    if ratio is None:
        return state, []  # no finite imbalance: nothing to compare, nothing changes
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
        fires.append((ratio_text(tick.symbol, True, ratio, upper, tick.price), upper))
    if fired_down is None and ratio < lower:
        fired_down = lower
        fires.append((ratio_text(tick.symbol, False, ratio, lower, tick.price), lower))
    return RuleState(seen=True, fired_up=fired_up, fired_down=fired_down), fires


def _valid_value(kind: str, value: object) -> bool:
    if kind == "breakout":
        return True
    if not _finite_positive(value):
        return False
    return kind != "near" or value <= 100


def step(
    kind: str, value: float | None, state: RuleState, tick: SymbolTick, m: float
) -> Step | None:
    """Dispatch one rule; None for a rule that cannot be evaluated (unknown kind, bad value)."""
    if not _valid_value(kind, value):
        return None
    if kind == "breakout":
        return _step_breakout(state, tick, m)
    if kind == "above" or kind == "below":
        return _step_level(kind == "above", float(value), state, tick, m)
    if kind == "near":
        return _step_near(float(value), state, tick)
    if kind == "ratio":
        return _step_ratio(float(value), state, tick)
    return None
