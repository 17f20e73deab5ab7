"""The simulated market: `simulate(name_or_spec)` → `World` (see tests/sim/__init__.py).

Order of work: draw the price path and every venue's flows (independent random streams per seed),
open the pair cohorts on the path, settle them (liquidations, closes, what is left), count open
interest per venue, then publish. A cascade world rebuilds its cascade candles first: the
positions opened before it are settled on the path so far, and each cascade candle is pushed
further by the notional its own liquidations dump, until no new position is reached.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .flows import VenueFlows, venue_flows
from .ledger import Positions, VenueBook, concat, finish, mark_events, open_cohorts, venue_book
from .maps import LiqMap, SideTotals, map_of, side_totals
from .paths import (
    FIVE_MINUTES_MS,
    PathDraws,
    PricePath,
    TouchIndex,
    build_path,
    draw_path,
    segment,
    to_tick,
)
from .publish import VenuePublication
from .worlds import WORLDS, WorldSpec


@dataclass(frozen=True, eq=False)
class World:
    """One simulated month: the market, its true positions and what every venue published."""

    spec: WorldSpec
    path: PricePath  # the price every venue traded
    venues: dict[str, VenuePublication]
    positions: Positions  # every venue's pair cohorts (`.venue` indexes spec.venues)
    prints: list[dict[str, Any]]  # every venue's liquidation prints, by time
    true_map: LiqMap  # aggregated over venues

    @property
    def price(self) -> float:
        """The last close (the estimator's bucket width and side split come from it)."""
        return float(self.path.close[-1])

    @property
    def symbol(self) -> str:
        return self.spec.symbol

    def totals(self, liq_map: tuple[np.ndarray, ...] | None = None) -> SideTotals:
        """Shorts above / longs below the last close, of the true map or of `liq_map`."""
        return side_totals(self.true_map if liq_map is None else liq_map, self.price)


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def simulate(world: str | WorldSpec) -> World:
    """Run one world; the same name (or spec) always gives identical numbers."""
    spec = WORLDS[world] if isinstance(world, str) else world
    draws = draw_path(spec, _rng(spec.seed, 0))
    flows = [venue_flows(spec, v, _rng(spec.seed, 100 + i)) for i, v in enumerate(spec.venues)]

    def cohorts_on(path: PricePath) -> Positions:
        return concat(
            [
                open_cohorts(spec, i, venue, flows[i], path, _rng(spec.seed, 200 + i))
                for i, venue in enumerate(spec.venues)
            ]
        )

    def books_of(positions: Positions, path: PricePath) -> list[VenueBook]:
        return [
            venue_book(spec, venue, positions.select(positions.venue == i), flows[i], path)
            for i, venue in enumerate(spec.venues)
        ]

    path = build_path(spec, draws)
    cohorts = cohorts_on(path)
    if spec.cascade is not None:
        # the closes before the cascade only depend on the path before it, which stays
        settled = mark_events(spec, cohorts, TouchIndex(path.low, path.high))
        logs = [book.log_survival for book in books_of(settled, path)]
        path = _cascade(spec, draws, path, cohorts, logs)
        cohorts = cohorts_on(path)
    positions = mark_events(spec, cohorts, TouchIndex(path.low, path.high))
    books = books_of(positions, path)
    positions = finish(spec, positions, [book.log_survival for book in books])
    prints_rng = _rng(spec.seed, 300)
    last = float(path.close[-1])

    venues: dict[str, VenuePublication] = {}
    for i, venue in enumerate(spec.venues):
        mine = positions.select(positions.venue == i)
        publication = VenuePublication(
            spec, venue, path, flows[i], books[i], mine, [], _true_map(mine, last)
        )
        publication.liquidations.extend(_prints(publication, prints_rng))
        venues[venue.name] = publication
    prints = sorted(
        (p for v in venues.values() for p in v.liquidations), key=lambda p: (p["time"], p["venue"])
    )
    return World(spec, path, venues, positions, prints, _true_map(positions, last))


def _true_map(positions: Positions, last_price: float) -> LiqMap:
    alive = positions.open_at_end
    return map_of(
        positions.liq_price[alive],
        positions.remaining_usd[alive],
        positions.side[alive] > 0,
        last_price,
    )


def _prints(venue: VenuePublication, rng: np.random.Generator) -> list[dict[str, Any]]:
    """One print per liquidated cohort: the leveraged side's size just before, at its price."""
    positions, path = venue.positions, venue.path
    rows = np.flatnonzero(positions.liquidated_at >= 0)
    candle = positions.liquidated_at[rows]
    time = path.open_time_ms[candle] + rng.integers(0, FIVE_MINUTES_MS, rows.size)
    order = np.argsort(time, kind="stable")
    rows, candle, time = rows[order], candle[order], time[order]
    coins = positions.coins[rows] * positions.size_factor[rows]
    price = positions.liq_price[rows]
    sides = np.where(positions.side[rows] > 0, "long", "short").tolist()
    return [
        {
            "venue": venue.name,
            "symbol": venue.symbol,
            "side": side,
            "price": p,
            "qty": q / venue.contract_value,
            "usd": q * p,
            "time": t,
            "candle": c,
        }
        for side, p, q, t, c in zip(
            sides, price.tolist(), coins.tolist(), time.tolist(), candle.tolist(), strict=True
        )
    ]


def _cascade(
    spec: WorldSpec,
    draws: PathDraws,
    path: PricePath,
    cohorts: Positions,
    logs: list[np.ndarray],
) -> PricePath:
    cascade = spec.cascade
    assert cascade is not None
    start, stop = cascade.start, min(cascade.start + cascade.length, spec.candles)
    before = cohorts.select(cohorts.leveraged & (cohorts.birth < start))
    touch = TouchIndex(path.low[:start], path.high[:start])
    touched = touch.first_touch(before.birth + 1, before.liq_price, before.side > 0)
    alive = (touched >= start) & (before.exit >= start)
    notional = before.usd.copy()  # entry notional left at the cascade's start
    for index, log in enumerate(logs):
        mine = before.venue == index
        notional[mine] *= np.exp(log[start - 1] - log[before.birth[mine]])
    is_long, level = before.side > 0, before.liq_price

    open_, high, low, close = (a.copy() for a in (path.open, path.high, path.low, path.close))
    tick = spec.tick
    for t in range(start, stop):
        first = float(close[t - 1])
        step = t - start
        end = first * math.exp(
            cascade.returns[step] if step < len(cascade.returns) else draws.returns[t]
        )
        bottom = min(first, end) * (1 - draws.wick_down[t])
        top = max(first, end) * (1 + draws.wick_up[t])
        while True:
            hit_long = alive & is_long & (level >= bottom)
            hit_short = alive & ~is_long & (level <= top)
            if not (hit_long.any() or hit_short.any()):
                break
            alive &= ~(hit_long | hit_short)
            down = min(0.5, cascade.impact_per_usd * float(notional[hit_long].sum()))
            up = min(0.5, cascade.impact_per_usd * float(notional[hit_short].sum()))
            bottom *= 1 - down
            top *= 1 + up
            end *= (1 - cascade.carry * down) * (1 + cascade.carry * up)
        end = min(max(end, bottom), top)
        open_[t], close[t] = first, to_tick(end, tick)
        high[t] = max(to_tick(top, tick, "up"), to_tick(max(first, close[t]) + tick, tick))
        low[t] = min(to_tick(bottom, tick, "down"), to_tick(min(first, close[t]) - tick, tick))
    if stop < spec.candles:
        after = slice(stop, None)
        o, h, lo, c = segment(
            float(close[stop - 1]),
            draws.returns[after],
            draws.wick_up[after],
            draws.wick_down[after],
            tick,
        )
        open_[after], high[after], low[after], close[after] = o, h, lo, c
    return PricePath(path.open_time_ms, open_, high, low, close)


def flows_of(world: World, venue: str) -> VenueFlows:
    """A venue's order flow (true taker split, opened notional...), for diagnostics."""
    return world.venues[venue].flows
