"""The free liquidation-map estimate: the open-interest model of domain.md §3b, vectorised.

The model, walking candles oldest to newest (the first usable candle is only the baseline):

1. **Consume.** A long level is liquidated when a candle's low reaches it (`low <= liq`), a short
   level when the high reaches it (`high >= liq`). Consumed levels leave the map.
2. **Open.** If open interest rose by ΔOI (USD), new positions open at the candle's **close**.
   Why the close: open interest is sampled at the end of the candle, and the close is the price at
   that moment; a position opened "somewhere in the candle" at a typical price could have a
   liquidation price the candle already traded through. Opening after the consume step means the
   candle that opened a position never liquidates it.
   The long cohort gets ΔOI × taker-buy share, the short cohort ΔOI × (1 − share); each cohort is
   spread over the leverage tiers by weight (weights are normalised to sum to 1). Liquidation
   prices, isolated margin with maintenance-margin rate m:
   long `EP·(1−1/L)/(1−m)`, short `EP·(1+1/L)/(1+m)`.
3. **Shrink.** If open interest fell from OI₀ to OI₁, the fraction (OI₀−OI₁)/OI₀ of all contracts
   closed. We cannot tell which cohort closed, so every open level, long and short alike, keeps
   OI₁/OI₀ of its notional: the removal splits between the sides in proportion to their size.
   (Positions open before the window, which the map cannot see, close in the same proportion, which
   is why the factor uses the market's OI rather than the map's own total.)
4. **Bucket** the surviving levels: width = `bucket_pct` % of the last close, rounded to a plain
   number (1, 2 or 5 × 10^k; $100 for BTC), each level to the nearest bucket.

Why it vectorises exactly: only the final map matters, so a position (candle b, tier j, side) is
alive at the end iff its liquidation price lies beyond every later candle's extreme, i.e. below
`min(low[b+1:])` for a long or above `max(high[b+1:])` for a short (suffix min/max). Its remaining
notional is its opening notional times the product of the shrink factors after its birth (a suffix
product, no division, so an OI that falls to zero is handled). `core/estimator_reference.py` walks
the same model one position at a time; tests and `benchmarks/estimator.py` compare the two.

Bad inputs have defined outcomes (see `clean_inputs`): never NaN or inf in the output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

import numpy as np

from core.kernel.errors import ConfigError, DataError


@dataclass(frozen=True)
class EstimatorParams:
    """Leverage tiers and weights, maintenance-margin rate and bucket width ([estimator])."""

    leverage: tuple[float, ...] = (5, 10, 25, 50, 100)
    weights: tuple[float, ...] = (0.15, 0.30, 0.25, 0.20, 0.10)
    maintenance_margin: float = 0.004
    bucket_pct: float = 0.1  # bucket width as % of price, rounded to a plain number ($100 for BTC)

    def __post_init__(self) -> None:
        # Accept lists (TOML gives lists) but keep the value hashable and immutable.
        object.__setattr__(self, "leverage", tuple(float(x) for x in self.leverage))
        object.__setattr__(self, "weights", tuple(float(x) for x in self.weights))
        if not self.leverage or len(self.leverage) != len(self.weights):
            raise ConfigError("[estimator] weights must have one weight per leverage tier")
        if any(not math.isfinite(x) or x <= 1 for x in self.leverage):
            raise ConfigError("[estimator] leverage must be numbers above 1")
        if any(not math.isfinite(x) or x < 0 for x in self.weights) or sum(self.weights) <= 0:
            raise ConfigError("[estimator] weights must be non-negative and not all 0")
        if not 0 <= self.maintenance_margin < 0.5:
            raise ConfigError("[estimator] maintenance_margin must be between 0 and 0.5")
        if not 0 < self.bucket_pct <= 5:
            raise ConfigError("[estimator] bucket_pct must be above 0 and at most 5")

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> EstimatorParams:
        """From core.config's [estimator] section; keys the model does not use (days, interval:
        the fetcher's) are ignored, missing keys keep their defaults."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in section.items() if key in known})

    @property
    def tier_shares(self) -> tuple[float, ...]:
        """Weights normalised to sum to 1, so that a cohort's whole notional is spread."""
        total = sum(self.weights)
        return tuple(w / total for w in self.weights)

    @property
    def long_liq_factors(self) -> tuple[float, ...]:
        """Liquidation price / entry price of a long, per tier: (1−1/L)/(1−m)."""
        m = self.maintenance_margin
        return tuple((1 - 1 / lev) / (1 - m) for lev in self.leverage)

    @property
    def short_liq_factors(self) -> tuple[float, ...]:
        """Liquidation price / entry price of a short, per tier: (1+1/L)/(1+m)."""
        m = self.maintenance_margin
        return tuple((1 + 1 / lev) / (1 + m) for lev in self.leverage)


