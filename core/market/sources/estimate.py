"""The default, free source: a liquidation map estimated from the venues' public data.

Per venue (`[data] venues`, default Binance, Bybit and OKX; core/market/sources/venue_registry.py):
klines and open interest for the last `[estimator] days` at `[estimator] interval` (as far back as
the venue keeps open interest: OKX only 5 days at 5m), aligned by timestamp, through
core.estimator.estimate_map with the venue's own maintenance-margin rate. The aggregate is the sum
of the venues' maps, split at one price (Binance's mark price when it answers, else the first
venue's), and the snapshot keeps each venue's share (`Snapshot.venues`). A venue that fails, does
not list the coin or has not answered within `[estimator] venue_budget_seconds` is left out and
named (venue_calls.py); all venues failing is an error, as with one venue.

Bybit publishes no taker-buy split: its candles take the share of Binance's candle with the same
open time when Binance answered, else 0.5; the snapshot's note says which.

The history is kept per venue and symbol between refreshes (core/market/sources/history.py): the
first snapshot of a symbol downloads the whole window, later ones only one page of klines and at
most one of open interest per venue, and give the same map a full download would.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

import numpy as np

from core.kernel.clock import utcnow
from core.kernel.config import Config, ConfigPart
from core.kernel.errors import DataError, SourceUnavailable, UnknownSymbol
from core.kernel.symbols import normalize
from core.market.estimator import (
    CandleArrays,
    EstimatorParams,
    bucket_levels,
    bucket_tiers,
    estimate_map_tiers,
    plain_bucket_width,
)
from core.market.observed import ObservedMap
from core.market.sources.binance import (
    DAY_MS,
    HOUR_MS,
    BinanceClient,
    Clock,
    OpenInterestPoint,
    interval_ms,
)
from core.market.sources.binance import price_context as context_from_klines
from core.market.sources.history import (
    History,
    HistoryStore,
    UpdatePlan,
    plan_update,
    stitch,
    window_bounds,
)
from core.market.sources.http import gather_or_cancel
from core.market.sources.venue_calls import DEFAULT_BUDGET_SECONDS, VenueCalls
from core.market.sources.venue_maps import (  # noqa: F401  (align_candles, levels_by_side: re-exported)
    align_candles,
    all_failed,
    borrowed_note,
    levels_by_side,
    reason,
    sum_levels,
    sum_tiers,
    taker_shares,
    tiers_by_side,
)
from core.market.sources.venue_registry import VENUES
from core.market.sources.venues import BinanceVenue, Venue
from core.types import Candle, Snapshot, VenueShare

log = logging.getLogger(__name__)

MapEstimator = Callable[[CandleArrays, EstimatorParams], tuple[np.ndarray, ...]]
Map = tuple[np.ndarray, ...]  # prices, longs, shorts[, long USD per tier, short USD per tier]


class EstimateSource:
    """The `estimate` source (no key). The numpy work runs in a thread, off the event loop.

    `EstimateSource(binance_client)` is the Binance-only estimate; `venues=` gives the venues to
    sum (in the order the reports list them) and `venue_params` their own estimator parameters
    (by venue name; `params` otherwise). `incremental=False` downloads the whole window on every
    snapshot (the behaviour before the history was kept; benchmarks compare the two). Symbols not
    asked for in `history_idle_seconds` are forgotten.
    """

    name = "estimate"

    def __init__(
        self,
        binance: BinanceClient | None = None,
        params: EstimatorParams | None = None,
        *,
        venues: Sequence[Venue] | None = None,
        venue_params: Mapping[str, EstimatorParams] | None = None,
        days: int = 7,
        interval: str = "5m",
        clock: Clock | None = None,
        estimator: MapEstimator = estimate_map_tiers,
        incremental: bool = True,
        history_idle_seconds: float = HOUR_MS / 1000,
        venue_budget_seconds: float = DEFAULT_BUDGET_SECONDS,
    ):
        interval_ms(interval)  # refuse an interval Binance does not serve, now
        if venues is None:
            if binance is None:
                raise ValueError("EstimateSource needs a BinanceClient or venues")
            venues = (BinanceVenue(binance),)
        if not venues:
            raise ValueError("EstimateSource needs at least one venue")
        self.venues: tuple[Venue, ...] = tuple(venues)
        self.binance = binance
        self.params = params or EstimatorParams()
        self.venue_params = dict(venue_params or {})
        self.days = days
        self.interval = interval
        self._clock = clock or utcnow
        self._estimate = estimator
        self.incremental = incremental
        self._histories = HistoryStore(idle_ms=int(history_idle_seconds * 1000))
        self._calls = VenueCalls(venue_budget_seconds)

    @classmethod
    def from_config(
        cls, config: Config, clock: Clock | None = None, venues: Sequence[str] | None = None
    ) -> EstimateSource:
        section = config.section("estimator")
        params = EstimatorParams.from_config(section)
        names = list(venues or config.get("data", "venues"))
        built = [VENUES[name].factory(config, clock) for name in names]
        venue_params = {
            name: dataclasses.replace(
                params, maintenance_margin=config.get(*VENUES[name].margin_key)
            )
            for name in names
        }
        return cls(
            params=params,
            venues=built,
            venue_params=venue_params,
            days=section["days"],
            interval=section["interval"],
            clock=clock,
            venue_budget_seconds=section["venue_budget_seconds"],
        )

    def _now_ms(self) -> int:
        return int(self._clock().timestamp() * 1000)

    async def snapshot(self, symbol: str) -> Snapshot:
        coin = normalize(symbol)
        now = self._now_ms()
        step = interval_ms(self.interval)
        # Within the budget; a late venue is named and keeps fetching in the background.
        answered, failures = await self._calls.ask(
            self.venues, coin, lambda venue: self._fetch(venue, coin, now, step)
        )
        if not answered:
            raise all_failed(coin, self.venues, failures)
        # the split price and the context come from an estimated venue when one answered
        estimated = [r for r in answered.values() if not isinstance(r[1], ObservedMap)]
        reference = answered.get("binance") or (estimated or list(answered.values()))[0]
        price = reference[0]
        ref_klines = () if isinstance(reference[1], ObservedMap) else reference[1].klines
        binance = answered.get("binance")
        borrowed = taker_shares(binance[1].klines) if binance else {}
        maps, notes = {}, []
        for venue in self.venues:
            if venue.name not in answered:
                continue
            history = answered[venue.name][1]
            if isinstance(history, ObservedMap):  # Hyperliquid: the wallets' own positions
                maps[venue.name] = history.arrays()
                notes.append(history.note(self._clock()))
                continue
            try:
                maps[venue.name] = await self._venue_map(venue, coin, history, step, borrowed)
            except SourceUnavailable as exc:
                failures[venue.name] = exc
                continue
            if venue.taker_split == "none":
                notes.append(borrowed_note(venue, history.klines, borrowed))
        if not maps:
            raise all_failed(coin, self.venues, failures)
        shares, tier_rows = self._shares(maps, failures, price)
        levels = sum_levels([s.levels for s in shares if s.status == "ok"])
        if self.days >= 7 or binance is None:
            context = context_from_klines(ref_klines, now)
        else:
            context = await self._binance_context(coin)
        return Snapshot(
            symbol=coin,
            price=price,
            levels=levels,
            source=self.name,
            as_of=self._clock(),
            context=context,
            note=" · ".join(notes),
            venues=shares,
            tiers=sum_tiers(tier_rows) if tier_rows else (),
            tier_leverage=self.params.leverage if tier_rows else (),
        )

    def _shares(
        self, maps: Mapping[str, Map], failures: Mapping[str, Exception], price: float
    ) -> tuple[tuple[VenueShare, ...], list[dict[float, np.ndarray]]]:
        """Each venue's levels on one grid (the reference price's bucket width when several venues
        answered), split at `price`; the failed ones with their reason. Then the tier rows of the
        venues whose map has them (the estimated ones; none when the estimator gives none)."""
        width = None
        if len(maps) > 1:
            width = plain_bucket_width(price, self.params.bucket_pct)
        shares, tier_rows = [], []
        for venue in self.venues:
            if venue.name in maps:
                prices, longs, shorts, *tiers = maps[venue.name]
                if width is not None:
                    raw = prices
                    prices, longs, shorts = bucket_levels(prices, longs, shorts, width)
                    tiers = [_rebucket(raw, t, width, prices) for t in tiers]
                levels = levels_by_side(prices, longs, shorts, price)
                if len(tiers) == 2:
                    tier_rows.append(tiers_by_side(prices, tiers[0], tiers[1], price))
                shares.append(
                    VenueShare(
                        venue.name,
                        venue.label,
                        "ok",
                        method=getattr(venue, "method", "estimated"),
                        long_usd=sum(lv.long_usd for lv in levels),
                        short_usd=sum(lv.short_usd for lv in levels),
                        levels=levels,
                    )
                )
            elif venue.name in failures:
                error = reason(failures[venue.name])
                method = getattr(venue, "method", "estimated")
                shares.append(
                    VenueShare(venue.name, venue.label, "unavailable", error=error, method=method)
                )
        return tuple(shares), tier_rows

    async def _fetch(
        self, venue: Venue, coin: str, now: int, step: int
    ) -> tuple[float, History | ObservedMap]:
        if getattr(venue, "method", "estimated") == "observed":
            observed = await venue.observed(coin)  # type: ignore[attr-defined]
            return observed.price, observed
        # The price first: an unknown coin fails with one request instead of ten.
        mark = await venue.mark_price(coin)
        history = await self._history(venue, coin, now, step)
        # Kept as soon as it is fetched: it is the exchange's data whatever the model makes of it.
        # A failed fetch raised above and left the stored history as it was.
        self._histories.put(_key(venue, coin), history, now)
        return mark, history

    async def _venue_map(
        self, venue: Venue, coin: str, history: History, step: int, borrowed: Mapping[int, float]
    ) -> Map:
        candles = align_candles(
            history.klines,
            history.open_interest,
            step,
            taker_split=venue.taker_split,
            borrowed_shares=borrowed,
        )
        if len(candles) < 2:
            raise SourceUnavailable(
                f"{venue.label} has too little open-interest history for {coin}."
            )
        params = self.venue_params.get(venue.name, self.params)
        try:
            return await asyncio.to_thread(self._estimate, candles, params)
        except DataError as exc:
            raise SourceUnavailable(f"Cannot estimate a map for {coin}: {exc}") from None

    async def _binance_context(self, coin: str):
        venue = next((v for v in self.venues if isinstance(v, BinanceVenue)), None)
        return await venue.client.context(coin) if venue is not None else None

    async def _history(self, venue: Venue, coin: str, now: int, step: int) -> History:
        """The window up to `now`: stitched onto the stored history when one page each reaches
        it and the pieces fit, else downloaded whole."""
        stored = self._histories.get(_key(venue, coin), now) if self.incremental else None
        limits = venue.limits
        plan = plan_update(stored, now, step, limits) if stored is not None else None
        if stored is not None and plan is not None:
            klines, open_interest = await gather_or_cancel(
                venue.klines(coin, self.interval, plan.klines_from_ms, now, plan.klines_rows),
                self._open_interest_page(venue, coin, plan, now),
            )
            updated = stitch(stored, plan, klines, open_interest, now, self.days, step, limits)
            if updated is not None:
                return updated
            log.info("%s %s history changed or has a gap: downloading it again", venue.label, coin)
        start = now - self.days * DAY_MS
        _, points_from = window_bounds(now, self.days, step, limits)
        klines, open_interest = await gather_or_cancel(
            venue.klines_between(coin, self.interval, start, now),
            venue.open_interest_between(coin, self.interval, points_from, now),
        )
        return History(tuple(klines), tuple(open_interest), now)

    async def _open_interest_page(
        self, venue: Venue, coin: str, plan: UpdatePlan, now: int
    ) -> list[OpenInterestPoint]:
        if plan.open_interest_from_ms is None:
            return []  # no new point can exist yet: spare the scarce open-interest budget
        return await venue.open_interest(
            coin, self.interval, plan.open_interest_from_ms, now, plan.open_interest_rows
        )

    async def candles(self, symbol: str, since: datetime, interval: str = "1m") -> list[Candle]:
        """The first venue's candles (the next one's when it fails)."""
        failure: Exception | None = None
        for venue in self.venues:
            try:
                return await venue.candles(symbol, since, interval)
            except (SourceUnavailable, UnknownSymbol) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def aclose(self) -> None:
        await self._calls.aclose()
        for venue in self.venues:
            await venue.aclose()


def _rebucket(prices: np.ndarray, tiers: np.ndarray, width: float, onto: np.ndarray) -> np.ndarray:
    """A venue's USD per (level, tier) moved onto the common grid `onto` of bucket `width`."""
    count = tiers.shape[1] if tiers.ndim == 2 else 0
    return bucket_tiers(
        np.repeat(prices, count), tiers.ravel(), np.tile(np.arange(count), prices.size),
        count, width, onto,
    )  # fmt: skip


