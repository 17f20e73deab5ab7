"""Every recorded Telegram payload (tests/data/real/telegram) through the real adapter: PTB over
HTTP against the fake Bot API, which replays the recorded updates and error replies as they were.

Updates: what the bot answers, or that it stays silent (in groups, other bots' commands and
commands liqwatch does not have are not its business unless addressed `/foo@thisbot`).
Errors: what a send concludes from each recorded reply (the chat is gone for good; wait; moved;
or a passing fault worth a retry).
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging

import pytest

from bot.telegram_adapter import TelegramSender, build_bot
from bot.telegram_adapter.render import CallbackCodec
from bot.telegram_adapter.sender import ChatPacer
from core.kernel.errors import ChatMoved, ChatUnreachable, DeliveryRetryAfter, MessageRejected
from core.types import ChatRef, Message
from tests.fakes.corpus import load
from tests.fakes.exchange import RecordingSleep
from tests.telegram_helpers import (  # noqa: F401  (*_fixture: the bot/fake/launch fixtures)
    USER,
    fake_fixture,
    launch_fixture,
)

SENTINEL_CHAT = 777001


def update(name: str, **replace: str) -> dict:
    """A recorded update (or a recorded bare message, wrapped as `message`), without its
    update_id (the fake numbers them); `replace` rewrites text (e.g. the addressed bot)."""
    body = copy.deepcopy(load("telegram", name)["body"])
    if name.startswith("message_"):
        body = {"message": body}
    body.pop("update_id", None)
    raw = json.dumps(body, ensure_ascii=False)
    for old, new in replace.items():
        raw = raw.replace(old, new)
    return json.loads(raw)


async def handled_then_sentinel(h, payload: dict) -> list:
    """Push `payload`, then a private /help; returns every sendMessage but the sentinel's reply.
    The silent path awaits nothing, so it is done before the sentinel's reply is recorded."""
    before = len(h.fake.calls_to("sendMessage"))
    await h.fake.push(payload)
    await h.say("/help", chat=SENTINEL_CHAT, user=SENTINEL_CHAT)
    await h.fake.wait_for("sendMessage", where=lambda c: c.params["chat_id"] == SENTINEL_CHAT)
    return [
        c for c in h.fake.calls_to("sendMessage")[before:] if c.params["chat_id"] != SENTINEL_CHAT
    ]


SILENT = [
    "update_command_for_other_bot_in_group",  # /help@rgen_bot
    "update_command_start_at_bot_in_group",  # /start@rgen_bot
    "update_command_reply_in_supergroup",  # /report: not a liqwatch command, not addressed
    "update_edited_message_private_command",  # an edit must not run a command again
    "update_channel_post_with_author_signature",  # channel chatter
    "update_chat_member_user_joined_channel",
    "message_anonymous_admin_forward",
    "message_forum_topic_closed",
    "message_forum_topic_created",
    "message_forum_topic_message",
    "message_video_chat_started_anonymous_admin",
]


@pytest.mark.parametrize("name", SILENT)
async def test_recorded_group_traffic_gets_no_answer(launch, name):
    h = await launch()
    assert await handled_then_sentinel(h, update(name)) == []
    assert [c[2] for c in h.service.handled()] == ["/help"]  # only the sentinel reached it


async def test_an_unknown_command_addressed_to_this_bot_in_a_group_gets_the_helpful_answer(
    launch, fake
):
    h = await launch()
    payload = update(
        "update_command_reply_in_supergroup", **{"/report": f"/report@{fake.username}"}
    )
    payload["message"]["entities"][0]["length"] = len(f"/report@{fake.username}")
    (reply,) = await handled_then_sentinel(h, payload)
    assert "Unknown command" in reply.params["text"]
    # The recorded message_thread_id is a reply thread, not a forum topic (no is_topic_message):
    # answering "into" it would fail. The answer goes to the chat.
    assert reply.params["chat_id"] == -1001293752024 and "message_thread_id" not in reply.params


async def test_a_known_command_addressed_to_this_bot_in_a_group_is_answered(launch, fake):
    h = await launch()
    payload = update("update_command_start_at_bot_in_group", rgen_bot=fake.username)
    (reply,) = await handled_then_sentinel(h, payload)
    assert reply.params["chat_id"] == -1001283156137 and "liqwatch" in reply.params["text"]


async def test_an_unknown_command_in_a_private_chat_keeps_the_helpful_answer(launch):
    h = await launch()
    await h.say("/report", chat=USER, user=USER)
    (reply,) = await h.replies(chat=USER)
    assert "Unknown command" in reply.params["text"]


async def test_recorded_private_start_answers_with_help(launch):
    h = await launch()
    await h.fake.push(update("update_command_private_start"))
    (reply,) = await h.replies(chat=2147423284)
    assert "liqwatch" in reply.params["text"]


async def test_recorded_membership_changes_keep_the_chat_registry(launch):
    h = await launch()
    await h.fake.push(update("update_my_chat_member_bot_added_as_channel_admin"))
    await h.fake.push(update("update_my_chat_member_bot_blocked_in_private"))
    await h.fake.push(update("message_migrate_to_chat_id"))
    await h.fake.push(update("message_migrate_from_chat_id"))
    while len(h.service.activity) < 4:
        h.service.changed.clear()
        await asyncio.wait_for(h.service.changed.wait(), 5)
    assert sorted(h.service.activity) == sorted(
        [
            ("telegram", "-1001579743247", True),
            ("telegram", "2147423284", False),
            ("telegram", "-599075523->-1001555296434", True),
            ("telegram", "-599075523->-1001555296434", True),
        ]
    )


