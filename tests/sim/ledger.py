"""The positions ledger: pairs opened from the flows, liquidated by the path, counted as OI.

One row per *pair cohort*: a leveraged taker side (long or short, one leverage tier, opened at one
candle's close) together with its passive unleveraged counterparty. Row side 0 is a passive pair
(both sides unleveraged: the open interest that existed before the window). Sizes are in coins;
`usd` is the notional at entry. At each closing candle every open pair keeps the same fraction of
its size (proportional closes, `VenueBook.close_factor`); a day-trader pair also closes whole at
its `exit` candle.

Within a candle the order is the estimator's: first liquidations (a long whose liquidation price
the low reaches, a short whose price the high reaches; never in the candle that opened it), then
closes, then opens at the close.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np

from .flows import VenueFlows
from .paths import PricePath, TouchIndex
from .worlds import VenueSpec, WorldSpec

PULL = 8  # how hard closes pull OI (in contracts) back to its initial level


def liquidation_factors(leverage: tuple[float, ...], m: float) -> tuple[np.ndarray, np.ndarray]:
    """Liquidation price / entry, isolated margin: long (1−1/L)/(1−m), short (1+1/L)/(1+m)."""
    lev = [float(x) for x in leverage]
    longs = np.array([(1 - 1 / x) / (1 - m) for x in lev])
    shorts = np.array([(1 + 1 / x) / (1 + m) for x in lev])
    return longs, shorts


@dataclass(frozen=True, eq=False)
class Positions:
    """The true positions, one row per pair cohort (see the module docstring)."""

    venue: np.ndarray  # index into the world's venues
    birth: np.ndarray  # candle whose close opened it
    side: np.ndarray  # +1 leveraged long, −1 leveraged short, 0 passive pair
    leverage: np.ndarray  # nan for passive pairs
    entry: np.ndarray
    usd: np.ndarray  # notional at entry
    coins: np.ndarray  # size at entry
    liq_price: np.ndarray  # nan for passive pairs
    exit: np.ndarray  # candle at whose end the pair closes whole (candles: never in the window)
    liquidated_at: np.ndarray  # candle that liquidated the leveraged side, −1: never
    oi_exit: np.ndarray  # candle at which the pair leaves open interest (candles: never)
    size_factor: np.ndarray  # share of the opening size held when the leveraged side ended
    #   (liquidated: just before; closed whole: at its exit; else at the end)
    remaining_usd: np.ndarray  # leveraged side still open at the end, entry notional (else 0)

    def __len__(self) -> int:
        return int(self.birth.size)

    def select(self, mask: np.ndarray) -> Positions:
        return Positions(**{f.name: getattr(self, f.name)[mask] for f in fields(self)})

    @property
    def leveraged(self) -> np.ndarray:
        return self.side != 0

    @property
    def open_at_end(self) -> np.ndarray:
        """Leveraged positions still open after the last candle: the true map's positions."""
        return self.remaining_usd > 0


def concat(parts: list[Positions]) -> Positions:
    return Positions(
        **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Positions)}
    )


