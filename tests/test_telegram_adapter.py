"""The Telegram adapter end to end: the real PTB Application over real HTTP against a fake Bot API.

A stand-in service (same async methods as core.service.Service, returning realistic Messages and
recording its calls) plays the core: the adapter only translates, so this tests all of it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import pytest

from bot.telegram_adapter import TelegramAdapter, TelegramSender, build_bot
from bot.telegram_adapter.handlers import FAILED, NOT_ALLOWED, SLOW_DOWN
from bot.telegram_adapter.render import CallbackCodec
from core.commands import COMMANDS
from core.errors import ChatUnreachable, ConfigError, DeliveryRetryAfter
from core.model import Button, Caller, ChatRef, Message
from tests.fakes.standin_service import PNG, StandInService
from tests.fakes.telegram_api import ApiCall, FakeTelegramAPI

USER, ADMIN = 5001, 5002
GROUP, CHANNEL = -100200300, -100999
REPORT_BUTTONS = ("Refresh", "Chart", "Alert me on breakout")


class FakeClock:
    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Harness:
    fake: FakeTelegramAPI
    adapter: TelegramAdapter
    service: StandInService
    clock: FakeClock = field(default_factory=FakeClock)

    async def say(self, text: str, chat: int = USER, user: int = USER, **kw) -> None:
        await self.fake.push(self.fake.message(chat, user, text, **kw))

    async def replies(self, count: int = 1, chat: int = USER, method: str = "sendMessage"):
        return await self.fake.wait_for(method, count, where=lambda c: c.params["chat_id"] == chat)


@pytest.fixture
async def fake():
    api = FakeTelegramAPI()
    await api.start()
    yield api
    await api.stop()  # after the adapters: updater → application → server


@pytest.fixture
async def launch(fake):
    started: list[TelegramAdapter] = []

    async def _launch(**options) -> Harness:
        service = StandInService()
        clock = FakeClock()
        settings = {
            "token": fake.token,
            "api_base_url": fake.api_base_url,
            "admins": options.pop("admins", []),
            "allowed_chats": options.pop("allowed_chats", []),
        }
        options.setdefault("commands_per_minute", 1000)
        options.setdefault("messages_per_second", 1000)  # the fake has no global limit here
        adapter = TelegramAdapter(service, settings, poll_timeout=2, clock=clock, **options)
        await adapter.start()
        started.append(adapter)
        return Harness(fake, adapter, service, clock)

    yield _launch
    for adapter in started:
        await adapter.stop()


@pytest.fixture
async def bot(launch) -> Harness:
    return await launch()


def texts(calls: list[ApiCall]) -> list[str]:
    return [c.params.get("text") or c.params.get("caption") or "" for c in calls]


def button_rows(call: ApiCall) -> list[list[dict]]:
    return call.params["reply_markup"]["inline_keyboard"]


async def press(h: Harness, on: ApiCall, label: str, user: int = USER) -> None:
    """Press the button labelled `label` on the message the bot sent in `on`."""
    data = next(b["callback_data"] for row in button_rows(on) for b in row if b["text"] == label)
    shown = {"message_id": 1, "date": 0, "chat": h.fake._chat(on.params["chat_id"])}
    shown.update({"text": on.params["text"]} if "text" in on.params else {})
    if on.method == "sendPhoto":
        shown["photo"] = [{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}]
    await h.fake.push(h.fake.callback(on.params["chat_id"], user, data, shown))


# ---- commands -------------------------------------------------------------------------------


async def test_liq_answers_with_the_chart_and_the_report_as_caption_and_three_buttons(bot):
    await bot.say("/liq BTC")
    (photo,) = await bot.replies(method="sendPhoto")
    assert photo.files["photo"] == PNG
    caption = photo.params["caption"]
    assert caption.startswith("<b>BTC liquidation map · $90,132</b>")
    assert "$2.705B" in caption and "1.73×" in caption
    assert "&lt;squeeze risk up&gt;" in caption and "replay (sample) &amp; Binance" in caption
    assert [b["text"] for row in button_rows(photo) for b in row] == list(REPORT_BUTTONS)
    assert all(len(b["callback_data"].encode()) <= 64 for row in button_rows(photo) for b in row)
    (_, caller, text) = bot.service.handled()[0]
    assert text == "/liq BTC"
    assert caller == Caller("telegram", str(USER), str(USER), "private", can_manage_chat=True)


async def test_command_with_our_bot_name_reaches_the_service_and_others_bots_are_ignored(bot):
    await bot.say("/liq@other_bot SOL", chat=GROUP)
    await bot.say("/liq@LiqWatch_Test_Bot ETH", chat=GROUP)
    await bot.replies(chat=GROUP, method="sendPhoto")
    assert [c[2] for c in bot.service.handled()] == ["/liq ETH"]


async def test_html_in_arguments_is_escaped_in_the_reply(bot):
    await bot.say("/liq <b>pwn</b>&amp;")
    (reply,) = await bot.replies()
    assert "<b>pwn" not in reply.params["text"]
    assert "&lt;b&gt;pwn&lt;/b&gt;&amp;amp;" in reply.params["text"]


async def test_menu_is_published_at_start_from_the_command_table(bot):
    (call,) = bot.fake.calls_to("setMyCommands")
    assert [c["command"] for c in call.params["commands"]] == [s.name for s in COMMANDS]
    assert [c["description"] for c in call.params["commands"]] == [s.description for s in COMMANDS]


async def test_plain_text_gets_a_hint_in_private_and_silence_in_groups(bot):
    await bot.say("hello there", chat=GROUP)
    await bot.say("hello there")
    (hint,) = await bot.replies()
    assert "/help" in hint.params["text"]
    assert [c[2] for c in bot.service.handled()] == ["hello there"]  # the group's never reached it


async def test_a_crash_in_the_service_gets_a_brief_reply_and_no_traceback(bot, caplog):
    bot.service.crash_on = "DOGE"
    await bot.say("/liq DOGE")
    (reply,) = await bot.replies()
    assert FAILED in reply.params["text"]
    assert "Traceback" not in reply.params["text"] and "locked" not in reply.params["text"]


async def test_two_hundred_malformed_commands_leave_the_bot_answering(bot):
    junk = [
        "/liq " + "A" * 10_000,
        "/" + "x" * 10_000,
        "/liq <script>alert(1)</script>",
        "/alert <b>BTC</b> near &lt;1&gt;",
        "/nosuchcommand",
        "/",
        "/@",
        "/liq@",
        "/liq",
        "//liq BTC",
        "/liq \u202e\u0000🔥",
        "/summary " + "<i>" * 500,
    ]
    for n in range(200):
        await bot.say(junk[n % len(junk)])
    await bot.service.wait_handled(200)  # every one reached the service, none crashed the adapter
    await bot.say("/liq BTC")
    await bot.replies(method="sendPhoto")
    answers = await bot.replies(count=200)  # every junk command got at least one answer
    for text in texts(answers):
        assert 0 < len(text) <= 4096 and "Traceback" not in text
        assert "<script>" not in text and "<i><i>" not in text


async def test_a_flood_of_liq_gets_one_slow_down_and_service_resumes_a_minute_later(launch):
    h = await launch(commands_per_minute=5)
    for _ in range(12):
        await h.say("/liq BTC")
    await h.say("/help", chat=ADMIN, user=ADMIN)  # someone else: not limited
    await h.replies(chat=ADMIN)
    await h.replies(count=5, method="sendPhoto")
    (warning,) = await h.replies()
    assert SLOW_DOWN in warning.params["text"]
    assert len([c for c in h.service.handled() if c[1].user_id == str(USER)]) == 5
    h.clock.now += 61
    await h.say("/liq ETH")
    await h.replies(count=6, method="sendPhoto")
    assert len(h.fake.calls_to("sendMessage")) == 2  # the slow-down once, and /help


# ---- rights, groups, channels, topics --------------------------------------------------------


async def test_non_admins_summary_in_a_group_is_refused_by_the_service(bot):
    bot.fake.member_status[(GROUP, USER)] = "member"
    await bot.say("/summary BTC daily 08:00", chat=GROUP, user=USER)
    (reply,) = await bot.replies(chat=GROUP)
    assert "Only chat admins" in reply.params["text"]
    (_, caller, _) = bot.service.handled()[0]
    assert caller.chat_kind == "group" and caller.can_manage_chat is False
    assert bot.fake.calls_to("getChatMember")[0].params["user_id"] == USER


async def test_group_admins_summary_is_accepted_and_rights_are_asked_once(bot):
    bot.fake.member_status[(GROUP, ADMIN)] = "administrator"
    for n in range(2):
        await bot.say(f"/summary BTC every {n + 1}h", chat=GROUP, user=ADMIN)
    replies = await bot.replies(count=2, chat=GROUP)
    assert all(r.params["text"].startswith("<b>Summary set</b>") for r in replies)
    assert len(bot.fake.calls_to("getChatMember")) == 1  # cached


async def test_ordinary_group_commands_do_not_ask_for_rights(bot):
    await bot.say("/liq BTC", chat=GROUP)
    await bot.replies(chat=GROUP, method="sendPhoto")
    assert bot.fake.calls_to("getChatMember") == []


async def test_bot_wide_admin_is_flagged_to_the_service(launch):
    h = await launch(admins=[ADMIN])
    await h.say("/summary BTC off", chat=GROUP, user=ADMIN)
    await h.replies(chat=GROUP)
    assert h.service.handled()[0][1].is_bot_admin is True


async def test_channel_posts_act_with_the_channels_rights(bot):
    await bot.fake.push(bot.fake.channel_post(CHANNEL, "/summary BTC daily 08:00"))
    (reply,) = await bot.replies(chat=CHANNEL)
    assert reply.params["text"].startswith("<b>Summary set</b>")
    (_, caller, _) = bot.service.handled()[0]
    assert (caller.chat_kind, caller.chat_id, caller.can_manage_chat) == (
        "channel",
        str(CHANNEL),
        True,
    )
    assert bot.fake.calls_to("getChatMember") == []


async def test_a_command_in_a_forum_topic_is_answered_in_that_topic(bot):
    await bot.say("/help", chat=GROUP, thread_id=42)
    (reply,) = await bot.replies(chat=GROUP)
    assert reply.params["message_thread_id"] == 42
    assert bot.service.handled()[0][1].thread_id == "42"


async def test_allowed_chats_refuse_strangers_once_and_ignore_strange_groups(launch):
    h = await launch(allowed_chats=[GROUP])
    await h.say("/liq BTC", chat=-555, user=USER)
    await h.say("/liq BTC")
    await h.say("/liq ETH")
    await h.say("/help", chat=GROUP)
    await h.replies(chat=GROUP)
    (refusal,) = await h.replies()
    assert NOT_ALLOWED in refusal.params["text"]
    assert all(c.params["chat_id"] != -555 for c in h.fake.calls_to("sendMessage"))
    assert [c[1].chat_id for c in h.service.handled()] == [str(GROUP)]


async def test_bot_removed_from_a_group_marks_the_chat_inactive_and_readding_reactivates(bot):
    await bot.fake.push(bot.fake.my_chat_member(GROUP, ADMIN, "member", "kicked"))
    await asyncio.wait_for(bot.service.changed.wait(), 5)
    bot.service.changed.clear()
    await bot.fake.push(bot.fake.my_chat_member(GROUP, ADMIN, "left", "administrator"))
    await asyncio.wait_for(bot.service.changed.wait(), 5)
    assert bot.service.activity == [("telegram", str(GROUP), False), ("telegram", str(GROUP), True)]


# ---- buttons ---------------------------------------------------------------------------------


async def test_refresh_edits_the_text_report_in_place(bot):
    bot.service.charts = False
    await bot.say("/liq BTC")
    (report,) = await bot.replies()
    await press(bot, report, "Refresh")
    (edit,) = await bot.fake.wait_for("editMessageText")
    assert edit.params["text"] == report.params["text"]
    assert [b["text"] for row in button_rows(edit) for b in row] == list(REPORT_BUTTONS)
    assert bot.fake.calls_to("answerCallbackQuery")
    assert bot.service.calls[-1][2:] == ("refresh", ("BTC",))


async def test_refresh_on_a_chart_replaces_the_chart(bot):
    await bot.say("/liq ETH")
    (photo,) = await bot.replies(method="sendPhoto")
    await press(bot, photo, "Refresh")
    (edit,) = await bot.fake.wait_for("editMessageMedia")
    assert edit.files  # a fresh PNG uploaded
    assert edit.params["media"]["caption"].startswith("<b>ETH liquidation map")


async def test_chart_button_sends_the_chart_as_a_photo(bot):
    bot.service.charts = False
    await bot.say("/liq SOL")
    (report,) = await bot.replies()
    await press(bot, report, "Chart")
    (photo,) = await bot.replies(method="sendPhoto")
    assert photo.files["photo"] == PNG and "SOL liquidation map" in photo.params["caption"]


async def test_alert_button_sets_the_alert_for_the_presser(bot):
    await bot.say("/liq BTC")
    (photo,) = await bot.replies(method="sendPhoto")
    await press(bot, photo, "Alert me on breakout")
    (reply,) = await bot.replies()
    assert "Alert set: BTC breakout" in reply.params["text"]
    (_, caller, action, args) = bot.service.calls[-1]
    assert (caller.user_id, action, args) == (str(USER), "alert_breakout", ("BTC",))


async def test_an_expired_button_is_answered_with_a_notice(bot):
    shown = {"message_id": 1, "date": 0, "chat": bot.fake._chat(USER), "text": "old"}
    await bot.fake.push(bot.fake.callback(USER, USER, "~zzz", shown))
    (answer,) = await bot.fake.wait_for("answerCallbackQuery")
    assert "expired" in answer.params["text"]
    assert [c for c in bot.service.calls if c[0] == "press"] == []


# ---- the Sender (queued alerts and summaries) ------------------------------------------------

ALERT = Message(
    "🔔 BTC breakout",
    lines=("BTC broke above the key short zone $91,800–$92,300 ($412.5M of shorts): now $92,450",),
    buttons=(Button("Snooze 1h", "snooze", ("7",)), Button("Mute BTC", "mute_symbol", ("BTC",))),
    kind="alert",
)


async def test_an_alert_arrives_once_with_snooze_and_mute_buttons_that_work(bot):
    await bot.adapter.sender.send(ChatRef("telegram", "4242"), ALERT)
    (alert,) = bot.fake.calls_to("sendMessage")
    assert alert.params["chat_id"] == 4242 and "$92,450" in alert.params["text"]
    await press(bot, alert, "Mute BTC", user=4242)
    await bot.replies(chat=4242, count=2)
    assert bot.service.calls[-1][2:] == ("mute_symbol", ("BTC",))


async def test_a_429_is_retried_and_the_alert_still_arrives_once(bot):
    bot.fake.fail_next("sendMessage", count=1, status=429, retry_after=1)
    await bot.adapter.sender.send(ChatRef("telegram", "4243"), ALERT)
    statuses = [c.status for c in bot.fake.calls_to("sendMessage", ok_only=False)]
    assert statuses == [429, 200]


async def test_a_429_that_persists_after_the_retries_becomes_delivery_retry_after(fake):
    settings = {"token": fake.token, "api_base_url": fake.api_base_url}
    sender = TelegramSender(build_bot(settings, max_retries=1), CallbackCodec())
    await sender.bot.initialize()
    fake.fail_next("sendMessage", count=5, status=429, retry_after=1)
    with pytest.raises(DeliveryRetryAfter) as raised:
        await sender.send(ChatRef("telegram", "4244"), ALERT)
    assert raised.value.seconds == 1
    await sender.bot.shutdown()


async def test_a_retry_after_a_failed_second_part_does_not_send_the_chart_again(fake):
    settings = {"token": fake.token, "api_base_url": fake.api_base_url}
    sender = TelegramSender(build_bot(settings, max_retries=0), CallbackCodec())
    await sender.bot.initialize()
    summary = Message(  # too long for a caption: the chart, then the text
        "Summary · BTC", lines=tuple(f"line {n} " + "x" * 60 for n in range(40)), image=PNG,
        kind="summary",
    )  # fmt: skip
    fake.fail_next("sendMessage", count=1, status=429, retry_after=1)
    with pytest.raises(DeliveryRetryAfter):
        await sender.send(ChatRef("telegram", "4245"), summary)
    await sender.send(ChatRef("telegram", "4245"), summary)  # the outbox's retry
    assert len(fake.calls_to("sendPhoto")) == 1
    assert len(fake.calls_to("sendMessage")) == 1
    await sender.send(ChatRef("telegram", "4245"), summary)  # a new delivery sends it all
    assert len(fake.calls_to("sendPhoto")) == 2
    await sender.bot.shutdown()


@pytest.mark.parametrize(
    "status,description",
    [
        (403, "Forbidden: bot was blocked by the user"),
        (403, "Forbidden: bot was kicked from the supergroup chat"),
        (400, "Bad Request: chat not found"),
    ],
)
async def test_a_chat_that_blocked_or_dropped_the_bot_is_unreachable(bot, status, description):
    bot.fake.fail_next("sendMessage", status=status, description=description, chat_id=4245)
    with pytest.raises(ChatUnreachable):
        await bot.adapter.sender.send(ChatRef("telegram", "4245"), ALERT)
    await bot.adapter.sender.send(ChatRef("telegram", "4246"), ALERT)  # others unaffected
    assert bot.fake.calls_to("sendMessage")[0].params["chat_id"] == 4246


async def test_a_summary_for_a_forum_topic_posts_into_the_topic(bot):
    summary = Message("Daily BTC", lines=("Ratio 1.73×",), kind="summary")
    await bot.adapter.sender.send(ChatRef("telegram", str(GROUP), thread_id="77"), summary)
    (post,) = bot.fake.calls_to("sendMessage")
    assert (post.params["chat_id"], post.params["message_thread_id"]) == (GROUP, 77)


async def test_consecutive_alerts_to_one_private_chat_are_paced(bot):
    sleeps: list[float] = []

    async def record_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    pacer = bot.adapter.sender.pacer
    pacer._sleep, pacer._clock = record_sleep, bot.clock
    for _ in range(3):
        await bot.adapter.sender.send(ChatRef("telegram", "4247"), ALERT)
    await bot.adapter.sender.send(ChatRef("telegram", "4248"), ALERT)
    assert sleeps == [pytest.approx(1.0), pytest.approx(2.0)]  # the other chat did not wait


# ---- secrets and configuration ---------------------------------------------------------------


async def test_the_token_never_appears_in_the_logs(launch, caplog):
    caplog.set_level(logging.DEBUG)
    h = await launch()
    h.service.crash_on = h.fake.token  # an exception whose text holds the token
    await h.say("/liq BTC")
    await h.say(f"/liq {h.fake.token}")
    await h.replies(method="sendPhoto")
    await h.replies()
    await h.adapter.sender.send(ChatRef("telegram", "4249"), ALERT)
    assert "/bot***/sendMessage" in caplog.text  # the URLs were logged, redacted
    assert h.fake.token not in caplog.text
    for record in caplog.records:
        assert h.fake.token not in logging.Formatter().format(record)


async def test_a_rejected_token_is_a_config_error_that_does_not_quote_it(fake):
    settings = {"token": "999:WRONG-token-0123456789", "api_base_url": fake.api_base_url}
    adapter = TelegramAdapter(StandInService(), settings)
    with pytest.raises(ConfigError) as raised:
        await adapter.start()
    assert "999:WRONG" not in str(raised.value) and raised.value.__cause__ is None
    await adapter.stop()


def test_an_empty_token_is_refused_before_any_connection():
    with pytest.raises(ConfigError, match="TELEGRAM_TOKEN"):
        TelegramAdapter(StandInService(), {"token": "", "api_base_url": "http://127.0.0.1:9/bot"})


async def test_a_group_upgraded_to_a_supergroup_keeps_its_alerts_and_gets_them(fake, tmp_path):
    from core.delivery import Deliverer
    from core.store import Store

    store = Store.open(tmp_path / "liqwatch.db")
    group = store.upsert_chat("telegram", "-4001", kind="group")
    rule = store.add_rule(group, "u1", "BTC", "above", 95_000.0)
    store.enqueue(group, ALERT)
    settings = {"token": fake.token, "api_base_url": fake.api_base_url}
    sender = TelegramSender(build_bot(settings), CallbackCodec())
    await sender.bot.initialize()
    fake.fail_next("sendMessage", chat_id=-4001, migrate_to=-1004001)

    await Deliverer(store, {"telegram": sender}).deliver_due()

    (delivered,) = fake.calls_to("sendMessage")
    assert delivered.params["chat_id"] == -1004001
    moved = store.find_chat("telegram", "-1004001")
    assert moved is not None and moved["key"] == group
    assert [r.id for r in store.rules_for(group, "u1")] == [rule.id]
    assert store.pending() == []
    await sender.bot.shutdown()
    store.close()
