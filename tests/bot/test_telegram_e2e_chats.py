"""What the README promises about Telegram chats, end to end: the real PTB Application and the real
app (service, store, monitor, outbox) against the fake Bot API, with a manual clock
(tests/bot/test_telegram_e2e.py's world).

- anonymous admins and channels: a command an anonymous admin sends (or a channel posts) sets an
  alert the chat owns; the alert goes to the chat; its buttons work for the chat's admins and
  refuse everyone else (to the presser alone); a member's own alerts keep working unasked;
- a group upgraded to a supergroup: the service message moves the chat's things, a send answered
  "group chat was upgraded" is delivered to the new id, and later alerts go straight there;
- a deleted forum topic: the alert is posted to the chat instead, logged once, and later alerts
  do not try the topic again;
- the webhook removed at start: polling begins with deleteWebhook.
"""

from __future__ import annotations

import asyncio
import copy
import logging

import pytest

from tests.bot import test_telegram_e2e as e2e
from tests.bot.test_telegram_e2e import World, labels
from tests.fakes.corpus import load
from tests.fakes.telegram_updates import GROUP_ANONYMOUS_BOT

USER, ADMIN, OTHER = 5001, 5002, 5003
GROUP, CHANNEL = -100200300, -100999
OLD, NEW = -4001, -1004001  # a basic group and the supergroup it became

fake, launch, world = e2e.fake, e2e.launch, e2e.world  # the whole-app fixtures


async def ask(world: World, text: str, chat: int, user: int, **kw) -> str:
    reply = world.next_reply(chat=chat)
    await world.say(text, chat, user, **kw)
    return (await reply).params["text"]


async def by_the_chat(world: World, chat: int, text: str) -> str:
    """A command the chat itself sends: an anonymous admin in a group, a post in a channel."""
    reply = world.next_reply(chat=chat)
    if chat == CHANNEL:
        await world.fake.push(world.fake.channel_post(chat, text))
    else:
        await world.fake.push(world.fake.anonymous_admin_message(chat, text))
    return (await reply).params["text"]


async def fire(world: World, level: float) -> None:
    """The price goes through `level` (the rule's baseline was taken before)."""
    world.exchange.set_price("BTC", level * 1.01)
    await world.minute()


def alerts(world: World, chat: int):
    return [c for c in world.sent(chat=chat) if "🔔" in c.params["text"]]


async def answer_to_press(world: World, on, label: str, user: int) -> str | None:
    """Press `label` as `user`; the text of the press's answer (None: no notice)."""
    seen = len(world.fake.calls_to("answerCallbackQuery"))
    await world.press(on, label, user=user)
    calls = await world.fake.wait_for("answerCallbackQuery", seen + 1)
    return calls[seen].params.get("text")


# ---- alerts the chat owns: anonymous admins, channels ------------------------------------------


@pytest.mark.parametrize("chat", [GROUP, CHANNEL], ids=["anonymous-admin", "channel-post"])
async def test_an_alert_the_chat_owns_is_for_its_admins_to_snooze_and_mute(world, chat):
    world.fake.member_status[(chat, ADMIN)] = "administrator"  # others are plain members
    level = round(world.exchange.price("BTC") * 1.02)
    assert "Alert set" in await by_the_chat(world, chat, f"/alert BTC above {level}")
    (rule,) = world.app.store.active_rules()
    assert rule.user_id == str(chat)  # the chat's own: not GroupAnonymousBot's, not a member's
    assert str(GROUP_ANONYMOUS_BOT["id"]) not in {r.user_id for r in world.app.store.active_rules()}
    await world.minute(0)
    await fire(world, level)
    (alert,) = alerts(world, chat)
    assert labels(alert) == ["Snooze 1h", "Mute BTC"]
    posted = len(world.sent(chat=chat))

    # A member's press: refused, in the press's own answer (not a post the whole chat reads).
    for label in ("Snooze 1h", "Mute BTC"):
        refusal = await answer_to_press(world, alert, label, user=USER)
        assert refusal and "administrators" in refusal
    assert world.app.store.rule(rule.id).snoozed_until is None
    assert len(world.sent(chat=chat)) == posted

    # An admin's press (the real account: tdlib/telegram-bot-api#667): it works. A group reads
    # the answer below the alert; a channel's subscribers do not: only the presser sees it.
    for label, done in (("Snooze 1h", "Snoozed"), ("Mute BTC", "BTC muted")):
        reply = world.next_reply(chat=chat) if chat == GROUP else None
        answer = await answer_to_press(world, alert, label, user=ADMIN)
        if reply is None:
            assert answer and done in answer
        else:
            assert answer is None and done in (await reply).params["text"]
    assert world.app.store.rule(rule.id).snoozed_until is not None
    assert len(world.sent(chat=chat)) == posted + (2 if chat == GROUP else 0)
    asked = [
        (c.params["chat_id"], c.params["user_id"]) for c in world.fake.calls_to("getChatMember")
    ]
    assert set(asked) == {(chat, USER), (chat, ADMIN)}  # each asked once (cached)