def _key(venue: Venue, coin: str) -> str:
    return coin if venue.name == "binance" else f"{venue.name}:{coin}"


def _check(values, bad) -> None:
    est = values["estimator"]
    if len(est["leverage"]) != len(est["weights"]) or not est["leverage"]:
        raise bad("estimator", "weights", "must have one weight per leverage tier")
    if any(not isinstance(x, int | float) or x <= 1 for x in est["leverage"]):
        raise bad("estimator", "leverage", "must be numbers above 1")
    if any(not isinstance(x, int | float) or x < 0 for x in est["weights"]) or not sum(
        est["weights"]
    ):
        raise bad("estimator", "weights", "must be non-negative numbers that do not sum to 0")
    if not 0 <= est["maintenance_margin"] < 0.5:
        raise bad("estimator", "maintenance_margin", "must be between 0 and 0.5")
    if not 0 < est["bucket_pct"] <= 5:
        raise bad("estimator", "bucket_pct", "must be above 0 and at most 5")
    if not 1 <= est["days"] <= 30:
        raise bad("estimator", "days", "must be between 1 and 30 (Binance keeps 30 days)")
    if not 0.5 <= est["venue_budget_seconds"] <= 120:
        raise bad("estimator", "venue_budget_seconds", "must be between 0.5 and 120")
    if est["interval"] not in ("5m", "15m", "30m", "1h"):
        raise bad("estimator", "interval", "must be one of 5m, 15m, 30m, 1h")


CONFIG = ConfigPart(
    {
        "estimator": {
            "days": 30,
            "interval": "5m",
            "leverage": [5, 10, 25, 50, 100],
            "weights": [0.15, 0.30, 0.25, 0.20, 0.10],
            "maintenance_margin": 0.004,
            "bucket_pct": 0.1,
            # a venue slower than this is left out of that map (and named), not waited for
            "venue_budget_seconds": DEFAULT_BUDGET_SECONDS,
        }
    },
    check=_check,
)
