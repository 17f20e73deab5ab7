"""The alert tick across a restart: a new process on the same database reads the wicks since the
old one's last check, so nothing that crossed a level while the bot was down is lost, and nothing
it already said is said again. Also the wick marks themselves, as the store keeps them.

A "restart" here is a new App (store, monitor, service, cache: everything in memory) built on the
same database, while the market (the replay source, with its scripted price path) plays on.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from bot.app import build
from core.kernel.errors import StoreError
from core.store import Store, WickMark
from core.types import Caller, Candle, Message
from tests.helpers import START, ManualClock, RecordingSender, app_config, write_replay

ME = Caller(platform="console", chat_id="c1", user_id="u1")
ALERT = Message("BTC traded above $51,000", kind="alert")


class Bot:
    """One database and one market; `restart()` throws away everything the process held."""

    def __init__(self, tmp_path, prices: list[float], step: float = 60):
        self.clock = ManualClock()
        replay = write_replay(tmp_path / "replay.json", prices, step)
        self.config = app_config(tmp_path, replay)
        self.sender = RecordingSender()
        self.app = build(self.config, clock=self.clock)
        self.app.add_sender(self.sender)

    def restart(self) -> None:
        market = self.app.source
        self.app.store.close()
        self.app = build(self.config, clock=self.clock, source=market)
        self.app.add_sender(self.sender)

    async def say(self, text: str) -> str:
        return "\n".join(m.text() for m in await self.app.service.handle(ME, text))

    async def check(self, after_seconds: float) -> None:
        """One alert check, then one delivery pass, as the scheduler runs them."""
        self.clock.advance(after_seconds)
        await self.app.monitor.tick()
        await self.app.deliverer.deliver_due()

    def alerts(self) -> list[Message]:
        return [message for _, message in self.sender.sent if message.kind == "alert"]


@pytest.fixture
def bots(tmp_path):
    made: list[Bot] = []

    def make(prices: list[float], step: float = 60) -> Bot:
        bot = Bot(tmp_path, prices, step)
        made.append(bot)
        return bot

    yield make
    for bot in made:
        bot.app.store.close()


async def test_a_wick_through_a_level_while_the_bot_was_down_fires_once_after_the_restart(bots):
    # 12:02 wicks to $51,300, the price is back at $50,000 long before the bot is.
    bot = bots([50_000, 50_000, 51_300, 50_000, 50_000, 50_000, 50_000])
    assert "Alert set" in await bot.say("/alert BTC above 51000")
    await bot.check(0)  # 12:00: armed, below the level
    bot.restart()
    await bot.check(4 * 60)  # 12:04, the new process's first check
    await bot.check(60)
    await bot.check(60)
    [alert] = bot.alerts()
    text = alert.text()
    assert "traded above $51,000" in text and "$51,300" in text and "back at $50,000" in text


async def test_a_wick_in_the_last_minute_before_the_kill_is_not_lost(bots):
    # Checks every 20 s; the spike comes 10 s after the last check of the old process, inside
    # the 1-minute candle that was open at that check.
    bot = bots([50_000, 50_000, 50_000, 50_000, 51_300, 50_000] + [50_000] * 10, step=10)
    await bot.say("/alert BTC above 51000")
    await bot.check(0)
    await bot.check(20)
    await bot.check(10)  # 12:00:30: still $50,000; the spike is 12:00:40–12:00:50
    bot.restart()
    await bot.check(90)  # 12:02:00
    assert len(bot.alerts()) == 1, bot.sender.texts()
    assert "$51,300" in bot.alerts()[0].text()


async def test_a_rule_that_fired_does_not_fire_again_because_of_its_pre_alert_low(bots):
    # Checks every 20 s: the alert fires at 12:00:40 inside the candle that opened at $50,000.
    # After the restart that candle still holds the low from before the alert; it must not
    # re-arm the rule and fire it a second time.
    bot = bots([50_000, 50_000, 51_300, 51_300, 51_300, 51_300, 51_300, 51_300], step=20)
    await bot.say("/alert BTC above 51000")
    await bot.check(0)
    await bot.check(20)
    await bot.check(20)  # 12:00:40: fires
    assert len(bot.alerts()) == 1
    bot.restart()
    await bot.check(10)  # 12:00:50, same candle
    await bot.check(20)  # 12:01:10, the next one
    assert len(bot.alerts()) == 1, bot.sender.texts()


async def test_after_a_long_downtime_only_the_last_hour_of_wicks_is_replayed(bots):
    prices = [50_000.0] * 181
    prices[30] = 51_300  # 12:30, two and a half hours before the bot is back
    prices[150] = 48_700  # 14:30, half an hour before
    bot = bots(prices)
    await bot.say("/alert BTC above 51000")
    await bot.say("/alert BTC below 48750")
    await bot.check(0)
    bot.restart()
    await bot.check(180 * 60)  # 15:00
    [alert] = bot.alerts()
    assert "traded below $48,750" in alert.text()
    assert "51,000" not in alert.text()


async def test_a_breakout_while_the_bot_was_down_fires_once_and_names_the_zone(bots):
    bot = bots([50_000, 50_000, 51_300, 50_000, 50_000, 50_000, 50_000])
    assert "Watching BTC" in await bot.say("/watch BTC")
    await bot.check(0)  # the baseline: the key zones at $50,000
    bot.restart()
    await bot.check(4 * 60)
    await bot.check(60)
    [alert] = bot.alerts()
    assert "wicked above the key short zone" in alert.text()
    assert "of shorts" in alert.text()  # and its size


# ---- the marks in the store -------------------------------------------------------------------


def test_wick_marks_are_committed_with_the_tick_and_read_back_after_a_reopen(tmp_path):
    path = tmp_path / "liqwatch.db"
    candle = Candle(START, 50_000.0, 51_300.5, 49_900.25, 51_200.0)
    with Store.open(path) as store:
        key = store.upsert_chat("telegram", "1")
        rule = store.add_rule(key, "u", "BTC", "above", 51_000)
        marks = {"BTC": WickMark(START + timedelta(seconds=40), candle), "ETH": WickMark(START)}
        store.commit_tick({rule.id: "fired"}, [(key, ALERT, "t1")], marks)
        later = {"ETH": WickMark(START + timedelta(minutes=1))}
        store.commit_tick({}, [], later)  # one symbol moves on, the other keeps its mark
    with Store.open(path) as reopened:
        assert reopened.wick_marks() == {"BTC": marks["BTC"], "ETH": later["ETH"]}
        assert reopened.rule_states() == {rule.id: "fired"}


def test_a_tick_that_fails_midway_leaves_the_previous_wick_marks(tmp_path):
    with Store.open(tmp_path / "liqwatch.db") as store:
        key = store.upsert_chat("telegram", "1")
        before = {"BTC": WickMark(START, Candle(START, 1.0, 2.0, 0.5, 1.5))}
        store.commit_tick({}, [], before)
        nowhere = 404  # no such chat: the database refuses the second message
        with pytest.raises(StoreError):
            store.commit_tick(
                {},
                [(key, ALERT, "t2:a"), (nowhere, ALERT, "t2:b")],
                {"BTC": WickMark(START + timedelta(minutes=1))},
            )
        assert store.wick_marks() == before


def test_an_unreadable_wick_mark_is_skipped_and_a_broken_candle_dropped(tmp_path):
    path = tmp_path / "liqwatch.db"
    Store.open(path).close()
    when = START.isoformat(timespec="microseconds")
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO wick_marks (symbol, checked_at) VALUES ('BTC', 'yesterday-ish')")
    conn.execute(
        "INSERT INTO wick_marks VALUES ('ETH', ?, ?, 1.0, NULL, 0.5, 1.5)", (when, when)
    )  # a candle without its high
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        assert store.wick_marks() == {"ETH": WickMark(START, None)}
