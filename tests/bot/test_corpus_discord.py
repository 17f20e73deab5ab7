"""Every recorded Discord payload (tests/data/real/discord) through the real code: discord.py
over HTTP against the fake's REST routes replaying the recorded replies, and the recorded
INTERACTION_CREATE read by discord.py as the gateway would hand it over.

What a send concludes from each recorded error: the chat is gone for good (ChatUnreachable), the
message can never go (MessageRejected: to the dead letters), wait (DeliveryRetryAfter: a 429; a
429 without retry_after is an IP block, waited out for minutes), or a passing fault.
"""

from __future__ import annotations

import copy
import logging

import discord
import httpx
import pytest
from discord import app_commands
from discord.user import ClientUser

from bot.discord_adapter import DiscordSender
from bot.discord_adapter.commands import CommandHandlers
from bot.discord_adapter.limits import BLOCK_FIRST_SECONDS
from bot.discord_adapter.tree import build_tree
from bot.discord_adapter.webhook import IP_BLOCK, WebhookSender, webhook_chat_id
from core.kernel.errors import (
    ChatUnreachable,
    DeliveryRetryAfter,
    MessageRejected,
    PlatformUnavailable,
)
from core.types import ChatRef, Message
from tests.discord_helpers import StandInService
from tests.fakes.corpus import load
from tests.fakes.discord_api import BOT_USER, TOKEN, FakeDiscord

CHANNEL = ChatRef("discord", "channel:9090")
MESSAGES = "/channels/9090/messages"
ALERT = Message("BTC broke above $94,681", lines=("Shorts above: $2.705B",), kind="alert")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def rest(monkeypatch):
    fake = FakeDiscord()
    await fake.server.start_server()
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api)
    client = discord.Client(intents=discord.Intents.none(), max_ratelimit_timeout=1.0)
    await client.login(TOKEN)
    yield fake, client
    await client.close()
    await fake.server.close()


async def test_a_message_goes_out_and_the_recorded_reply_is_read(rest):
    fake, client = rest
    await DiscordSender(client).send(CHANNEL, ALERT)
    (posted,) = fake.posted
    assert posted["path"] == MESSAGES and posted["json"]["embeds"][0]["title"] == ALERT.title


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("error_10003_unknown_channel", ChatUnreachable),
        ("error_50001_missing_access", ChatUnreachable),
        ("error_50035_invalid_form_body_array", MessageRejected),
        ("error_50035_invalid_form_body_request", MessageRejected),
    ],
)
async def test_recorded_refusals_are_never_retried_as_passing_faults(rest, name, error):
    fake, client = rest
    fake.replay_next("POST", MESSAGES, load("discord", name))
    with pytest.raises(error):
        await DiscordSender(client).send(CHANNEL, ALERT)
    assert fake.posted == []


async def test_recorded_dm_refusal_falls_back_to_the_channel_with_a_mention(rest):
    fake, client = rest
    fake.replay_next(
        "POST", "/channels/8842/messages", load("discord", "error_50007_cannot_send_to_user")
    )
    chat = ChatRef("discord", "user:42", user_id="42", fallback_chat_id="channel:9090")
    await DiscordSender(client).send(chat, ALERT)
    (posted,) = fake.posted
    assert posted["path"] == MESSAGES and posted["json"]["content"] == "<@42>"


@pytest.mark.parametrize(
    ("name", "seconds"),
    [
        ("error_429_global_doc", 64.57),
        ("error_429_shared_resource_doc", 1336.57),
        ("error_429_user_rate_limit_doc", 64.57),
    ],
)
async def test_recorded_429s_wait_what_discord_says(rest, name, seconds):
    fake, client = rest
    fake.replay_next("POST", MESSAGES, load("discord", name))
    with pytest.raises(DeliveryRetryAfter) as raised:
        await DiscordSender(client).send(CHANNEL, ALERT)
    assert raised.value.seconds == pytest.approx(seconds)


async def test_a_429_without_retry_after_is_an_ip_block_waited_out_for_minutes(rest):
    fake, client = rest
    clock = Clock()
    sender = DiscordSender(client, clock=clock)
    record = load("discord", "error_429_cloudflare_1015_plain_text")
    fake.replay_next("POST", MESSAGES, record, count=3)
    with pytest.raises(DeliveryRetryAfter) as first:
        await sender.send(CHANNEL, ALERT)
    assert first.value.seconds == BLOCK_FIRST_SECONDS  # a minute, not one second
    clock.now += 30
    with pytest.raises(DeliveryRetryAfter) as during:
        await sender.send(CHANNEL, ALERT)  # nothing reaches Discord during the block
    assert during.value.seconds == pytest.approx(30)
    clock.now += 31
    with pytest.raises(DeliveryRetryAfter) as second:
        await sender.send(CHANNEL, ALERT)
    assert second.value.seconds == 2 * BLOCK_FIRST_SECONDS  # doubling, capped at 15 minutes
    clock.now += 121
    fake._replays.clear()
    await sender.send(CHANNEL, ALERT)
    assert len(fake.posted) == 1
    assert sender.ip_block.blocked() == 0


