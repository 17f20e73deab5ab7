"""The port every chat platform's sender implements (bot/*_adapter/sender.py)."""

from __future__ import annotations

from typing import Protocol

from core.types import ChatRef, Message


class Sender(Protocol):
    """Delivers one message to one chat of one platform.

    Raises core.errors.DeliveryRetryAfter when the platform asks to wait, ChatUnreachable when the
    chat blocked or removed the bot (the chat goes inactive), any other exception for a transient
    failure (retried with backoff).
    """

    platform: str

    async def send(self, chat: ChatRef, message: Message) -> None: ...
