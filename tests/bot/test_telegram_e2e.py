"""Telegram over the whole liqwatch app: the real PTB Application (TelegramAdapter) and the real
service, store, alert monitor and outbox (bot.app.build), over real HTTP against the fake Bot API,
with market data from the loopback exchange fake (free estimate source, 2 days of history).

The monitor and the delivery pass are driven by hand (`world.minute()`), as the scheduler runs
them; the exchange and the app share one manual clock. Nothing sleeps to wait: tests wait on what
the fake Bot API recorded. `liqwatch run` as a process: tests/test_telegram_run.py.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bot.app import App, build
from bot.telegram_adapter import TelegramAdapter
from core.kernel import fmt
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram_api import ApiCall, FakeTelegramAPI
from tests.helpers import ManualClock

USER, OTHER, ADMIN = 5001, 5003, 5002
GROUP = -100200300
REPORT_BUTTONS = ["Refresh", "Chart", "Alert me on breakout"]


@dataclass
class World:
    app: App
    adapter: TelegramAdapter
    fake: FakeTelegramAPI
    exchange: FakeExchange
    clock: ManualClock

    async def say(self, text: str, chat: int = USER, user: int | None = None, **kw) -> None:
        await self.fake.push(self.fake.message(chat, chat if user is None else user, text, **kw))

    def sent(self, method: str = "sendMessage", chat: int = USER) -> list[ApiCall]:
        return [c for c in self.fake.calls_to(method) if c.params["chat_id"] == chat]

    def next_reply(self, method: str = "sendMessage", chat: int = USER) -> Awaitable[ApiCall]:
        """The next answer to `chat`: counts what was sent so far now, waits when awaited."""
        seen = len(self.sent(method, chat))

        async def arrival() -> ApiCall:
            calls = await self.fake.wait_for(
                method, seen + 1, where=lambda c: c.params["chat_id"] == chat
            )
            return calls[seen]

        return arrival()

    async def ask(self, text: str, chat: int = USER, user: int | None = None, **kw) -> str:
        """Send a command, return the text of the reply."""
        reply = self.next_reply(chat=chat)
        await self.say(text, chat, user, **kw)
        return (await reply).params["text"]

    async def minute(self, seconds: float = 60):
        """One alert check after `seconds`, then one delivery pass, as the scheduler runs them."""
        self.clock.advance(seconds)
        await self.app.monitor.tick()
        return await self.app.deliverer.deliver_due()

    async def press(self, on: ApiCall, label: str, user: int = USER) -> None:
        """Press the button labelled `label` on the message the fake answered in `on`."""
        data = next(b["callback_data"] for row in buttons(on) for b in row if b["text"] == label)
        await self.fake.push(self.fake.callback(on.params["chat_id"], user, data, on.result))

    def alerts_to(self, chat: int = USER) -> list[str]:
        return [c.params["text"] for c in self.sent(chat=chat) if "🔔" in c.params["text"]]


def buttons(call: ApiCall) -> list[list[dict]]:
    return call.params["reply_markup"]["inline_keyboard"]


def labels(call: ApiCall) -> list[str]:
    return [b["text"] for row in buttons(call) for b in row]


@pytest.fixture
async def fake():
    api = FakeTelegramAPI()
    await api.start()
    yield api
    await api.stop()  # last: after the adapters (updater → application → server)


@pytest.fixture
async def launch(fake, tmp_path):
    worlds: list[World] = []

    async def _launch(**options) -> World:
        clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
        exchange = FakeExchange(clock=clock).start()
        cfg = exchange.config("estimate", estimator={"days": 2})
        cfg.set("store", "path", str(tmp_path / f"liqwatch{len(worlds)}.db"))
        cfg.set("telegram", "token", fake.token)
        cfg.set("telegram", "api_base_url", fake.api_base_url)
        cfg.set("alerts", "commands_per_minute", options.pop("commands_per_minute", 1000))
        app = build(cfg, clock=clock)
        # As `liqwatch run` builds it, with a short long poll and no global pacing in tests.
        adapter = TelegramAdapter(
            app.service,
            cfg.section("telegram"),
            commands_per_minute=cfg.get("alerts", "commands_per_minute"),
            poll_timeout=2,
            messages_per_second=1000,
            **options,
        )
        world = World(app, adapter, fake, exchange, clock)
        worlds.append(world)
        await adapter.start()
        app.add_sender(adapter.sender)
        return world

    yield _launch
    for world in worlds:
        await world.adapter.stop()
        await world.app.aclose()
        world.exchange.stop()


@pytest.fixture
async def world(launch) -> World:
    return await launch()


# ---- /liq and its buttons ----------------------------------------------------------------------


async def test_liq_answers_with_the_chart_and_the_reports_real_figures_as_caption(world):
    reply = world.next_reply("sendPhoto")
    await world.say("/liq BTC")
    photo = await reply
    assert photo.files["photo"].startswith(b"\x89PNG")
    caption = photo.params["caption"]
    _, analysis = await world.app.market.analysis("BTC")  # the figures the core computed
    assert caption.startswith("<b>BTC")
    assert fmt.price_precise(world.exchange.price("BTC")) in caption
    assert fmt.price(analysis.short_edge) in caption and fmt.price(analysis.long_edge) in caption
    assert fmt.ratio(analysis.ratio) in caption
    assert len(caption) <= 1024
    assert labels(photo) == REPORT_BUTTONS


async def test_refresh_edits_the_report_in_place_with_the_new_price(world):
    reply = world.next_reply("sendPhoto")
    await world.say("/liq BTC")
    report = await reply
    world.exchange.set_price("BTC", 93_456.5)
    world.clock.advance(61)  # the cached map is stale now
    await world.press(report, "Refresh")
    (edit,) = await world.fake.wait_for("editMessageMedia")
    assert edit.params["message_id"] == report.result["message_id"]
    assert fmt.price_precise(93_456.5) in edit.params["media"]["caption"]
    assert fmt.price_precise(93_456.5) not in report.params["caption"]
    assert edit.files and labels(edit) == REPORT_BUTTONS
    assert len(world.sent("sendPhoto")) == 1  # edited, not sent again


async def test_chart_button_sends_the_chart_as_a_new_photo(world):
    reply = world.next_reply("sendPhoto")
    await world.say("/liq ETH")
    report = await reply
    await world.press(report, "Chart")
    await world.fake.wait_for("sendPhoto", 2)
    chart = world.sent("sendPhoto")[1]
    assert chart.files["photo"].startswith(b"\x89PNG")
    assert chart.params["caption"].startswith("<b>ETH")


async def test_alert_me_on_breakout_creates_a_rule_listed_by_alerts(world):
    reply = world.next_reply("sendPhoto")
    await world.say("/liq BTC")
    report = await reply
    reply = world.next_reply()
    await world.press(report, "Alert me on breakout")
    assert "Alert set" in (await reply).params["text"]
    listed = await world.ask("/alerts")
    assert "BTC breakout" in listed and "#1" in listed


# ---- alerts through the outbox -----------------------------------------------------------------


async def test_watch_and_a_move_through_the_key_zone_give_one_alert_with_its_buttons(world):
    assert "Watching BTC" in await world.ask("/watch BTC")
    await world.minute(0)  # the baseline check
    _, analysis = await world.app.market.analysis("BTC")
    world.exchange.set_price("BTC", analysis.key_short.high * 1.01)
    await world.minute()
    for _ in range(3):  # the price stays up there: nothing more
        await world.minute()
    (alert,) = world.alerts_to()
    assert "BTC" in alert and "break" in alert.lower()
    (call,) = [c for c in world.sent() if "🔔" in c.params["text"]]
    assert labels(call) == ["Snooze 1h", "Mute BTC"]
    reply = world.next_reply()
    await world.press(call, "Mute BTC")
    assert "BTC muted" in (await reply).params["text"]
    assert "snoozed until" in await world.ask("/alerts")


async def above_alert(world: World, chat: int = USER) -> float:
    """`/alert BTC above` 2 % over the price, with its baseline check; returns the level."""
    level = round(world.exchange.price("BTC") * 1.02)
    assert "Alert set" in await world.ask(f"/alert BTC above {level}", chat=chat)
    await world.minute(0)
    return level


async def test_a_429_on_the_alert_is_retried_and_the_alert_arrives_once(world):
    level = await above_alert(world)
    world.fake.fail_next("sendMessage", status=429, retry_after=1, chat_id=USER)
    world.exchange.set_price("BTC", level * 1.01)
    await world.minute()
    await world.minute()
    statuses = [c.status for c in world.fake.calls if c.method == "sendMessage"][-2:]
    assert statuses == [429, 200]
    assert len(world.alerts_to()) == 1 and fmt.price(level) in world.alerts_to()[0]


async def test_a_429_outlasting_the_retries_waits_in_the_outbox_and_arrives_once(launch):
    world = await launch(max_retries=0)  # the limiter gives up at once: the outbox waits
    level = await above_alert(world)
    world.fake.fail_next("sendMessage", status=429, retry_after=30, chat_id=USER)
    world.exchange.set_price("BTC", level * 1.01)
    stats = await world.minute()
    assert stats.rate_limited == 1 and world.alerts_to() == []
    assert (await world.app.deliverer.deliver_due()).sent == 0  # 30 s have not passed
    world.clock.advance(31)
    assert (await world.app.deliverer.deliver_due()).sent == 1
    await world.minute()
    assert len(world.alerts_to()) == 1


async def test_a_blocked_bot_pauses_the_chat_until_the_user_comes_back(world):
    level = await above_alert(world)
    other_level = await above_alert(world, chat=OTHER)
    world.fake.fail_next("sendMessage", status=403, chat_id=USER)
    world.exchange.set_price("BTC", max(level, other_level) * 1.01)
    stats = await world.minute()
    assert len(stats.unreachable_chats) == 1
    assert len(world.alerts_to(OTHER)) == 1  # everyone else keeps getting theirs
    assert world.app.store.find_chat("telegram", str(USER))["active"] is False
    assert all(rule.user_id != str(USER) for rule in world.app.store.active_rules())
    world.exchange.set_price("BTC", level * 0.9)  # down and up through the level again
    await world.minute()
    world.exchange.set_price("BTC", level * 1.05)
    await world.minute()
    assert world.alerts_to() == []
    # The user unblocks the bot and sets another alert: it says what happened and resumes.
    answer = await world.ask(f"/alert BTC above {round(level * 1.1)}")
    assert "could not reach you" in answer and "back on" in answer
    assert world.app.store.find_chat("telegram", str(USER))["active"] is True


# ---- groups: rights, membership, topics ------------------------------------------------------


async def test_a_members_summary_is_refused_and_stored_nowhere_an_admins_is_stored(world):
    world.fake.member_status[(GROUP, USER)] = "member"
    world.fake.member_status[(GROUP, ADMIN)] = "administrator"
    refused = await world.ask("/summary BTC every 4h", chat=GROUP, user=USER)
    assert "administrators" in refused
    assert world.app.store.summaries() == []
    accepted = await world.ask("/summary BTC every 4h", chat=GROUP, user=ADMIN)
    assert "Summary scheduled" in accepted
    (summary,) = world.app.store.summaries()
    assert summary["symbols"] == ["BTC"]
    assert world.app.store.chat(summary["chat_key"])["chat_id"] == str(GROUP)


async def test_a_summary_set_in_a_forum_topic_posts_into_that_topic(world):
    world.fake.member_status[(GROUP, ADMIN)] = "creator"
    answer = await world.ask("/summary ETH daily 08:00", chat=GROUP, user=ADMIN, thread_id=42)
    assert "Summary scheduled" in answer
    (summary,) = world.app.store.summaries()
    assert await world.app.monitor.run_summary(summary["id"])
    await world.app.deliverer.deliver_due()
    (post,) = world.sent("sendPhoto", chat=GROUP)
    assert post.params["message_thread_id"] == 42 and "ETH" in post.params["caption"]


async def test_bot_removed_from_a_group_stops_its_posts_until_readded(world):
    world.fake.member_status[(GROUP, ADMIN)] = "administrator"
    await world.ask("/summary BTC every 1h", chat=GROUP, user=ADMIN)
    changes: asyncio.Queue[bool] = asyncio.Queue()
    original = world.app.service.set_chat_active

    def spy(platform: str, chat_id: str, active: bool) -> None:
        original(platform, chat_id, active)
        changes.put_nowait(active)

    world.app.service.set_chat_active = spy  # the adapter calls it; we wait on it
    (summary,) = world.app.store.summaries()
    await world.fake.push(world.fake.my_chat_member(GROUP, ADMIN, "administrator", "kicked"))
    assert await asyncio.wait_for(changes.get(), 5) is False
    assert world.app.store.find_chat("telegram", str(GROUP))["active"] is False
    assert world.app.store.summaries() == []  # its summary is off while the bot is out
    assert await world.app.monitor.run_summary(summary["id"]) is False
    assert (await world.app.deliverer.deliver_due()).sent == 0
    assert world.sent("sendPhoto", chat=GROUP) == []
    await world.fake.push(world.fake.my_chat_member(GROUP, ADMIN, "left", "member"))
    assert await asyncio.wait_for(changes.get(), 5) is True
    assert world.app.store.find_chat("telegram", str(GROUP))["active"] is True
    assert [s["id"] for s in world.app.store.summaries()] == [summary["id"]]


# ---- robustness --------------------------------------------------------------------------------


async def test_two_hundred_malformed_commands_leave_the_bot_answering(world):
    junk = [
        "/liq " + "A" * 10_000,
        "/" + "x" * 10_000,
        "/liq <script>alert(1)</script>",
        "/alert <b>BTC</b> near &lt;1&gt;",
        "/nosuchcommand",
        "/liq@",
        "/liq",
        "//liq BTC",
        "/liq \u202e\u0000🔥",
        "/summary " + "<i>" * 500,
        "/watch " + " ".join(["BTC"] * 300),
        "/alert BTC above 1e999",
    ]
    for n in range(200):
        await world.say(junk[n % len(junk)])
    answers = await world.fake.wait_for("sendMessage", 200, timeout=20)
    reply = world.next_reply("sendPhoto")
    await world.say("/liq BTC")
    assert (await reply).params["caption"].startswith("<b>BTC")
    for call in answers:
        text = call.params["text"]
        assert 0 < len(text) <= 4096 and "Traceback" not in text
        assert "<script>" not in text and "<i><i>" not in text
    assert html.escape("<script>") in "".join(c.params["text"] for c in answers)
