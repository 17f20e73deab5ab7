"""The free liquidation-map estimate: the open-interest model of domain.md §3b.

Open interest is counted in *units*: coins when the venue's open interest in contracts is given
(`oi_contracts`, in coins: contracts × contract value), else USD (`oi_usd`, the old behaviour).
A unit's price at candle t, π_t, is the close (coins) or 1 (USD). The model walks the candles
oldest to newest (the first usable candle is only the baseline); at each candle t:

1. **Consume.** A long level is liquidated when the candle's low reaches it (`low <= liq`), a short
   level when the high reaches it (`high >= liq`). Consumed levels leave the map, and their size
   (USD at entry / π at entry) is the liquidated open interest Lₜ.
2. **Liquidations are closes.** Open interest after the liquidations is Bₜ = OIₜ₋₁ − Lₜ (Lₜ at
   most OIₜ₋₁), so the net flow of the candle is Nₜ = OIₜ − Bₜ: a fall that the liquidations
   explain shrinks nobody a second time.
3. **Turnover.** With the candle's quote volume Vₜ, the volume the net flow does not explain is
   partly positions opened and closed inside the window: τₜ = `turnover_share` × max(0, Vₜ/πₜ −
   |Nₜ|) units (at most Bₜ and OIₜ), opened *and* closed. Without volume (NaN) τₜ = 0.
4. **Shrink.** Closes Cₜ = max(0, −Nₜ) + τₜ: every surviving level, long and short alike, keeps
   (Bₜ − Cₜ)/Bₜ of its notional. We cannot tell which cohort closed, so the closes split in
   proportion to size; positions open before the window (invisible to the map) close in the same
   proportion, which is why the factor uses the market's OI rather than the map's own total.
5. **Open.** Opens Oₜ = max(0, Nₜ) + τₜ units, i.e. Oₜ·πₜ USD, at the candle's **close** (open
   interest is sampled at the candle's end; the candle that opens a position never liquidates
   it). The long cohort gets the taker-buy share, the short cohort the rest; each cohort is spread
   over the leverage tiers by weight. Isolated margin with maintenance-margin rate m:
   long `EP·(1−1/L)/(1−m)`, short `EP·(1+1/L)/(1+m)`.
6. **Bucket** the surviving levels: width = `bucket_pct` % of the last close, rounded to a plain
   number (1, 2 or 5 × 10^k; $100 for BTC), each level to the nearest bucket.

How it runs fast: whether a level survives depends on prices only, so each level's liquidation
candle (the first later wick that reaches it) is found for all levels at once (sparse tables of
minima and maxima). Amounts then follow one scalar recurrence over candles: a level born at b
holds Oᵦ·q·Gₜ/Gᵦ, with G the running product of the shrink factors and q its side share × tier
share, so Lₜ = Gₜ₋₁ · Σ (Oᵦ/Gᵦ)·q over the levels dying at t. tests/oracles/estimator_reference.py
walks the same model one position at a time; tests and `benchmarks/estimator.py` compare the two.

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
    # share of the volume the net OI change does not explain that opened and closed in the window
    turnover_share: float = 0.0

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
        if not 0 <= self.turnover_share <= 1:
            raise ConfigError("[estimator] turnover_share must be between 0 and 1")

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
    """Candles with open interest, as numpy float arrays of equal length, oldest first.

    The first six are positional (as before); `oi_contracts` and `quote_volume` are optional
    (None: all NaN). `oi_contracts` is the open interest in coins (Binance sumOpenInterest, Bybit
    openInterest, OKX oiCcy or contracts × ctVal): when any value is known the model counts open
    interest in coins valued at each candle's close, else it differences `oi_usd`.
    """

    open_time_ms: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    taker_buy_share: np.ndarray  # takerBuyQuote / quoteVol, 0.5 where quoteVol == 0
    oi_usd: np.ndarray  # open interest in USD at the candle's close (sumOpenInterestValue)
    oi_contracts: np.ndarray | None = None  # open interest in coins at the candle's close
    quote_volume: np.ndarray | None = None  # USD traded in the candle (quoteVol); NaN: unknown

    def __post_init__(self) -> None:
        lengths = set()
        size = np.asarray(self.close).size
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                value = np.full(size, np.nan)
            array = np.asarray(value, dtype=float).reshape(-1)
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
    oi: np.ndarray  # open interest in units: coins (from oi_contracts) or USD (from oi_usd)
    unit_price: np.ndarray  # USD per unit at each candle: the close (coins) or 1 (USD)
    volume: np.ndarray  # quote volume in USD, NaN where unknown (no turnover there)


def _carry_forward(values: np.ndarray) -> np.ndarray | None:
    """Unknown (non-finite or negative) values take the last known one, leading ones the first
    known one; None when nothing is known."""
    with np.errstate(invalid="ignore"):
        known = np.isfinite(values) & (values >= 0)
    if not known.any():
        return None
    if known.all():
        return values
    last_known = np.where(known, np.arange(values.size), 0)
    np.maximum.accumulate(last_known, out=last_known)
    last_known[: int(np.argmax(known))] = int(np.argmax(known))
    return values[last_known]


def clean_inputs(candles: CandleArrays) -> CleanInputs:
    """Defined behaviour for bad data (both implementations of the model start here):

    - a candle whose high, low or close is missing, non-finite or <= 0 has no usable price: it is
      dropped (its volume with it), and the OI change across it counts at the next usable candle;
    - high and low are widened to contain the close (and swapped if reversed);
    - open interest: in coins if any usable candle has a known `oi_contracts`, else in USD; a
      missing, non-finite or negative value is unknown: the last known one is carried forward (so
      the change lands on the next known value); leading unknowns take the first known value; no
      known value at all means nothing opens and nothing shrinks;
    - a missing taker-buy share means 0.5 (no side information); shares are clipped to [0, 1];
    - a missing, non-finite or negative quote volume is unknown: no turnover at that candle.
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

    coins = _carry_forward(candles.oi_contracts[usable])
    if coins is not None:
        oi, unit_price = coins, close
    else:
        usd = _carry_forward(candles.oi_usd[usable])
        oi = usd if usd is not None else np.zeros(close.size)
        unit_price = np.ones(close.size)
    volume = candles.quote_volume[usable]
    with np.errstate(invalid="ignore"):
        volume = np.where(np.isfinite(volume) & (volume >= 0), volume, np.nan)
    return CleanInputs(high, low, close, share, oi, unit_price, volume)


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


