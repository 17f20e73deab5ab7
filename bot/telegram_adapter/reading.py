"""Reading a Telegram update: the command in a message's text (and whether it is addressed to this
bot), who acts (a user; a channel or an anonymous admin acting as the chat itself), the kind of
chat, and whether a user administers it (getChatMember, cached)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from typing import Any, Literal

from telegram import Chat, Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from core.chat.api import ALIASES, BY_NAME

log = logging.getLogger(__name__)

_COMMAND = re.compile(r"^(/[^\s@]*)(?:@(\S*))?(.*)$", re.DOTALL)
_MANAGERS = {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}


def command_text(text: str, bot_username: str) -> str | None:
    """`/liq@LiqBot BTC` → `/liq BTC`; None when the command is addressed to another bot."""
    stripped = text.strip()
    match = _COMMAND.match(stripped)
    if not match:
        return stripped
    name, target, rest = match.groups()
    if target and target.lower() != bot_username.lower():
        return None
    return name + rest


def command_name(text: str) -> str:
    """`/Start@bot x` → `help` (aliases resolved), `` for plain text."""
    if not text.startswith("/"):
        return ""
    name = text[1:].split(maxsplit=1)[0].split("@")[0].lower() if len(text) > 1 else ""
    return ALIASES.get(name, name)


class ChatAdminCache:
    """getChatMember answers, kept `ttl` seconds: rights change rarely, floods are cheap.

    Concurrent asks for the same (chat, user) share one request.
    """

    def __init__(self, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self._clock = clock
        self._answers: dict[tuple[int, int], tuple[float, asyncio.Future[bool]]] = {}

    async def is_chat_admin(self, bot: Any, chat_id: int, user_id: int) -> bool:
        now = self._clock()
        key = (chat_id, user_id)
        cached = self._answers.get(key)
        if cached and cached[0] > now:
            return await asyncio.shield(cached[1])
        if len(self._answers) > 10_000:
            self._answers = {k: v for k, v in self._answers.items() if v[0] > now}
        pending = asyncio.ensure_future(self._ask(bot, chat_id, user_id))
        self._answers[key] = (now + self.ttl, pending)
        return await asyncio.shield(pending)

    async def _ask(self, bot: Any, chat_id: int, user_id: int) -> bool:
        try:
            member = await bot.get_chat_member(chat_id, user_id)
        except TelegramError as error:  # unknown: deny now, ask again next time
            log.warning("getChatMember failed for chat %s: %s", chat_id, error)
            self._answers.pop((chat_id, user_id), None)
            return False
        return member.status in _MANAGERS


def chat_kind(chat: Chat) -> Literal["private", "group", "channel"]:
    if chat.type == Chat.PRIVATE:
        return "private"
    return "channel" if chat.type == Chat.CHANNEL else "group"


def ours(text: str, typed: str) -> bool:
    """In a group or channel: a command liqwatch knows, or one addressed to it (`/foo@thisbot`,
    which gets the helpful "unknown command" answer). `typed` is the text as sent."""
    if command_name(text) in BY_NAME:
        return True
    match = _COMMAND.match(typed.strip())
    return bool(match and match.group(2))  # command_text kept it: the @target is this bot


def sender_id(update: Update, chat: Chat) -> str | None:
    """Who acts: the user; for a channel post or an anonymous group admin, the chat itself."""
    message = update.effective_message
    if chat.type == Chat.CHANNEL:
        return str(chat.id)
    if message is not None and message.sender_chat is not None:
        return str(chat.id) if message.sender_chat.id == chat.id else None
    user = update.effective_user
    return str(user.id) if user is not None else None