def open_cohorts(
    spec: WorldSpec,
    venue_index: int,
    venue: VenueSpec,
    flows: VenueFlows,
    path: PricePath,
    rng: np.random.Generator,
) -> Positions:
    """Every pair cohort the flows open on this path (not yet settled)."""
    n = spec.candles
    weights = np.asarray(spec.weights, float)
    tiers = weights / weights.sum()
    leverage = np.asarray(spec.leverage, float)
    long_factor, short_factor = liquidation_factors(spec.leverage, venue.maintenance_margin)
    blocks = []

    # columns: birth, side, leverage, entry, usd, coins, liquidation price, exit
    initial_usd = spec.initial_oi_usd * venue.share  # passive pairs, open before the window
    first = float(path.open[0])
    blocks.append(
        ([0], [0], [np.nan], [first], [initial_usd], [initial_usd / first], [np.nan], [n])
    )

    def add(births: np.ndarray, notional: np.ndarray, exits: dict[int, np.ndarray] | None) -> None:
        share = flows.long_share[births]
        entry = path.close[births]
        for side, part, factor in ((1, share, long_factor), (-1, 1 - share, short_factor)):
            usd = (notional * part)[:, None] * tiers[None, :]  # the estimator's order of products
            exit_ = np.full(usd.shape, n) if exits is None else exits[side]
            blocks.append(
                (
                    np.repeat(births, tiers.size),
                    np.full(usd.size, side),
                    np.tile(leverage, births.size),
                    np.repeat(entry, tiers.size),
                    usd.ravel(),
                    (usd / entry[:, None]).ravel(),
                    (entry[:, None] * factor[None, :]).ravel(),
                    exit_.ravel(),
                )
            )

    births = np.flatnonzero(flows.open_usd > 0)
    add(births, flows.open_usd[births], None)
    day_births = np.flatnonzero(flows.day_usd > 0)
    if day_births.size:
        life = spec.day_traders.mean_life  # type: ignore[union-attr]
        shape = (day_births.size, tiers.size)
        exits = {
            side: day_births[:, None] + np.maximum(1, np.rint(rng.exponential(life, shape)))
            for side in (1, -1)
        }
        exits = {side: np.minimum(e, n).astype(np.int64) for side, e in exits.items()}
        add(day_births, flows.day_usd[day_births], exits)

    columns = [np.concatenate([np.asarray(b[i]) for b in blocks]) for i in range(8)]
    birth, side, lev, entry, usd, coins, liq, exit_ = columns
    count = birth.size
    return Positions(
        venue=np.full(count, venue_index, dtype=np.int64),
        birth=birth.astype(np.int64),
        side=side.astype(np.int8),
        leverage=lev.astype(float),
        entry=entry.astype(float),
        usd=usd.astype(float),
        coins=coins.astype(float),
        liq_price=liq.astype(float),
        exit=exit_.astype(np.int64),
        liquidated_at=np.full(count, -1, dtype=np.int64),
        oi_exit=exit_.astype(np.int64),
        size_factor=np.ones(count),
        remaining_usd=np.zeros(count),
    )


def mark_events(spec: WorldSpec, cohorts: Positions, touch: TouchIndex) -> Positions:
    """Each leveraged side's liquidation candle, and the candle each pair leaves OI. Neither
    depends on sizes, so the closes (which do) can be decided afterwards from the actual OI."""
    n = spec.candles
    touched = touch.first_touch(cohorts.birth + 1, cohorts.liq_price, cohorts.side > 0)
    liquidated = cohorts.leveraged & (touched <= np.minimum(cohorts.exit, n - 1))
    liquidated_at = np.where(liquidated, touched, -1)
    if spec.liquidation_oi == "close":
        oi_exit = np.where(liquidated, liquidated_at, cohorts.exit)
    else:  # the liquidated side passes to a passive holder: the pair stays in OI
        oi_exit = cohorts.exit.copy()
    return replace(
        cohorts, liquidated_at=liquidated_at.astype(np.int64), oi_exit=oi_exit.astype(np.int64)
    )


@dataclass(frozen=True, eq=False)
class VenueBook:
    """A venue's true open interest after every candle (what its OI sample at the candle's end
    reads): in coins, valued at entry (cost basis) and at the close; and the closes that made it."""

    oi_coins: np.ndarray
    oi_entry_usd: np.ndarray
    oi_mark_usd: np.ndarray
    close_factor: np.ndarray  # every open pair kept this fraction at the candle
    log_survival: np.ndarray  # Σ log close_factor up to t: a pair born at b holds exp(L[t]−L[b])


def _by_candle(mask: np.ndarray, at: np.ndarray, n: int) -> tuple[list[int], list[int]]:
    rows = np.flatnonzero(mask)
    rows = rows[np.argsort(at[rows], kind="stable")]
    return rows.tolist(), np.searchsorted(at[rows], np.arange(n + 1)).tolist()


