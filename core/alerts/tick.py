"""One symbol's numbers at a tick, shared by every rule on it, and the crossing maths that the
alert kinds (core/alerts/kinds/) build on. Pure, no words."""

from __future__ import annotations

import math
from collections.abc import Sequence

from core.alerts.state import Bounds

# ---- per-symbol figures, computed once per tick -----------------------------------------------


def finite_positive(value: object) -> bool:
    try:
        return isinstance(value, int | float) and math.isfinite(value) and value > 0
    except OverflowError:  # an int too big for a float
        return False


def _zone_bounds(zone: object) -> Bounds | None:
    low, high = getattr(zone, "low", None), getattr(zone, "high", None)
    if finite_positive(low) and finite_positive(high) and low <= high:
        return (float(low), float(high))
    return None


class SymbolTick:
    """One symbol's numbers at this tick, sanitised, shared by every rule on that symbol."""

    __slots__ = ("symbol", "price", "high", "low", "ratio", "key_up", "key_down", "usd", "liqs")

    def __init__(self, view: object):  # a core.alerts.MarketView (duck-typed: no import cycle)
        self.symbol = view.symbol
        # realised liquidations (core.types.LiqWindow) when the live feeds run, else None
        self.liqs = getattr(view, "liquidations", None)
        self.price = float(view.price)
        high, low = view.high_since, view.low_since
        self.high = max(float(high), self.price) if finite_positive(high) else self.price
        self.low = min(float(low), self.price) if finite_positive(low) else self.price
        analysis = view.analysis
        ratio = getattr(analysis, "ratio", None)
        usable = ratio == 0 or finite_positive(ratio)  # 0: no shorts above, a real answer
        self.ratio = float(ratio) if usable else None
        self.key_up = _zone_bounds(getattr(analysis, "key_short", None))
        self.key_down = _zone_bounds(getattr(analysis, "key_long", None))
        # USD of every zone by its bounds, so an alert on last tick's zone can still name its size.
        self.usd: dict[Bounds, float] = {}
        for zone in getattr(analysis, "zones", ()) or ():
            bounds = _zone_bounds(zone)
            if bounds is not None and finite_positive(getattr(zone, "usd", None)):
                self.usd.setdefault(bounds, float(zone.usd))
        for zone in (getattr(analysis, "key_short", None), getattr(analysis, "key_long", None)):
            bounds = _zone_bounds(zone)
            if bounds is not None and finite_positive(getattr(zone, "usd", None)):
                self.usd[bounds] = float(zone.usd)


def build_tick(view: object) -> SymbolTick | None:
    """The tick of one MarketView, or None for broken data (rules on it keep their state)."""
    if not finite_positive(getattr(view, "price", None)):
        return None  # broken data: rules on this symbol keep their state
    return SymbolTick(view)


# ---- one direction of a price-level crossing -------------------------------------------------


def cross_upward(
    fired: float | None, zones: Sequence[Bounds], high: float, low: float, close: float, m: float
) -> tuple[float | None, Bounds | None]:
    """Upward crossing of the zones' highs with hysteresis → (new fired level, zone that fired).

    Downward crossings use the same code on negated prices (see cross_downward).
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


def cross_downward(
    fired: float | None, zones: Sequence[Bounds], high: float, low: float, close: float, m: float
) -> tuple[float | None, Bounds | None]:
    """Downward crossing of the zones' lows: the upward case on negated prices."""
    negated = [(-zone[1], -zone[0]) for zone in zones]
    new_fired, crossed = cross_upward(
        None if fired is None else -fired, negated, -low, -high, -close, m
    )
    return (
        None if new_fired is None else -new_fired,
        None if crossed is None else (-crossed[1], -crossed[0]),
    )


def gap_pct(zone: Bounds, low: float, high: float, price: float) -> float:
    """% of the price between the range [low, high] and the zone; 0 when they overlap."""
    return max(0.0, zone[0] - high, low - zone[1]) / price * 100
