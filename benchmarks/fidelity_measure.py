"""The fidelity harness's measurements: the estimate and a naive baseline against the true map.

For one simulated world (tests/sim) this builds three maps, all bucketed the same way:

- **true**: the simulator's map of the leveraged positions still open (`world.true_map`);
- **estimate**: core.market.estimator.estimate_map run *per venue* on what that venue publishes,
  with that venue's maintenance margin, and the venues' maps summed (how the aggregate map works).
  Bybit publishes no taker split: its candles take the same candle's share from another venue
  (Binance, else OKX), else 0.5. OKX open interest in contracts is turned into coins with ctVal;
- **naive**: what many open-source maps draw: each candle's quote volume, split long/short by its
  taker-buy share, opened at the candle's close at fixed leverages 10x, 25x, 50x and 100x (equal
  weights, liquidation price entry·(1 ∓ 1/L), no maintenance margin), a level removed once a later
  candle's wick reaches it, and no open interest at all (nothing ever closes).

and compares them through core.market.analysis.analyze (the bot's own reading of a map):
totals above and below the last close, the imbalance ratio, and the key zones' peaks.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime

import numpy as np

from core.market.analysis import analyze
from core.market.estimator import CandleArrays, EstimatorParams, estimate_map, plain_bucket_width
from core.types import Analysis, Level, Snapshot
from tests.sim import World, simulate

NAIVE_LEVERAGE = (10.0, 25.0, 50.0, 100.0)
Map = tuple[np.ndarray, np.ndarray, np.ndarray]


def borrowed_share(world: World, venue: str) -> np.ndarray:
    """A venue's taker-buy share per candle; where it publishes none (Bybit), the same candle's
    share from Binance, else OKX, else 0.5."""
    own = world.venues[venue].arrays
    share = np.array(own.taker_buy_share, dtype=float)
    for other in ("binance", "okx"):
        if other == venue or other not in world.venues:
            continue
        theirs = world.venues[other].arrays
        times, shares = theirs.open_time_ms.tolist(), theirs.taker_buy_share.tolist()
        lookup = dict(zip(times, shares, strict=True))
        for i in np.flatnonzero(~np.isfinite(share)).tolist():
            share[i] = lookup.get(float(own.open_time_ms[i]), math.nan)
    return np.where(np.isfinite(share), share, 0.5)


def venue_candles(world: World, venue: str, days: float | None = None) -> CandleArrays:
    """What the venue publishes as core's CandleArrays (only the fields this core knows), the
    last `days` of it (None: the whole simulated month)."""
    publication = world.venues[venue]
    a = publication.arrays
    available = {
        "open_time_ms": a.open_time_ms.astype(float),
        "high": a.high,
        "low": a.low,
        "close": a.close,
        "taker_buy_share": borrowed_share(world, venue),
        "oi_usd": a.oi_usd,
        "oi_contracts": a.oi_contracts * publication.contract_value,  # coins
        "quote_volume": a.quote_volume,
    }
    available = fill_gaps(world, venue, available)
    if days is not None:
        times = available["open_time_ms"]
        recent = times > float(world.path.open_time_ms[-1]) - days * 86_400_000
        available = {name: values[recent] for name, values in available.items()}
    known = [f.name for f in fields(CandleArrays)]
    return CandleArrays(**{name: available[name] for name in known if name in available})


def fill_gaps(world: World, venue: str, columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Candles this venue did not publish but another venue did (the same market: a wick seen
    there reached this venue's levels too) are added with the other venue's high, low, close and
    taker share, and no open interest or volume (NaN)."""
    times = columns["open_time_ms"]
    extra: dict[float, tuple[float, float, float, float]] = {}
    for other, publication in world.venues.items():
        if other == venue:
            continue
        a = publication.arrays
        share = borrowed_share(world, other)
        for i in np.flatnonzero(~np.isin(a.open_time_ms.astype(float), times)).tolist():
            key = float(a.open_time_ms[i])
            extra.setdefault(key, (a.high[i], a.low[i], a.close[i], share[i]))
    if not extra:
        return columns
    added = sorted(extra)
    rows = np.array([extra[t] for t in added], dtype=float).reshape(-1, 4)
    new = {
        "open_time_ms": np.array(added),
        "high": rows[:, 0],
        "low": rows[:, 1],
        "close": rows[:, 2],
        "taker_buy_share": rows[:, 3],
    }
    order = np.argsort(np.concatenate((times, new["open_time_ms"])), kind="stable")
    return {
        name: np.concatenate((values, new.get(name, np.full(len(added), np.nan))))[order]
        for name, values in columns.items()
    }


