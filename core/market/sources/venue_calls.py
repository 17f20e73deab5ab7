"""Asking every venue for a coin at once, within a time budget, so one slow venue never holds up
a map the others can make.

- Each venue's fetch runs as its own task. After `budget_seconds` the map is made from the venues
  that answered; a venue still fetching is named in the report ("no answer within 8 s") and goes
  on in the background: the history it downloads is kept (history.py), so its next fetch is one
  page and it rejoins the map. A later ask for the same coin joins that fetch, never starts a
  second one.
- When no venue has answered by then, the map waits for the first one that does (each request
  still has its own total deadline, http.py): a slow start is slower, never empty for nothing.
- A venue that does not list the coin is not asked again for it for `UNLISTED_FOR`: a slow venue
  never delays a coin it does not serve, after the first time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from core.kernel.errors import SourceUnavailable, UnknownSymbol
from core.kernel.expiring import ExpiringSet
from core.market.sources.venues import Venue

log = logging.getLogger(__name__)

DEFAULT_BUDGET_SECONDS = 8.0
UNLISTED_FOR = 600.0  # s: a listing comes back by itself after this
MAX_UNLISTED = 5000


class LateVenue(SourceUnavailable):
    """A venue that had not answered within the budget (still fetching in the background)."""


class VenueCalls:
    def __init__(
        self,
        budget_seconds: float = DEFAULT_BUDGET_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.budget = budget_seconds
        self._running: dict[tuple[str, str], asyncio.Task] = {}
        self._unlisted = ExpiringSet(UNLISTED_FOR, clock, MAX_UNLISTED)  # (venue, coin) said so

    def unlisted(self, venue: Venue, coin: str) -> bool:
        return (venue.name, coin) in self._unlisted

    async def ask(
        self,
        venues: Sequence[Venue],
        coin: str,
        fetch: Callable[[Venue], Awaitable[Any]],
    ) -> tuple[dict[str, Any], dict[str, Exception]]:
        """(answers by venue name, failures by venue name): every venue that lists `coin`."""
        failures: dict[str, Exception] = {}
        tasks: dict[str, asyncio.Task] = {}
        for venue in venues:
            if self.unlisted(venue, coin):
                failures[venue.name] = UnknownSymbol(coin)
            else:
                tasks[venue.name] = self._task(venue, coin, fetch)
        if not tasks:
            return {}, failures
        done, late = await asyncio.wait(tasks.values(), timeout=self.budget)
        while late and not any(_answered(t) for t in done):
            more, late = await asyncio.wait(late, return_when=asyncio.FIRST_COMPLETED)
            done |= more
        answers: dict[str, Any] = {}
        for name, task in tasks.items():
            if task not in done:
                failures[name] = LateVenue(f"no answer within {self.budget:g} s")
            elif task.cancelled():  # shut down: not a venue's fault
                raise asyncio.CancelledError
            elif task.exception() is not None:
                failures[name] = task.exception()  # type: ignore[assignment]
            else:
                answers[name] = task.result()
        return answers, failures

    def _task(self, venue: Venue, coin: str, fetch: Callable[[Venue], Awaitable[Any]]):
        key = (venue.name, coin)
        running = self._running.get(key)
        if running is not None:
            return running
        task = asyncio.ensure_future(fetch(venue))
        self._running[key] = task

        def finished(done: asyncio.Task) -> None:
            if self._running.get(key) is done:
                del self._running[key]
            if done.cancelled():
                return
            error = done.exception()  # retrieved: a background failure is not "never retrieved"
            if isinstance(error, UnknownSymbol):
                self._unlisted.add(key)

        task.add_done_callback(finished)
        return task

    async def aclose(self) -> None:
        running = list(self._running.values())
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)


def _answered(task: asyncio.Task) -> bool:
    return not task.cancelled() and task.exception() is None