@dataclass(frozen=True, eq=False)  # eq=False: numpy arrays have no single truth value
class CandleArrays:
    """Candles with open interest, as numpy float arrays of equal length, oldest first."""

    open_time_ms: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    taker_buy_share: np.ndarray  # takerBuyQuote / quoteVol, 0.5 where quoteVol == 0
    oi_usd: np.ndarray  # open interest in USD at the candle (sumOpenInterestValue)

    def __post_init__(self) -> None:
        lengths = set()
        for f in fields(self):
            array = np.asarray(getattr(self, f.name), dtype=float).reshape(-1)
            object.__setattr__(self, f.name, array)
            lengths.add(array.size)
        if len(lengths) > 1:
            raise DataError(f"candle arrays must have equal lengths, got {sorted(lengths)}")

    def __len__(self) -> int:
        return int(self.close.size)


class CleanInputs(NamedTuple):
    """What the model walks over after cleaning: every value finite, prices > 0, OI >= 0."""

    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    taker_buy_share: np.ndarray
    oi_usd: np.ndarray


def clean_inputs(candles: CandleArrays) -> CleanInputs:
    """Defined behaviour for bad data (both implementations of the model start here):

    - a candle whose high, low or close is missing, non-finite or <= 0 has no usable price: it is
      dropped, and the OI change across it counts at the next usable candle;
    - high and low are widened to contain the close (and swapped if reversed);
    - a missing, non-finite or negative OI is unknown: the last known OI is carried forward (so the
      change lands on the next known value); leading unknowns take the first known value;
    - a missing taker-buy share means 0.5 (no side information); shares are clipped to [0, 1].
    """
    high, low, close = candles.high, candles.low, candles.close
    usable = np.ones(len(candles), dtype=bool)
    for price in (high, low, close):
        with np.errstate(invalid="ignore"):
            usable &= np.isfinite(price) & (price > 0)
    high, low, close = high[usable], low[usable], close[usable]
    high, low = np.maximum.reduce([high, low, close]), np.minimum.reduce([high, low, close])

    share = candles.taker_buy_share[usable]
    share = np.clip(np.where(np.isfinite(share), share, 0.5), 0.0, 1.0)

    oi = candles.oi_usd[usable]
    with np.errstate(invalid="ignore"):
        known = np.isfinite(oi) & (oi >= 0)
    if not known.any():
        oi = np.zeros_like(oi)  # no OI information: nothing opens, nothing shrinks
    elif not known.all():
        # index of the last known value at or before each candle (first known one for leading gaps)
        last_known = np.where(known, np.arange(oi.size), 0)
        np.maximum.accumulate(last_known, out=last_known)
        last_known[: int(np.argmax(known))] = int(np.argmax(known))
        oi = oi[last_known]
    return CleanInputs(high, low, close, share, oi)


def plain_bucket_width(price: float, bucket_pct: float) -> float:
    """`bucket_pct` % of `price` rounded to the nearest (log scale) of 1, 2, 5 × 10^k: 100 for BTC
    at $90,131 and 0.1 %. Round widths keep map levels on prices people recognise."""
    raw = abs(price) * bucket_pct / 100
    if not math.isfinite(raw) or raw <= 0:
        raise DataError(f"no bucket width for price {price!r} and bucket_pct {bucket_pct!r}")
    exponent = math.floor(math.log10(raw))
    mantissa = raw / 10**exponent
    # boundaries are the geometric means of neighbouring plain numbers: √2, √10, √50
    step = 1 if mantissa < 2**0.5 else 2 if mantissa < 10**0.5 else 5 if mantissa < 50**0.5 else 10
    return step * 10.0**exponent


DUST_USD = 0.01