def sum_maps(maps: list[Map]) -> Map:
    """Bucket-wise sum of maps on the same bucket grid."""
    prices = np.unique(np.concatenate([m[0] for m in maps])) if maps else np.empty(0)
    longs, shorts = np.zeros(prices.size), np.zeros(prices.size)
    for p, lo, sh in maps:
        where = np.searchsorted(prices, p)
        np.add.at(longs, where, lo)
        np.add.at(shorts, where, sh)
    return prices, longs, shorts


def estimated_map(
    world: World, params: EstimatorParams | None = None, days: float | None = None
) -> Map:
    """The aggregate estimate: each venue with its own maintenance margin, summed."""
    base = params or EstimatorParams()
    maps = []
    for name, publication in world.venues.items():
        venue_params = EstimatorParams(
            **{**asdict(base), "maintenance_margin": publication.maintenance_margin}
        )
        maps.append(estimate_map(venue_candles(world, name, days), venue_params))
    return sum_maps(maps)


def naive_venue_map(world: World, venue: str, price: float) -> Map:
    a = world.venues[venue].arrays
    close, high, low = a.close, a.high, a.low
    share = borrowed_share(world, venue)
    volume = np.where(np.isfinite(a.quote_volume), a.quote_volume, 0.0)
    lowest_after = np.append(np.minimum.accumulate(low[::-1])[::-1][1:], np.inf)
    highest_after = np.append(np.maximum.accumulate(high[::-1])[::-1][1:], -np.inf)
    lev = np.asarray(NAIVE_LEVERAGE)[None, :]
    per_tier = 1 / lev.size
    long_liq = close[:, None] * (1 - 1 / lev)
    short_liq = close[:, None] * (1 + 1 / lev)
    long_usd = np.broadcast_to((volume * share)[:, None] * per_tier, long_liq.shape)
    short_usd = np.broadcast_to((volume * (1 - share))[:, None] * per_tier, short_liq.shape)
    long_alive = long_liq < lowest_after[:, None]
    short_alive = short_liq > highest_after[:, None]
    width = plain_bucket_width(price, EstimatorParams().bucket_pct)
    prices = np.concatenate((long_liq[long_alive], short_liq[short_alive]))
    longs = np.concatenate((long_usd[long_alive], np.zeros(int(short_alive.sum()))))
    shorts = np.concatenate((np.zeros(int(long_alive.sum())), short_usd[short_alive]))
    index = np.round(prices / width).astype(np.int64)
    buckets, where = np.unique(index, return_inverse=True)
    return (
        np.round(buckets * width, 6),
        np.bincount(where, weights=longs, minlength=buckets.size),
        np.bincount(where, weights=shorts, minlength=buckets.size),
    )


def naive_map(world: World) -> Map:
    return sum_maps([naive_venue_map(world, name, world.price) for name in world.venues])


def read_map(world: World, liq_map: Map, source: str) -> Analysis:
    """The bot's reading of a map at the world's last close."""
    levels = tuple(
        Level(float(p), long_usd=float(lo), short_usd=float(sh))
        for p, lo, sh in zip(*liq_map, strict=True)
        if lo > 0 or sh > 0
    )
    as_of = datetime.fromtimestamp(float(world.path.open_time_ms[-1]) / 1000, UTC)
    snapshot = Snapshot(world.symbol, world.price, levels, source=source, as_of=as_of)
    return analyze(snapshot)


@dataclass(frozen=True)
class Reading:
    """One map's figures, and their errors against the true map's."""

    short_above: float
    long_below: float
    ratio: float
    ratio_error_pct: float  # |ratio / true ratio − 1| × 100
    key_short: float  # peak price of the key zone above (nan: none)
    key_long: float
    key_error_pct: float  # the larger of the two key-zone peak errors, % of price


def _peak(zone) -> float:
    return zone.peak if zone is not None else math.nan


def reading(truth: Analysis, other: Analysis) -> Reading:
    price = truth.price
    ratio = other.ratio if other.ratio is not None else math.nan
    true_ratio = truth.ratio if truth.ratio is not None else math.nan
    errors = [
        abs(_peak(mine) - _peak(real)) / price * 100
        for mine, real in ((other.key_short, truth.key_short), (other.key_long, truth.key_long))
    ]
    return Reading(
        short_above=other.short_above_usd,
        long_below=other.long_below_usd,
        ratio=ratio,
        ratio_error_pct=abs(ratio / true_ratio - 1) * 100,
        key_short=_peak(other.key_short),
        key_long=_peak(other.key_long),
        key_error_pct=max(errors),
    )


