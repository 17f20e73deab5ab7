"""The default, free source: a liquidation map estimated from Binance's public data.

Klines and openInterestHist for the last `[estimator] days` at `[estimator] interval` (7 days of
5-minute candles = 2,016 by default, paginated), aligned by timestamp, through
core.estimator.estimate_map; the mark price from premiumIndex splits the map into sides.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import numpy as np

from ..config import Config
from ..errors import DataError, SourceUnavailable
from ..estimator import CandleArrays, EstimatorParams, estimate_map
from ..model import Candle, Level, Snapshot
from ..symbols import normalize
from .binance import DAY_MS, BinanceClient, Clock, Kline, OpenInterestPoint, interval_ms
from .binance import price_context as context_from_klines
from .http import gather_or_cancel

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
    """The `estimate` source (no key). The numpy work runs in a thread, off the event loop."""

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
    ):
        interval_ms(interval)  # refuse an interval Binance does not serve, now
        self.binance = binance
        self.params = params or EstimatorParams()
        self.days = days
        self.interval = interval
        self._clock = clock or (lambda: datetime.now(UTC))
        self._estimate = estimator

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
        start = now - self.days * DAY_MS
        step = interval_ms(self.interval)
        klines, open_interest = await gather_or_cancel(
            self.binance.klines_between(coin, self.interval, start, now),
            self.binance.open_interest_between(coin, self.interval, start, now),
        )
        candles = align_candles(klines, open_interest, step)
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

    async def candles(self, symbol: str, since: datetime, interval: str = "1m") -> list[Candle]:
        return await self.binance.candles(symbol, since, interval)

    async def aclose(self) -> None:
        await self.binance.aclose()
