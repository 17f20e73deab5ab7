"""The free liquidation-map estimate: the open-interest model of domain.md §3b.

Open interest is counted in *units*: coins when the venue's open interest in contracts is given
(`oi_contracts`, in coins: contracts × contract value), else USD (`oi_usd`, the old behaviour).
A unit's price at candle t, π_t, is the close (coins) or 1 (USD). The model walks the candles
oldest to newest (the first usable candle is only the baseline); at each candle t:

1. **Consume.** A long level is liquidated when the candle's low reaches it (`low <= liq`), a short
   level when the high reaches it (`high >= liq`). Consumed levels leave the map, and their size
   (USD at entry / π at entry) is the liquidated open interest Lₜ.
2. **Liquidations are closes.** The liquidated units leave open interest: after the wicks it is
   OIₜ₋₁ − Lₜ (Lₜ at most OIₜ₋₁), so an OI fall the liquidations explain shrinks nobody a second
   time, and a flat OI across liquidations means someone opened.
3. **Turnover** (off by default: `turnover_share` 0). Positions opened and closed inside the
   window are a second book: each candle opens τₜ = `turnover_share` × Vₜ/πₜ units (Vₜ the quote
   volume; none when unknown), and the book closes a share 1 − δ of itself every candle, δ =
   exp(−candle / `turnover_hours`), whatever the OI does. Both move OI.
4. **Regular flow.** What is left, Nₜ = OIₜ − (OIₜ₋₁ − Lₜ − turnover closes + τₜ), is the
   regular book's: a fall closes the same fraction of every regular level, long and short alike
   (we cannot tell which cohort closed, so closes split in proportion to size; positions open
   before the window, invisible to the map, close in the same proportion, which is why the
   factor uses the market's OI rather than the map's own total); a rise opens Nₜ units. A candle
   without an OI sample has Nₜ = 0 (only its wicks and turnover move the model's OI) and the
   rest of the change lands on the next sample.
5. **Open** at the candle's **close** (open interest is sampled at the candle's end; the candle
   that opens a position never liquidates it), units × πₜ in USD. The long cohort gets the
   taker-buy share, the short cohort the rest; each is spread over the leverage tiers by weight.
   Isolated margin with maintenance-margin rate m: long `EP·(1−1/L)/(1−m)`, short
   `EP·(1+1/L)/(1+m)`.
6. **Bucket** the surviving levels: width = `bucket_pct` % of the last close, rounded to a plain
   number (1, 2 or 5 × 10^k; $100 for BTC), each level to the nearest bucket; under a cent is
   dust.

Why each step is there: benchmarks/fidelity.py measures the model against simulated markets whose
positions are known (tests/sim); README "How the estimate works" has its table.

How it runs fast: whether a level survives depends on prices only, so each level's liquidation
candle (the first later wick that reaches it) is found for all levels at once (sparse tables of
minima and maxima). Amounts then follow one scalar recurrence over candles: a level born at b
holds Oᵦ·q·Gₜ/Gᵦ per book, with G the running product of that book's factors and q its side
share × tier share, so Lₜ = Gₜ₋₁ · Σ (Oᵦ/Gᵦ)·q over the levels dying at t.
tests/oracles/estimator_reference.py walks the same model one position at a time; tests and
`benchmarks/estimator.py` compare the two. Inputs, parameters and cleaning: estimator_inputs.py.

Bad inputs have defined outcomes (see `clean_inputs`): never NaN or inf in the output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from operator import mul
from typing import NamedTuple

import numpy as np

from core.kernel.errors import DataError
from core.market.estimator_inputs import CandleArrays, CleanInputs, EstimatorParams, clean_inputs

__all__ = [
    "DUST_USD",
    "CandleArrays",
    "CandleFlows",
    "CleanInputs",
    "EstimatorParams",
    "SurvivingPositions",
    "bucket_levels",
    "candle_flows",
    "clean_inputs",
    "estimate_map",
    "estimate_map_tiers",
    "bucket_tiers",
    "first_reach",
    "map_from_positions",
    "plain_bucket_width",
    "surviving_positions",
    "turnover_decay",
]


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
    long_tier: np.ndarray | None = None  # each row's leverage tier (index into params.leverage)
    short_tier: np.ndarray | None = None  # None: not known (the reference walk)


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
    clean = clean_inputs(candles)
    high, low, close, share = clean.high, clean.low, clean.close, clean.share
    unit = clean.unit_price
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

    weight, scale, turnover_weight, turnover_scale = _walk_amounts(
        clean,
        params,
        np.concatenate((births, births)),
        np.concatenate((long_q, short_q)),
        np.concatenate((long_death, short_death)),
    )
    units_per_q = weight[births] * scale + turnover_weight[births] * turnover_scale
    usd_per_q = units_per_q * unit[births]
    long_usd, short_usd = usd_per_q * long_q, usd_per_q * short_q
    long_alive = (long_death >= count) & (long_usd >= DUST_USD)
    short_alive = (short_death >= count) & (short_usd >= DUST_USD)
    tier = np.tile(np.arange(tiers.size), count - 1)
    return SurvivingPositions(
        long_price=long_price[long_alive],
        long_usd=long_usd[long_alive],
        short_price=short_price[short_alive],
        short_usd=short_usd[short_alive],
        last_price=last_price,
        long_tier=tier[long_alive],
        short_tier=tier[short_alive],
    )


class CandleFlows(NamedTuple):
    """One candle's flows in OI units (steps 2 to 5 of the module docstring)."""

    oi_after: float  # the model's open interest after the candle (the sample, when known)
    kept: float  # shrink factor of the regular levels alive before the candle
    opened: float  # units opened at the close as regular (long-lived) positions
    turnover_kept: float  # factor of the turnover levels alive before the candle (their closes)
    turnover_opened: float  # units opened at the close as turnover (short-lived) positions