@dataclass(frozen=True)
class WorldFigures:
    world: str
    description: str
    price: float
    true: Reading
    estimate: Reading
    naive: Reading


def measure(
    world: str | World, params: EstimatorParams | None = None, days: float | None = None
) -> WorldFigures:
    """One world's figures; `days` limits the estimate to the last days of history (the bot's
    `[estimator] days`); the truth and the naive map always see the whole month."""
    w = simulate(world) if isinstance(world, str) else world
    truth = read_map(w, w.true_map, "truth")
    return WorldFigures(
        world=w.spec.name,
        description=w.spec.description,
        price=w.price,
        true=reading(truth, truth),
        estimate=reading(truth, read_map(w, estimated_map(w, params, days), "estimate")),
        naive=reading(truth, read_map(w, naive_map(w), "naive")),
    )


@dataclass(frozen=True)
class KeyZoneMoves:
    """How far the estimated key zones move from one refresh to the next (% of price, mean over
    both sides and all refreshes), for the peak as analysis defines it (the zone's weighted
    centre), for the arg-max bucket it replaced, and for the edges breakout rules use."""

    refreshes: int
    centre_pct: float
    argmax_pct: float
    edge_pct: float
    centre_jumps: int  # moves of more than 0.5 % of price
    argmax_jumps: int


def _argmax_peak(liq_map: Map, zone, side: str) -> float:
    prices, longs, shorts = liq_map
    usd = longs if side == "long" else shorts
    inside = (prices >= zone.low) & (prices <= zone.high)
    return float(prices[inside][np.argmax(usd[inside])])


def key_zone_moves(world: str | World, refreshes: int = 24, every: int = 12) -> KeyZoneMoves:
    """Re-estimate the map at `refreshes` points `every` candles apart, ending at the last candle
    (the bot refreshes as candles close), and measure how the key zones move between them."""
    w = simulate(world) if isinstance(world, str) else world
    candles = {name: venue_candles(w, name) for name in w.venues}
    params = {
        name: EstimatorParams(maintenance_margin=v.maintenance_margin)
        for name, v in w.venues.items()
    }
    end = float(w.path.open_time_ms[-1])
    step = float(w.path.open_time_ms[1] - w.path.open_time_ms[0]) * every
    readings = []
    for k in range(refreshes - 1, -1, -1):
        until = end - k * step
        maps = []
        for name, c in candles.items():
            rows = c.open_time_ms <= until
            cut = CandleArrays(**{f.name: getattr(c, f.name)[rows] for f in fields(CandleArrays)})
            maps.append(estimate_map(cut, params[name]))
        liq_map = sum_maps(maps)
        price = float(w.path.close[np.searchsorted(w.path.open_time_ms, until)])
        levels = tuple(
            Level(
                float(p),
                long_usd=float(lo) if p < price else 0.0,
                short_usd=float(sh) if p > price else 0.0,
            )
            for p, lo, sh in zip(*liq_map, strict=True)
        )
        as_of = datetime.fromtimestamp(until / 1000, UTC)
        analysis = analyze(Snapshot(w.symbol, price, levels, source="estimate", as_of=as_of))
        readings.append((price, liq_map, analysis))
    centre, argmax, edge = [], [], []
    for (_, map_a, a), (price, map_b, b) in zip(readings, readings[1:], strict=False):
        for side, za, zb, far in (
            ("short", a.key_short, b.key_short, "high"),
            ("long", a.key_long, b.key_long, "low"),
        ):
            if za is None or zb is None:
                continue
            centre.append(abs(zb.peak - za.peak) / price * 100)
            argmax.append(
                abs(_argmax_peak(map_b, zb, side) - _argmax_peak(map_a, za, side)) / price * 100
            )
            edge.append(abs(getattr(zb, far) - getattr(za, far)) / price * 100)
    return KeyZoneMoves(
        refreshes=refreshes,
        centre_pct=float(np.mean(centre)) if centre else math.nan,
        argmax_pct=float(np.mean(argmax)) if argmax else math.nan,
        edge_pct=float(np.mean(edge)) if edge else math.nan,
        centre_jumps=int(sum(m > 0.5 for m in centre)),
        argmax_jumps=int(sum(m > 0.5 for m in argmax)),
    )
