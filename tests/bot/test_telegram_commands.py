"""Telegram commands end to end (real PTB Application, real HTTP, fake Bot API): replies, the
command menu, bad input, the command budget, and who may do what in groups, channels and topics."""

from __future__ import annotations

import asyncio

from bot.telegram_adapter.handlers import FAILED, NOT_ALLOWED, SLOW_DOWN
from core.chat.commands import COMMANDS
from core.types import Caller
from tests.fakes.standin_service import PNG
from tests.telegram_helpers import (  # noqa: F401  (*_fixture: the bot/fake/launch fixtures)
    ADMIN,
    CHANNEL,
    GROUP,
    REPORT_BUTTONS,
    USER,
    bot_fixture,
    button_rows,
    fake_fixture,
    launch_fixture,
    texts,
)

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
