"""The send-then-record window, kept to one message per platform.

A message the platform accepted but the outbox has not recorded yet goes out again after a kill
-9: that is the only way liqwatch repeats a message. The deliverer serves many chats at once (each
chat waits its own pacing), so without care a kill could catch one in-flight message per chat.
Here the *wire* is what is counted, not the chats: a sender wraps the request that actually
reaches the platform in `async with on_the_wire():`, and within one delivery a platform has at
most `DeliveryWire.limit` (1 by default) such requests in flight. Pacing and rate-limit waits stay
outside, so chats still wait their turn side by side; only the exchanges with the platform (a few
tens of milliseconds each) take turns. A kill then finds at most one accepted-unrecorded message
per platform: the record follows the answer with no await in between (deliverer.py).

`delivery_key()` names the outbox row being sent (stable across retries and restarts), for a
platform that can deduplicate by it: Discord drops a message whose `nonce` it saw from the same
author in the past few minutes when `enforce_nonce` is set (discord.py sets it with every nonce).
Sources: https://pub.dev/documentation/nyxx/latest/nyxx/MessageBuilder/enforceNonce.html (the API
docs' field text), https://github.com/discordjs/discord.js/issues/10323 (what it is for), and
discord/http.py in discord.py 2.7 (`payload['enforce_nonce'] = True` with every nonce).

Outside a delivery (a command's reply) both are inert: replies are never repeated by a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

__all__ = ["DeliveryWire", "delivery_key", "on_the_wire", "sending"]


class DeliveryWire:
    """Per platform, how many requests of queued messages may be in flight at once."""

    def __init__(self, limit: int = 1):
        self.limit = max(1, int(limit))
        self._gates: dict[str, asyncio.Semaphore] = {}

    def gate(self, platform: str) -> asyncio.Semaphore:
        if platform not in self._gates:
            self._gates[platform] = asyncio.Semaphore(self.limit)
        return self._gates[platform]


@dataclass(frozen=True)
class _Sending:
    platform: str
    key: str
    wire: DeliveryWire


_CURRENT: ContextVar[_Sending | None] = ContextVar("liqwatch_sending", default=None)


@contextmanager
def sending(platform: str, key: str, wire: DeliveryWire) -> Iterator[None]:
    """Within this block a sender is delivering the outbox row `key` to `platform`."""
    token = _CURRENT.set(_Sending(platform, key, wire))
    try:
        yield
    finally:
        _CURRENT.reset(token)


@asynccontextmanager
async def on_the_wire() -> AsyncIterator[None]:
    """Around one request that reaches the platform: takes its turn on the delivery's wire."""
    current = _CURRENT.get()
    if current is None:
        yield
        return
    async with current.wire.gate(current.platform):
        yield


def delivery_key() -> str | None:
    """The outbox row being delivered (the same across its retries), or None outside one."""
    current = _CURRENT.get()
    return current.key if current is not None else None
