"""The screener: the universe of symbols ranked by their maps (`/top`, `liqwatch top`).

The universe is `[screener] symbols` when set, else the `size` most traded USD-M perpetuals:
`/fapi/v1/exchangeInfo` (weight 1: PERPETUAL, quote USDT, status TRADING) ranked by the
`quoteVolume` of `/fapi/v1/ticker/24hr` without a symbol (weight 40, every pair at once), found
again once a day. Payload shapes: tests/data/real/binance/exchange_info_trimmed.json and
ticker_24hr_btcusdt.json. Rows come from the shared snapshot cache: a map younger than
`max_age_minutes` is used as it is (its age is shown), older or missing ones are fetched, at most
the cache's concurrency at a time; `refresh()` (a scheduler job) keeps them warm.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from core.kernel.clock import utcnow
from core.kernel.config import Config, ConfigPart
from core.kernel.errors import LiqwatchError, SourceError, UsageError
from core.kernel.symbols import normalize
from core.market.analysis import analyze
from core.market.snapshots import POPULAR, SnapshotCache
from core.types import Snapshot

log = logging.getLogger(__name__)

EXCHANGE_INFO = "/fapi/v1/exchangeInfo"
TICKERS_24H = "/fapi/v1/ticker/24hr"
UNIVERSE_WEIGHT = 1 + 40  # exchangeInfo + every 24 h ticker (Binance's documented weights)
UNIVERSE_EVERY = timedelta(days=1)
Order = Literal["ratio", "longs", "shorts", "near"]
ORDERS: tuple[Order, ...] = ("ratio", "longs", "shorts", "near")


@dataclass(frozen=True)
class ScreenRow:
    symbol: str
    price: float
    ratio: float | None  # short above / long below; None when it has no finite value
    long_below_usd: float
    short_above_usd: float
    nearest_zone_pct: float | None  # signed % to the nearer key zone's edge
    as_of: datetime
    sample: bool = False  # bundled sample data (replayed): the table must say so


def universe_from(exchange_info: Any, tickers: Any, size: int) -> list[str]:
    """The `size` most traded trading USDT perpetuals, as coins (`BTC`, `1000PEPE`)."""
    symbols = exchange_info.get("symbols") if isinstance(exchange_info, dict) else None
    if not isinstance(symbols, list) or not isinstance(tickers, list):
        raise SourceError("Binance sent exchange info or tickers in an unexpected shape.")
    listed = {
        s["symbol"]
        for s in symbols
        if isinstance(s, dict)
        and s.get("contractType") == "PERPETUAL"
        and s.get("quoteAsset") == "USDT"
        and s.get("status") == "TRADING"
        and isinstance(s.get("symbol"), str)
    }
    volumes: dict[str, float] = {}
    for ticker in tickers:
        if not isinstance(ticker, dict) or ticker.get("symbol") not in listed:
            continue
        try:
            volume = float(ticker.get("quoteVolume"))
        except (TypeError, ValueError):
            continue
        if math.isfinite(volume):
            volumes[ticker["symbol"]] = volume
    ranked = sorted(volumes, key=lambda s: (-volumes[s], s))[:size]
    coins = []
    for pair in ranked:
        try:
            coins.append(normalize(pair))
        except UsageError:
            continue
    return coins


def row_of(snapshot: Snapshot) -> ScreenRow:
    result = analyze(snapshot)
    distances = [z.distance_pct for z in (result.key_short, result.key_long) if z is not None]
    nearest = min(distances, key=abs) if distances else None
    return ScreenRow(
        snapshot.symbol,
        result.price,
        result.ratio,
        result.long_below_usd,
        result.short_above_usd,
        nearest,
        snapshot.as_of,
        snapshot.sample,
    )


def rank(rows: Sequence[ScreenRow], by: str, limit: int) -> list[ScreenRow]:
    """Most short-heavy first (ratio), biggest longs below / shorts above, or nearest key zone."""
    if by not in ORDERS:
        raise UsageError(f"Rank by one of {', '.join(ORDERS)}, not '{by[:20]}'.")
    keys: dict[str, Callable[[ScreenRow], tuple]] = {
        "ratio": lambda r: (r.ratio is None, -(r.ratio or 0.0), r.symbol),
        "longs": lambda r: (-r.long_below_usd, r.symbol),
        "shorts": lambda r: (-r.short_above_usd, r.symbol),
        "near": lambda r: (
            r.nearest_zone_pct is None,
            abs(r.nearest_zone_pct or 0.0),
            r.symbol,
        ),
    }
    return sorted(rows, key=keys[by])[:limit]


class Screener:
    """The universe (found daily) and its rows from the shared snapshot cache."""

    def __init__(
        self,
        cache: SnapshotCache,
        client: Any,  # core.market.sources.binance.BinanceClient (market_data)
        *,
        symbols: Sequence[str] = (),
        size: int = 30,
        max_age: timedelta = timedelta(minutes=15),
        clock: Callable[[], datetime] = utcnow,
    ):
        self.cache = cache
        self.client = client
        self.fixed = [normalize(s) for s in symbols]
        self.size = size
        self.max_age = max_age
        self.clock = clock
        self._universe: list[str] = []
        self._found_at: datetime | None = None
        self._lock = asyncio.Lock()
        self.requests = 0  # universe requests made (for the request budget)

    @classmethod
    def from_config(cls, config: Config, cache: SnapshotCache, client: Any, **kw) -> Screener:
        section = config.section("screener")
        return cls(
            cache,
            client,
            symbols=section["symbols"],
            size=section["size"],
            max_age=timedelta(minutes=section["max_age_minutes"]),
            **kw,
        )

    @property
    def universe_size(self) -> int:
        return len(self._universe) or len(self.fixed) or self.size

    async def universe(self) -> list[str]:
        if self.fixed:
            return list(self.fixed)
        async with self._lock:  # one discovery at a time, however many /top arrive at once
            now = self.clock()
            if self._found_at is None or now - self._found_at >= UNIVERSE_EVERY:
                try:
                    info = await self.client.market_data(EXCHANGE_INFO)
                    tickers = await self.client.market_data(TICKERS_24H)
                    self.requests += 2
                    found = universe_from(info, tickers, self.size)
                    if found:
                        self._universe, self._found_at = found, now
                        log.info("screener universe: %s", ", ".join(found))
                except LiqwatchError as exc:
                    # keep the last universe; retry in an hour, not on every /top
                    log.warning("screener: cannot discover the universe: %s", exc)
                    self._found_at = now - UNIVERSE_EVERY + timedelta(hours=1)
            return list(self._universe) or list(POPULAR[: self.size])

    async def refresh(self) -> int:
        """Fetch every universe map the cache holds no fresh copy of (the scheduler's job)."""
        return len(await self.cache.refresh(await self.universe()))

    async def scan(self) -> list[ScreenRow]:
        """A row per universe symbol with a map (cached if young enough, else fetched)."""
        names = await self.universe()
        now = self.clock()

        async def one(symbol: str) -> Snapshot | None:
            cached = self.cache.cached(symbol)
            if cached is not None and now - cached.as_of <= self.max_age:
                return cached
            try:
                return await self.cache.get(symbol)
            except LiqwatchError as exc:
                log.info("screener: no map for %s: %s", symbol, exc)
                return cached

        snapshots = await asyncio.gather(*(one(s) for s in names))
        rows = []
        for snapshot in snapshots:
            if snapshot is None:
                continue
            try:
                rows.append(row_of(snapshot))
            except LiqwatchError as exc:
                log.info("screener: %s skipped: %s", snapshot.symbol, exc)
        return rows


def _check(values, bad) -> None:
    section = values["screener"]
    if not 1 <= section["size"] <= 100:
        raise bad("screener", "size", "must be between 1 and 100")
    if not 1 <= section["refresh_minutes"] <= 1440:
        raise bad("screener", "refresh_minutes", "must be between 1 and 1440")
    if section["max_age_minutes"] < 1:
        raise bad("screener", "max_age_minutes", "must be at least 1")


CONFIG = ConfigPart(
    {
        "screener": {
            "symbols": [],  # empty: the `size` most traded USD-M perpetuals, found daily
            "size": 30,
            "refresh_minutes": 10.0,
            "max_age_minutes": 15.0,
        }
    },
    check=_check,
)