def candle_flows(
    oi_before: float,
    oi_after: float,
    liquidated: float,
    turnover_alive: float,
    volume: float,
    unit_price: float,
    turnover_share: float,
    turnover_decay: float,
) -> CandleFlows:
    """A candle's flows given the units its wicks liquidated and the turnover units still open
    after them: turnover positions close at their own pace (`turnover_decay` per candle) and open
    `turnover_share` of the volume; what is left of the OI change is the regular flow."""
    if liquidated > oi_before:
        liquidated = oi_before
    known = oi_after == oi_after  # not NaN
    opened_turnover = turnover_closed = 0.0
    if turnover_share > 0:
        turnover_alive = max(0.0, min(turnover_alive, oi_before - liquidated))
        if volume == volume:
            bound = oi_after if known else oi_before
            opened_turnover = max(0.0, min(turnover_share * volume / unit_price, bound))
        turnover_closed = (1 - turnover_decay) * turnover_alive
    else:
        turnover_alive = 0.0
    base = oi_before - liquidated - turnover_alive  # the regular book after the wicks
    expected = oi_before - liquidated - turnover_closed + opened_turnover
    if not known:  # no sample: nothing but the wicks and the turnover moved it
        oi_after = expected if expected > 0 else 0.0
    net = oi_after - expected
    if base <= 0:
        kept = 0.0
    elif net >= 0:
        kept = 1.0
    else:
        kept = (base + net) / base
        kept = 0.0 if kept < 0 else kept
    return CandleFlows(oi_after, kept, net if net > 0 else 0.0, turnover_decay, opened_turnover)


