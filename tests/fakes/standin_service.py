"""A stand-in for the ChatService (core.chat.api): the same async methods, realistic Messages,
and a record of every call. Adapter tests use it: an adapter only translates, so this tests all
of it."""

from __future__ import annotations

import asyncio

from core.chat.commands import COMMANDS
from core.kernel import fmt
from core.kernel.errors import UsageError
from core.types import Button, Caller, Message, Section

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


class StandInService:
    """Answers like the real service will; records every call for the assertions."""

    def __init__(self) -> None:
        self.charts = True  # /liq answers with a chart (photo) unless a test turns it off
        self.calls: list[tuple] = []
        self.activity: list[tuple[str, str, bool]] = []
        self.changed = asyncio.Event()
        self.crash_on: str | None = None
        self.called = asyncio.Condition()

    async def wait_handled(self, count: int) -> None:
        async with self.called:
            await asyncio.wait_for(self.called.wait_for(lambda: len(self.handled()) >= count), 10)

    def report(self, symbol: str, chart: bool) -> Message:
        return Message(
            f"{symbol} liquidation map · {fmt.price(90131.71)}",
            lines=(
                f"Shorts above to {fmt.price(94681)} ({fmt.pct(5.05)}): "
                f"{fmt.money_precise(2.705e9)}",
                f"Longs below to {fmt.price(86137)} ({fmt.pct(-4.43)}): "
                f"{fmt.money_precise(1.563e9)}",
                f"Ratio {fmt.ratio(1.73)}: shorts dominate above <squeeze risk up>",
            ),
            sections=(Section("Key zones", (f"short {fmt.price(94200)}–{fmt.price(94681)}",)),),
            footer="Source: replay (sample) & Binance · just now",
            image=PNG if chart else None,
            buttons=(
                Button("Refresh", "refresh", (symbol,)),
                Button("Chart", "chart", (symbol,)),
                Button("Alert me on breakout", "alert_breakout", (symbol,)),
            ),
            kind="report",
        )

    async def handle(self, caller: Caller, text: str) -> list[Message]:
        self.calls.append(("handle", caller, text))
        async with self.called:
            self.called.notify_all()
        if self.crash_on and self.crash_on in text:
            raise RuntimeError("database is locked")
        words = text.split()
        name = words[0].lower() if words else ""
        if not name.startswith("/"):
            return (
                [Message("Send /help to see what I can do.")]
                if caller.chat_kind == "private"
                else []
            )
        if name == "/liq":
            if len(words) < 2:
                raise UsageError("Usage: /liq SYMBOL [WINDOW%]")
            if not words[1].isalnum() or len(words[1]) > 20:
                return [Message(f"'{words[1][:40]}' is not a symbol. Try BTC.", kind="error")]
            return [self.report(words[1].upper(), self.charts)]
        if name == "/summary":
            if not (caller.can_manage_chat or caller.is_bot_admin):
                return [Message("Only chat admins can change this chat's summaries.", kind="error")]
            return [Message("Summary set", lines=(" ".join(words[1:]),))]
        if name in ("/help", "/start"):
            return [Message("liqwatch", lines=tuple(spec.usage for spec in COMMANDS), kind="help")]
        return [Message(f"Unknown command {name[:32]}. Try /help.", kind="error")]

    async def press(self, caller: Caller, action: str, args: tuple[str, ...]) -> list[Message]:
        self.calls.append(("press", caller, action, args))
        if action == "refresh":
            return [self.report(args[0], self.charts)]
        if action == "chart":
            return [self.report(args[0], chart=True)]
        if action == "alert_breakout":
            return [Message(f"Alert set: {args[0]} breakout")]
        return [Message(f"Done: {action} {' '.join(args)}")]

    async def run(self, caller: Caller, name: str, **options) -> list[Message]:
        self.calls.append(("run", caller, name, options))
        return [Message(f"Done: {name}")]

    def help(self) -> Message:
        return Message("liqwatch", lines=tuple(spec.usage for spec in COMMANDS), kind="help")

    def press_needs_chat_rights(self, caller: Caller, action: str, args: tuple[str, ...]) -> bool:
        return False  # the stand-in has no chat-owned alerts

    def command_needs_chat_rights(self, caller: Caller, text: str) -> bool:
        return False

    def known_symbols(self, prefix: str = "") -> list[str]:
        return [s for s in ("BTC", "ETH", "SOL") if s.startswith(prefix)]

    def chat_moved(self, platform: str, old_chat_id: str, new_chat_id: str) -> None:
        self.activity.append((platform, f"{old_chat_id}->{new_chat_id}", True))
        self.changed.set()

    def set_chat_active(self, platform: str, chat_id: str, active: bool) -> None:
        self.activity.append((platform, chat_id, active))
        self.changed.set()

    def handled(self) -> list[tuple]:
        return [c for c in self.calls if c[0] == "handle"]
