"""True liquidation maps, bucketed like the estimator (re-implemented here: the simulator imports
nothing from core, so it keeps working while core moves).

Bucket width: 0.1 % of the last close rounded (log scale) to 1, 2 or 5 × 10^k ($100 for BTC near
$90k); each level goes to the nearest multiple of the width; levels under a cent are dust.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

BUCKET_PCT = 0.1
DUST_USD = 0.01


class LiqMap(NamedTuple):
    """(bucket prices ascending, long USD, short USD): unpacks like core's estimate_map result."""

    prices: np.ndarray
    long_usd: np.ndarray
    short_usd: np.ndarray


def plain_bucket_width(price: float, bucket_pct: float = BUCKET_PCT) -> float:
    raw = abs(price) * bucket_pct / 100
    exponent = math.floor(math.log10(raw))
    mantissa = raw / 10**exponent
    step = 1 if mantissa < 2**0.5 else 2 if mantissa < 10**0.5 else 5 if mantissa < 50**0.5 else 10
    return step * 10.0**exponent


def bucket_levels(
    prices: np.ndarray, long_usd: np.ndarray, short_usd: np.ndarray, width: float
) -> LiqMap:
    long_usd = np.where(long_usd >= DUST_USD, long_usd, 0.0)
    short_usd = np.where(short_usd >= DUST_USD, short_usd, 0.0)
    keep = (long_usd > 0) | (short_usd > 0)
    index = np.round(prices[keep] / width).astype(np.int64)
    buckets, where = np.unique(index, return_inverse=True)
    longs = np.bincount(where, weights=long_usd[keep], minlength=buckets.size)
    shorts = np.bincount(where, weights=short_usd[keep], minlength=buckets.size)
    digits = max(0, 12 - math.floor(math.log10(width)))
    return LiqMap(np.round(buckets * width, digits), longs, shorts)


def map_of(
    liq_price: np.ndarray, usd: np.ndarray, is_long: np.ndarray, last_price: float
) -> LiqMap:
    """The map of positions given by liquidation price, USD and side."""
    width = plain_bucket_width(last_price)
    return bucket_levels(liq_price, np.where(is_long, usd, 0.0), np.where(is_long, 0.0, usd), width)


class SideTotals(NamedTuple):
    short_above: float  # Σ short USD at levels above the price
    long_below: float  # Σ long USD at levels below the price

    @property
    def ratio(self) -> float:
        """short_above / long_below (nan when there are no longs below)."""
        return self.short_above / self.long_below if self.long_below > 0 else math.nan


def side_totals(liq_map: tuple[np.ndarray, np.ndarray, np.ndarray], price: float) -> SideTotals:
    prices, longs, shorts = (np.asarray(a, dtype=float) for a in liq_map)
    return SideTotals(float(shorts[prices > price].sum()), float(longs[prices < price].sum()))
