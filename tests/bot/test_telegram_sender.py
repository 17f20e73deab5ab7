"""The Telegram Sender (queued alerts and summaries): buttons that work, 429s retried or handed to
the outbox, unreachable chats, topics, pacing, and a group upgraded to a supergroup."""

from __future__ import annotations

import pytest

from bot.telegram_adapter import TelegramSender, build_bot
from bot.telegram_adapter.render import CallbackCodec
from core.kernel.errors import ChatUnreachable, DeliveryRetryAfter
from core.types import ChatRef, Message
from tests.fakes.standin_service import PNG
from tests.telegram_helpers import (  # noqa: F401  (*_fixture: the bot/fake/launch fixtures)
    ALERT,
    GROUP,
    bot_fixture,
    fake_fixture,
    launch_fixture,
    press,
)

# ---- the Sender (queued alerts and summaries) ------------------------------------------------


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


async def test_a_group_upgraded_to_a_supergroup_keeps_its_alerts_and_gets_them(fake, tmp_path):
    from core.delivery.deliverer import Deliverer
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
