"""Price paths with wicks on the venue's tick, and first-touch search over them.

Every price is a decimal on the tick grid held as the nearest float (`np.round(x, d)` is that), so
the strings a venue publishes parse back to exactly the floats the simulator used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .worlds import WorldSpec

FIVE_MINUTES_MS = 300_000


@dataclass(frozen=True, eq=False)
class PricePath:
    """One 5-minute candle per row, oldest first; every venue trades this path."""

    open_time_ms: np.ndarray  # int64
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray

    def __len__(self) -> int:
        return int(self.close.size)


@dataclass(frozen=True, eq=False)
class PathDraws:
    """The random part of a path, drawn once so that a cascade can rebuild a piece of it."""

    returns: np.ndarray  # log return of each close over the previous one
    wick_up: np.ndarray  # high = max(open, close) × (1 + wick_up)
    wick_down: np.ndarray  # low = min(open, close) × (1 − wick_down)


def tick_decimals(tick: float) -> int:
    return max(0, round(-math.log10(tick)))


def to_tick(x: np.ndarray | float, tick: float, how: str = "nearest") -> np.ndarray:
    """Prices on the tick grid (tick = 10^-d), as the nearest floats to those decimals."""
    scale = 10.0 ** tick_decimals(tick)
    rounder = {"nearest": np.rint, "down": np.floor, "up": np.ceil}[how]
    return rounder(np.asarray(x, dtype=float) * scale) / scale


def per_candle(spec: WorldSpec, field: str, base: float) -> np.ndarray:
    """A world value per candle, with the regimes' overrides (None keeps the base)."""
    values = np.full(spec.candles, float(base))
    for regime in spec.regimes:
        value = getattr(regime, field)
        if value is not None:
            values[regime.start : regime.stop] = value
    return values


def draw_path(spec: WorldSpec, rng: np.random.Generator) -> PathDraws:
    n = spec.candles
    volatility = per_candle(spec, "volatility", spec.volatility)
    returns = rng.standard_normal(n) * volatility + spec.drift / n
    wick_up = rng.exponential(spec.wick_mean, n)
    wick_down = rng.exponential(spec.wick_mean, n)
    spike = rng.random(n) < spec.spike_prob
    size = rng.uniform(*spec.spike_size, n)
    downward = rng.random(n) < 0.5
    wick_down += np.where(spike & downward, size, 0.0)
    wick_up += np.where(spike & ~downward, size, 0.0)
    for shock in spec.shocks:
        returns[shock.candle] = shock.close_return
        if shock.wick < 0:
            wick_down[shock.candle] += -shock.wick
        else:
            wick_up[shock.candle] += shock.wick
    return PathDraws(returns, wick_up, wick_down)


def candle_extremes(
    open_: np.ndarray, close: np.ndarray, wick_up: np.ndarray, wick_down: np.ndarray, tick: float
) -> tuple[np.ndarray, np.ndarray]:
    """High and low on the tick grid, at least one tick beyond the open and the close."""
    top = np.maximum(open_, close)
    bottom = np.minimum(open_, close)
    high = np.maximum(to_tick(top * (1 + wick_up), tick, "up"), to_tick(top + tick, tick))
    low = np.minimum(to_tick(bottom * (1 - wick_down), tick, "down"), to_tick(bottom - tick, tick))
    return high, low


def segment(
    first_open: float, returns: np.ndarray, wick_up: np.ndarray, wick_down: np.ndarray, tick: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(open, high, low, close) of consecutive candles starting from `first_open`."""
    close = to_tick(first_open * np.exp(np.cumsum(returns)), tick)
    open_ = np.concatenate(([first_open], close[:-1]))
    high, low = candle_extremes(open_, close, wick_up, wick_down, tick)
    return open_, high, low, close


def build_path(spec: WorldSpec, draws: PathDraws) -> PricePath:
    start = float(to_tick(spec.start_price, spec.tick))
    open_, high, low, close = segment(
        start, draws.returns, draws.wick_up, draws.wick_down, spec.tick
    )
    times = spec.start_ms + FIVE_MINUTES_MS * np.arange(spec.candles, dtype=np.int64)
    return PricePath(times, open_, high, low, close)


class TouchIndex:
    """Sparse tables of lows' minima and highs' maxima over power-of-two blocks: the first candle
    at or after `start` whose low reaches a long's level (or high a short's) in O(log n) steps,
    vectorised over all positions at once."""

    def __init__(self, low: np.ndarray, high: np.ndarray):
        self.count = int(low.size)
        self.mins, self.maxs = [np.asarray(low, float)], [np.asarray(high, float)]
        step = 1
        while 2 * step <= self.count:
            lows, highs = self.mins[-1], self.maxs[-1]
            self.mins.append(np.minimum(lows[:-step], lows[step:]))
            self.maxs.append(np.maximum(highs[:-step], highs[step:]))
            step *= 2

    def first_touch(self, start: np.ndarray, level: np.ndarray, is_long: np.ndarray) -> np.ndarray:
        """First index >= start with low <= level (long) or high >= level (short); `count` if
        none. A NaN level is never safe, so it reports `start`: callers mask those rows."""
        pos = np.asarray(start, dtype=np.int64).copy()
        level = np.asarray(level, dtype=float)
        for k in reversed(range(len(self.mins))):
            step = 1 << k
            fits = pos + step <= self.count
            at = np.where(fits, pos, 0)
            with np.errstate(invalid="ignore"):
                safe = np.where(is_long, self.mins[k][at] > level, self.maxs[k][at] < level)
            pos = np.where(fits & safe, pos + step, pos)
        return pos
