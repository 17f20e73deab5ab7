"""Pure market maths over a Snapshot: cumulative liquidations, imbalance, window edges and zones.

Definitions (see shared docs, domain.md §2), with P0 the snapshot's price:

    CumShort(X) = sum of short_usd(p) for P0 < p <= X    (short USD below P0 is ignored)
    CumLong(Y)  = sum of long_usd(p)  for Y <= p < P0    (long USD above P0 is ignored)

A level exactly at P0 belongs to neither side.

Data hygiene (a fault of the world never crashes the analysis):
  * levels whose price is not a finite positive number are dropped;
  * a USD value that is NaN, infinite, below MIN_LEVEL_USD (a cent: dust, and it keeps the
    ratio finite) or above MAX_LEVEL_USD counts as 0;
  * levels repeating a price are merged (their USD added);
  * a snapshot price that is not a finite positive number raises DataError.

Zones (clusters that stand out), per side and inside the window:
  1. The map's bucket width is the median gap between its distinct prices (0.1 % of P0 when the
     map holds fewer than two prices).
  2. A level *stands out* when its USD is at least STANDOUT_FACTOR (2) x the median USD of the
     side's non-empty levels, or at least TOP_FRACTION (half) of the side's biggest level. The
     second arm keeps a side whose levels are mostly large (or flat) from having no zone at all,
     so every non-empty side has at least one zone and therefore a key level.
  3. Standing-out levels whose prices are at most MERGE_GAP_BUCKETS (2) bucket widths apart merge
     into one zone (bridging one quiet bucket); the zone's USD is everything the side holds
     between its low and high, the bridged levels included.
  4. Zones are ranked by USD (ties: nearer first); a zone holding less than MIN_ZONE_SHARE (5 %)
     of the side's total is dropped as noise, except the biggest; at most MAX_ZONES_PER_SIDE (3)
     zones per side are kept.
  5. A zone's `peak` is its level nearest the zone's notional-weighted centre, not its biggest
     level: two near-equal buckets inside one cluster swap ranks from one refresh to the next,
     and the arg-max would jump between them (benchmarks/fidelity.py: in the `gap` world the
     arg-max put the key zone 0.36 % of price away from the true one's on identical edges; the
     centre puts it on the same level). The zone's low and high, which breakout rules use, are
     unchanged.
"""

from __future__ import annotations

import math

import numpy as np

from core.kernel.errors import DataError
from core.types import Analysis, Side, Snapshot, SplitMap, Zone

STANDOUT_FACTOR = 2.0
TOP_FRACTION = 0.5
MERGE_GAP_BUCKETS = 2.0
MAX_ZONES_PER_SIDE = 3
MIN_ZONE_SHARE = 0.05  # a zone below 5 % of its side's total is noise (the biggest always stays)
MIN_LEVEL_USD = 0.01  # less than a cent is no liquidation (and would overflow the ratio)
MAX_LEVEL_USD = 1e15  # no single price level holds a quadrillion dollars: treat it as corrupt
DEFAULT_BUCKET_FRACTION = 0.001  # domain.md §3b: default bucket ≈ 0.1 % of the price

# Relative slack for float comparisons of price gaps (100.00000001 vs 2 x 50).
_GAP_SLACK = 1e-9


def _number(value: object) -> float:
    """A float, or NaN for anything that is not a number (None, junk strings)."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def check_price(snapshot: Snapshot) -> float:
    """The snapshot's price as a float; DataError when it cannot anchor a map (0, NaN, < 0)."""
    p0 = _number(snapshot.price)
    if not math.isfinite(p0) or p0 <= 0:
        raise DataError(f"{snapshot.symbol}: the map has no usable price ({snapshot.price!r}).")
    return p0


def _check_window(window_pct: float) -> float:
    window = _number(window_pct)
    if not math.isfinite(window) or window < 0:
        raise DataError(f"The window must be a percentage of 0 or more, not {window_pct!r}.")
    return window


