"""Binance USD-M futures public market data: mark price, klines, open-interest history.

No key is needed. Users type coins (`BTC`); requests use the perpetual pair (`BTCUSDT`).
Pagination stays inside Binance's limits (klines 1,500 rows, openInterestHist 500 rows and only
the latest 30 days) by asking for windows that hold at most `limit` rows each, so the answer does
not depend on which end of an over-long range Binance would have cut.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.kernel.clock import utcnow
from core.kernel.config import Config, ConfigPart
from core.kernel.errors import SourceRejected, SourceUnavailable, UnknownSymbol
from core.kernel.symbols import normalize, pair
from core.market.sources.http import (
    DEFAULT_MAX_BODY_BYTES,
    JsonFetcher,
    JsonReply,
    RetryPolicy,
    Sleep,
    gather_or_cancel,
)
from core.market.sources.http import finite_number as _number
from core.types import Candle, PriceContext

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

DEFAULT_BASE_URL = "https://fapi.binance.com"
KLINES_MAX_LIMIT = 1500
OPEN_INTEREST_MAX_LIMIT = 500
OPEN_INTEREST_DAYS = 30  # openInterestHist serves only the latest 30 days
MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
INTERVAL_MS: dict[str, int] = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": HOUR_MS,
    "2h": 2 * HOUR_MS,
    "4h": 4 * HOUR_MS,
    "6h": 6 * HOUR_MS,
    "12h": 12 * HOUR_MS,
    "1d": DAY_MS,
}
# -1121 "Invalid symbol.": no such pair. -1122 "Invalid symbol status.": the pair exists but is
# not trading now (settlement, pre-listing, a halt): temporary, so not "unknown".
_UNKNOWN_SYMBOL_CODES = (-1121,)
_NOT_TRADING_CODES = (-1122,)
_PARALLEL_PAGES = 4  # pages fetched at once: fast, and far below the 2,400 weight/minute budget


@dataclass(frozen=True)
class Kline:
    """One Binance kline row, with the fields liqwatch uses."""

    open_time_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    quote_volume: float
    taker_buy_quote: float

    def candle(self) -> Candle:
        opened = datetime.fromtimestamp(self.open_time_ms / 1000, UTC)
        return Candle(opened, self.open, self.high, self.low, self.close)


@dataclass(frozen=True)
class OpenInterestPoint:
    """Open interest at `timestamp_ms`: in contracts and in USD (`sumOpenInterestValue`)."""

    timestamp_ms: int
    contracts: float
    usd: float


def interval_ms(interval: str) -> int:
    try:
        return INTERVAL_MS[interval]
    except KeyError:
        raise SourceRejected(
            f"Unsupported interval {interval!r}; use one of {', '.join(INTERVAL_MS)}."
        ) from None


def page_windows(start_ms: int, end_ms: int, step_ms: int, limit: int) -> list[tuple[int, int]]:
    """Split [start_ms, end_ms] (inclusive) into windows that each hold at most `limit` rows."""
    span = step_ms * limit
    first = start_ms - start_ms % step_ms  # rows sit on the interval grid
    return [(s, min(s + span - 1, end_ms)) for s in range(first, end_ms + 1, span)]


def price_context(klines: Sequence[Kline], now_ms: int) -> PriceContext | None:
    """7-day high/low and 24 h change from klines covering (up to) the last 7 days."""
    week = [k for k in klines if k.open_time_ms >= now_ms - 7 * DAY_MS]
    if not week:
        return None
    day_ago = next((k for k in week if k.open_time_ms >= now_ms - DAY_MS), None)
    change: float | None = None
    # Only with a full day of history: otherwise "24 h change" would be a smaller window's.
    if day_ago is not None and week[0].open_time_ms <= now_ms - DAY_MS and day_ago.open > 0:
        change = (week[-1].close / day_ago.open - 1) * 100
    return PriceContext(
        high_7d=max(k.high for k in week), low_7d=min(k.low for k in week), change_24h_pct=change
    )


class BinanceClient:
    """Async client of Binance USD-M public endpoints. Raises UnknownSymbol, SourceUnavailable,
    SourceRejected."""

    vendor = "Binance"

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout_seconds: float = 10.0,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        deadline_seconds: float | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ):
        self._clock = clock or utcnow
        self._http = JsonFetcher(
            base_url,
            vendor=self.vendor,
            timeout_seconds=timeout_seconds,
            retry=retry,
            sleep=sleep,
            deadline_seconds=deadline_seconds,
            max_body_bytes=max_body_bytes,
        )

    @classmethod
    def from_config(
        cls, config: Config, clock: Clock | None = None, **kwargs: Any
    ) -> BinanceClient:
        section = config.section("sources.binance")
        return cls(
            section["base_url"],
            timeout_seconds=section["timeout_seconds"],
            clock=clock,
            deadline_seconds=section["deadline_seconds"],
            max_body_bytes=section["max_body_bytes"],
            **kwargs,
        )

    def now_ms(self) -> int:
        return int(self._clock().timestamp() * 1000)

    async def mark_price(self, symbol: str) -> float:
        """The current mark price (`/fapi/v1/premiumIndex`)."""
        body = await self._get("/fapi/v1/premiumIndex", symbol, {})
        value = _number(body.get("markPrice") if isinstance(body, dict) else None)
        if value is None or value <= 0:
            raise SourceUnavailable("Binance sent no usable mark price.")
        return value

    async def klines(
        self,
        symbol: str,
        interval: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
    ) -> list[Kline]:
        """One `/fapi/v1/klines` request (at most 1,500 rows), oldest first."""
        interval_ms(interval)
        params = {
            "interval": interval,
            "startTime": start_ms,
            "endTime": end_ms,
            "limit": max(1, min(limit, KLINES_MAX_LIMIT)),
        }
        body = await self._get("/fapi/v1/klines", symbol, params)
        return _parse_klines(body)

    async def klines_between(
        self, symbol: str, interval: str, start_ms: int, end_ms: int
    ) -> list[Kline]:
        """All klines with open time in [start_ms, end_ms], paginated, without gaps or repeats."""
        step = interval_ms(interval)
        windows = page_windows(start_ms, end_ms, step, KLINES_MAX_LIMIT)
        pages = await self._pages(
            self.klines(symbol, interval, s, e, KLINES_MAX_LIMIT) for s, e in windows
        )
        unique = {k.open_time_ms: k for page in pages for k in page}
        return [unique[t] for t in sorted(unique) if start_ms - step < t <= end_ms]

    async def recent_klines(self, symbol: str, interval: str, days: float) -> list[Kline]:
        """Klines of the last `days` days up to now (the current, unfinished one included)."""
        now = self.now_ms()
        return await self.klines_between(symbol, interval, now - int(days * DAY_MS), now)

    async def open_interest_hist(
        self,
        symbol: str,
        period: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 30,
    ) -> list[OpenInterestPoint]:
        """One `/futures/data/openInterestHist` request (at most 500 rows), oldest first."""
        interval_ms(period)
        params = {
            "period": period,
            "startTime": start_ms,
            "endTime": end_ms,
            "limit": max(1, min(limit, OPEN_INTEREST_MAX_LIMIT)),
        }
        body = await self._get("/futures/data/openInterestHist", symbol, params)
        return _parse_open_interest(body)

    async def open_interest_between(
        self, symbol: str, period: str, start_ms: int, end_ms: int
    ) -> list[OpenInterestPoint]:
        """Open interest in [start_ms, end_ms], paginated; starts no earlier than Binance keeps."""
        step = interval_ms(period)
        oldest_kept = self.now_ms() - OPEN_INTEREST_DAYS * DAY_MS + step  # a period of slack
        start_ms = max(start_ms, oldest_kept - oldest_kept % step + step)
        windows = page_windows(start_ms, end_ms, step, OPEN_INTEREST_MAX_LIMIT)
        pages = await self._pages(
            self.open_interest_hist(symbol, period, s, e, OPEN_INTEREST_MAX_LIMIT)
            for s, e in windows
        )
        unique = {p.timestamp_ms: p for page in pages for p in page}
        return [unique[t] for t in sorted(unique) if start_ms <= t <= end_ms]

    async def context(self, symbol: str) -> PriceContext | None:
        """7-day high/low and 24 h change from hourly klines (one request)."""
        now = self.now_ms()
        klines = await self.klines(symbol, "1h", end_ms=now, limit=7 * 24)
        return price_context(klines, now)

    async def candles(self, symbol: str, since: datetime, interval: str = "1m") -> list[Candle]:
        """Candles from the one holding `since` up to now: the alert engine reads their wicks.

        Reaches back at most 4 × 1,500 candles (about 4 days of 1-minute candles).
        """
        step = interval_ms(interval)
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        now = self.now_ms()
        start = max(int(since.timestamp() * 1000), now - 4 * KLINES_MAX_LIMIT * step)
        start -= start % step
        if start > now:
            return []
        klines = await self.klines_between(symbol, interval, start, now)
        return [k.candle() for k in klines]

    async def market_data(
        self, path: str, params: dict[str, Any] | None = None, symbol: str | None = None
    ) -> Any:
        """The body of any public market-data endpoint (exchangeInfo, 24 h tickers, funding,
        open interest), with the same error policy; `symbol` (a coin) is sent as its pair."""
        if symbol is not None:
            return await self._get(path, symbol, params or {})
        reply = await self._http.get_json(path, params or {})
        if reply.ok:
            return reply.body
        message = reply.body.get("msg") if isinstance(reply.body, dict) else None
        raise SourceRejected(f"Binance refused {path}: {message or f'HTTP {reply.status}'}")

    async def aclose(self) -> None:
        await self._http.aclose()

    # ---- plumbing ------------------------------------------------------------------------

    async def _pages(self, requests: Iterable[Any]) -> list[Any]:
        gate = asyncio.Semaphore(_PARALLEL_PAGES)

        async def one(request: Any) -> Any:
            async with gate:
                return await request

        return await gather_or_cancel(*(one(r) for r in requests))

    async def _get(self, path: str, symbol: str, params: dict[str, Any]) -> Any:
        reply = await self._http.get_json(path, {"symbol": pair(symbol), **params})
        return _interpret(reply, symbol, path)


def _interpret(reply: JsonReply, symbol: str, path: str) -> Any:
    """2xx → the body. 4xx → UnknownSymbol for -1121, SourceUnavailable for -1122 (not trading
    right now), else a SourceRejected naming `msg`."""
    if reply.ok:
        return reply.body
    body = reply.body if isinstance(reply.body, dict) else {}
    code, message = body.get("code"), str(body.get("msg") or f"HTTP {reply.status}")
    if code in _UNKNOWN_SYMBOL_CODES:
        raise UnknownSymbol(normalize(symbol))
    if code in _NOT_TRADING_CODES:
        raise SourceUnavailable(f"{pair(symbol)} is not trading on Binance right now ({message}).")
    if reply.status in (403, 451):  # tests/data/real/binance: 451 code 0, 403 a CloudFront page
        log.warning("Binance %s: HTTP %d (%s)", path, reply.status, message[:200])
        raise SourceRejected(
            f"Binance refuses requests from this server's location (HTTP {reply.status}); "
            "use another source ([data] source) or host."
        )
    log.warning("Binance %s refused %s: %s (code %s)", path, pair(symbol), message, code)
    raise SourceRejected(f"Binance refused the request: {message[:200]}")


def _parse_klines(body: Any) -> list[Kline]:
    if not isinstance(body, list):
        raise SourceUnavailable("Binance sent klines in an unexpected shape.")
    klines = []
    for row in body:
        try:
            values = [_number(row[i]) for i in (1, 2, 3, 4, 5, 7, 10)]
            open_time = int(row[0])
        except (TypeError, ValueError, IndexError, KeyError):
            raise SourceUnavailable("Binance sent a malformed kline.") from None
        if any(v is None for v in values):
            raise SourceUnavailable("Binance sent a kline with a missing or non-numeric value.")
        o, h, low, c, vol, quote_vol, taker_quote = values  # type: ignore[misc]
        klines.append(Kline(open_time, o, h, low, c, vol, quote_vol, taker_quote))
    klines.sort(key=lambda k: k.open_time_ms)
    return klines


def _parse_open_interest(body: Any) -> list[OpenInterestPoint]:
    if not isinstance(body, list):
        raise SourceUnavailable("Binance sent open interest in an unexpected shape.")
    points = []
    for row in body:
        if not isinstance(row, dict):
            raise SourceUnavailable("Binance sent a malformed open-interest row.")
        contracts = _number(row.get("sumOpenInterest"))
        usd = _number(row.get("sumOpenInterestValue"))
        try:
            timestamp = int(row.get("timestamp"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        # A single bad point is dropped: the estimator aligns by timestamp and skips the gap.
        if usd is None or usd < 0:
            continue
        points.append(OpenInterestPoint(timestamp, contracts or 0.0, usd))
    points.sort(key=lambda p: p.timestamp_ms)
    return points


CONFIG = ConfigPart(
    {
        "sources.binance": {
            "base_url": "https://fapi.binance.com",
            "timeout_seconds": 10.0,  # per read
            "deadline_seconds": 15.0,  # per request, whole reply included
            "max_body_bytes": DEFAULT_MAX_BODY_BYTES,  # larger replies are refused unread
            "ws_url": "wss://fstream.binance.com",  # liquidation stream (core/market/streams)
        }
    }
)
