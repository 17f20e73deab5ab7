"""The interfaces the core needs from the outside world (implemented by adapters and sources)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from .model import Candle, ChatRef, Message, Snapshot


class Source(Protocol):
    """A liquidation-map source. Raises UnknownSymbol, SourceUnavailable or SourceRejected."""

    name: str

    async def snapshot(self, symbol: str) -> Snapshot: ...

    async def candles(self, symbol: str, since: datetime, interval: str = "1m") -> list[Candle]:
        """Candles from the one holding `since` up to now: alerts read their high/low."""
        ...

    async def aclose(self) -> None: ...


class Sender(Protocol):
    """Delivers one message to one chat of one platform.

    Raises core.errors.DeliveryRetryAfter when the platform asks to wait, ChatUnreachable when the
    chat blocked or removed the bot (the chat goes inactive), any other exception for a transient
    failure (retried with backoff).
    """

    platform: str

    async def send(self, chat: ChatRef, message: Message) -> None: ...
