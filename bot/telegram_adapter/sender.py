"""Delivering neutral Messages to Telegram chats, within Telegram's flood limits.

Two layers of pacing: PTB's AIORateLimiter holds the bot under its global rate (and 20/min per
group) and retries a 429 itself; on top, `ChatPacer` keeps one message per second per private
chat, which the limiter does not do. Errors come out as the delivery loop understands them:
ChatUnreachable (blocked, kicked, chat gone), DeliveryRetryAfter (still 429 after the retries),
anything else is transient.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import html
import logging
import re
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import LinkPreviewOptions
from telegram import Message as TgMessage
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import AIORateLimiter, Defaults, ExtBot
from telegram.request import HTTPXRequest

from core.chat.api import (
    ChatMoved,
    ChatUnreachable,
    ConfigError,
    DeliveryRetryAfter,
    MessageRejected,
    PartProgress,
    PlatformUnavailable,
    on_the_wire,
)
from core.types import ChatRef, Message

from .render import CallbackCodec, keyboard, plan_parts
from .tolerant import TolerantBot

PLATFORM = "telegram"
DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
# Telegram documents ~30 messages/second per bot; stay a little under so jitter never trips 429.
DEFAULT_MESSAGES_PER_SECOND = 29.0
GROUP_MESSAGES_PER_MINUTE = 20.0

log = logging.getLogger(__name__)

_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# BadRequest descriptions that mean this chat will never take a message from the bot, not that the
# message was wrong (tests/data/real/telegram/error_*.json: Telegram says these with HTTP 400).
# The chat is deactivated like a blocked one; it comes back when the bot is re-added or unblocked.
_GONE = (
    "chat not found",
    "user not found",
    "peer_id_invalid",
    "bot was kicked",
    "chat_id_invalid",
    "group is deactivated",
    "not enough rights to send",
    "need administrator rights",
    "have no rights to send",
    "bot is not a member",
    "topic_closed",
    "chat_write_forbidden",
    "chat_restricted",
)


class _FloodNotice(logging.Filter):
    """PTB's limiter logs a 429 that outlasted its retries at ERROR with a traceback; the outbox
    postpones that message (DeliveryRetryAfter), so it is a notice: one WARNING line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and "Rate limit hit" in record.getMessage():
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
        return True


logging.getLogger("telegram.ext.AIORateLimiter").addFilter(_FloodNotice())


def file_base_url(api_base_url: str) -> str:
    """`https://host/bot` → `https://host/file/bot` (how the Bot API lays out file downloads)."""
    head, _, tail = api_base_url.rstrip("/").rpartition("/")
    return f"{head}/file/{tail}" if head else api_base_url


class WireRequest(HTTPXRequest):
    """PTB's HTTP transport, taking its turn on the delivery's wire (core/delivery/wire.py) for
    each exchange with Telegram: the rate limiter's and pacer's waits come before, outside it."""

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        async with on_the_wire():
            return await super().do_request(*args, **kwargs)


def build_bot(
    settings: dict[str, Any],
    *,
    messages_per_second: float = DEFAULT_MESSAGES_PER_SECOND,
    group_messages_per_minute: float = GROUP_MESSAGES_PER_MINUTE,
    max_retries: int = 3,
    connection_pool_size: int = 64,
) -> ExtBot:
    """The PTB bot for `[telegram]` settings: HTML by default, rate-limited, retries on 429."""
    token = str(settings.get("token") or "").strip()
    if not token:
        raise ConfigError("[telegram] token is empty: set it in the config or TELEGRAM_TOKEN")
    base_url = str(settings.get("api_base_url") or DEFAULT_API_BASE_URL)
    limiter = AIORateLimiter(
        overall_max_rate=messages_per_second,
        overall_time_period=1 if messages_per_second else 0,
        group_max_rate=group_messages_per_minute,
        group_time_period=60 if group_messages_per_minute else 0,
        max_retries=max_retries,  # the default 0 re-raises the very first 429
    )
    return TolerantBot(
        token,
        base_url=base_url,
        base_file_url=file_base_url(base_url),
        request=WireRequest(connection_pool_size=connection_pool_size),
        # The long poll gets its own connection so it never queues behind outgoing messages.
        get_updates_request=HTTPXRequest(connection_pool_size=1, read_timeout=30),
        defaults=Defaults(parse_mode=ParseMode.HTML),
        rate_limiter=limiter,
    )


