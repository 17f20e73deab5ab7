"""The live feeds: one connection per venue for all the symbols in use, following changes.

The symbols in use (watchlists, rules, feeds, summaries, plus `[feeds] symbols`) are read again
every `refresh_seconds` (5 s) and whenever `refresh()` is called (a new /feed), so a symbol added
in a chat is followed within seconds, without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from core.kernel.clock import utcnow
from core.market.streams.base import Coverage, Venue
from core.market.streams.connection import Sink, VenueConnection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VenueState:
    name: str
    label: str
    coverage: Coverage
    flowing: bool
    connected_at: datetime | None
    last_frame_at: datetime | None
    prints: int
    malformed: int


class LiveFeeds:
    def __init__(
        self,
        venues: Sequence[Venue],
        sink: Sink,
        symbols_in_use: Callable[[], Collection[str]],
        extra_symbols: Collection[str] = (),
        refresh_seconds: float = 5.0,  # three small queries: cheap
        clock: Callable[[], datetime] = utcnow,
        connection: Callable[..., VenueConnection] = VenueConnection,
    ):
        self.venues = list(venues)
        self.sink = sink
        self.symbols_in_use = symbols_in_use
        self.extra_symbols = set(extra_symbols)
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self.connections = [connection(venue, sink, clock=clock) for venue in self.venues]
        self._tasks: list[asyncio.Task] = []
        self._wake = asyncio.Event()
        self.symbols: set[str] = set()

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    def coverage(self) -> dict[str, Coverage]:
        return {venue.name: venue.coverage for venue in self.venues}

    def labels(self) -> dict[str, str]:
        return {venue.name: venue.label for venue in self.venues}

    def states(self) -> list[VenueState]:
        return [
            VenueState(
                c.venue.name,
                c.venue.label,
                c.venue.coverage,
                c.flowing,
                c.connected_at,
                c.last_frame_at,
                c.prints,
                c.malformed,
            )
            for c in self.connections
        ]

    def _wanted(self) -> set[str]:
        try:
            return set(self.symbols_in_use()) | self.extra_symbols
        except Exception:  # noqa: BLE001  (the store busy or closing: keep what we follow)
            log.exception("reading the symbols in use failed; following the same ones")
            return set(self.symbols)

    async def start(self) -> None:
        if self._tasks:
            return
        self.symbols = self._wanted()
        now = self.clock()
        for conn in self.connections:
            conn.symbols = set(self.symbols)
            # No data until the venue confirms: a gap from now (or, if the last stop left one
            # open, from then: the earlier start holds).
            self.sink.gap_started(conn.venue.name, now, "starting")
            self._tasks.append(asyncio.create_task(conn.run(), name=f"feed:{conn.venue.name}"))
        self._tasks.append(asyncio.create_task(self._follow(), name="feeds:symbols"))
        log.info(
            "live liquidations: %s for %d symbols",
            ", ".join(v.label for v in self.venues),
            len(self.symbols),
        )

    def refresh(self) -> None:
        """Read the symbols in use again now (after a chat changed them)."""
        self._wake.set()

    async def _follow(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.refresh_seconds)
            self._wake.clear()
            wanted = self._wanted()
            if wanted != self.symbols:
                log.info("live liquidations: now following %d symbols", len(wanted))
                self.symbols = wanted
                for conn in self.connections:
                    await conn.follow(wanted)

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for conn in self.connections:
            conn.closed("stopped")
        for venue in self.venues:
            with contextlib.suppress(Exception):
                await venue.aclose()