def first_reach(
    low: np.ndarray, high: np.ndarray, start: np.ndarray, level: np.ndarray, is_long: np.ndarray
) -> np.ndarray:
    """For each level, the first candle at or after `start` whose low reaches it (a long:
    `low <= level`) or whose high does (a short: `high >= level`); `len(low)` when none does.

    Binary lifting over sparse tables of minima/maxima of power-of-two runs: O(log n) numpy steps
    for all levels at once."""
    count = int(low.size)
    mins, maxs = [low], [high]
    step = 1
    while 2 * step <= count:
        mins.append(np.minimum(mins[-1][:-step], mins[-1][step:]))
        maxs.append(np.maximum(maxs[-1][:-step], maxs[-1][step:]))
        step *= 2
    pos = np.asarray(start, dtype=np.int64).copy()
    for k in reversed(range(len(mins))):
        step = 1 << k
        fits = pos + step <= count
        at = np.where(fits, pos, 0)
        safe = np.where(is_long, mins[k][at] > level, maxs[k][at] < level)
        pos = np.where(fits & safe, pos + step, pos)
    return pos


def surviving_positions(candles: CandleArrays, params: EstimatorParams) -> SurvivingPositions:
    """Run the model over all candles and return the levels still open and holding at least a
    cent at the end (see the module docstring for how)."""
    high, low, close, share, oi, unit, volume = clean_inputs(candles)
    count = close.size
    empty = np.empty(0)
    if count == 0:
        return SurvivingPositions(empty, empty, empty, empty, None)
    last_price = float(close[-1])
    if count < 2:
        return SurvivingPositions(empty, empty, empty, empty, last_price)

    tiers = np.asarray(params.tier_shares)
    births = np.repeat(np.arange(1, count), tiers.size)  # level rows: (birth, tier), birth-major
    tier_share = np.tile(tiers, count - 1)
    long_price = close[births] * np.tile(np.asarray(params.long_liq_factors), count - 1)
    short_price = close[births] * np.tile(np.asarray(params.short_liq_factors), count - 1)
    long_q = share[births] * tier_share  # units per unit opened
    short_q = (1 - share[births]) * tier_share
    long_death = first_reach(low, high, births + 1, long_price, np.ones(births.size, bool))
    short_death = first_reach(low, high, births + 1, short_price, np.zeros(births.size, bool))

    weight, scale = _walk_amounts(
        oi,
        unit,
        volume,
        params.turnover_share,
        np.concatenate((births, births)),
        np.concatenate((long_q, short_q)),
        np.concatenate((long_death, short_death)),
    )
    usd_per_q = weight[births] * scale * unit[births]
    long_usd, short_usd = usd_per_q * long_q, usd_per_q * short_q
    long_alive = (long_death >= count) & (long_usd >= DUST_USD)
    short_alive = (short_death >= count) & (short_usd >= DUST_USD)
    return SurvivingPositions(
        long_price=long_price[long_alive],
        long_usd=long_usd[long_alive],
        short_price=short_price[short_alive],
        short_usd=short_usd[short_alive],
        last_price=last_price,
    )


