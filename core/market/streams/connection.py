"""One venue's connection, kept up for as long as the feeds run.

connect → (prepare, subscribe) → read frames → prints to the sink; on any end (the venue's
24-hour close, a network fault, a notice to reconnect, silence past the venue's idle limit) the
connection records a gap, waits a jittered backoff and starts again, resubscribing to the symbols
followed at that moment. The backoff starts small (a scheduled close is back within a second or
two), doubles per failed attempt up to a minute, and resets once a connection has delivered.

A gap starts when data stops flowing (the connection dropped, or the feeds stopped) and ends when
the venue confirms the subscription again; reports over that period say so. A malformed frame is
dropped with one log line (at most one a minute per venue, with a count). Prints of symbols not
followed are dropped here, before they reach the disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

import websockets
from websockets.exceptions import WebSocketException

from core.kernel.clock import utcnow
from core.market.streams.base import Malformed, Venue
from core.types import LiqPrint

log = logging.getLogger(__name__)

BACKOFF_FIRST = 0.5
BACKOFF_MAX = 60.0
HEALTHY_SECONDS = 30.0  # a connection that lived this long resets the backoff
MALFORMED_LOG_SECONDS = 60.0


class Sink(Protocol):
    """Where prints and gaps go (core.store.print_writer.PrintWriter)."""

    def put(self, prints: list[LiqPrint], received: float | None = None) -> None: ...

    def gap_started(self, venue: str, at: datetime, reason: str = "") -> None: ...

    def gap_ended(self, venue: str, at: datetime) -> None: ...


class Reconnect(Exception):
    """End this connection and open a new one (with why)."""


def backoff(attempt: int, jitter: float, first: float = BACKOFF_FIRST, most: float = BACKOFF_MAX):
    """Delay before reconnect attempt `attempt` (0-based): 50–100 % of first·2^attempt, capped."""
    return min(most, first * 2**attempt) * (0.5 + jitter / 2)


class VenueConnection:
    def __init__(
        self,
        venue: Venue,
        sink: Sink,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        connect: Callable[..., Any] = websockets.connect,
        backoff_first: float = BACKOFF_FIRST,
    ):
        self.venue = venue
        self.sink = sink
        self.clock = clock
        self.rng = rng or random.Random()
        self._connect = connect
        self.backoff_first = backoff_first
        self.symbols: set[str] = set()  # followed (the supervisor sets them)
        self._subscribed: set[str] = set()  # per-symbol venues: what this connection asked for
        self._ws: Any = None
        self.flowing = False  # subscribed and delivering
        self.connected_at: datetime | None = None
        self.last_frame_at: datetime | None = None
        self.connections = 0
        self.prints = 0
        self.malformed = 0
        self._malformed_logged_at = -1e9
        self._malformed_unlogged = 0

    # ---- run ------------------------------------------------------------------------------

    async def run(self) -> None:
        attempt = 0
        while True:
            started = time.monotonic()
            reason = "closed"
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Reconnect as exc:
                reason = str(exc)
            except (OSError, WebSocketException, TimeoutError, ConnectionError) as exc:
                reason = f"{type(exc).__name__}: {exc}"[:200]
            except Exception as exc:  # noqa: BLE001  (a bug must not end the feed for good)
                log.exception("%s stream failed", self.venue.name)
                reason = f"{type(exc).__name__}"
            finally:
                self._ws = None
            self._stopped(reason)
            if time.monotonic() - started >= HEALTHY_SECONDS:
                attempt = 0
            delay = backoff(attempt, self.rng.random(), self.backoff_first)
            attempt += 1
            log.info("%s stream: %s; reconnecting in %.1f s", self.venue.name, reason, delay)
            await asyncio.sleep(delay)

    async def _session(self) -> None:
        await self.venue.prepare()
        async with self._connect(
            self.venue.url,
            open_timeout=10,
            close_timeout=2,
            ping_interval=20,
            ping_timeout=20,
            max_size=2**22,
        ) as ws:
            self._ws = ws
            self.connections += 1
            self.connected_at = self.clock()
            self._subscribed = set()
            await self._subscribe(ws, self._wanted())
            if not self.venue.needs_ack:
                self._flowing()
            pinger = None
            if self.venue.ping_seconds:
                pinger = asyncio.create_task(self._ping(ws, self.venue.ping_seconds))
            try:
                await self._read(ws)
            finally:
                if pinger is not None:
                    pinger.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await pinger

    async def _read(self, ws) -> None:
        idle = self.venue.idle_seconds
        while True:
            try:
                frame = await asyncio.wait_for(ws.recv(), idle) if idle else await ws.recv()
            except TimeoutError:
                raise Reconnect(f"nothing received for {idle:.0f} s") from None
            received = time.monotonic()
            self.last_frame_at = self.clock()
            try:
                parsed = self.venue.parse(frame)
            except Malformed as exc:
                self._malformed(exc, frame)
                continue
            if parsed.rejected:
                log.warning("%s refused a subscription: %s", self.venue.name, parsed.rejected)
            if parsed.subscribed:
                self._flowing()
            if parsed.reconnect:
                raise Reconnect(parsed.reconnect)
            if parsed.prints:
                if not self.flowing:  # data before the ack: the subscription clearly holds
                    self._flowing()
                followed = self.symbols
                prints = [p for p in parsed.prints if p.symbol in followed]
                if prints:
                    self.prints += len(prints)
                    self.sink.put(prints, received)

    async def _ping(self, ws, every: float) -> None:
        frame = self.venue.ping_frame()
        while frame:
            await asyncio.sleep(every)
            await ws.send(frame)
            try:
                await self.venue.maintain()
            except Exception as exc:  # noqa: BLE001  (upkeep must not end a live connection)
                log.info("%s: upkeep failed (%s)", self.venue.name, exc)

    # ---- symbols --------------------------------------------------------------------------

    def _wanted(self) -> set[str]:
        if not self.venue.per_symbol:
            return set(self.symbols)
        return set(self.venue.limit_symbols(sorted(self.symbols)))

    async def _subscribe(self, ws, wanted: set[str]) -> None:
        if self.venue.per_symbol:
            added, removed = wanted - self._subscribed, self._subscribed - wanted
            frames = self.venue.unsubscribe_frames(removed) if removed else []
            frames += self.venue.subscribe_frames(added) if added else []
            self._subscribed = set(wanted)
        else:  # one all-market subscription per connection
            frames = [] if self._subscribed else self.venue.subscribe_frames(wanted)
            self._subscribed = {"*"}
        for frame in frames:
            await ws.send(frame)

    async def follow(self, symbols: set[str]) -> None:
        """Follow these symbols from now on (a live per-symbol connection (un)subscribes now)."""
        self.symbols = set(symbols)
        ws = self._ws
        if ws is not None and self.venue.per_symbol:
            try:
                await self._subscribe(ws, self._wanted())
            except (OSError, WebSocketException) as exc:
                log.info("%s: could not change subscriptions now (%s)", self.venue.name, exc)

    # ---- state ----------------------------------------------------------------------------

    def _flowing(self) -> None:
        if not self.flowing:
            self.flowing = True
            self.sink.gap_ended(self.venue.name, self.clock())

    def _stopped(self, reason: str) -> None:
        if self.flowing:
            self.flowing = False
            self.sink.gap_started(self.venue.name, self.clock(), reason)

    def closed(self, reason: str = "stopped") -> None:
        """The feeds stopped: the gap runs until the next start confirms the venue again."""
        self.flowing = False
        self.sink.gap_started(self.venue.name, self.clock(), reason)

    def _malformed(self, exc: Malformed, frame: str | bytes) -> None:
        self.malformed += 1
        now = time.monotonic()
        if now - self._malformed_logged_at >= MALFORMED_LOG_SECONDS:
            more = (
                f" (+{self._malformed_unlogged} more since the last)"
                if self._malformed_unlogged
                else ""
            )
            log.warning("%s: malformed frame dropped: %s%s", self.venue.name, exc, more)
            self._malformed_logged_at = now
            self._malformed_unlogged = 0
        else:
            self._malformed_unlogged += 1
