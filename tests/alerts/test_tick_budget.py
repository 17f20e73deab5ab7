"""A slow symbol never delays everyone's alerts: the tick gives each symbol
`[alerts] symbol_budget_seconds`, checks the ones that answered, and the late one is checked on a
later tick from its last good check, so its crossing still fires, once."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from bot.app import build
from core.types import Caller
from tests.helpers import ManualClock, RecordingSender, app_config, write_replay

ME = Caller(platform="console", chat_id="c1", user_id="u1")
BUDGET = 0.3


class GatedSource:
    """The replay market, except that the symbols in `held` answer only once `opened` is set."""

    def __init__(self, inner, held: set[str]):
        self.inner = inner
        self.name = inner.name
        self.held = held
        self.opened = asyncio.Event()

    async def snapshot(self, symbol: str):
        if symbol in self.held:
            await self.opened.wait()
        return await self.inner.snapshot(symbol)

    async def candles(self, symbol, since, interval="1m"):
        return await self.inner.candles(symbol, since, interval)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
def bot(tmp_path):
    clock = ManualClock()
    # BTC (and ETH at 0.06x) climb through 51,000 (ETH 3,060) in the second minute and stay there
    replay = write_replay(tmp_path / "replay.json", [50_000, 50_200, 51_500, 51_600, 51_700])
    config = app_config(tmp_path, replay)
    first = build(config, clock=clock)
    source = GatedSource(first.source, held={"ETH"})
    first.store.close()
    app = build(config, clock=clock, source=source)
    app.monitor.symbol_budget = BUDGET
    sender = RecordingSender()
    app.add_sender(sender)
    yield app, clock, source, sender
    app.store.close()


def alert_texts(sender: RecordingSender) -> list[str]:
    return [m.text() for _, m in sender.sent if m.kind == "alert"]


async def test_a_slow_symbol_sits_the_tick_out_and_fires_on_the_next_one(bot, caplog):
    app, clock, source, sender = bot
    source.opened.set()  # both answer for the first check: rules armed below the levels
    await app.service.handle(ME, "/alert BTC above 51000")
    await app.service.handle(ME, "/alert ETH above 3060")
    clock.advance(30)
    await app.monitor.tick()
    source.opened.clear()

    clock.advance(90)  # both crossed their level
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="core.alerts.monitor"):
        stats = await app.monitor.tick()
    took = time.monotonic() - started
    await app.deliverer.deliver_due()

    assert took < BUDGET + 0.5  # BTC's alert did not wait for ETH
    assert stats.late == 1
    (btc,) = alert_texts(sender)
    assert "BTC" in btc and "ETH" not in btc
    assert sum("ETH: no data within" in r.getMessage() for r in caplog.records) == 1

    clock.advance(60)  # still slow: logged once, not once per tick
    with caplog.at_level(logging.WARNING, logger="core.alerts.monitor"):
        assert (await app.monitor.tick()).late == 1
    assert sum("ETH: no data within" in r.getMessage() for r in caplog.records) == 1

    source.opened.set()  # ETH answers again
    await asyncio.sleep(0.05)  # the background reading ends (its data was for an old tick)
    clock.advance(60)
    stats = await app.monitor.tick()
    await app.deliverer.deliver_due()
    assert stats.late == 0
    texts = alert_texts(sender)
    assert len(texts) == 2 and "ETH" in texts[1]  # fired once, on the tick that read it

    clock.advance(60)
    await app.monitor.tick()
    await app.deliverer.deliver_due()
    assert len(alert_texts(sender)) == 2  # and never again


async def test_closing_the_app_stops_a_reading_still_past_its_budget(bot):
    app, clock, source, sender = bot
    source.opened.set()
    await app.service.handle(ME, "/alert ETH above 3060")  # (the command reads ETH's map)
    source.opened.clear()
    clock.advance(30)
    assert (await app.monitor.tick()).late == 1  # ETH is held: its reading runs on
    (reading,) = app.monitor._reading.values()
    await app.aclose()
    assert reading.cancelled()  # not left to record a map in the closed store