def candle_flows(
    oi_before: float,
    oi_after: float,
    liquidated: float,
    volume: float,
    unit_price: float,
    turnover_share: float,
) -> tuple[float, float]:
    """One candle's (shrink factor of the levels alive before it, units opened at its close),
    given the units its wicks liquidated (steps 2 to 5 of the module docstring)."""
    base = max(0.0, oi_before - min(liquidated, oi_before))
    net = oi_after - base
    turnover = 0.0
    if turnover_share > 0 and math.isfinite(volume):
        turnover = turnover_share * max(0.0, volume / unit_price - abs(net))
        turnover = max(0.0, min(turnover, base, oi_after))
    closes = max(0.0, -net) + turnover
    factor = min(1.0, max(0.0, (base - closes) / base)) if base > 0 else 0.0
    return factor, max(0.0, net) + turnover


def _walk_amounts(
    oi: np.ndarray,
    unit: np.ndarray,
    volume: np.ndarray,
    turnover_share: float,
    birth: np.ndarray,
    q: np.ndarray,
    death: np.ndarray,
) -> tuple[np.ndarray, float]:
    """The scalar recurrence over candles: W[b] = Oᵦ/Gᵦ per birth candle, and the final G (a
    level born at b with share q holds W[b]·q·G units at the end)."""
    count = oi.size
    dying = np.flatnonzero(death < count)
    dying = dying[np.argsort(death[dying], kind="stable")]
    bounds = np.searchsorted(death[dying], np.arange(count + 1)).tolist()
    dying_birth, dying_q = birth[dying].tolist(), q[dying].tolist()
    oi_l, unit_l, volume_l = oi.tolist(), unit.tolist(), volume.tolist()
    weight = [0.0] * count
    scale = 1.0  # G: running product of the shrink factors (rescaled, see below)
    for t in range(1, count):
        liquidated = 0.0
        for k in range(bounds[t], bounds[t + 1]):
            liquidated += weight[dying_birth[k]] * dying_q[k]
        factor, opened = candle_flows(
            oi_l[t - 1], oi_l[t], liquidated * scale, volume_l[t], unit_l[t], turnover_share
        )
        scale *= factor
        if scale == 0.0:  # everything open closed: earlier levels hold nothing from here on
            weight[:t] = [0.0] * t
            scale = 1.0
        elif scale < 1e-200:  # keep W·G, move G back to 1 before it underflows
            weight[:t] = [w * scale for w in weight[:t]]
            scale = 1.0
        weight[t] = opened / scale
    return np.asarray(weight), scale


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
