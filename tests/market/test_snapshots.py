"""The snapshot cache: one fetch shared by everyone, stale data only where it is safe."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from core.kernel.errors import SourceUnavailable, UnknownSymbol
from core.market.snapshots import SnapshotCache
from core.types import Snapshot
from tests.helpers import ManualClock


class ScriptedSource:
    name = "scripted"

    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.calls = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def snapshot(self, symbol: str) -> Snapshot:
        self.calls += 1
        await self.gate.wait()
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        if isinstance(outcome, Exception):
            raise outcome
        return Snapshot(symbol, 100.0, (), self.name, datetime(2026, 1, 1, tzinfo=UTC))


async def test_concurrent_asks_share_one_fetch():
    source = ScriptedSource()
    source.gate.clear()
    cache = SnapshotCache(source, ttl_seconds=60, clock=ManualClock())
    asks = [asyncio.create_task(cache.get("BTC")) for _ in range(50)]
    await asyncio.sleep(0)  # let every ask reach the cache before the fetch completes
    source.gate.set()
    results = await asyncio.gather(*asks)
    assert source.calls == 1 and len({id(r) for r in results}) == 1


async def test_a_refused_symbol_is_asked_again_after_a_while():
    clock = ManualClock()
    source = ScriptedSource(UnknownSymbol("BTC"))  # e.g. Binance -1122 during a settlement
    cache = SnapshotCache(source, ttl_seconds=60, clock=clock)
    with pytest.raises(UnknownSymbol):
        await cache.get("BTC")
    with pytest.raises(UnknownSymbol):
        await cache.get("BTC")  # not asked again at once
    assert source.calls == 1
    clock.advance(11 * 60)
    assert (await cache.refresh(["BTC"]))["BTC"].price == 100.0


async def test_stale_data_serves_reports_but_never_the_alert_check():
    clock = ManualClock()
    source = ScriptedSource("ok", SourceUnavailable("down"), SourceUnavailable("down"))
    cache = SnapshotCache(source, ttl_seconds=60, clock=clock)
    await cache.get("BTC")
    clock.advance(120)
    assert (await cache.get("BTC")).price == 100.0  # the report shows its age
    assert await cache.refresh(["BTC"]) == {}  # the alert check gets nothing stale


async def test_the_alert_check_asks_for_data_newer_than_its_previous_check():
    clock = ManualClock()
    source = ScriptedSource()
    cache = SnapshotCache(source, ttl_seconds=300, clock=clock)
    await cache.get("BTC")
    previous_check = clock.advance(30)
    clock.advance(60)
    await cache.refresh(["BTC"], newer_than=previous_check)
    assert source.calls == 2
    await cache.refresh(["BTC"], newer_than=previous_check)
    assert source.calls == 2
