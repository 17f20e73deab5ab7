"""A recording sink and waiting helpers for the stream tests (no sleeps: wait on the event)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from datetime import datetime

from core.market.streams import LiveFeeds, VenueConnection
from core.types import LiqPrint

FAST = functools.partial(VenueConnection, backoff_first=0.01)


class RecordingSink:
    def __init__(self) -> None:
        self.prints: list[LiqPrint] = []
        self.events: list[tuple[str, str, datetime]] = []  # (started|ended, venue, at)
        self._changed = asyncio.Event()

    def put(self, prints, received=None) -> None:
        self.prints.extend(prints)
        self._changed.set()

    def gap_started(self, venue, at, reason="") -> None:
        self.events.append(("started", venue, at))
        self._changed.set()

    def gap_ended(self, venue, at) -> None:
        self.events.append(("ended", venue, at))
        self._changed.set()

    async def until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        async def wait() -> None:
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), timeout)

    def count(self, kind: str, venue: str) -> int:
        return sum(1 for k, v, _ in self.events if k == kind and v == venue)


def feeds(venues, sink, symbols=("BTC", "ETH")) -> LiveFeeds:
    wanted = set(symbols)
    return LiveFeeds(venues, sink, lambda: wanted, connection=FAST, refresh_seconds=3600)
