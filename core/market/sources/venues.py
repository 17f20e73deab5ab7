"""The venues the free estimate aggregates: the port each venue client fills, the shared per-venue
rate limiter, and the registry `[data] venues = [...]` picks from.

A venue serves, for one coin: a mark price, klines (oldest first, the current unfinished one
included) and open-interest points in coins (Binance's `OpenInterestPoint`, `usd` 0 when the venue
publishes none). Everything a venue does not publish is said by its attributes: `taker_split`
("klines": in each kline; "points": in each open-interest point, OKX; "none": Bybit borrows
Binance's), `limits` (page sizes and how far back its open interest reaches, for history.py).

Rate limits: each client holds ONE `RateLimiter` for its venue, shared by every symbol, with the
venue's published budgets (`Rate`). A budget the venue counts per instrument (OKX's trading
statistics) is a bucket per instrument inside that same limiter; one the venue counts per IP is
one bucket for all symbols. A request waits for its bucket rather than spending the budget twice.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, Self

from core.kernel.clock import utcnow
from core.kernel.config import Config, ConfigPart
from core.market.sources.binance import (
    KLINES_MAX_LIMIT,
    OPEN_INTEREST_MAX_LIMIT,
    BinanceClient,
    Clock,
    Kline,
    OpenInterestPoint,
    interval_ms,
    page_windows,
)
from core.market.sources.history import BINANCE_LIMITS, PageLimits
from core.market.sources.http import JsonFetcher, RetryPolicy, Sleep, gather_or_cancel
from core.types import Candle

TakerSplit = Literal["klines", "points", "none"]
PARALLEL_PAGES = 4  # pages of one series fetched at once, as BinanceClient does


@dataclass(frozen=True)
class Rate:
    """A published budget: `amount` (requests or weight) per `seconds`; `per_symbol` when the
    venue counts it per instrument."""

    amount: float
    seconds: float
    per_symbol: bool = False
    source: str = ""  # where the venue publishes it


class RateLimiter:
    """Token buckets for one venue (full at start: a burst of `amount`, then `amount/seconds` per
    second). `spent` counts what was acquired per group, for the benchmark."""

    def __init__(
        self,
        rules: dict[str, Rate],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self.rules = rules
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[tuple[str, str], list[float]] = {}  # key -> [tokens, last refill]
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self.spent: Counter[str] = Counter()
        self.waited_seconds = 0.0

    async def acquire(self, group: str, symbol: str = "", cost: float = 1.0) -> None:
        rate = self.rules[group]
        key = (group, symbol if rate.per_symbol else "")
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:  # first come, first served within a bucket
            cost = min(cost, rate.amount)
            while True:
                now = self._clock()
                tokens, last = self._buckets.get(key, [rate.amount, now])
                tokens = min(rate.amount, tokens + (now - last) * rate.amount / rate.seconds)
                if tokens >= cost:
                    self._buckets[key] = [tokens - cost, now]
                    self.spent[group] += cost
                    return
                self._buckets[key] = [tokens, now]
                wait = (cost - tokens) * rate.seconds / rate.amount
                self.waited_seconds += wait
                await self._sleep(wait)


class Venue(Protocol):
    """One venue's public market data for the estimate (see the module docstring)."""

    name: str  # "binance": the config's name
    label: str  # "Binance": the reports'
    limits: PageLimits
    taker_split: TakerSplit
    limiter: RateLimiter

    async def mark_price(self, coin: str) -> float: ...

    async def klines(
        self, coin: str, interval: str, start_ms: int, end_ms: int, rows: int
    ) -> list[Kline]:
        """One page from `start_ms` (at most `rows`, within the venue's page size), oldest first."""
        ...

    async def klines_between(
        self, coin: str, interval: str, start_ms: int, end_ms: int
    ) -> list[Kline]: ...

    async def open_interest(
        self, coin: str, interval: str, start_ms: int, end_ms: int, rows: int
    ) -> list[OpenInterestPoint]: ...

    async def open_interest_between(
        self, coin: str, interval: str, start_ms: int, end_ms: int
    ) -> list[OpenInterestPoint]: ...

    async def candles(self, coin: str, since: datetime, interval: str = "1m") -> list[Candle]:
        """Candles from the one holding `since` up to now: alerts read their high/low."""
        ...

    async def aclose(self) -> None: ...


async def paged(requests: Iterable[Awaitable[Any]], parallel: int = PARALLEL_PAGES) -> list[Any]:
    """Run page requests `parallel` at a time; the first failure cancels the rest."""
    gate = asyncio.Semaphore(parallel)

    async def one(request: Awaitable[Any]) -> Any:
        async with gate:
            return await request

    return await gather_or_cancel(*(one(r) for r in requests))


def between(rows: Iterable[Any], time_of: Callable[[Any], int], first: int, last: int) -> list:
    """Rows deduplicated by time (the last copy winning), sorted, within [first, last]."""
    unique = {time_of(row): row for row in rows}
    return [unique[t] for t in sorted(unique) if first <= t <= last]


# ---- Binance: the existing client behind the port ----------------------------------------

# Binance USD-M: 2,400 request weight per minute per IP (GET /fapi/v1/exchangeInfo rateLimits);
# /futures/data/* (openInterestHist) has its own 1,000 requests per 5 minutes per IP.
BINANCE_RATES = {
    "weight": Rate(2400, 60, source="Binance USD-M REQUEST_WEIGHT 2400/min per IP"),
    "futures_data": Rate(1000, 300, source="Binance /futures/data: 1000 requests/5 min per IP"),
}