async def test_a_recorded_button_press_on_another_bots_message_is_answered_as_expired(launch):
    h = await launch()
    await h.fake.push(update("update_callback_query_in_group"))
    (answer,) = await h.fake.wait_for("answerCallbackQuery")
    assert "expired" in answer.params["text"]


async def test_an_update_the_library_cannot_read_is_skipped_with_one_log_line(launch, caplog):
    h = await launch()
    broken = update("update_command_private_start")
    broken["message"]["entities"] = [{"type": "bot_command"}]  # a shape this PTB cannot build
    with caplog.at_level(logging.WARNING):
        await h.fake.push(broken)
        await h.say("/help", chat=SENTINEL_CHAT, user=SENTINEL_CHAT)
        await h.fake.wait_for("sendMessage", where=lambda c: c.params["chat_id"] == SENTINEL_CHAT)
    skipped = [r for r in caplog.records if "skipped update" in r.getMessage()]
    assert len(skipped) == 1 and "entities" not in skipped[0].getMessage().split(":")[0]
    polls = [c for c in h.fake.calls_to("getUpdates")]
    assert len(polls) < 10  # not refetched in a loop


async def test_recorded_getme_names_the_bot_commands_are_addressed_to(fake):
    record = load("telegram", "getme_success")
    fake.replay_next("getMe", record)
    sender = TelegramSender(build_bot({"token": fake.token, "api_base_url": fake.api_base_url}),
                            CallbackCodec())  # fmt: skip
    await sender.bot.initialize()
    assert sender.bot.username == record["body"]["result"]["username"]
    await sender.bot.shutdown()


# ---- recorded error replies to a send ----------------------------------------------------------

GONE = [
    "error_bot_blocked_by_user",
    "error_bot_kicked_from_supergroup",
    "error_bot_not_member_of_channel",
    "error_chat_not_found",
    "error_chat_write_forbidden",
    "error_group_chat_deleted",
    "error_group_is_deactivated",
    "error_need_admin_rights_in_channel",
    "error_not_enough_rights_to_send_text",
    "error_topic_closed",
]
PASSING = [
    "error_502_bad_gateway_nginx_html",
    "error_unauthorized_401",
    "error_409_conflict_getupdates",
]
ALERT = Message("BTC crossed $92,450", kind="alert")


@pytest.fixture(name="sender")
async def sender_fixture(fake):
    settings = {"token": fake.token, "api_base_url": fake.api_base_url}
    # The per-chat pacer's second-long wait between two sends to one chat: not waited here.
    pacer = ChatPacer(sleep=RecordingSleep())
    sender = TelegramSender(build_bot(settings, max_retries=0), CallbackCodec(), pacer)
    await sender.bot.initialize()
    yield sender
    await sender.bot.shutdown()


@pytest.mark.parametrize("name", GONE)
async def test_recorded_permanent_refusals_mark_the_chat_unreachable(fake, sender, name):
    fake.replay_next("sendMessage", load("telegram", name))
    with pytest.raises(ChatUnreachable):
        await sender.send(ChatRef("telegram", "-1001234", thread_id="7"), ALERT)


@pytest.mark.parametrize("name", PASSING)
async def test_recorded_passing_faults_are_left_to_the_retry(fake, sender, name):
    fake.replay_next("sendMessage", load("telegram", name))
    with pytest.raises(Exception) as raised:
        await sender.send(ChatRef("telegram", "4242"), ALERT)
    permanent = ChatUnreachable | DeliveryRetryAfter | ChatMoved | MessageRejected
    assert not isinstance(raised.value, permanent)
    await sender.send(ChatRef("telegram", "4242"), ALERT)  # the next try goes through
    assert len(fake.calls_to("sendMessage")) == 1


async def test_any_other_400_refuses_this_message_for_good(fake, sender):
    fake.fail_next("sendMessage", status=400, description="Bad Request: message is too long")
    with pytest.raises(MessageRejected, match="too long"):
        await sender.send(ChatRef("telegram", "4242"), ALERT)


async def test_recorded_429_waits_what_telegram_says(fake, sender):
    fake.replay_next("sendMessage", load("telegram", "error_429_retry_after"))
    with pytest.raises(DeliveryRetryAfter) as raised:
        await sender.send(ChatRef("telegram", "4242"), ALERT)
    assert raised.value.seconds == 35


async def test_recorded_upgrade_to_supergroup_delivers_to_the_new_id(fake, sender):
    fake.replay_next("sendMessage", load("telegram", "error_group_upgraded_to_supergroup"))
    with pytest.raises(ChatMoved) as raised:
        await sender.send(ChatRef("telegram", "-599075523"), ALERT)
    assert raised.value.new_chat_id == "-1002037472066" and raised.value.delivered
    (sent,) = fake.calls_to("sendMessage")
    assert sent.params["chat_id"] == -1002037472066


async def test_recorded_thread_not_found_posts_to_the_chat_instead(fake, sender):
    fake.replay_next("sendMessage", load("telegram", "error_message_thread_not_found"))
    await sender.send(ChatRef("telegram", "-1001234", thread_id="99"), ALERT)
    (sent,) = fake.calls_to("sendMessage")
    assert sent.params["chat_id"] == -1001234 and "message_thread_id" not in sent.params