def _clean_levels(snapshot: Snapshot) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct ascending prices with their summed long and short USD, bad values zeroed."""
    levels = snapshot.levels or ()
    prices = np.array([_number(lv.price) for lv in levels], dtype=float)
    longs = np.array([_number(lv.long_usd) for lv in levels], dtype=float)
    shorts = np.array([_number(lv.short_usd) for lv in levels], dtype=float)
    usable = np.isfinite(prices) & (prices > 0)
    prices, longs, shorts = prices[usable], longs[usable], shorts[usable]
    with np.errstate(invalid="ignore"):
        longs = np.where(
            np.isfinite(longs) & (longs >= MIN_LEVEL_USD) & (longs <= MAX_LEVEL_USD), longs, 0.0
        )
        shorts = np.where(
            np.isfinite(shorts) & (shorts >= MIN_LEVEL_USD) & (shorts <= MAX_LEVEL_USD), shorts, 0.0
        )
    distinct, index = np.unique(prices, return_inverse=True)
    long_sum = np.bincount(index, weights=longs, minlength=len(distinct))
    short_sum = np.bincount(index, weights=shorts, minlength=len(distinct))
    return distinct, long_sum, short_sum


def split_map(snapshot: Snapshot, window_pct: float = 0) -> SplitMap:
    """Clean the snapshot and split it at the price, cut at ±window_pct % (0 = whole map)."""
    p0 = check_price(snapshot)
    window = _check_window(window_pct)
    prices, longs, shorts = _clean_levels(snapshot)

    gaps = np.diff(prices)
    bucket = float(np.median(gaps)) if len(gaps) else p0 * DEFAULT_BUCKET_FRACTION

    above = (prices > p0) & (shorts > 0)
    below = (prices < p0) & (longs > 0)
    window_low = window_high = None
    if window > 0:
        window_high = p0 * (1 + window / 100)
        window_low = p0 * (1 - window / 100)
        above &= prices <= window_high
        below &= prices >= window_low
    return SplitMap(
        price=p0,
        short_prices=prices[above],
        short_usd=shorts[above],
        long_prices=prices[below],
        long_usd=longs[below],
        bucket_width=bucket,
        window_low=window_low,
        window_high=window_high,
    )


def cumulative_short_above(snapshot: Snapshot, to_price: float) -> float:
    """USD of shorts liquidated if the price rises to `to_price` (P0 < p <= to_price)."""
    side = split_map(snapshot)
    limit = _number(to_price)
    if math.isnan(limit):
        raise DataError(f"Cannot sum shorts up to {to_price!r}: not a price.")
    return float(side.short_usd[side.short_prices <= limit].sum())


def cumulative_long_below(snapshot: Snapshot, to_price: float) -> float:
    """USD of longs liquidated if the price falls to `to_price` (to_price <= p < P0)."""
    side = split_map(snapshot)
    limit = _number(to_price)
    if math.isnan(limit):
        raise DataError(f"Cannot sum longs down to {to_price!r}: not a price.")
    return float(side.long_usd[side.long_prices >= limit].sum())


def _standing_out(usd: np.ndarray) -> np.ndarray:
    """Mask of levels that stand out on their side (see the module docstring, rule 2)."""
    threshold = min(STANDOUT_FACTOR * float(np.median(usd)), TOP_FRACTION * float(usd.max()))
    return usd >= threshold


def zone_centre(prices: np.ndarray, usd: np.ndarray) -> float:
    """The zone's level nearest its notional-weighted centre (rule 5 of the module docstring)."""
    centre = float(np.average(prices, weights=usd)) if usd.sum() > 0 else float(prices[0])
    return float(prices[int(np.argmin(np.abs(prices - centre)))])


def side_zones(
    prices: np.ndarray, usd: np.ndarray, side: Side, p0: float, bucket_width: float
) -> list[Zone]:
    """Zones of one side (levels ascending and non-empty), biggest first (module docstring)."""
    if len(prices) == 0:
        return []
    max_gap = MERGE_GAP_BUCKETS * bucket_width * (1 + _GAP_SLACK)
    candidates = np.flatnonzero(_standing_out(usd))
    # Split the standing-out indices into runs wherever two neighbours are too far apart.
    breaks = np.flatnonzero(np.diff(prices[candidates]) > max_gap)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(candidates) - 1]))

    zones = []
    for start, end in zip(starts, ends, strict=True):
        first, last = int(candidates[start]), int(candidates[end])
        run_prices, run_usd = prices[first : last + 1], usd[first : last + 1]
        low, high = float(run_prices[0]), float(run_prices[-1])
        nearest_edge = low if side == "short" else high
        zones.append(
            Zone(
                side=side,
                low=low,
                high=high,
                peak=zone_centre(run_prices, run_usd),
                usd=float(run_usd.sum()),
                distance_pct=(nearest_edge - p0) / p0 * 100,
            )
        )
    zones.sort(key=lambda z: (-z.usd, abs(z.distance_pct)))
    floor = MIN_ZONE_SHARE * float(usd.sum())
    kept = zones[:1] + [z for z in zones[1:] if z.usd >= floor]
    return kept[:MAX_ZONES_PER_SIDE]


def _nearest(zones: list[Zone]) -> Zone | None:
    return min(zones, key=lambda z: abs(z.distance_pct), default=None)


def analyze(snapshot: Snapshot, window_pct: float = 0) -> Analysis:
    """Everything a trader reads off the map: totals, edges, ratio, zones, key and nearest zones.

    `window_pct` 0 uses the whole map; N > 0 keeps levels within ±N % of the price.
    Raises DataError for an unusable price or window; bad levels are ignored, never fatal.
    """
    split = split_map(snapshot, window_pct)
    p0 = split.price
    short_total = float(split.short_usd.sum())
    long_total = float(split.long_usd.sum())

    ratio: float | None = None
    if short_total > 0 and long_total > 0:
        ratio = short_total / long_total
        if not math.isfinite(ratio):  # cannot happen within the USD bounds; never show inf
            ratio = None

    shorts = side_zones(split.short_prices, split.short_usd, "short", p0, split.bucket_width)
    longs = side_zones(split.long_prices, split.long_usd, "long", p0, split.bucket_width)
    all_zones = sorted(shorts + longs, key=lambda z: (-z.usd, abs(z.distance_pct)))

    return Analysis(
        symbol=snapshot.symbol,
        price=p0,
        short_above_usd=short_total,
        short_edge=float(split.short_prices[-1]) if len(split.short_prices) else None,
        long_below_usd=long_total,
        long_edge=float(split.long_prices[0]) if len(split.long_prices) else None,
        ratio=ratio,
        zones=tuple(all_zones),
        key_short=shorts[0] if shorts else None,
        key_long=longs[0] if longs else None,
        nearest_short=_nearest(shorts),
        nearest_long=_nearest(longs),
        window_pct=_check_window(window_pct),
    )