def klines_weight(limit: int) -> int:
    """Binance USD-M request weight of /fapi/v1/klines by its `limit`."""
    return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10


class PagedHistory:
    """A window of history from a venue's one-page calls (`klines`, `open_interest`): the pages
    it takes, fetched under the venue's limiter, joined without gaps or repeats."""

    kline_page: int  # rows per klines page
    oi_page: int  # rows per open-interest page

    async def klines_between(
        self, coin: str, interval: str, start_ms: int, end_ms: int
    ) -> list[Kline]:
        step = interval_ms(interval)
        windows = page_windows(start_ms, end_ms, step, self.kline_page)
        pages = await paged(self.klines(coin, interval, s, e, self.kline_page) for s, e in windows)
        return between((k for p in pages for k in p), open_time, start_ms - step + 1, end_ms)

    async def open_interest_between(
        self, coin: str, interval: str, start_ms: int, end_ms: int
    ) -> list[OpenInterestPoint]:
        step = interval_ms(interval)
        windows = page_windows(start_ms, end_ms, step, self.oi_page)
        pages = await paged(
            self.open_interest(coin, interval, s, e, self.oi_page) for s, e in windows
        )
        return between((p for page in pages for p in page), stamp, start_ms, end_ms)

    async def candles_since(self, coin: str, since: datetime, interval: str) -> list[Candle]:
        """Candles from the one holding `since` up to now (at most 4 pages back)."""
        step = interval_ms(interval)
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        now = self.now_ms()
        start = max(int(since.timestamp() * 1000), now - 4 * self.kline_page * step)
        start -= start % step
        if start > now:
            return []
        return [k.candle() for k in await self.klines_between(coin, interval, start, now)]


class HttpVenue(PagedHistory):
    """A venue client over one JsonFetcher and its own rate limiter (Bybit, OKX): the
    constructor, `from_config` and clock they share. A subclass sets `vendor`, `section` (its
    config section), `default_base_url` and `rates` (its documented limits)."""

    vendor: str
    section: str
    default_base_url: str
    rates: dict[str, Rate]

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout_seconds: float = 10.0,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        limiter: RateLimiter | None = None,
    ):
        self._clock = clock or utcnow
        self._sleep = sleep
        self._http = JsonFetcher(
            base_url or self.default_base_url,
            vendor=self.vendor,
            timeout_seconds=timeout_seconds,
            retry=retry,
            sleep=sleep,
        )
        self.limiter = limiter or RateLimiter(self.rates)

    @classmethod
    def from_config(cls, config: Config, clock: Clock | None = None, **kwargs: Any) -> Self:
        section = config.section(cls.section)
        return cls(
            section["base_url"], timeout_seconds=section["timeout_seconds"], clock=clock, **kwargs
        )

    def now_ms(self) -> int:
        return int(self._clock().timestamp() * 1000)


class BinanceVenue(PagedHistory):
    """BinanceClient as a venue: the same requests as before, counted by a shared limiter."""

    name = "binance"
    label = "Binance"
    limits = BINANCE_LIMITS
    taker_split: TakerSplit = "klines"
    kline_page = KLINES_MAX_LIMIT
    oi_page = OPEN_INTEREST_MAX_LIMIT

    def __init__(self, client: BinanceClient, limiter: RateLimiter | None = None):
        self.client = client
        self.limiter = limiter or RateLimiter(BINANCE_RATES)

    async def mark_price(self, coin: str) -> float:
        await self.limiter.acquire("weight", cost=1)
        return await self.client.mark_price(coin)

    async def klines(
        self, coin: str, interval: str, start_ms: int, end_ms: int, rows: int
    ) -> list[Kline]:
        limit = max(1, min(rows, KLINES_MAX_LIMIT))
        await self.limiter.acquire("weight", cost=klines_weight(limit))
        return await self.client.klines(coin, interval, start_ms, end_ms, limit)

    async def open_interest(
        self, coin: str, interval: str, start_ms: int, end_ms: int, rows: int
    ) -> list[OpenInterestPoint]:
        await self.limiter.acquire("futures_data")
        return await self.client.open_interest_hist(coin, interval, start_ms, end_ms, rows)

    async def candles(self, coin: str, since: datetime, interval: str = "1m") -> list[Candle]:
        return await self.client.candles(coin, since, interval)

    async def aclose(self) -> None:
        await self.client.aclose()


def open_time(kline: Kline) -> int:
    """Sort/filter key of a kline (its open time)."""
    return kline.open_time_ms


def stamp(point: OpenInterestPoint) -> int:
    """Sort/filter key of an open-interest point (its timestamp)."""
    return point.timestamp_ms


def venue_config(section: str, base_url: str, maintenance_margin: float, ws_url: str) -> ConfigPart:
    """A venue's config part: its REST and stream URLs, timeout and maintenance margin (checked)."""

    def check(values, bad) -> None:
        if not 0 <= values[section]["maintenance_margin"] < 0.5:
            raise bad(section, "maintenance_margin", "must be between 0 and 0.5")

    keys = {
        "base_url": base_url,
        "timeout_seconds": 10.0,
        "maintenance_margin": maintenance_margin,
        "ws_url": ws_url,  # the liquidation stream (core/market/streams)
    }
    return ConfigPart({section: keys}, check=check)