async def test_a_members_own_alert_in_a_group_works_without_asking_telegram(world):
    level = round(world.exchange.price("BTC") * 1.02)
    assert "Alert set" in await ask(world, f"/alert BTC above {level}", GROUP, USER)
    await world.minute(0)
    await fire(world, level)
    (alert,) = alerts(world, GROUP)
    reply = world.next_reply(chat=GROUP)
    await world.press(alert, "Snooze 1h", user=USER)
    assert "Snoozed" in (await reply).params["text"]
    (rule,) = world.app.store.active_rules()
    assert rule.user_id == str(USER) and rule.snoozed_until is not None
    # Another member's press on it is refused, and still nothing is asked of Telegram.
    refusal = await answer_to_press(world, alert, "Snooze 1h", user=OTHER)
    assert refusal and "someone else's" in refusal
    assert world.fake.calls_to("getChatMember") == []


async def test_a_real_admin_lists_and_deletes_the_chats_own_alert_a_member_cannot(world):
    """The alert's footer says "/delalert N": an admin typing it (as themselves, not anonymous)
    can; a member is refused; both see the chat's alerts in /alerts."""
    world.fake.member_status[(GROUP, ADMIN)] = "administrator"
    level = round(world.exchange.price("BTC") * 1.02)
    assert "Alert set" in await by_the_chat(world, GROUP, f"/alert BTC above {level}")
    (rule,) = world.app.store.active_rules()
    listing = await ask(world, "/alerts", GROUP, USER)
    assert f"#{rule.id}" in listing and "This chat's alerts" in listing

    refusal = await ask(world, f"/delalert {rule.id}", GROUP, USER)
    assert "administrators" in refusal and world.app.store.active_rules() == [rule]
    assert "Alert deleted" in await ask(world, f"/delalert {rule.id}", GROUP, ADMIN)
    assert world.app.store.active_rules() == []
    asked = {c.params["user_id"] for c in world.fake.calls_to("getChatMember")}
    assert asked == {USER, ADMIN}  # asked only for /delalert of the chat's alert


# ---- a group upgraded to a supergroup ----------------------------------------------------------


def upgraded(world: World) -> dict:
    """The recorded service message (tests/data/real/telegram/message_migrate_to_chat_id.json),
    sent in the old group, with this test's ids."""
    message = copy.deepcopy(load("telegram", "message_migrate_to_chat_id")["body"])
    message["chat"]["id"], message["migrate_to_chat_id"] = OLD, NEW
    message["message_id"] = next(world.fake._message_ids)
    return {"message": message}


async def group_with_everything(world: World) -> float:
    """The old basic group: a member's alert and watch, an admin's summary; returns the level."""
    world.fake.chat_types[OLD] = "group"
    world.fake.member_status[(OLD, ADMIN)] = "administrator"
    level = round(world.exchange.price("BTC") * 1.02)
    assert "Alert set" in await ask(world, f"/alert BTC above {level}", OLD, USER)
    assert "Watching ETH" in await ask(world, "/watch ETH", OLD, USER)
    assert "Summary scheduled" in await ask(world, "/summary BTC every 4h", OLD, ADMIN)
    await world.minute(0)
    return level