def retry_seconds(error: RetryAfter) -> float:
    """RetryAfter.retry_after is an int in older PTB and a timedelta in newer: accept both."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB 22 warns about the int/timedelta migration
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def chat_id_value(chat_id: str) -> int | str:
    """Numeric ids as ints (negative for groups), `@channelname` stays a string."""
    try:
        return int(chat_id)
    except ValueError:
        return chat_id


class ChatPacer:
    """At most one message per `interval` seconds per chat: reserve a slot, then wait for it."""

    def __init__(
        self,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ):
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._next_slot: dict[int | str, float] = {}

    async def wait_turn(self, chat: int | str) -> None:
        now = self._clock()
        slot = max(now, self._next_slot.get(chat, now))
        self._next_slot[chat] = slot + self.interval
        if len(self._next_slot) > 50_000:  # forget chats whose slot is long past
            self._next_slot = {k: v for k, v in self._next_slot.items() if v > now}
        if slot > now:
            await self._sleep(slot - now)


class TelegramSender:
    """core.ports.Sender for Telegram; also used by the command handlers to send replies."""

    platform = PLATFORM

    def __init__(self, bot: ExtBot, codec: CallbackCodec, pacer: ChatPacer | None = None):
        self.bot = bot
        self.codec = codec
        self.pacer = pacer or ChatPacer()
        self.progress = PartProgress()
        self.gone_topics: set[tuple[int | str, int]] = set()  # (chat, forum topic) deleted

    async def send(self, chat: ChatRef, message: Message) -> None:
        """Deliver one queued message (alert, summary), paced per private chat. A retry after a
        failed later part sends only the parts Telegram has not accepted yet."""
        target = chat_id_value(chat.chat_id)
        thread = int(chat.thread_id) if chat.thread_id else None
        where = f"{chat.chat_id}/{chat.thread_id}"

        def accepted(parts: int) -> None:
            self.progress.record(where, message, parts)

        skip = self.progress.done(where, message)
        try:
            await self.deliver(target, message, thread, paced=True, skip=skip, on_part=accepted)
        except ChatMigrated as moved:  # a group became a supergroup: its id changed
            await self.deliver(
                moved.new_chat_id, message, thread, paced=True, skip=skip, on_part=accepted
            )
            self.progress.finish(where, message)
            # Sent; the outbox now records the new id, so the next message goes there directly.
            raise ChatMoved(str(moved.new_chat_id), delivered=True) from moved
        self.progress.finish(where, message)

    async def deliver(
        self,
        chat_id: int | str,
        message: Message,
        thread_id: int | None = None,
        paced: bool = False,
        skip: int = 0,
        on_part: Callable[[int], None] | None = None,
    ) -> list[TgMessage]:
        """Send every part of `message` (but the first `skip`); buttons go on the last part;
        `on_part(n)` after the n-th part was accepted. Translates Telegram errors."""
        parts = plan_parts(message)
        markup = keyboard(message.buttons, self.codec)
        sent: list[TgMessage] = []
        try:
            for index, part in enumerate(parts):
                if index < skip:
                    continue
                if paced and isinstance(chat_id, int) and chat_id > 0:
                    await self.pacer.wait_turn(chat_id)
                extra = {"reply_markup": markup} if index == len(parts) - 1 else {}
                sent.append(await self._send_part(chat_id, part.html, part.photo, thread_id, extra))
                if on_part is not None:
                    on_part(index + 1)
        except Forbidden as error:
            raise ChatUnreachable(f"telegram chat {chat_id}: {error.message}") from error
        except RetryAfter as error:
            raise DeliveryRetryAfter(retry_seconds(error)) from error
        except BadRequest as error:
            if any(gone in error.message.lower() for gone in _GONE):
                raise ChatUnreachable(f"telegram chat {chat_id}: {error.message}") from error
            # Any other 400 is about this message (too long, a bad file): sending it again
            # cannot succeed; it goes to the dead letters and the chat's next message follows.
            raise MessageRejected(f"telegram chat {chat_id}: {error.message}") from error
        except (NetworkError, InvalidToken) as error:  # TimedOut too; BadRequest is caught above
            raise PlatformUnavailable(f"telegram: {type(error).__name__}: {error}") from error
        return sent

    async def _send_part(
        self,
        chat_id: int | str,
        html_text: str,
        photo: bytes | None,
        thread_id: int | None,
        extra: dict[str, Any],
    ) -> TgMessage:
        if thread_id is not None and (chat_id, thread_id) in self.gone_topics:
            thread_id = None  # deleted: later messages go to the chat without a failed try
        try:
            return await self._call(chat_id, html_text, photo, thread_id, extra, parse_html=True)
        except BadRequest as error:
            text = error.message.lower()
            if "thread not found" in text and thread_id is not None:
                log.warning(
                    "telegram chat %s: topic %s is gone, posting to the chat", chat_id, thread_id
                )
                if len(self.gone_topics) > 10_000:
                    self.gone_topics.clear()  # at worst one more failed try for each
                self.gone_topics.add((chat_id, thread_id))
                return await self._send_part(chat_id, html_text, photo, None, extra)
            if "can't parse entities" in text:
                # Should not happen (we escape everything); never lose the message over markup.
                log.error("telegram rejected our HTML (%s); sending plain text", error.message)
                plain = _strip_tags(html_text)
                return await self._call(chat_id, plain, photo, thread_id, extra, parse_html=False)
            raise

    async def _call(
        self,
        chat_id: int | str,
        text: str,
        photo: bytes | None,
        thread_id: int | None,
        extra: dict[str, Any],
        parse_html: bool,
    ) -> TgMessage:
        mode = ParseMode.HTML if parse_html else None
        if photo is not None:
            return await self.bot.send_photo(
                chat_id, photo, caption=text, parse_mode=mode, message_thread_id=thread_id, **extra
            )
        return await self.bot.send_message(
            chat_id,
            text,
            parse_mode=mode,
            message_thread_id=thread_id,
            link_preview_options=_NO_PREVIEW,
            **extra,
        )


def _strip_tags(html_text: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", html_text))
