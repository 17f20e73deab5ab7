"""The real bot process (`liqwatch run`) on a loopback Bybit stream (tests/fakes/ws_venues.py),
the fake Bot API and the fake exchange: $25M of BTC longs liquidated within two minutes gives a
chat holding `/alert BTC cascade 20M 5` exactly one alert, and a group's /feed gets the prints in
batches, far inside Telegram's per-group limit (about 20 messages a minute)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from core.store import Store
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.ws_venues import FakeVenue, bybit_frame
from tests.procs import (  # noqa: F401  (fixtures)
    TEST_TICK_SECONDS,
    BotProcess,
    WatchedExchange,
    market_fixture,
    telegram_fixture,
    write_config,
)

pytestmark = pytest.mark.timeout(90)

USER, ADMIN = 5001, 5002
GROUP = -100999
BELL = "🔔"


@pytest.fixture
async def bybit() -> AsyncIterator[FakeVenue]:
    async with FakeVenue("bybit") as venue:
        yield venue


def texts(telegram: FakeTelegramAPI, chat: int) -> list[str]:
    return [
        c.params["text"] for c in telegram.calls_to("sendMessage") if c.params["chat_id"] == chat
    ]


async def ask(telegram: FakeTelegramAPI, chat: int, user: int, text: str) -> str:
    seen = len(texts(telegram, chat))
    await telegram.push(telegram.message(chat, user, text))
    await telegram.wait_for(
        "sendMessage", seen + 1, where=lambda c: c.params["chat_id"] == chat, timeout=20
    )
    return texts(telegram, chat)[seen]


async def test_a_cascade_alerts_once_and_a_group_feed_gets_batches(
    tmp_path, market, telegram, bybit
):
    config = write_config(
        tmp_path,
        market,
        telegram.api_base_url,
        tmp_path / "liqwatch.db",
        feeds='venues = ["bybit"]\nbatch_seconds = 3',
    )
    with config.open("a", encoding="utf-8") as out:
        out.write(f'\n[sources.bybit]\nws_url = "{bybit.url}"\n')
    bot = BotProcess.start(config, telegram.token, tmp_path / "bot.log", TEST_TICK_SECONDS)
    try:
        telegram.member_status[(GROUP, ADMIN)] = "administrator"
        assert "Alert set" in await ask(telegram, USER, USER, "/alert BTC cascade 20M 5")
        refused = await ask(telegram, GROUP, USER, "/feed BTC min 1M")
        assert "administrators" in refused
        assert "feed on" in (await ask(telegram, GROUP, ADMIN, "/feed BTC min 1M")).lower()
        await bybit.wait_for(
            lambda: any("allLiquidation.BTCUSDT" in f for f in bybit.received), timeout=20
        )
        await bybit.wait_for(lambda: bybit.subscribed_clients() == 1, timeout=20)

        # $25M of BTC longs within two minutes ("Buy" = a long position liquidated, Bybit docs),
        # in 500 ms pushes of a few prints each; one resent push must not count twice.
        now = int(time.time() * 1000)
        start = now - 110_000
        for n in range(10):
            ts = start + n * 11_000
            size = 2_500_000 / (90_000 - n * 50)  # $2.5M each, the price falling
            await bybit.push(bybit_frame("BTCUSDT", [("Buy", size, 90_000 - n * 50, ts)], ts))
        await bybit.push_text(bybit.pushed[-1])  # a resend

        alert = await telegram.wait_for(
            "sendMessage",
            1,
            where=lambda c: c.params["chat_id"] == USER and BELL in c.params["text"],
            timeout=30,
        )
        assert "longs liquidated" in alert[0].params["text"]
        assert "$25.0M" in alert[0].params["text"]
        # two more alert ticks: the cascade is still in the window, no second alert
        ticks = market.alert_checks()
        await market.wait_alert_checks(ticks + 2, timeout=30)
        assert sum(BELL in t for t in texts(telegram, USER)) == 1

        def feed_texts() -> list[str]:
            return [t for t in texts(telegram, GROUP) if "liquidated" in t and BELL not in t]

        await telegram.wait_for(
            "sendMessage",
            1,
            where=lambda c: c.params["chat_id"] == GROUP and "Liquidations" in c.params["text"],
            timeout=20,
        )

        def printed() -> int:
            return sum(t.count("long liquidated") for t in feed_texts())

        async with telegram._changed:  # the fake's own condition: wait on what it recorded
            await asyncio.wait_for(telegram._changed.wait_for(lambda: printed() >= 10), 20)
        batches = feed_texts()
        assert sum(t.count("long liquidated") for t in batches) == 10  # each print once
        assert len(batches) <= 3 and all(len(t) <= 4096 for t in batches)
    finally:
        bot.process.terminate()  # SIGTERM: a clean stop (the fakes keep serving meanwhile)
        assert await asyncio.to_thread(bot.process.wait, 30) == 0
    log = bot.stderr()
    assert "Traceback" not in log, log
    with Store.open(tmp_path / "liqwatch.db") as store:
        assert store.liq_print_count() == 10  # the resent push was stored once
        (gap,) = [
            g
            for g in store.liq_gaps(
                store.liq_prints("BTC", datetime.min.replace(tzinfo=UTC), datetime.now(UTC))[0].at
            )
            if g.end is None
        ]
        assert gap.venue == "bybit"  # the clean stop opened a gap until the next start