def _walk_amounts(
    clean: CleanInputs,
    params: EstimatorParams,
    birth: np.ndarray,
    q: np.ndarray,
    death: np.ndarray,
) -> tuple[np.ndarray, float, np.ndarray, float]:
    """The scalar recurrence over candles, per book (regular, turnover): W[b] = Oᵦ/Gᵦ per birth
    candle and the final G; a level born at b with share q holds (Wᵦ·G + W'ᵦ·G')·q units at the
    end. G is rescaled to 1 (and W with it) before it underflows or when a book empties."""
    count = clean.oi.size
    dying = np.flatnonzero(death < count)
    dying = dying[np.argsort(death[dying], kind="stable")]
    bounds = np.searchsorted(death[dying], np.arange(count + 1)).tolist()
    dying_birth, dying_q = birth[dying].tolist(), q[dying].tolist()
    oi, unit, volume = clean.oi.tolist(), clean.unit_price.tolist(), clean.volume.tolist()
    share, decay = params.turnover_share, turnover_decay(clean.candle_ms, params.turnover_hours)
    regular_w, turnover_w = [0.0] * count, [0.0] * count  # W per birth candle, per book
    regular_at, turnover_at = regular_w.__getitem__, turnover_w.__getitem__
    regular_g = turnover_g = 1.0  # G per book
    turnover_alive = 0.0
    running = oi[0]  # the model's OI after the previous candle
    for t in range(1, count):
        start, stop = bounds[t], bounds[t + 1]
        liquidated = turnover_liquidated = 0.0
        if stop > start:  # Σ W[b]·q over the levels this candle's wicks reach, per book
            births, shares = dying_birth[start:stop], dying_q[start:stop]
            liquidated = regular_g * sum(map(mul, map(regular_at, births), shares))
            if share > 0:
                turnover_liquidated = turnover_g * sum(map(mul, map(turnover_at, births), shares))
                turnover_alive -= turnover_liquidated
        if share > 0:
            flows = candle_flows(
                running,
                oi[t],
                liquidated + turnover_liquidated,
                turnover_alive,
                volume[t],
                unit[t],
                share,
                decay,
            )
            running, kept, opened = flows.oi_after, flows.kept, flows.opened
        else:  # candle_flows without turnover, inlined: the default, and the hot loop
            base = running - (liquidated if liquidated < running else running)
            after = oi[t]
            if after != after:  # no sample
                after = base if base > 0 else 0.0
            net = after - base
            kept = 0.0 if base <= 0 else 1.0 if net >= 0 else max(0.0, (base + net) / base)
            opened = net if net > 0 else 0.0
            running = after
        regular_g *= kept
        if regular_g < 1e-200:  # keep W·G, move G back to 1 (before it underflows, or at 0)
            regular_w[:t] = [w * regular_g for w in regular_w[:t]]
            regular_g = 1.0
        regular_w[t] = opened / regular_g
        if share > 0:
            turnover_alive = max(0.0, turnover_alive) * decay + flows.turnover_opened
            turnover_g *= decay
            if turnover_g < 1e-200:
                turnover_w[:t] = [w * turnover_g for w in turnover_w[:t]]
                turnover_g = 1.0
            turnover_w[t] = flows.turnover_opened / turnover_g
    return np.asarray(regular_w), regular_g, np.asarray(turnover_w), turnover_g


def turnover_decay(candle_ms: float, turnover_hours: float) -> float:
    """Share of the turnover positions still open one candle later: exp(−candle / mean life)."""
    if turnover_hours <= 0 or not candle_ms > 0:
        return 0.0
    return math.exp(-candle_ms / (turnover_hours * 3_600_000))


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


def bucket_tiers(
    prices: np.ndarray,
    usd: np.ndarray,
    tier: np.ndarray,
    tiers: int,
    width: float,
    onto: np.ndarray,
) -> np.ndarray:
    """USD per (bucket, leverage tier), shape (len(onto), tiers): each row (price, USD, tier
    index) to the nearest multiple of `width`, on the buckets `onto` (bucket_levels' prices at
    that width); rows whose bucket is not in `onto` (dust, non-finite) are dropped."""
    out = np.zeros(onto.size * tiers)
    if not onto.size or not prices.size:
        return out.reshape(onto.size, tiers)
    with np.errstate(invalid="ignore", over="ignore"):
        keep = np.isfinite(prices) & np.isfinite(usd) & (np.abs(prices / width) < 2.0**62)
        keep &= usd > 0
    index = np.round(prices[keep] / width).astype(np.int64)
    buckets = np.round(onto / width).astype(np.int64)
    pos = np.minimum(np.searchsorted(buckets, index), buckets.size - 1)
    found = buckets[pos] == index
    flat = pos[found] * tiers + np.asarray(tier)[keep][found]
    out += np.bincount(flat, weights=usd[keep][found], minlength=out.size)
    return out.reshape(onto.size, tiers)


def estimate_map_tiers(candles: CandleArrays, params: EstimatorParams) -> tuple[np.ndarray, ...]:
    """estimate_map's three arrays, then long and short USD per (bucket, leverage tier) (shape
    (buckets, len(params.leverage))): which tiers make up each level."""
    alive = surviving_positions(candles, params)
    tiers = len(params.leverage)
    if alive.last_price is None:
        return np.empty(0), np.empty(0), np.empty(0), np.empty((0, tiers)), np.empty((0, tiers))
    prices, longs, shorts = map_from_positions(alive, params)
    width = plain_bucket_width(alive.last_price, params.bucket_pct)
    long_tier = alive.long_tier if alive.long_tier is not None else np.zeros(0, np.int64)
    short_tier = alive.short_tier if alive.short_tier is not None else np.zeros(0, np.int64)
    return (
        prices,
        longs,
        shorts,
        bucket_tiers(alive.long_price, alive.long_usd, long_tier, tiers, width, prices),
        bucket_tiers(alive.short_price, alive.short_usd, short_tier, tiers, width, prices),
    )