async def test_the_upgrade_message_moves_the_groups_alerts_watchlist_and_summary(world):
    level = await group_with_everything(world)
    moved: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    original = world.app.service.chat_moved

    def spy(platform: str, old: str, new: str) -> None:
        original(platform, old, new)
        moved.put_nowait((old, new))

    world.app.service.chat_moved = spy  # the adapter calls it; the test waits on it
    await world.fake.push(upgraded(world))
    assert await asyncio.wait_for(moved.get(), 5) == (str(OLD), str(NEW))
    store = world.app.store
    assert store.find_chat("telegram", str(OLD)) is None
    key = store.find_chat("telegram", str(NEW))["key"]
    assert sorted(r.symbol for r in store.rules_for(key, str(USER))) == ["BTC", "ETH"]
    assert store.watchlist(key, str(USER)) == ["ETH"]
    (summary,) = store.summaries()
    assert summary["chat_key"] == key
    listed = await ask(world, "/alerts", NEW, USER)
    assert "BTC above" in listed
    await fire(world, level)
    assert len(alerts(world, NEW)) == 1 and alerts(world, OLD) == []


async def test_a_send_answered_group_upgraded_reaches_the_new_id_and_later_ones_go_there(world):
    level = await group_with_everything(world)
    record = copy.deepcopy(load("telegram", "error_group_upgraded_to_supergroup"))
    record["body"]["parameters"]["migrate_to_chat_id"] = NEW
    world.fake.replay_next("sendMessage", record, chat_id=OLD)
    await fire(world, level)
    assert len(alerts(world, NEW)) == 1  # delivered to the new id, nothing lost
    refused = [c for c in world.fake.calls_to("sendMessage", ok_only=False) if c.status == 400]
    assert [c.params["chat_id"] for c in refused] == [OLD]
    assert world.app.store.find_chat("telegram", str(NEW)) is not None
    assert world.app.store.find_chat("telegram", str(OLD)) is None
    world.exchange.set_price("BTC", level * 0.9)  # down and up through the level again
    await world.minute()
    world.exchange.set_price("BTC", level * 1.05)
    await world.minute()
    assert len(alerts(world, NEW)) == 2
    to_old = [c for c in world.fake.calls if c.params.get("chat_id") == OLD and c.status != 200]
    assert len(to_old) == 1  # the later alert went straight to the supergroup
    assert "BTC above" in await ask(world, "/alerts", NEW, USER)


# ---- a deleted forum topic ---------------------------------------------------------------------


async def test_an_alert_for_a_deleted_topic_is_posted_to_the_chat_and_the_topic_tried_once(
    world, caplog
):
    level = round(world.exchange.price("BTC") * 1.02)
    answer = await ask(world, f"/alert BTC above {level}", GROUP, USER, thread_id=42)
    assert "Alert set" in answer
    assert world.sent(chat=GROUP)[-1].params["message_thread_id"] == 42  # answered in the topic
    await world.minute(0)
    world.fake.deleted_topics.add((GROUP, 42))
    with caplog.at_level(logging.WARNING):
        await fire(world, level)
        world.exchange.set_price("BTC", level * 0.9)
        await world.minute()
        world.exchange.set_price("BTC", level * 1.05)
        await world.minute()
    posted = alerts(world, GROUP)
    assert len(posted) == 2  # nothing lost
    assert all("message_thread_id" not in c.params for c in posted)  # into the chat itself
    tried = [
        c
        for c in world.fake.calls_to("sendMessage", ok_only=False)
        if c.params.get("message_thread_id") == 42 and c.status == 400
    ]
    assert len(tried) == 1  # the second alert did not try the dead topic again
    gone = [r for r in caplog.records if "topic 42 is gone" in r.getMessage()]
    assert len(gone) == 1


# ---- the webhook removed at start ----------------------------------------------------------


async def test_polling_starts_by_removing_a_webhook_left_registered(fake, launch):
    fake.webhook = {"url": "https://old-host.example/hook"}  # an earlier webhook deployment
    world = await launch()
    await fake.wait_received("getUpdates")
    assert fake.webhook == {}
    assert "deleteWebhook" in fake.received
    assert fake.received.index("deleteWebhook") < fake.received.index("getUpdates")
    assert "liqwatch" in await ask(world, "/help", USER, USER)  # and updates then arrive
