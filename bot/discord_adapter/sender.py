"""core.ports.Sender for Discord: queued alerts and summaries to a user's DMs or to a channel.

chat_id `user:ID` → a DM to that user; if the user closed DMs (403), the channel where the rule was
made (ChatRef.fallback_chat_id), mentioning the user; failing both → ChatUnreachable, so the
delivery layer pauses the rule and the service tells the user next time.
chat_id `channel:ID` → that channel.
"""

from __future__ import annotations

import logging
from typing import Any

import discord

from core.chat.api import ChatUnreachable, DeliveryRetryAfter, PartProgress
from core.types import ChatRef, Message

from .render import render
from .replies import ViewFactory, page_kwargs

log = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER_SECONDS = 5.0


def _no_view(message: Message) -> None:
    return None


def parse_chat_id(chat_id: str) -> tuple[str, int]:
    """`"user:42"` → ("user", 42); `"channel:7"` or a bare `"7"` → ("channel", 7)."""
    kind, _, raw = chat_id.rpartition(":")
    kind = kind or "channel"
    if kind not in ("user", "channel") or not raw.isdigit():
        raise ChatUnreachable(f"not a Discord chat id: {chat_id!r}")
    return kind, int(raw)


def _retry_after(exc: discord.HTTPException) -> float:
    headers = getattr(exc.response, "headers", None) or {}
    try:
        return float(headers.get("Retry-After", DEFAULT_RETRY_AFTER_SECONDS))
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_SECONDS


class DiscordSender:
    """Delivers one neutral Message to one Discord chat through a logged-in discord.Client."""

    platform = "discord"

    def __init__(self, client: discord.Client, view_for: ViewFactory = _no_view):
        self.client = client
        self.view_for = view_for
        self.progress = PartProgress()  # a retry skips the pages already posted

    async def send(self, chat: ChatRef, message: Message) -> None:
        kind, target_id = parse_chat_id(chat.chat_id)
        try:
            if kind == "channel":
                await self._to_channel(target_id, message)
            else:
                await self._to_user(target_id, chat.fallback_chat_id, message)
        except discord.RateLimited as exc:  # a 429 longer than discord.py waits by itself
            raise DeliveryRetryAfter(exc.retry_after) from exc
        except discord.HTTPException as exc:
            if exc.status == 429:
                raise DeliveryRetryAfter(_retry_after(exc)) from exc
            raise

    async def _to_user(self, user_id: int, fallback_chat_id: str | None, message: Message) -> None:
        try:
            user = self.client.get_user(user_id) or await self.client.fetch_user(user_id)
            await self._post(user, message, where=f"user:{user_id}")
            return
        except (discord.Forbidden, discord.NotFound) as exc:
            # DMs closed, no shared server any more, or the account is gone.
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
            await target.send(**kwargs)
            self.progress.record(where, message, index + 1)
        self.progress.finish(where, message)
