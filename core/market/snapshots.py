"""The snapshot cache: one fetch per symbol per TTL, however many users ask at once.

Concurrent asks for the same symbol share one in-flight fetch. When the source fails for a while,
`get()` keeps answering with the last good snapshot (its age shows in every report), while
`refresh()` tells the alert tick exactly which symbols have fresh data, so that no alert fires on
stale data.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.kernel.clock import utcnow
from core.kernel.errors import LiqwatchError, SourceError, SourceUnavailable, UnknownSymbol
from core.kernel.expiring import ExpiringSet
from core.market.sources.port import Source
from core.types import Snapshot

log = logging.getLogger(__name__)

POPULAR = ("BTC", "ETH", "SOL", "XRP", "BNB", "DOGE", "ADA", "AVAX", "LINK", "TON", "SUI", "LTC")


UNKNOWN_FOR = timedelta(minutes=10)
MAX_UNKNOWN = 1000


@dataclass(frozen=True)
class Fetched:
    """What the cache holds for a symbol: the snapshot and when it was fetched (our clock)."""

    snapshot: Snapshot
    fetched_at: datetime


class SnapshotCache:
    def __init__(
        self,
        source: Source,
        ttl_seconds: float = 60.0,
        clock: Callable[[], datetime] = utcnow,
        max_concurrency: int = 4,
        on_fresh: Callable[[Snapshot], None] | None = None,
    ):
        self.source = source
        # Called with every newly fetched snapshot (the wiring records the map history with it;
        # the market never imports the store). Its failure is logged, never the fetch's.
        self.on_fresh = on_fresh
        self.ttl = ttl_seconds
        self.clock = clock
        self._good: dict[str, Fetched] = {}
        self._inflight: dict[str, asyncio.Future[Snapshot]] = {}
        # Symbols the exchange called unknown: forgotten after UNKNOWN_FOR, so a listing (or a
        # symbol that was only briefly refused) comes back by itself.
        self._unknown = ExpiringSet(UNKNOWN_FOR, clock, MAX_UNKNOWN)
        self._failing: set[str] = set()  # symbols whose last fetch failed (logged once)
        self._limit = asyncio.Semaphore(max_concurrency)

    def cached(self, symbol: str) -> Snapshot | None:
        found = self._good.get(symbol)
        return found.snapshot if found else None

    def is_fresh(self, symbol: str, newer_than: datetime | None = None) -> bool:
        found = self._good.get(symbol)
        if not found or (self.clock() - found.fetched_at).total_seconds() >= self.ttl:
            return False
        return newer_than is None or found.fetched_at >= newer_than

    async def get(
        self, symbol: str, allow_stale: bool = True, newer_than: datetime | None = None
    ) -> Snapshot:
        """A snapshot no older than the TTL (and fetched after `newer_than`, if given) if the
        source answers; else the last good one.

        Raises UnknownSymbol, SourceRejected (key, plan), or SourceUnavailable when there is
        nothing cached to fall back on.
        """
        if self._is_unknown(symbol):
            raise UnknownSymbol(symbol)
        if self.is_fresh(symbol, newer_than):
            return self._good[symbol].snapshot
        try:
            return await self._fetch_shared(symbol)
        except SourceUnavailable:
            if allow_stale and symbol in self._good:
                return self._good[symbol].snapshot
            raise

    def checkable(self, symbols: Iterable[str]) -> list[str]:
        """The symbols worth fetching: each once, sorted, without those the source called
        unknown lately."""
        return sorted(s for s in set(symbols) if not self._is_unknown(s))

    async def refresh(
        self, symbols: Iterable[str], newer_than: datetime | None = None
    ) -> dict[str, Snapshot]:
        """Fetch every symbol not fetched within the TTL (or not since `newer_than`: the alert
        tick asks for data newer than its previous check); return only those with fresh data."""
        wanted = self.checkable(symbols)
        results = await asyncio.gather(
            *(self.get(s, allow_stale=False, newer_than=newer_than) for s in wanted),
            return_exceptions=True,
        )
        fresh: dict[str, Snapshot] = {}
        for symbol, result in zip(wanted, results, strict=True):
            if isinstance(result, Snapshot):
                fresh[symbol] = result
            elif not isinstance(result, LiqwatchError):
                log.error("unexpected error refreshing %s: %r", symbol, result)
        return fresh

    async def _fetch_shared(self, symbol: str) -> Snapshot:
        pending = self._inflight.get(symbol)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Snapshot] = asyncio.get_running_loop().create_future()
        self._inflight[symbol] = future
        try:
            async with self._limit:
                snapshot = await self.source.snapshot(symbol)
        except BaseException as exc:
            self._note_failure(symbol, exc)
            if not future.cancelled():
                future.set_exception(exc)
                future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        else:
            self._good[symbol] = Fetched(snapshot, self.clock())
            if self.on_fresh is not None:
                try:
                    self.on_fresh(snapshot)
                except Exception:
                    log.exception("%s: recording the fresh map failed", symbol)
            if symbol in self._failing:
                self._failing.discard(symbol)
                log.info("%s: source %s answers again", symbol, self.source.name)
            future.set_result(snapshot)
            return snapshot
        finally:
            self._inflight.pop(symbol, None)

    def _is_unknown(self, symbol: str) -> bool:
        return symbol in self._unknown

    def _note_failure(self, symbol: str, exc: BaseException) -> None:
        if isinstance(exc, UnknownSymbol):
            self._unknown.add(symbol)
            return
        if isinstance(exc, SourceError) and symbol not in self._failing:
            self._failing.add(symbol)
            log.warning("%s: source %s failed: %s", symbol, self.source.name, exc)

    def known_symbols(self, prefix: str = "", extra: Iterable[str] = ()) -> list[str]:
        """Symbols for autocomplete: the ones given first, then cached, then popular (≤ 25)."""
        prefix = prefix.strip().upper()
        ordered: list[str] = []
        for symbol in (*extra, *sorted(self._good), *POPULAR):
            if symbol.startswith(prefix) and symbol not in ordered:
                ordered.append(symbol)
        return ordered[:25]
