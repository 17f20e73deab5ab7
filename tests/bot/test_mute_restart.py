"""`/mute` across kill -9: held alerts survive the restart and arrive as ONE digest.

README: "/mute holds a chat's alerts; when the mute ends they arrive as one digest message".
Real `liqwatch run` processes on one database (tests/procs.py), the fake Bot API on this test's
loop. The first process holds two alerts and is killed; the second holds a third, then the mute
ends and exactly one digest names all three: none sent on its own, none twice, none lost.

The shortest mute the command takes is one minute; rather than wait it out, the test moves the
mute's end to "now" in the database once the third alert is held (what the clock reaching it
would do). Everything else, holding, the restart, the release, is the processes' own work.
"""

from __future__ import annotations

import html
from datetime import timedelta
from pathlib import Path

import pytest

from core.kernel.clock import utcnow
from core.store import Store
from tests.bot import test_restart
from tests.bot.test_restart import BELL, USER, Bots, command, confirm_updates
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.procs import WatchedExchange, market_fixture, telegram_fixture  # noqa: F401

bots = test_restart.bots  # the fixture: processes on one config, killed at teardown

pytestmark = pytest.mark.timeout(60)

DIGEST = "🔕 While muted"


def held_lines(db: Path, chat_id: int) -> list[str]:
    """The lines of the alerts a (running or dead) process holds for a muted chat."""
    store = Store.open(str(db))
    try:
        key = store.find_chat("telegram", str(chat_id))["key"]
        return [line for item in store.held_messages(key) for line in item.message.lines]
    finally:
        store.close()


def end_mute_now(db: Path, chat_id: int) -> None:
    """The minute of `/mute 1m` is up: its end moves to now (the process reads it every pass)."""
    store = Store.open(str(db))
    try:
        key = store.find_chat("telegram", str(chat_id))["key"]
        assert store.muted_until(key) > utcnow()
        store.set_muted_until(key, utcnow() - timedelta(seconds=1))
    finally:
        store.close()


def sent_to(telegram: FakeTelegramAPI, chat_id: int) -> list[str]:
    return [
        call.params["text"]
        for call in telegram.calls_to("sendMessage")
        if call.params.get("chat_id") == chat_id
    ]


async def test_alerts_held_by_mute_survive_a_kill_and_arrive_as_one_digest(
    bots: Bots, market: WatchedExchange, telegram: FakeTelegramAPI
):
    btc, eth = market.price("BTC"), market.price("ETH")
    first = bots.start()
    for text in (
        f"/alert BTC above {round(btc * 1.001)}",
        f"/alert ETH below {round(eth * 0.999, 1)}",
        f"/alert BTC above {round(btc * 1.003)}",
    ):
        assert "Alert set" in await command(telegram, USER, text)
    assert "Muted for 1m" in await command(telegram, USER, "/mute 1m")
    await confirm_updates(telegram)

    market.set_price("BTC", btc * 1.002)  # past the first BTC level, short of the second
    market.set_price("ETH", eth * 0.998)
    # The tick under way may have read the old price, the next one reads the new one, and the
    # one after that starts only when it has finished (held what it raised).
    await market.wait_alert_checks(market.alert_checks() + 3)
    before_kill = held_lines(bots.db, USER)
    assert len(before_kill) == 2, before_kill
    first.kill()
    replies_before_restart = sent_to(telegram, USER)
    assert not any(BELL in text or DIGEST in text for text in replies_before_restart)

    market.set_price("BTC", btc * 1.004)  # past the second BTC level: fires in the new process
    second = bots.start()
    await market.wait_alert_checks(market.alert_checks() + 2)  # its first tick is over
    held = held_lines(bots.db, USER)
    assert held[:2] == before_kill and len(held) == 3, held
    assert sent_to(telegram, USER) == replies_before_restart  # held, not sent

    end_mute_now(bots.db, USER)
    (digest,) = await telegram.wait_for(
        "sendMessage", 1, lambda c: c.params["chat_id"] == USER and DIGEST in c.params["text"]
    )
    # Two more ticks and delivery passes: nothing else may follow (no repeat, no stragglers).
    await market.wait_alert_checks(market.alert_checks() + 2)
    second.kill()

    text = digest.params["text"]
    assert "3 alerts" in text, text
    for line in held:  # every held alert is named, as Telegram shows it
        assert html.escape(line, quote=False) in text, (line, text)
    after = sent_to(telegram, USER)[len(replies_before_restart) :]
    assert after == [text], after  # one digest; no alert on its own, none twice
    assert held_lines(bots.db, USER) == []
    bots.assert_clean_logs()
