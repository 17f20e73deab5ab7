"""core.ports.Sender for Discord: queued alerts and summaries to a user's DMs or to a channel.

chat_id `user:ID` → a DM to that user; if the user closed DMs (403), the channel where the rule was
made (ChatRef.fallback_chat_id), mentioning the user; failing both → ChatUnreachable, so the
delivery layer pauses the rule and the service tells the user next time.
chat_id `channel:ID` → that channel.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import discord

from core.chat.api import (
    ChatUnreachable,
    DeliveryRetryAfter,
    MessageRejected,
    PartProgress,
    PlatformUnavailable,
    delivery_key,
)
from core.types import ChatRef, Message

from .limits import DEFAULT_BUDGET, InvalidRequests, IpBlock
from .render import render
from .replies import ViewFactory, page_kwargs

log = logging.getLogger(__name__)


def _no_view(message: Message) -> None:
    return None


def parse_chat_id(chat_id: str) -> tuple[str, int]:
    """`"user:42"` → ("user", 42); `"channel:7"` or a bare `"7"` → ("channel", 7)."""
    kind, _, raw = chat_id.rpartition(":")
    kind = kind or "channel"
    if kind not in ("user", "channel") or not raw.isdigit():
        raise ChatUnreachable(f"not a Discord chat id: {chat_id!r}")
    return kind, int(raw)


# JSON error codes that no retry can fix for this message (tests/data/real/discord/error_*.json):
# 50035 invalid form body; 50006 empty message; 40005 request entity too large; 50008 cannot send
# in a non-text channel.
_REFUSED_CODES = {50035, 50006, 40005, 50008}


def _retry_after(exc: discord.HTTPException) -> float | None:
    """The wait a 429 names (body `retry_after`, else the Retry-After header), or None: a 429
    without either is Cloudflare's IP block (plain text "error code: 1015")."""
    headers = getattr(exc.response, "headers", None) or {}
    for value in (headers.get("Retry-After"),):
        try:
            if value is not None:
                return float(value)
        except (TypeError, ValueError):
            pass
    return None


def _scope(exc: discord.HTTPException) -> str | None:
    headers = getattr(exc.response, "headers", None) or {}
    return headers.get("X-RateLimit-Scope")


class DiscordSender:
    """Delivers one neutral Message to one Discord chat through a logged-in discord.Client."""

    platform = "discord"

    def __init__(
        self,
        client: discord.Client,
        view_for: ViewFactory = _no_view,
        *,
        invalid_budget: int = DEFAULT_BUDGET,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.client = client
        self.view_for = view_for
        self.progress = PartProgress()  # a retry skips the pages already posted
        self.invalid = InvalidRequests(invalid_budget, clock)
        self.ip_block = IpBlock(clock)

    async def send(self, chat: ChatRef, message: Message) -> None:
        """Raises DeliveryRetryAfter (429, an IP block, the invalid-request budget spent),
        ChatUnreachable (the chat is gone or closed to the bot), MessageRejected (this message
        can never be sent), anything else for a passing fault."""
        pause = max(self.ip_block.blocked(), self.invalid.wait())
        if pause > 0:  # nothing reaches Discord meanwhile
            raise DeliveryRetryAfter(pause)
        kind, target_id = parse_chat_id(chat.chat_id)
        try:
            if kind == "channel":
                await self._to_channel(target_id, message)
            else:
                await self._to_user(target_id, chat.fallback_chat_id, message)
        except discord.RateLimited as exc:  # a 429 longer than discord.py waits by itself
            self.invalid.count(429)
            raise DeliveryRetryAfter(exc.retry_after) from exc
        except ChatUnreachable:
            raise
        except discord.HTTPException as exc:
            self.invalid.count(exc.status, _scope(exc))
            if exc.status == 429:
                wait = _retry_after(exc)
                raise DeliveryRetryAfter(wait if wait is not None else self.ip_block.hit()) from exc
            if exc.code in _REFUSED_CODES or (400 <= exc.status < 500 and exc.status != 401):
                raise MessageRejected(f"Discord {exc.status} {exc.code}: {exc.text[:300]}") from exc
            # 5xx, or 401 (the token was revoked): the platform, not this message
            raise PlatformUnavailable(f"Discord HTTP {exc.status}: {exc.text[:200]}") from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise PlatformUnavailable(f"Discord unreachable: {type(exc).__name__}") from exc
        self.ip_block.cleared()

    async def _to_user(self, user_id: int, fallback_chat_id: str | None, message: Message) -> None:
        try:
            user = self.client.get_user(user_id) or await self.client.fetch_user(user_id)
            await self._post(user, message, where=f"user:{user_id}")
            return
        except (discord.Forbidden, discord.NotFound) as exc:
            # DMs closed (50007), no shared server any more, or the account is gone.
            self.invalid.count(exc.status)
            log.info("cannot DM Discord user %s (%s); trying the fallback channel", user_id, exc)
        if not fallback_chat_id:
            raise ChatUnreachable(f"Discord user {user_id} does not accept DMs")
        _, channel_id = parse_chat_id(fallback_chat_id)
        try:
            await self._to_channel(channel_id, message, mention_user_id=user_id)
        except ChatUnreachable as exc:
            raise ChatUnreachable(
                f"Discord user {user_id}: DMs closed and channel {channel_id} unreachable"
            ) from exc

    async def _to_channel(
        self, channel_id: int, message: Message, mention_user_id: int | None = None
    ) -> None:
        try:
            channel = self.client.get_channel(channel_id) or await self.client.fetch_channel(
                channel_id
            )
            if not hasattr(channel, "send"):  # a category or forum: nowhere to post
                raise ChatUnreachable(f"Discord channel {channel_id} cannot receive messages")
            await self._post(channel, message, mention_user_id, where=f"channel:{channel_id}")
        except (discord.Forbidden, discord.NotFound) as exc:
            # 50001 Missing Access, 50013 Missing Permissions, 10003 Unknown Channel: for good.
            self.invalid.count(exc.status)
            raise ChatUnreachable(f"Discord channel {channel_id} is unreachable: {exc}") from exc

    async def _post(
        self,
        target: discord.abc.Messageable,
        message: Message,
        mention_user_id: int | None = None,
        where: str = "",
    ) -> None:
        skip = self.progress.done(where, message)
        for index, page in enumerate(render(message)):
            if index < skip:
                continue
            kwargs: dict[str, Any] = page_kwargs(message, page, self.view_for)
            if mention_user_id is not None and index == 0:
                # Ping only that user, whatever else the text might contain.
                kwargs["content"] = f"<@{mention_user_id}>"
                kwargs["allowed_mentions"] = discord.AllowedMentions(
                    everyone=False, roles=False, users=[discord.Object(mention_user_id)]
                )
            key = delivery_key()
            if key is not None:
                # The outbox row's page, the same on every retry: should a kill -9 hide that
                # Discord accepted it, the repeat finds the nonce and Discord creates nothing
                # new (discord.py sends `enforce_nonce` with every nonce; core/delivery/wire.py).
                kwargs["nonce"] = f"{key}.{index}"
            await target.send(**kwargs)
            self.progress.record(where, message, index + 1)
        self.progress.finish(where, message)
