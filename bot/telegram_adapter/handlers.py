"""Telegram updates → service calls → replies. Decides who may do what; computes nothing else.

Rights: `can_manage_chat` is True in private chats and for a channel's own posts (its posters are
its admins); in groups it is asked from getChatMember (administrator/creator) only for chat-wide
commands, and for a button press or a /delalert on an alert the chat owns (the service says
which), cached briefly (reading.py). `is_bot_admin` comes from `[telegram] admins`. The service
refuses what a caller may not do, so a non-admin's /summary is refused there, in its words.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable
from typing import Any

from telegram import CallbackQuery, Chat, InputMediaPhoto, Update
from telegram import Message as TgMessage
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from core.chat.api import (
    ALIASES,
    BY_NAME,
    COMMANDS,
    ChatService,
    ChatUnreachable,
    DeliveryRetryAfter,
    MessageRejected,
    guarded,
)
from core.render.report import INTERNAL_ERROR
from core.types import Caller, Message

from ..ratelimit import CommandRateLimit
from .reading import ChatAdminCache, chat_kind, command_name, command_text, ours, sender_id
from .render import keyboard, plan_parts
from .sender import PLATFORM, TelegramSender

log = logging.getLogger(__name__)

SLOW_DOWN = "You are sending commands too fast. Please wait a minute and try again."
NOT_ALLOWED = "Sorry, this bot is private and not available in this chat."
EXPIRED = "This button has expired. Please run the command again."
FAILED = INTERNAL_ERROR

_EDIT_IN_PLACE = {"refresh"}  # other actions answer with a new message below the pressed one
_REPORTS = {"refresh", "chart"}  # slow to answer: the press is acknowledged before the work
ANSWER_LIMIT = 200  # answerCallbackQuery text: 0-200 characters (Bot API)
_PRESENT = {ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}


class TelegramHandlers:
    """The update callbacks, registered on an Application by `register`."""

    def __init__(
        self,
        service: ChatService,
        sender: TelegramSender,
        settings: dict[str, Any],
        commands_per_minute: int = 20,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.service = service
        self.sender = sender
        self.admins = {str(a) for a in settings.get("admins") or []}
        self.allowed_chats = {str(c) for c in settings.get("allowed_chats") or []}
        self.rate = CommandRateLimit(commands_per_minute, clock)
        self.chat_admins = ChatAdminCache(clock=clock)
        self._refused: set[str] = set()

    def register(self, app: Application) -> None:
        """Every handler the bot has, in one visible list."""
        posts = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST
        names = sorted({spec.name for spec in COMMANDS} | set(ALIASES))
        app.add_handlers(
            [
                CommandHandler(names, self.on_message, filters=posts),
                # unknown commands and private chatter: the service answers with usage hints
                MessageHandler(posts & filters.TEXT, self.on_message),
                CallbackQueryHandler(self.on_button),
                ChatMemberHandler(self.on_membership, ChatMemberHandler.MY_CHAT_MEMBER),
                MessageHandler(filters.StatusUpdate.MIGRATE, self.on_migrate),
            ]
        )
        app.add_error_handler(self.on_error)

    # ---- access -----------------------------------------------------------------------

    def allowed(self, chat: Chat, user_id: str) -> bool:
        if not self.allowed_chats or str(chat.id) in self.allowed_chats:
            return True
        return chat.type == Chat.PRIVATE and user_id in self.admins

    def _rate_key(self, chat: Chat, user_id: str) -> str:
        return user_id if user_id != str(chat.id) else f"chat:{chat.id}"

    async def caller_for(
        self, bot: Any, chat: Chat, user_id: str, message: TgMessage | None, chat_wide: bool
    ) -> Caller:
        kind = chat_kind(chat)
        if kind == "private" or user_id == str(chat.id):
            manage = True  # own private chat; a channel's post or a group's anonymous admin
        elif chat_wide:
            manage = await self.chat_admins.is_chat_admin(bot, chat.id, int(user_id))
        else:
            manage = False  # not asked: least privilege
        thread = None
        if message is not None and message.is_topic_message and message.message_thread_id:
            thread = str(message.message_thread_id)
        return Caller(
            platform=PLATFORM,
            chat_id=str(chat.id),
            user_id=user_id,
            chat_kind=kind,
            can_manage_chat=manage,
            is_bot_admin=user_id in self.admins,
            thread_id=thread,
        )

    # ---- callbacks --------------------------------------------------------------------

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A command (or private text): rights, limits, then service.handle and the replies."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None or not message.text or message.is_automatic_forward:
            return
        text = command_text(message.text, context.bot.username or "")
        if text is None or (chat.type != Chat.PRIVATE and not text.startswith("/")):
            return  # another bot's command, or group chatter
        if chat.type != Chat.PRIVATE and not ours(text, message.text):
            return  # /ban, /rules: some other bot's command in a shared group, not addressed to us
        user_id = sender_id(update, chat)
        if user_id is None:
            return
        thread = _thread(message)
        if not self.allowed(chat, user_id):
            if chat.type == Chat.PRIVATE and str(chat.id) not in self._refused:
                if len(self._refused) > 10_000:
                    self._refused.clear()  # at worst a stranger hears the refusal twice
                self._refused.add(str(chat.id))
                await self._send(chat.id, Message(NOT_ALLOWED, kind="error"), thread)
            return
        verdict = self.rate.check(self._rate_key(chat, user_id))
        if verdict != "ok":
            if verdict == "warn":
                await self._send(chat.id, Message(SLOW_DOWN, kind="error"), thread)
            return
        spec = BY_NAME.get(command_name(text))
        chat_wide = spec is not None and spec.chat_wide
        caller = await self.caller_for(context.bot, chat, user_id, message, chat_wide)
        if not chat_wide and self.service.command_needs_chat_rights(caller, text):
            caller = await self.caller_for(context.bot, chat, user_id, message, True)
        for reply in await self._ask(self.service.handle(caller, text)):
            await self._send(chat.id, reply, thread)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button press: answer it at once, run the action, edit the message or send anew."""
        query = update.callback_query
        if query is None:
            return
        pressed = query.message if isinstance(query.message, TgMessage) else None
        decoded = self.sender.codec.decode(query.data) if query.data else None
        if pressed is None or decoded is None:
            await _answer(query, EXPIRED)
            return
        chat, user_id = pressed.chat, str(query.from_user.id)
        if not self.allowed(chat, user_id):
            await _answer(query, NOT_ALLOWED)
            return
        if self.rate.check(self._rate_key(chat, user_id)) != "ok":
            await _answer(query, SLOW_DOWN)
            return
        action, args = decoded
        slow = action in _REPORTS
        if slow:
            await _answer(query)  # stop the button's spinner before building the report
        caller = await self.caller_for(context.bot, chat, user_id, pressed, chat_wide=False)
        if self.service.press_needs_chat_rights(caller, action, args):
            # An alert the chat owns (a channel's post, an anonymous admin's command): the
            # presser is a real user (callback_query.from), so ask whether they administer it.
            caller = await self.caller_for(context.bot, chat, user_id, pressed, chat_wide=True)
        # The service's "refresh" is the text report. Refreshing a chart (how /liq answers) asks
        # for the report with its chart: a photo can only be edited into a photo, and a fresh
        # caption under a stale chart would contradict itself. Charts are cached per snapshot.
        asked = "chart" if action == "refresh" and pressed.photo else action
        replies = await self._ask(self.service.press(caller, asked, args))
        if not slow:
            # A refusal in a group or channel, and any short answer in a channel ("Snoozed"):
            # the presser's business, shown to them alone, not posted for every member.
            alone = _answer_alone(chat, replies)
            await _answer(query, alone)
            if alone is not None:
                return
        thread = _thread(pressed)
        if replies and action in _EDIT_IN_PLACE and await self._edit(pressed, replies[0]):
            replies = replies[1:]
        for reply in replies:
            await self._send(chat.id, reply, thread)

    async def on_membership(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The bot was added, removed, blocked or unblocked: keep the chat registry current."""
        change = update.my_chat_member
        if change is None:
            return
        new = change.new_chat_member
        active = new.status in _PRESENT or (
            new.status == ChatMemberStatus.RESTRICTED and bool(getattr(new, "is_member", False))
        )
        if not self.allowed(change.chat, str(change.from_user.id)) and active:
            return  # not ours to serve
        result = self.service.set_chat_active(PLATFORM, str(change.chat.id), active)
        if inspect.isawaitable(result):
            await result
        log.info("telegram chat %s is now %s", change.chat.id, "active" if active else "inactive")

    async def on_migrate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A group became a supergroup: its chat id changed; its alerts and summary follow."""
        message = update.effective_message
        if message is None:
            return
        if message.migrate_to_chat_id:
            old, new = message.chat.id, message.migrate_to_chat_id
        elif message.migrate_from_chat_id:
            old, new = message.migrate_from_chat_id, message.chat.id
        else:
            return
        result = self.service.chat_moved(PLATFORM, str(old), str(new))
        if inspect.isawaitable(result):
            await result

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Last resort: log the failure (the token is redacted by the log filter), reply briefly."""
        error = context.error
        if update is None:  # polling/network trouble: PTB retries by itself
            log.warning("telegram: %s: %s", type(error).__name__, error)
            return
        log.error("telegram update failed", exc_info=error)
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is not None:
            try:
                await self.sender.bot.send_message(chat.id, FAILED)
            except TelegramError:
                pass

    # ---- plumbing ---------------------------------------------------------------------

    async def _ask(self, call: Any) -> list[Message]:
        """Await a service call under the core's one error policy (the service answers its own
        errors; this is the net for anything that escapes it)."""

        async def produce() -> Any:
            return await call

        return await guarded(None, produce)

    async def _send(self, chat_id: int, message: Message, thread: int | None) -> None:
        try:
            await self.sender.deliver(chat_id, message, thread)
        except ChatUnreachable as error:
            log.info("%s", error)
            result = self.service.set_chat_active(PLATFORM, str(chat_id), False)
            if inspect.isawaitable(result):
                await result
        except DeliveryRetryAfter as error:
            log.warning("telegram chat %s: reply dropped, flood limit (%s)", chat_id, error)
        except MessageRejected as error:  # Telegram refused this reply for good (a 400)
            log.warning("%s: reply dropped", error)

    async def _edit(self, pressed: TgMessage, reply: Message) -> bool:
        """Refresh in place: text over text, chart+caption over chart. False: send it anew."""
        parts = plan_parts(reply)
        if len(parts) != 1:
            return False
        part = parts[0]
        markup = keyboard(reply.buttons, self.sender.codec)
        try:
            if pressed.text is not None and part.photo is None:
                await pressed.edit_text(part.html, reply_markup=markup)
            elif pressed.photo and part.photo is not None:
                media = InputMediaPhoto(part.photo, caption=part.html, parse_mode=ParseMode.HTML)
                await pressed.edit_media(media, reply_markup=markup)
            else:
                return False  # text ↔ photo cannot be edited into each other
        except BadRequest as error:
            # "not modified": the same content is already on screen; else the message is gone.
            return "not modified" in error.message.lower()
        return True


def _answer_alone(chat: Chat, replies: list[Message]) -> str | None:
    """The text to answer a press with instead of posting `replies`, or None to post them."""
    if chat.type == Chat.PRIVATE or len(replies) != 1 or replies[0].image or replies[0].buttons:
        return None
    text = replies[0].text()
    if replies[0].kind != "error" and (chat.type != Chat.CHANNEL or len(text) > ANSWER_LIMIT):
        return None
    return text[:ANSWER_LIMIT]


async def _answer(query: CallbackQuery, text: str | None = None) -> None:
    """Answer a button press; a press too old to answer is not worth an error."""
    try:
        await query.answer(text)
    except BadRequest as error:
        log.info("telegram: could not answer a button press: %s", error.message)


def _thread(message: TgMessage) -> int | None:
    """Forum topics: reply into the topic the command came from."""
    return message.message_thread_id if message.is_topic_message else None
