"""The default, free source: a liquidation map estimated from Binance's public data.

Klines and openInterestHist for the last `[estimator] days` at `[estimator] interval` (7 days of
5-minute candles = 2,016 by default, paginated), aligned by timestamp, through
core.estimator.estimate_map; the mark price from premiumIndex splits the map into sides.

The history is kept per symbol between refreshes (core/sources/history.py): the first snapshot of
a symbol downloads the whole window, later ones only one page of klines and at most one of open
interest since the last final row, and give the same map a full download would.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime

import numpy as np

from core.kernel.clock import utcnow
from core.kernel.config import Config, ConfigPart
from core.kernel.errors import DataError, SourceUnavailable
from core.kernel.symbols import normalize
from core.market.estimator import CandleArrays, EstimatorParams, estimate_map
from core.market.sources.binance import (
    DAY_MS,
    HOUR_MS,
    BinanceClient,
    Clock,
    Kline,
    OpenInterestPoint,
    interval_ms,
)
from core.market.sources.binance import price_context as context_from_klines
from core.market.sources.history import History, HistoryStore, UpdatePlan, plan_update, stitch
from core.market.sources.http import gather_or_cancel
from core.types import Candle, Level, Snapshot

log = logging.getLogger(__name__)

MapEstimator = Callable[[CandleArrays, EstimatorParams], tuple[np.ndarray, ...]]


def align_candles(
    klines: Sequence[Kline], open_interest: Sequence[OpenInterestPoint], step_ms: int
) -> CandleArrays:
    """Pair each kline with the open interest sampled at its close (timestamp = open + step).

    Why the close: the estimator opens new positions at the candle's close with the OI change
    the candle produced, so candle b must carry OI(end of b). Klines without a sample at their
    close (the unfinished last candle, a gap in Binance's history) are left out.
    """
    oi_at = {p.timestamp_ms: p.usd for p in open_interest}
    rows = [
        (k, oi_at[k.open_time_ms + step_ms]) for k in klines if k.open_time_ms + step_ms in oi_at
    ]
    if not rows:
        return CandleArrays(*(np.empty(0) for _ in range(6)))
    quote = np.array([k.quote_volume for k, _ in rows])
    taker = np.array([k.taker_buy_quote for k, _ in rows])
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(quote > 0, taker / np.where(quote > 0, quote, 1.0), 0.5)
    return CandleArrays(
        open_time_ms=np.array([k.open_time_ms for k, _ in rows], dtype=float),
        high=np.array([k.high for k, _ in rows]),
        low=np.array([k.low for k, _ in rows]),
        close=np.array([k.close for k, _ in rows]),
        taker_buy_share=share,
        oi_usd=np.array([usd for _, usd in rows]),
    )


def levels_by_side(
    prices: np.ndarray, long_usd: np.ndarray, short_usd: np.ndarray, mark: float
) -> tuple[Level, ...]:
    """Levels with longs kept only below the mark price and shorts only above it.

    The model buckets around its last close; the mark price a moment later can sit inside a
    bucket, and a long above the price (or a short below) would already be liquidated.
    """
    levels = []
    for price, long_part, short_part in zip(prices, long_usd, short_usd, strict=True):
        longs = float(long_part) if price < mark else 0.0
        shorts = float(short_part) if price > mark else 0.0
        if longs > 0 or shorts > 0:
            levels.append(Level(float(price), long_usd=longs, short_usd=shorts))
    return tuple(levels)


class EstimateSource:
    """The `estimate` source (no key). The numpy work runs in a thread, off the event loop.

    `incremental=False` downloads the whole window on every snapshot (the behaviour before the
    history was kept; benchmarks compare the two). Symbols not asked for in `history_idle_seconds`
    are forgotten.
    """

    name = "estimate"

    def __init__(
        self,
        binance: BinanceClient,
        params: EstimatorParams | None = None,
        *,
        days: int = 7,
        interval: str = "5m",
        clock: Clock | None = None,
        estimator: MapEstimator = estimate_map,
        incremental: bool = True,
        history_idle_seconds: float = HOUR_MS / 1000,
    ):
        interval_ms(interval)  # refuse an interval Binance does not serve, now
        self.binance = binance
        self.params = params or EstimatorParams()
        self.days = days
        self.interval = interval
        self._clock = clock or utcnow
        self._estimate = estimator
        self.incremental = incremental
        self._histories = HistoryStore(idle_ms=int(history_idle_seconds * 1000))

    @classmethod
    def from_config(cls, config: Config, clock: Clock | None = None) -> EstimateSource:
        section = config.section("estimator")
        return cls(
            BinanceClient.from_config(config, clock),
            EstimatorParams.from_config(section),
            days=section["days"],
            interval=section["interval"],
            clock=clock,
        )

    async def snapshot(self, symbol: str) -> Snapshot:
        coin = normalize(symbol)
        # The price first: an unknown coin fails with one request instead of ten.
        mark = await self.binance.mark_price(coin)
        now = self.binance.now_ms()
        step = interval_ms(self.interval)
        history = await self._history(coin, now, step)
        # Kept as soon as it is fetched: it is the exchange's data whatever the model makes of it.
        # A failed fetch raised above and left the stored history as it was.
        self._histories.put(coin, history, now)
        klines = history.klines
        candles = align_candles(klines, history.open_interest, step)
        if len(candles) < 2:
            raise SourceUnavailable(f"Binance has too little open-interest history for {coin}.")
        try:
            prices, longs, shorts = await asyncio.to_thread(self._estimate, candles, self.params)
        except DataError as exc:
            raise SourceUnavailable(f"Cannot estimate a map for {coin}: {exc}") from None
        if self.days >= 7:
            context = context_from_klines(klines, now)  # the same candles cover the 7 days
        else:
            context = await self.binance.context(coin)
        return Snapshot(
            symbol=coin,
            price=mark,
            levels=levels_by_side(prices, longs, shorts, mark),
            source=self.name,
            as_of=self._clock(),
            context=context,
        )

    async def _history(self, coin: str, now: int, step: int) -> History:
        """The window up to `now`: stitched onto the stored history when one page each reaches
        it and the pieces fit, else downloaded whole."""
        stored = self._histories.get(coin, now) if self.incremental else None
        plan = plan_update(stored, now, step) if stored is not None else None
        if stored is not None and plan is not None:
            klines, open_interest = await gather_or_cancel(
                self.binance.klines(
                    coin, self.interval, plan.klines_from_ms, now, plan.klines_rows
                ),
                self._open_interest_page(coin, plan, now),
            )
            updated = stitch(stored, plan, klines, open_interest, now, self.days, step)
            if updated is not None:
                return updated
            log.info("%s history changed at Binance or has a gap: downloading it again", coin)
        start = now - self.days * DAY_MS
        klines, open_interest = await gather_or_cancel(
            self.binance.klines_between(coin, self.interval, start, now),
            self.binance.open_interest_between(coin, self.interval, start, now),
        )
        return History(tuple(klines), tuple(open_interest), now)

    async def _open_interest_page(
        self, coin: str, plan: UpdatePlan, now: int
    ) -> list[OpenInterestPoint]:
        if plan.open_interest_from_ms is None:
            return []  # no new point can exist yet: spare the scarce /futures/data budget
        return await self.binance.open_interest_hist(
            coin, self.interval, plan.open_interest_from_ms, now, plan.open_interest_rows
        )

    async def candles(self, symbol: str, since: datetime, interval: str = "1m") -> list[Candle]:
        return await self.binance.candles(symbol, since, interval)

    async def aclose(self) -> None:
        await self.binance.aclose()


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
    if est["interval"] not in ("5m", "15m", "30m", "1h"):
        raise bad("estimator", "interval", "must be one of 5m, 15m, 30m, 1h")


CONFIG = ConfigPart(
    {
        "estimator": {
            "days": 7,
            "interval": "5m",
            "leverage": [5, 10, 25, 50, 100],
            "weights": [0.15, 0.30, 0.25, 0.20, 0.10],
            "maintenance_margin": 0.004,
            "bucket_pct": 0.1,
        }
    },
    check=_check,
)
