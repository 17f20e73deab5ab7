"""Delivery to Discord through the bot: DMs, the fallback channel, channels, and rate limits."""

from __future__ import annotations

from types import SimpleNamespace
from unittest.mock import AsyncMock

import discord
import pytest

from bot.discord_adapter import DiscordSender
from bot.discord_adapter.render import render
from core.kernel.errors import ChatUnreachable, DeliveryRetryAfter, PlatformUnavailable
from core.types import ChatRef, Message, Section
from tests.discord_helpers import ALERT, SUMMARY

# ---- the bot's Sender: DMs, the fallback channel, channels --------------------------------


def http_error(cls: type[discord.HTTPException], status: int, headers=None):
    response = SimpleNamespace(status=status, reason="x", headers=headers or {})
    return cls(response, {"code": 50007, "message": "Cannot send messages to this user"})


def target(fails_with: Exception | None = None):
    return SimpleNamespace(send=AsyncMock(side_effect=fails_with))


def fake_client(users: dict, channels: dict):
    return SimpleNamespace(
        get_user=lambda user_id: users.get(user_id),
        fetch_user=AsyncMock(side_effect=http_error(discord.NotFound, 404)),
        get_channel=lambda channel_id: channels.get(channel_id),
        fetch_channel=AsyncMock(side_effect=http_error(discord.NotFound, 404)),
    )


def personal_chat() -> ChatRef:
    return ChatRef(platform="discord", chat_id="user:42", user_id="42", fallback_chat_id="900")


async def test_personal_alert_goes_to_the_users_dms():
    user, channel = target(), target()
    sender = DiscordSender(fake_client({42: user}, {900: channel}))

    await sender.send(personal_chat(), ALERT)

    (call,) = user.send.await_args_list
    assert call.kwargs["embeds"][0].title == "BTC broke above $94,681"
    assert call.kwargs["embeds"][0].colour == discord.Colour.orange()
    channel.send.assert_not_awaited()


async def test_closed_dms_fall_back_to_the_channel_mentioning_only_that_user():
    user = target(fails_with=http_error(discord.Forbidden, 403))
    channel = target()
    sender = DiscordSender(fake_client({42: user}, {900: channel}))

    await sender.send(personal_chat(), ALERT)

    (call,) = channel.send.await_args_list
    assert call.kwargs["content"] == "<@42>"
    mentions = call.kwargs["allowed_mentions"]
    assert [u.id for u in mentions.users] == [42]
    assert mentions.everyone is False and mentions.roles is False
    assert call.kwargs["embeds"][0].title == "BTC broke above $94,681"


async def test_closed_dms_and_an_unreachable_channel_make_the_chat_unreachable():
    user = target(fails_with=http_error(discord.Forbidden, 403))
    channel = target(fails_with=http_error(discord.Forbidden, 403))
    sender = DiscordSender(fake_client({42: user}, {900: channel}))

    with pytest.raises(ChatUnreachable):
        await sender.send(personal_chat(), ALERT)


async def test_closed_dms_without_a_fallback_channel_make_the_chat_unreachable():
    user = target(fails_with=http_error(discord.Forbidden, 403))
    sender = DiscordSender(fake_client({42: user}, {}))

    with pytest.raises(ChatUnreachable):
        await sender.send(ChatRef(platform="discord", chat_id="user:42"), ALERT)


async def test_a_user_unknown_to_discord_falls_back_to_the_channel():
    channel = target()
    sender = DiscordSender(fake_client({}, {900: channel}))  # fetch_user answers 404

    await sender.send(personal_chat(), ALERT)

    assert channel.send.await_args.kwargs["content"] == "<@42>"


async def test_a_summary_goes_to_its_channel():
    channel = target()
    sender = DiscordSender(fake_client({}, {900: channel}))

    await sender.send(ChatRef(platform="discord", chat_id="channel:900"), SUMMARY)

    assert channel.send.await_args.kwargs["embeds"][0].title == "Summary · BTC, ETH"
    assert "content" not in channel.send.await_args.kwargs


async def test_a_deleted_channel_is_unreachable():
    sender = DiscordSender(fake_client({}, {}))  # fetch_channel answers 404

    with pytest.raises(ChatUnreachable):
        await sender.send(ChatRef(platform="discord", chat_id="channel:900"), SUMMARY)


async def test_a_429_that_escapes_discord_py_asks_the_delivery_layer_to_wait():
    limited = http_error(discord.HTTPException, 429, headers={"Retry-After": "7.5"})
    sender = DiscordSender(fake_client({}, {900: target(fails_with=limited)}))

    with pytest.raises(DeliveryRetryAfter) as raised:
        await sender.send(ChatRef(platform="discord", chat_id="channel:900"), SUMMARY)

    assert raised.value.seconds == 7.5


async def test_a_long_rate_limit_from_discord_py_asks_the_delivery_layer_to_wait():
    sender = DiscordSender(fake_client({}, {900: target(fails_with=discord.RateLimited(42.0))}))

    with pytest.raises(DeliveryRetryAfter) as raised:
        await sender.send(ChatRef(platform="discord", chat_id="channel:900"), SUMMARY)

    assert raised.value.seconds == 42.0


async def test_a_discord_server_error_stays_a_transient_failure():
    broken = http_error(discord.DiscordServerError, 503)
    sender = DiscordSender(fake_client({}, {900: target(fails_with=broken)}))

    with pytest.raises(PlatformUnavailable) as raised:  # waited out, never dead-lettered
        await sender.send(ChatRef(platform="discord", chat_id="channel:900"), SUMMARY)
    assert isinstance(raised.value.__cause__, discord.DiscordServerError)


async def test_alert_buttons_are_attached_when_the_adapter_gives_a_view():
    channel = target()
    views = []

    def view_for(message: Message):
        views.append(SimpleNamespace(buttons=message.buttons))
        return views[-1]

    sender = DiscordSender(fake_client({42: channel}, {}), view_for)

    await sender.send(personal_chat(), ALERT)

    (view,) = views
    assert channel.send.await_args.kwargs["view"] is view
    assert [b.label for b in view.buttons] == ["Snooze 1h", "Mute BTC"]


async def test_a_chat_id_that_is_not_discords_is_refused_as_unreachable():
    sender = DiscordSender(fake_client({}, {}))

    with pytest.raises(ChatUnreachable):
        await sender.send(ChatRef(platform="discord", chat_id="telegram:-100"), SUMMARY)


async def test_a_retry_after_a_failed_later_page_posts_only_the_rest():
    long_summary = Message(  # more than one page of embeds
        "Summary · many",
        sections=tuple(Section(f"Coin {n}", ("x" * 1000,) * 5) for n in range(6)),
        kind="summary",
    )
    pages = len(render(long_summary))
    assert pages > 1
    limited = http_error(discord.HTTPException, 429, headers={"Retry-After": "1"})
    channel = target()
    channel.send.side_effect = [None, limited] + [None] * pages
    sender = DiscordSender(fake_client({}, {900: channel}))
    chat = ChatRef(platform="discord", chat_id="channel:900")

    with pytest.raises(DeliveryRetryAfter):
        await sender.send(chat, long_summary)
    await sender.send(chat, long_summary)  # the outbox's retry

    titles = [c.kwargs["embeds"][0].title for c in channel.send.await_args_list]
    assert channel.send.await_count == pages + 1  # the failed page twice, the first page once
    assert titles.count(titles[0]) == 1