def venue_book(
    spec: WorldSpec, venue: VenueSpec, positions: Positions, flows: VenueFlows, path: PricePath
) -> VenueBook:
    """Walk the candles: liquidations leave (if they close OI), then every pair keeps the
    closing factor f_t = 1 − draw_t × (OI / initial OI)^PULL, then day-trader pairs due close
    whole, then the candle's pairs open. A pair's size is coins × exp(L[t] − L[birth])."""
    n = spec.candles
    leaves = positions.oi_exit < n
    by_liquidation = leaves & (positions.oi_exit == positions.liquidated_at)
    if spec.liquidation_oi != "close":
        by_liquidation[:] = False
    liq_rows, liq_bounds = _by_candle(by_liquidation, positions.oi_exit, n)
    close_rows, close_bounds = _by_candle(leaves & ~by_liquidation, positions.oi_exit, n)
    coins, usd, birth = positions.coins.tolist(), positions.usd.tolist(), positions.birth.tolist()
    opened_coins = np.bincount(positions.birth, weights=positions.coins, minlength=n).tolist()
    opened_usd = np.bincount(positions.birth, weights=positions.usd, minlength=n).tolist()
    draws = flows.close_draw.tolist()
    target = spec.initial_oi_usd * venue.share / float(path.open[0])

    unit = [0.0] * n  # exp(−L[b]): a pair born at b holds coins × exp(L[t]) × unit[b] at t
    factors, logs, oi_coins, oi_usd = [1.0] * n, [0.0] * n, [0.0] * n, [0.0] * n
    level_coins = level_usd = log = 0.0
    for t in range(n):
        scale = math.exp(log)
        for k in liq_rows[liq_bounds[t] : liq_bounds[t + 1]]:
            level_coins -= coins[k] * scale * unit[birth[k]]
            level_usd -= usd[k] * scale * unit[birth[k]]
        if draws[t] > 0:
            factor = 1.0 - min(0.2, draws[t] * (level_coins / target) ** PULL)
            level_coins *= factor
            level_usd *= factor
            log += math.log(factor)
            factors[t] = factor
        scale = math.exp(log)
        for k in close_rows[close_bounds[t] : close_bounds[t + 1]]:
            level_coins -= coins[k] * scale * unit[birth[k]]
            level_usd -= usd[k] * scale * unit[birth[k]]
        level_coins += opened_coins[t]
        level_usd += opened_usd[t]
        unit[t] = 1.0 / scale
        logs[t], oi_coins[t], oi_usd[t] = log, level_coins, level_usd
    coins_series = np.array(oi_coins)
    return VenueBook(
        coins_series, np.array(oi_usd), coins_series * path.close, np.array(factors), np.array(logs)
    )


def finish(spec: WorldSpec, positions: Positions, logs: list[np.ndarray]) -> Positions:
    """Sizes from the closes: what each leveraged side held when it ended, and what is left."""
    n = spec.candles
    liquidated = positions.liquidated_at >= 0
    # a liquidation comes before that candle's closes, a whole close after them
    at = np.where(liquidated, positions.liquidated_at - 1, np.minimum(positions.exit, n - 1))
    log_at = np.empty(len(positions))
    log_birth = np.empty(len(positions))
    for index, log in enumerate(logs):
        mine = positions.venue == index
        log_birth[mine] = log[positions.birth[mine]]
        log_at[mine] = log[at[mine]]
    size_factor = np.exp(log_at - log_birth)
    alive = positions.leveraged & ~liquidated & (positions.exit >= n)
    remaining = np.where(alive, positions.usd * size_factor, 0.0)
    return replace(positions, size_factor=size_factor, remaining_usd=remaining)


def open_interest_at(positions: Positions, log: np.ndarray, t: int) -> float:
    """Open interest in coins after candle t, counted straight from the ledger (an independent
    count for tests): every pair still in OI has one long and one short side, so this is both the
    open longs (leveraged or passive) and the open shorts."""
    here = (positions.birth <= t) & (positions.oi_exit > t)
    return float((positions.coins[here] * np.exp(log[t] - log[positions.birth[here]])).sum())
