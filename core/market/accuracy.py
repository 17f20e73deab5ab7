"""Grading the map against what really got liquidated (domain.md §3d). Pure: numbers in, numbers
out; the store supplies the prints and the kept maps (core/store/map_history.py).

For each realised print, take the newest map kept at or before it (at most MAX_MAP_AGE old; a
print with no such map is not scored, and the report counts those). The map's **top zones** are
its fewest buckets that hold half of its notional (both sides). Hit: the print's price lies in
one. The map's score is the hit share of realised notional (and of prints, with a Wilson 95 %
bound). The **baseline** places the same number of buckets (the same total width) uniformly at
random in the same window (the map's own price range), DRAWS times; its hit share's mean and
spread are reported beside the map's. A map that does not beat the baseline is reported as such.

**Dominant side**: once per hour of maps, the map's heavier side (shorts above vs longs below,
by DOMINANCE) against the side liquidated more over the next HORIZON: how often they match.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from core.types import LiqPrint, MapFrame

MAX_MAP_AGE = timedelta(minutes=30)
DRAWS = 200
TOP_SHARE = 0.5
DOMINANCE = 1.25
HORIZON = timedelta(hours=4)
Z95 = 1.959964


@dataclass(frozen=True)
class Score:
    """One venue's (or all venues') grade."""

    name: str
    prints: int  # scored
    unscored: int  # no map kept near enough in time
    notional: float  # USD of the scored prints
    hit_share: float | None  # of realised notional inside the top zones
    hit_rate: float | None  # of prints
    wilson_low: float | None
    wilson_high: float | None
    baseline_mean: float | None  # of realised notional, random zones of equal width
    baseline_std: float | None
    width_share: float | None  # the zones' width as a share of the window, on average

    @property
    def beats_baseline(self) -> bool | None:
        if self.hit_share is None or self.baseline_mean is None:
            return None
        return self.hit_share > self.baseline_mean + 2 * (self.baseline_std or 0.0)


@dataclass(frozen=True)
class Accuracy:
    symbol: str
    since: datetime
    until: datetime
    maps: int
    scores: tuple[Score, ...]  # per venue, then "all"
    dominant_matches: int
    dominant_total: int


def wilson(hits: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    if n <= 0:
        return None
    p = hits / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    scale = 1 + z * z / n
    return max(0.0, (centre - spread) / scale), min(1.0, (centre + spread) / scale)


@dataclass(frozen=True)
class _Grid:
    """A map as a grid of bucket slots over its window, with its top slots."""

    low: float
    width: float
    slots: int
    top: np.ndarray  # sorted slot indices of the top zones

    def slot(self, prices: np.ndarray) -> np.ndarray:
        return np.floor((prices - self.low) / self.width + 0.5).astype(np.int64)


def _grid(frame: MapFrame) -> _Grid | None:
    prices = np.asarray(frame.prices, dtype=float)
    usd = np.asarray(frame.long_usd, dtype=float) + np.asarray(frame.short_usd, dtype=float)
    keep = np.isfinite(prices) & np.isfinite(usd) & (usd > 0)
    prices, usd = prices[keep], usd[keep]
    if len(prices) < 2 or usd.sum() <= 0:
        return None
    order = np.argsort(prices)
    prices, usd = prices[order], usd[order]
    steps = np.diff(prices)
    steps = steps[steps > 0]
    if not len(steps):
        return None
    width = float(np.min(steps))  # the bucket width (gaps between levels are whole buckets)
    low = float(prices[0])
    slots = int(round((prices[-1] - low) / width)) + 1
    by_size = np.argsort(-usd, kind="stable")
    cumulative = np.cumsum(usd[by_size])
    count = int(np.searchsorted(cumulative, TOP_SHARE * cumulative[-1]) + 1)
    top_prices = prices[by_size[:count]]
    top = np.unique(np.floor((top_prices - low) / width + 0.5).astype(np.int64))
    return _Grid(low, width, slots, top)


def _score(name, groups, unscored, rng) -> Score:
    """groups: [(grid, print prices, print usd)] for the prints of one venue (or all)."""
    prints = sum(len(p) for _, p, _ in groups)
    notional = float(sum(u.sum() for _, _, u in groups))
    if not prints or notional <= 0:
        return Score(name, prints, unscored, notional, None, None, None, None, None, None, None)
    hit_usd, hits = 0.0, 0
    baseline = np.zeros(DRAWS)
    widths = []
    for grid, prices, usd in groups:
        slots = grid.slot(prices)
        hit = np.isin(slots, grid.top)
        hit_usd += float(usd[hit].sum())
        hits += int(hit.sum())
        widths.append(len(grid.top) / grid.slots)
        inside = (slots >= 0) & (slots < grid.slots)
        for d in range(DRAWS):
            chosen = rng.choice(grid.slots, size=min(len(grid.top), grid.slots), replace=False)
            baseline[d] += float(usd[inside & np.isin(slots, chosen)].sum())
    bounds = wilson(hits, prints)
    shares = baseline / notional
    return Score(
        name,
        prints,
        unscored,
        notional,
        hit_usd / notional,
        hits / prints,
        bounds[0] if bounds else None,
        bounds[1] if bounds else None,
        float(shares.mean()),
        float(shares.std()),
        float(np.mean(widths)),
    )


def grade(
    symbol: str,
    prints: Sequence[LiqPrint],
    frames: Sequence[MapFrame],
    since: datetime,
    until: datetime,
    seed: int = 7,
) -> Accuracy:
    frames = sorted(frames, key=lambda f: f.taken_at)
    grids = [_grid(f) for f in frames]
    times = [f.taken_at for f in frames]
    rng = np.random.default_rng(seed)
    by_venue: dict[str, dict[int, list[LiqPrint]]] = {}
    unscored: dict[str, int] = {}
    for p in prints:
        index = _frame_at(times, p.at)
        if index is None or grids[index] is None or p.at - times[index] > MAX_MAP_AGE:
            unscored[p.venue] = unscored.get(p.venue, 0) + 1
            continue
        by_venue.setdefault(p.venue, {}).setdefault(index, []).append(p)
    scores = []
    for venue in sorted(set(by_venue) | set(unscored)):
        scores.append(
            _score(venue, _groups(by_venue.get(venue, {}), grids), unscored.get(venue, 0), rng)
        )
    merged: dict[int, list[LiqPrint]] = {}
    for per_frame in by_venue.values():
        for index, items in per_frame.items():
            merged.setdefault(index, []).extend(items)
    scores.append(_score("all", _groups(merged, grids), sum(unscored.values()), rng))
    matches, total = _dominance(frames, prints)
    return Accuracy(symbol, since, until, len(frames), tuple(scores), matches, total)


def _groups(per_frame: dict[int, list[LiqPrint]], grids) -> list:
    return [
        (
            grids[index],
            np.array([p.price for p in items], dtype=float),
            np.array([p.usd for p in items], dtype=float),
        )
        for index, items in sorted(per_frame.items())
    ]


def _frame_at(times: list[datetime], when: datetime) -> int | None:
    lo, hi = 0, len(times)
    while lo < hi:
        mid = (lo + hi) // 2
        if times[mid] <= when:
            lo = mid + 1
        else:
            hi = mid
    return lo - 1 if lo else None


def _dominance(frames: Sequence[MapFrame], prints: Sequence[LiqPrint]) -> tuple[int, int]:
    matches = total = 0
    last: datetime | None = None
    for frame in frames:
        if last is not None and frame.taken_at - last < timedelta(hours=1):
            continue
        last = frame.taken_at  # one map per hour: neighbouring maps are nearly the same
        prices = np.asarray(frame.prices, dtype=float)
        shorts = float(np.asarray(frame.short_usd)[prices > frame.price].sum())
        longs = float(np.asarray(frame.long_usd)[prices < frame.price].sum())
        if shorts >= longs * DOMINANCE:
            predicted = "short"
        elif longs >= shorts * DOMINANCE:
            predicted = "long"
        else:
            continue  # a balanced map predicts no side
        end = frame.taken_at + HORIZON
        realised = {"long": 0.0, "short": 0.0}
        for p in prints:
            if frame.taken_at <= p.at < end:
                realised[p.side] += p.usd
        if realised["long"] == realised["short"]:
            continue
        total += 1
        matches += predicted == max(realised, key=realised.get)
    return matches, total
