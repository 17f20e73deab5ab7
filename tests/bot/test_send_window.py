"""The send-then-record window, through the real platform clients: a kill -9 can repeat at most
one message per platform (core/delivery/wire.py).

- Telegram: many chats are served side by side, but only one sendMessage is on the wire at a
  time during delivery, so a kill finds at most one accepted-unrecorded message.
- Discord: a channel post carries its outbox row's nonce; when a kill hid that Discord accepted
  it, the repeat is answered with the first message and nothing new appears in the channel.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time

import discord
import pytest

from bot.discord_adapter import DiscordSender
from bot.telegram_adapter import TelegramSender, build_bot
from bot.telegram_adapter.render import CallbackCodec
from core.delivery.deliverer import Deliverer
from core.delivery.journal import AcceptedJournal
from core.store import Store
from core.types import Message
from tests.fakes.discord_api import TOKEN, FakeDiscord
from tests.telegram_helpers import fake_fixture  # noqa: F401  (the `fake` fixture)

ALERT = Message("BTC broke above $94,681", lines=("Shorts above: $2.705B",), kind="alert")


@pytest.fixture
async def discord_rest(monkeypatch):
    fake = FakeDiscord()
    await fake.server.start_server()
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api)
    client = discord.Client(intents=discord.Intents.none())
    await client.login(TOKEN)
    yield fake, client
    await client.close()
    await fake.server.close()


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "wire.db") as opened:
        yield opened


def queue_alerts(store: Store, platform: str, chat_ids: list[str]) -> None:
    for chat_id in chat_ids:
        store.enqueue(store.upsert_chat(platform, chat_id), ALERT)


@pytest.mark.parametrize("in_flight", [1, 3])
async def test_telegram_sends_take_turns_on_the_wire_while_chats_are_served_together(
    fake, store, in_flight
):
    fake.send_latency = 0.05
    settings = {"token": fake.token, "api_base_url": fake.api_base_url}
    sender = TelegramSender(build_bot(settings), CallbackCodec())
    await sender.bot.initialize()
    chats = [str(1000 + n) for n in range(12)]
    queue_alerts(store, "telegram", chats)
    deliverer = Deliverer(store, {"telegram": sender}, in_flight=in_flight)
    try:
        started = time.monotonic()
        stats = await deliverer.deliver_due()
        took = time.monotonic() - started
    finally:
        await sender.bot.shutdown()

    assert stats.sent == 12
    assert {c.params["chat_id"] for c in fake.calls_to("sendMessage")} == {int(c) for c in chats}
    assert fake.most_sends_in_flight == in_flight  # never more: the kill window
    # ...and taking turns costs only the exchanges, not the chats' pacing: 12 x 50 ms / in_flight
    assert took < 12 * 0.05 / in_flight + 1.5


async def test_a_command_reply_is_not_held_behind_the_wire(fake):
    """Outside a delivery (a reply to a user) nothing takes turns: replies are never repeated."""
    fake.send_latency = 0.2
    settings = {"token": fake.token, "api_base_url": fake.api_base_url}
    sender = TelegramSender(build_bot(settings), CallbackCodec())
    await sender.bot.initialize()
    try:
        await asyncio.gather(*(sender.deliver(2000 + n, ALERT) for n in range(4)))
    finally:
        await sender.bot.shutdown()
    assert fake.most_sends_in_flight == 4


async def test_a_discord_post_repeated_after_a_kill_creates_no_second_message(discord_rest, store):
    fake, client = discord_rest
    queue_alerts(store, "discord", ["channel:9090"])
    first = Deliverer(store, {"discord": DiscordSender(client)})
    assert (await first.deliver_due()).sent == 1
    # kill -9 as Discord's answer arrived: neither the journal nor the outbox has it (the window)
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE outbox SET sent_at = NULL, parts_done = 0")
    AcceptedJournal(store.path).clear()

    restarted = Deliverer(store, {"discord": DiscordSender(client)})  # a new process's
    assert (await restarted.deliver_due()).sent == 1

    posts = [p for p in fake.posted if p["path"] == "/channels/9090/messages"]
    assert len(posts) == 1 and posts[0]["json"]["enforce_nonce"] is True, fake.rest_paths
    assert fake.repeats_dropped == 1, fake.rest_paths
    assert store.due_messages(limit=10) == []  # recorded this time


async def test_different_outbox_rows_never_share_a_nonce(discord_rest, store):
    fake, client = discord_rest
    queue_alerts(store, "discord", ["channel:9090", "channel:9090", "channel:9091"])
    assert (await Deliverer(store, {"discord": DiscordSender(client)}).deliver_due()).sent == 3
    nonces = [p["json"]["nonce"] for p in fake.posted]
    assert len(set(nonces)) == 3 and fake.repeats_dropped == 0