async def test_invalid_requests_are_counted_and_sends_pause_far_below_discords_limit(rest):
    fake, client = rest
    clock = Clock()
    sender = DiscordSender(client, invalid_budget=5, clock=clock)
    fake.replay_next("POST", MESSAGES, load("discord", "error_50001_missing_access"), count=5)
    for _ in range(5):
        with pytest.raises(ChatUnreachable):
            await sender.send(CHANNEL, ALERT)
    with pytest.raises(DeliveryRetryAfter) as paused:
        await sender.send(CHANNEL, ALERT)
    assert 0 < paused.value.seconds <= 600
    clock.now += 601  # the 10-minute window has cooled
    await sender.send(CHANNEL, ALERT)
    assert len(fake.posted) == 1


@pytest.mark.parametrize("name", ["error_401_unauthorized", "error_50014_doc_example"])
async def test_a_recorded_token_refusal_is_not_the_chats_fault(rest, name):
    fake, client = rest
    record = copy.deepcopy(load("discord", name))
    record["status"] = record.get("status") or 401
    fake.replay_next("POST", MESSAGES, record)
    with pytest.raises(PlatformUnavailable):  # every chat fails alike: waited out, not buried
        await DiscordSender(client).send(CHANNEL, ALERT)


HOOK = "/webhooks/123456789/secret-token"


@pytest.fixture
async def hooks():
    fake = FakeDiscord()
    await fake.server.start_server()
    IP_BLOCK.cleared()
    async with httpx.AsyncClient() as http:
        yield fake, WebhookSender(http, urls=[fake.api + HOOK])
    IP_BLOCK.cleared()
    await fake.server.close()


async def test_a_webhook_post_is_read_from_the_recorded_reply_and_keyed_without_its_token(hooks):
    fake, sender = hooks
    chat = ChatRef("webhook", webhook_chat_id(fake.api + HOOK))
    assert chat.chat_id == "wh:123456789" and "secret" not in chat.chat_id
    await sender.send(chat, ALERT)
    assert [p["path"] for p in fake.posted] == [HOOK]


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("error_10015_unknown_webhook", ChatUnreachable),
        ("error_50035_invalid_form_body_request", MessageRejected),
        ("error_429_cloudflare_1015_plain_text", DeliveryRetryAfter),
    ],
)
async def test_recorded_webhook_errors(hooks, name, error):
    fake, sender = hooks
    fake.replay_next("POST", HOOK, load("discord", name))
    with pytest.raises(error) as raised:
        await sender.send(ChatRef("webhook", "wh:123456789"), ALERT)
    assert "secret-token" not in str(raised.value)
    if error is DeliveryRetryAfter:
        assert raised.value.seconds == BLOCK_FIRST_SECONDS


# ---- the recorded INTERACTION_CREATE --------------------------------------------------------


def interaction(**member_changes) -> discord.Interaction:
    """The recorded slash-command interaction, read by discord.py. Discord's current payloads
    also carry `version`, `application_id`, `attachment_size_limit` and member `flags`, which the
    2020 docs example predates and discord.py 2.7 requires."""
    body = copy.deepcopy(load("discord", "interaction_create_slash_command_doc")["body"])
    body.update(version=1, application_id="1001", attachment_size_limit=8 * 1024 * 1024)
    body["member"].update(flags=0, **member_changes)
    client = discord.Client(intents=discord.Intents.none())
    client._connection.user = ClientUser(state=client._connection, data=BOT_USER)
    return discord.Interaction(data=body, state=client._connection)


def test_chat_wide_rights_come_from_the_interactions_own_permissions():
    handlers = CommandHandlers(StandInService(), ())
    recorded = interaction()  # permissions "2147483647": Manage Server among them
    # The member's roles are not cached (no members intent): the old reading said "no rights".
    assert recorded.user.guild_permissions.manage_guild is False
    assert handlers.channel_caller(recorded).can_manage_chat is True
    assert handlers.channel_caller(interaction(permissions="0")).can_manage_chat is False


def test_the_bots_own_rights_come_from_app_permissions():
    recorded = interaction()  # app_permissions "442368": embeds and files, but no Send Messages
    assert CommandHandlers.bot_can_post(recorded) is False


@pytest.mark.parametrize(
    "name", ["error_10062_unknown_interaction", "error_40060_already_acknowledged"]
)
async def test_an_interaction_that_cannot_be_answered_is_logged_once_and_not_retried(
    rest, name, caplog, monkeypatch
):
    fake, client = rest
    recorded = interaction_on(client)
    fake.replay_next("POST", f"/interactions/{recorded.id}/{recorded.token}/callback",
                     load("discord", name))  # fmt: skip
    handlers = CommandHandlers(StandInService(), ())
    tree = build_tree(client, handlers)
    with pytest.raises(discord.HTTPException) as raised:
        await handlers.liq(recorded, "BTC")
    caplog.set_level(logging.WARNING)
    await tree.on_error(
        recorded, app_commands.CommandInvokeError(tree.get_command("liq"), raised.value)
    )
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "Traceback" not in caplog.text
    assert fake.posted == []  # no second, invalid, answer


def interaction_on(client: discord.Client) -> discord.Interaction:
    """The recorded interaction, on a logged-in client (its answers go to the fake)."""
    body = copy.deepcopy(load("discord", "interaction_create_slash_command_doc")["body"])
    body.update(version=1, application_id="1001", attachment_size_limit=8 * 1024 * 1024)
    body["member"].update(flags=0)
    return discord.Interaction(data=body, state=client._connection)
