"""What a chat platform's adapter may use of the core: this module, core.types and core.render.

- `ChatService`: the service an adapter talks to (core.chat.dispatch.Dispatcher implements it;
  tests hold their stand-ins to it). Every call answers neutral Messages; a user's mistake or a
  fault of the world is already an answer, never an exception.
- `Sender`: the port an adapter's sender implements for queued delivery, with the errors it
  raises, `PartProgress` for messages sent in several parts, and `on_the_wire`/`delivery_key`
  around the request that reaches the platform (core/delivery/wire.py).
- `Config`/`ConfigPart` for the platform's own config section, the command table (menus), the
  alert kinds (for pickers), and `guarded`/`answer_error`, the one error policy, for the
  adapter's last-resort net around a call.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from core.chat.commands import (
    ALERT_KIND_CHOICES,
    ALERT_VALUE_HINT,
    ALIASES,
    BY_NAME,
    COMMANDS,
    CommandSpec,
)
from core.chat.dispatch import answer_error, guarded
from core.delivery.deliverer import PartProgress
from core.delivery.ports import Sender
from core.delivery.wire import delivery_key, on_the_wire
from core.kernel.config import Config, ConfigPart
from core.kernel.errors import (
    ChatMoved,
    ChatUnreachable,
    ConfigError,
    DeliveryRetryAfter,
    LiqwatchError,
    MessageRejected,
    PlatformUnavailable,
)
from core.types import Caller, Message

__all__ = [
    "ALERT_KIND_CHOICES",
    "ALERT_VALUE_HINT",
    "ALIASES",
    "BY_NAME",
    "COMMANDS",
    "ChatMoved",
    "ChatService",
    "ChatUnreachable",
    "CommandSpec",
    "Config",
    "ConfigError",
    "ConfigPart",
    "DeliveryRetryAfter",
    "LiqwatchError",
    "MessageRejected",
    "PlatformUnavailable",
    "PartProgress",
    "Sender",
    "answer_error",
    "delivery_key",
    "guarded",
    "on_the_wire",
]


@runtime_checkable
class ChatService(Protocol):
    async def handle(self, caller: Caller, text: str) -> list[Message]:
        """A line as the user typed it (`/liq btc 10`)."""
        ...

    async def press(self, caller: Caller, action: str, args: tuple[str, ...]) -> list[Message]:
        """A pressed button (Button.action with Button.args)."""
        ...

    def press_needs_chat_rights(self, caller: Caller, action: str, args: tuple[str, ...]) -> bool:
        """True when the press would act on alerts the chat owns (set by a channel post or an
        anonymous admin) and `caller.can_manage_chat` is not known yet: ask the platform whether
        the presser administers the chat, then `press` with the answer."""
        ...

    def command_needs_chat_rights(self, caller: Caller, text: str) -> bool:
        """The same for a typed line (`/delalert 7` of an alert the chat owns)."""
        ...

    async def run(self, caller: Caller, name: str, **options: Any) -> list[Message]:
        """A typed call from a platform's own forms: `run(caller, "liq", symbol="BTC",
        window=None, chart=True)`; the options are those of core.chat.dispatch.COMMAND_TABLE."""
        ...

    def help(self) -> Message: ...

    def known_symbols(self, prefix: str = "") -> list[str]:
        """Symbols for autocomplete: popular ones and those in use, starting with `prefix`."""
        ...

    def set_chat_active(self, platform: str, chat_id: str, active: bool) -> None:
        """The bot was blocked/removed (False) or came back (True) in a chat."""
        ...

    def chat_moved(self, platform: str, old_chat_id: str, new_chat_id: str) -> None:
        """A chat got a new id (a Telegram group upgraded to a supergroup)."""
        ...
