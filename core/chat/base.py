"""What every group of chat commands shares: the market, the store, the settings and the clock,
the caller's chat, the check of typed symbols against the source, the chat-rights check, and the
note a paused chat gets when it comes back."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.delivery.summaries import SummaryPlanner
from core.kernel import symbols
from core.kernel.config import Config
from core.kernel.errors import LiqwatchError, SourceError, UnknownSymbol
from core.market.reader import MarketReader
from core.store import Store
from core.types import Button, Caller, Message, Snapshot

RESUMED_NOTE = "Note: I could not reach you before, so your alerts were paused. They are back on."


@dataclass(frozen=True)
class ServiceSettings:
    window_pct: float = 0.0
    max_symbols_per_user: int = 20
    max_rules_per_user: int = 50
    check_seconds: float = 60.0

    @classmethod
    def from_config(cls, config: Config) -> ServiceSettings:
        alerts = config.section("alerts")
        return cls(
            window_pct=config.get("data", "window_pct"),
            max_symbols_per_user=alerts["max_symbols_per_user"],
            max_rules_per_user=alerts["max_rules_per_user"],
            check_seconds=alerts["check_seconds"],
        )


@dataclass
class ChatContext:
    market: MarketReader
    store: Store
    settings: ServiceSettings
    clock: Callable[[], datetime]
    summaries: SummaryPlanner
    live: Any = None  # core.market.streams.LiveFeeds when the feeds run (/liqs, /feed, /liq)
    screener: Any = None  # core.market.screener.Screener, attached by the wiring (/top)
    context: Any = None  # core.market.context.ContextReader: funding and OI for /liq
    wallets: Any = None  # core.alerts.wallet_watch.WalletWatcher, attached by the wiring (/wallet)

    def chat_key(self, caller: Caller) -> int:
        """Register the caller's chat (re-activating a paused one); returns its key."""
        return self.store.upsert_chat(
            caller.platform,
            caller.chat_id,
            kind=caller.chat_kind,
            thread_id=caller.thread_id,
            user_id=caller.user_id,
            fallback_chat_id=caller.fallback_chat_id,
        )

    async def checked_symbols(self, raw: list[str]) -> tuple[list[str], list[str], str]:
        """Normalise and ask the source about each symbol: (known, unknown, note). A symbol the
        source could not be asked about (an outage) counts as known, and the note says so."""
        wanted = list(dict.fromkeys(symbols.normalize(s) for s in raw))
        snapshots = self.market.snapshots
        results = await asyncio.gather(*(snapshots.get(s) for s in wanted), return_exceptions=True)
        known, unknown, unchecked = [], [], []
        for sym, result in zip(wanted, results, strict=True):
            if isinstance(result, UnknownSymbol):
                unknown.append(sym)
            elif isinstance(result, Snapshot):
                known.append(sym)
            elif isinstance(result, SourceError):
                known.append(sym)  # a source outage must not stop a user from watching
                unchecked.append(sym)
            else:
                raise result
        note = ""
        if unchecked:
            note = (
                f"Could not check {', '.join(unchecked)} with the data source right now; "
                "if the exchange does not list it, nothing will fire."
            )
        return known, unknown, note


class CommandGroup:
    """A group of commands over one shared ChatContext."""

    def __init__(self, ctx: ChatContext) -> None:
        self.ctx = ctx


def tells_if_resumed(method):
    """Wrap a per-chat command: if it re-activates a paused chat, its reply says so."""

    @functools.wraps(method)
    async def wrapper(self: CommandGroup, caller: Caller, *args, **kwargs) -> Message:
        chat = self.ctx.store.find_chat(caller.platform, caller.chat_id, caller.thread_id)
        result = method(self, caller, *args, **kwargs)
        message = await result if inspect.isawaitable(result) else result
        if chat is not None and not chat["active"]:
            message = dataclasses.replace(message, lines=(*message.lines, RESUMED_NOTE))
            self.ctx.summaries.changed()  # its summaries run again
        return message

    return wrapper


def require_chat_rights(caller: Caller, what: str) -> None:
    """Chat-wide settings (summaries, mute) in a group or channel are for its administrators."""
    if caller.chat_kind != "private" and not (caller.can_manage_chat or caller.is_bot_admin):
        raise LiqwatchError(f"Only this chat's administrators can {what}.")


def reply(title: str, *lines: str, buttons: tuple[Button, ...] = ()) -> Message:
    return Message(title=title, lines=tuple(lines), buttons=buttons)
