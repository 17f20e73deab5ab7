"""Small pieces every part of the service shares: replies, the chat-rights check, and the note a
paused chat gets when it comes back."""

from __future__ import annotations

import dataclasses
import functools
import inspect

from .errors import LiqwatchError
from .model import Button, Caller, Message

RESUMED_NOTE = "Note: I could not reach you before, so your alerts were paused. They are back on."


def tells_if_resumed(method):
    """Wrap a per-chat command: if it re-activates a paused chat, its reply says so."""

    @functools.wraps(method)
    async def wrapper(self, caller: Caller, *args, **kwargs) -> Message:
        chat = self.store.find_chat(caller.platform, caller.chat_id, caller.thread_id)
        result = method(self, caller, *args, **kwargs)
        message = await result if inspect.isawaitable(result) else result
        if chat is not None and not chat["active"]:
            message = dataclasses.replace(message, lines=(*message.lines, RESUMED_NOTE))
            self.summaries.changed()  # its summaries run again
        return message

    return wrapper


def require_chat_rights(caller: Caller, what: str) -> None:
    """Chat-wide settings (summaries, mute) in a group or channel are for its administrators."""
    if caller.chat_kind != "private" and not (caller.can_manage_chat or caller.is_bot_admin):
        raise LiqwatchError(f"Only this chat's administrators can {what}.")


def reply(title: str, *lines: str, buttons: tuple[Button, ...] = ()) -> Message:
    return Message(title=title, lines=tuple(lines), buttons=buttons)
