"""Sample liquidation prints for the demo: no network, the same interface as LiveFeeds.

The demo's BTC price (core/data/sample.json) walks up through the key short zone and back. This
replays what such a move looks like on the venues' streams: while the price climbs, shorts are
liquidated along the path (about $26M within 45 s, across the three venues: a cascade), and as it
falls back, a trickle of longs. Prints carry the clock's time, so /liqs, /feed and a
`cascade` alert read them like live ones. Every run of the demo is labelled SAMPLE DATA.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from core.kernel.clock import utcnow
from core.market.streams.base import Coverage
from core.market.streams.connection import Sink
from core.types import LiqPrint

log = logging.getLogger(__name__)

VENUES: dict[str, tuple[str, Coverage]] = {
    "binance": ("Binance (sample)", "sampled"),
    "bybit": ("Bybit (sample)", "full"),
    "okx": ("OKX (sample)", "partial"),
}
TICK_SECONDS = 1.0
SHORTS_PER_RISING_STEP = 6_000_000.0  # USD of shorts liquidated per 5 s while the price climbs
LONGS_PER_FALLING_STEP = 400_000.0


class SampleFeeds:
    def __init__(
        self,
        sink: Sink,
        sample_path: Path,
        clock: Callable[[], datetime] = utcnow,
        seed: int = 11,
    ):
        self.sink = sink
        self.clock = clock
        self.rng = random.Random(seed)
        data = json.loads(Path(sample_path).read_text())
        self.paths = {
            symbol: (entry["path"]["prices"], float(entry["path"]["step_seconds"]))
            for symbol, entry in data["symbols"].items()
            if "path" in entry
        }
        self.symbols: set[str] = set(data["symbols"])
        self._task: asyncio.Task | None = None
        self._started: datetime | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def coverage(self) -> dict[str, Coverage]:
        return {name: coverage for name, (_, coverage) in VENUES.items()}

    def labels(self) -> dict[str, str]:
        return {name: label for name, (label, _) in VENUES.items()}

    def states(self) -> list:
        return []

    def refresh(self) -> None:
        """Nothing to follow: the sample covers its own symbols."""

    async def start(self) -> None:
        if self._task is None:
            self._started = self.clock()
            for venue in VENUES:
                self.sink.gap_ended(venue, self._started)
            self._task = asyncio.create_task(self._play(), name="feeds:sample")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def prints_at(self, elapsed: float, now: datetime) -> list[LiqPrint]:
        """The prints of one second of the script, `elapsed` seconds after the start."""
        out = []
        for symbol, (prices, step) in self.paths.items():
            index = int(elapsed // step) % len(prices)
            price, previous = prices[index], prices[index - 1] if index else prices[0]
            if price > previous:
                side, per_step = "short", SHORTS_PER_RISING_STEP
            elif price < previous:
                side, per_step = "long", LONGS_PER_FALLING_STEP
            else:
                continue
            if symbol != "BTC":
                per_step /= 20
            budget = per_step / step * TICK_SECONDS
            for venue in VENUES:
                usd = budget / len(VENUES) * self.rng.uniform(0.5, 1.5)
                at_price = price * (1 + self.rng.uniform(-0.0004, 0.0004))
                out.append(LiqPrint(venue, symbol, side, at_price, usd / at_price, usd, now))
        return out

    async def _play(self) -> None:
        started = asyncio.get_running_loop().time()
        beat = 0
        while True:
            beat += 1
            await asyncio.sleep(
                max(0.0, started + beat * TICK_SECONDS - asyncio.get_running_loop().time())
            )
            prints = self.prints_at(beat * TICK_SECONDS, self.clock())
            if prints:
                self.sink.put(prints)