def bucket_levels(
    prices: np.ndarray, long_usd: np.ndarray, short_usd: np.ndarray, width: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum levels into buckets of `width` (each level to the nearest multiple of the width).

    Returns (bucket prices ascending, long USD, short USD), only buckets holding something.
    Non-finite levels are dropped (a guard: cleaned inputs do not produce them).
    """
    prices = np.asarray(prices, dtype=float)
    long_usd = np.asarray(long_usd, dtype=float)
    short_usd = np.asarray(short_usd, dtype=float)
    # Less than a cent is dust, not a liquidation: it only shows float underflow (a taker share
    # of 5e-324 gives 0 or 1e-320 depending on the order of the products).
    long_usd = np.where(long_usd >= DUST_USD, long_usd, 0.0)
    short_usd = np.where(short_usd >= DUST_USD, short_usd, 0.0)
    keep = np.isfinite(prices) & np.isfinite(long_usd) & np.isfinite(short_usd)
    keep &= (long_usd > 0) | (short_usd > 0)
    with np.errstate(invalid="ignore", over="ignore"):
        keep &= np.abs(prices / width) < 2.0**62  # bucket numbers must fit an int64
    index = np.round(prices[keep] / width).astype(np.int64)
    buckets, where = np.unique(index, return_inverse=True)
    longs = np.bincount(where, weights=long_usd[keep], minlength=buckets.size)
    shorts = np.bincount(where, weights=short_usd[keep], minlength=buckets.size)
    # round away float dust so $100 buckets read 90100.0, not 90100.00000000001
    digits = max(0, 12 - math.floor(math.log10(width)))
    bucket_prices = np.round(buckets * width, digits) if buckets.size else buckets.astype(float)
    summed_ok = np.isfinite(longs) & np.isfinite(shorts)  # an absurd input could overflow a sum
    return bucket_prices[summed_ok], longs[summed_ok], shorts[summed_ok]


@dataclass(frozen=True, eq=False)
class SurvivingPositions:
    """The model's positions alive after the last candle, before bucketing (one row per cohort)."""

    long_price: np.ndarray  # liquidation prices
    long_usd: np.ndarray
    short_price: np.ndarray
    short_usd: np.ndarray
    last_price: float | None  # the last usable close (None: no usable candle)


def surviving_positions(candles: CandleArrays, params: EstimatorParams) -> SurvivingPositions:
    """Run the model over all candles at once and return the cohorts still open at the end."""
    high, low, close, share, oi = clean_inputs(candles)
    count = close.size
    empty = np.empty(0)
    if count == 0:
        return SurvivingPositions(empty, empty, empty, empty, None)
    last_price = float(close[-1])
    if count < 2:
        return SurvivingPositions(empty, empty, empty, empty, last_price)

    change = np.diff(oi)  # change[b - 1]: OI change at candle b (b >= 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        shrink = np.where(change < 0, oi[1:] / oi[:-1], 1.0)  # oi[:-1] > 0 wherever OI fell
    factor = np.concatenate(([1.0], shrink))  # factor[b]: shrink applied at candle b
    # product of the factors strictly after each candle: suffix product, then shift by one
    after = np.append(np.cumprod(factor[::-1])[::-1][1:], 1.0)
    # extremes strictly after each candle: what a position born there must outlive
    lowest_after = np.append(np.minimum.accumulate(low[::-1])[::-1][1:], np.inf)
    highest_after = np.append(np.maximum.accumulate(high[::-1])[::-1][1:], -np.inf)

    births = np.flatnonzero(change > 0) + 1  # candles where new positions open
    opened = change[births - 1]
    entry = close[births][:, None]
    tiers = np.asarray(params.tier_shares)[None, :]
    long_liq = entry * np.asarray(params.long_liq_factors)[None, :]
    short_liq = entry * np.asarray(params.short_liq_factors)[None, :]
    long_amount = (opened * share[births])[:, None] * tiers * after[births][:, None]
    short_amount = (opened * (1 - share[births]))[:, None] * tiers * after[births][:, None]
    long_alive = long_liq < lowest_after[births][:, None]
    short_alive = short_liq > highest_after[births][:, None]
    return SurvivingPositions(
        long_price=long_liq[long_alive],
        long_usd=long_amount[long_alive],
        short_price=short_liq[short_alive],
        short_usd=short_amount[short_alive],
        last_price=last_price,
    )


def estimate_map(
    candles: CandleArrays, params: EstimatorParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The estimated liquidation map: (bucket prices ascending, long_usd, short_usd per bucket).

    Empty arrays when there is nothing to show (fewer than two usable candles, OI never rose...).
    """
    alive = surviving_positions(candles, params)
    if alive.last_price is None:
        return np.empty(0), np.empty(0), np.empty(0)
    return map_from_positions(alive, params)


def map_from_positions(
    alive: SurvivingPositions, params: EstimatorParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bucket surviving positions (shared by the vectorised model and the reference)."""
    if alive.last_price is None:
        return np.empty(0), np.empty(0), np.empty(0)
    width = plain_bucket_width(alive.last_price, params.bucket_pct)
    prices = np.concatenate((alive.long_price, alive.short_price))
    longs = np.concatenate((alive.long_usd, np.zeros(alive.short_usd.size)))
    shorts = np.concatenate((np.zeros(alive.long_usd.size), alive.short_usd))
    return bucket_levels(prices, longs, shorts, width)
