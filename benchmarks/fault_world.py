"""The world of the fault run (benchmarks/faults.py): the platforms' fakes that note every alert
they accept, and the faults injected meanwhile (price climb, upstream faults, 429 storms, a locked
database, a full disk), each noted in the `Run`."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import re
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.fakes.corpus import load as load_record
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.exchange import KLINES, PREMIUM_INDEX
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.procs import WatchedExchange

LEVEL = re.compile(r"above \$([\d,]+)")  # every level an alert message names
BASE_LEVEL = 90_300
STEP = 100
REFUSING = "Bad Request: group is deactivated"
STORM = 20  # sends answered 429 per storm
DISCORD_STORM = 3  # posts answered 429 per channel per storm
DISCORD_BASE = 990_000  # Discord channel ids: channel:990000, ...
# Discord's documented user-limit 429 (tests/data/real/discord), its 64.57 s wait shortened
DISCORD_429 = load_record("discord", "error_429_user_rate_limit_doc")
DISCORD_429 = {
    **DISCORD_429,
    "headers": {**DISCORD_429["headers"], "Retry-After": "2", "X-RateLimit-Reset-After": "2"},
    "body": {**DISCORD_429["body"], "retry_after": 2.0},
}


@dataclass
class Sent:
    at: float  # wall clock, when the fake answered 200
    chat: int
    level: int
    message: int = 0  # which accepted message carried it (one alert message names every level
    # its chat crossed in that tick: after an outage, many)


MESSAGES = itertools.count(1)  # accepted messages, both platforms


class RecordingTelegram(FakeTelegramAPI):
    """The fake Bot API, also noting the wall time of every accepted alert."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Sent] = []

    def _answer(self, method, params, files, status, body):  # type: ignore[override]
        if method in ("sendMessage", "sendPhoto") and status == 200:
            text = str(params.get("text") or params.get("caption") or "")
            at, serial = time.time(), next(MESSAGES)
            for level in {int(m.replace(",", "")) for m in LEVEL.findall(text)}:
                self.sent.append(Sent(at, int(params["chat_id"]), level, serial))
        return super()._answer(method, params, files, status, body)


class RecordingDiscord(FakeDiscord):
    """The fake Discord, also noting the wall time of every alert a channel post created."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Sent] = []
        self.count_429 = 0

    async def rest(self, request):  # type: ignore[override]
        before = len(self.posted)
        replays = len(self._replays)
        response = await super().rest(request)
        if len(self._replays) < replays and response.status == 429:
            self.count_429 += 1
        for post in self.posted[before:]:
            if post["path"].startswith("/channels/"):
                channel = int(post["path"].split("/")[2])
                at, serial = time.time(), next(MESSAGES)
                for level in {int(m.replace(",", "")) for m in LEVEL.findall(str(post["json"]))}:
                    self.sent.append(Sent(at, channel, level, serial))
        return response


@dataclass
class Run:
    kills: list[float] = field(default_factory=list)
    price_max: list[tuple[float, float]] = field(default_factory=list)  # (wall time, max so far)
    faults: dict[str, int] = field(default_factory=dict)
    store_down: list[tuple[float, float, str]] = field(default_factory=list)  # (from, to, what)

    def store_fault_at(self, moment: float) -> str:
        return next((what for a, b, what in self.store_down if a <= moment <= b), "")


async def climb(exchange: WatchedExchange, run: Run, levels: int, stop: asyncio.Event) -> None:
    """One level every ~3 s, never back: each (chat, level) alert is raised once."""
    price = exchange.price("BTC")
    run.price_max.append((time.time(), price))
    top = BASE_LEVEL + STEP * (levels - 1) + STEP / 2
    while not stop.is_set() and price < top:
        await asyncio.sleep(3)
        price = min(price + STEP, top)
        exchange.set_price("BTC", price)
        run.price_max.append((time.time(), price))


async def upstream_faults(exchange: WatchedExchange, run: Run, stop: asyncio.Event) -> None:
    rng = random.Random(11)
    while not stop.is_set():
        await asyncio.sleep(rng.uniform(8, 20))
        kind = rng.choice(["5xx", "garbage", "slow"])
        path = rng.choice([KLINES, PREMIUM_INDEX])
        if kind == "5xx":
            exchange.fail(path, 503, times=rng.randint(2, 12))
        elif kind == "garbage":
            exchange.fail(path, garbage=True, times=rng.randint(1, 6))
        else:
            exchange.fail(path, delay=7, times=rng.randint(1, 3))  # past the 5 s timeout
        run.faults[kind] = run.faults.get(kind, 0) + 1


async def telegram_storms(telegram: RecordingTelegram, run: Run, stop: asyncio.Event) -> None:
    rng = random.Random(13)
    while not stop.is_set():
        await asyncio.sleep(rng.uniform(20, 40))
        telegram.fail_next("sendMessage", count=STORM, status=429, retry_after=2)
        run.faults["429 storm"] = run.faults.get("429 storm", 0) + 1


async def discord_storms(
    discord: RecordingDiscord, channels: list[int], run: Run, stop: asyncio.Event
) -> None:
    rng = random.Random(19)
    while not stop.is_set():
        await asyncio.sleep(rng.uniform(20, 40))
        for channel in channels:
            discord.replay_next(
                "POST", f"/channels/{channel}/messages", DISCORD_429, count=DISCORD_STORM
            )
        run.faults["discord 429 storm"] = run.faults.get("discord 429 storm", 0) + 1


def mount_small_disk(directory: Path) -> bool:
    """A 64 MB tmpfs at `directory` (root only); False when it cannot be mounted."""
    directory.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64M,mode=0700", "tmpfs", str(directory)],
        capture_output=True,
    )
    return done.returncode == 0


async def disk_full(directory: Path, run: Run, stop: asyncio.Event) -> None:
    """Fill the database's disk to the last byte for 3-8 s now and then: every write fails with
    SQLITE_FULL (a StoreError), and a message sent meanwhile must not be sent again."""
    rng = random.Random(23)
    filler = directory / "filler"

    def fill() -> None:
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            for size in (1 << 20, 4096, 512, 1):  # to the last byte
                try:
                    while os.write(fd, b"\0" * size):
                        pass
                except OSError:  # ENOSPC: the next, smaller size
                    continue
        finally:
            os.close(fd)

    while not stop.is_set():
        await asyncio.sleep(rng.uniform(25, 45))
        began = time.time()
        try:
            await asyncio.to_thread(fill)
            await asyncio.sleep(rng.uniform(3, 8))
        finally:
            filler.unlink(missing_ok=True)
            run.store_down.append((began, time.time(), "disk full"))
        run.faults["disk full"] = run.faults.get("disk full", 0) + 1


async def db_locks(db: Path, run: Run, stop: asyncio.Event) -> None:
    """Another process holds the database's write lock for 2-8 s now and then (longer than the
    store's 5 s busy timeout, at times): writes fail as StoreErrors, delivery backs off, and a
    message sent meanwhile must not be sent again."""
    rng = random.Random(17)

    def hold(seconds: float) -> None:
        conn = sqlite3.connect(db, timeout=30, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            time.sleep(seconds)
            conn.execute("ROLLBACK")
        finally:
            conn.close()

    while not stop.is_set():
        await asyncio.sleep(rng.uniform(15, 30))
        began = time.time()
        await asyncio.to_thread(hold, rng.uniform(2, 8))
        run.store_down.append((began, time.time(), "db locked"))
        run.faults["db locked"] = run.faults.get("db locked", 0) + 1
