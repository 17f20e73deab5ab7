"""The one command grammar and the one error policy, for every platform.

`Dispatcher` is the ChatService every adapter talks to (core/chat/api.py): a typed line
(`handle`), a pressed button (`press`) or a typed call from a platform with its own forms
(`run`, e.g. Discord's slash commands) all reach the same command functions, and every error is
answered the same way: a user's mistake gets one short message with the right usage, a fault of
ours is logged and answered with an apology, never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from core.alerts.kinds import ALERT_USAGE
from core.chat import parsing
from core.chat.commands import BY_NAME
from core.chat.heatmap import heatmap_args, heatmap_reply
from core.chat.liqs import (
    accuracy_args,
    accuracy_reply,
    feed_args,
    feed_reply,
    liqs_args,
    liqs_reply,
)
from core.chat.screener import top_args, top_reply
from core.chat.service import Service
from core.chat.wallet import wallet_args, wallet_reply
from core.kernel import parse
from core.kernel.errors import LiqwatchError, UsageError
from core.render.report import INTERNAL_ERROR, error_message
from core.types import Caller, Message

log = logging.getLogger(__name__)

Run = Callable[..., Awaitable[Message]]  # (service, caller, **options) -> the reply


def _usage(name: str) -> str:
    return BY_NAME[name].usage


def _no_args(name: str) -> Callable[[tuple[str, ...]], dict[str, Any]]:
    def read(args: tuple[str, ...]) -> dict[str, Any]:
        if args:
            raise UsageError(f"/{name} takes no arguments.")
        return {}

    return read


def _symbols_args(name: str) -> Callable[[tuple[str, ...]], dict[str, Any]]:
    def read(args: tuple[str, ...]) -> dict[str, Any]:
        if not args:
            raise UsageError(f"Name at least one symbol. Usage: {_usage(name)}")
        return {"symbols": list(args)}

    return read


def _liq_args(args: tuple[str, ...]) -> dict[str, Any]:
    if not 1 <= len(args) <= 2:
        raise UsageError(f"Usage: {_usage('liq')}")
    window = parse.number(args[1], "window %", 0, 100) if len(args) == 2 else None
    return {"symbol": args[0], "window": window}


def _alert_args(args: tuple[str, ...]) -> dict[str, Any]:
    if len(args) < 2:
        raise UsageError(f"Usage: {ALERT_USAGE}")
    # cascade takes USD and MINUTES, cluster USD and PCT: one more word
    if len(args) > 3 and not (args[1].lower() in ("cascade", "cluster") and len(args) == 4):
        raise UsageError(f"Too many arguments. Usage: {ALERT_USAGE}")
    return {"symbol": args[0], "kind": args[1], "value": " ".join(args[2:]) or None}


def _one_arg(name: str, option: str) -> Callable[[tuple[str, ...]], dict[str, Any]]:
    def read(args: tuple[str, ...]) -> dict[str, Any]:
        if len(args) != 1:
            raise UsageError(f"Usage: {_usage(name)}")
        return {option: args[0]}

    return read


@dataclass(frozen=True)
class Command:
    run: Run  # the command itself, on typed options
    read: Callable[[tuple[str, ...]], dict[str, Any]]  # typed words → those options


async def _help(s: Service, caller: Caller) -> Message:
    return s.help()


async def _liq(
    s: Service, caller: Caller, symbol: str, window: float | None = None, chart: bool = True
) -> Message:
    return await s.report(symbol, window, chart)


async def _delalert(s: Service, caller: Caller, alert_id: str | int) -> Message:
    return await s.alerts.delete_alert(caller, parse.alert_id(str(alert_id)))


async def _mute(s: Service, caller: Caller, duration: str) -> Message:
    return await s.chats.mute(caller, duration.strip())


COMMAND_TABLE: dict[str, Command] = {
    "help": Command(_help, lambda args: {}),
    "liq": Command(_liq, _liq_args),
    "watch": Command(lambda s, c, symbols: s.watchlists.watch(c, symbols), _symbols_args("watch")),
    "unwatch": Command(
        lambda s, c, symbols: s.watchlists.unwatch(c, symbols), _symbols_args("unwatch")
    ),
    "watchlist": Command(lambda s, c: s.watchlists.watchlist(c), _no_args("watchlist")),
    "alert": Command(
        lambda s, c, symbol, kind, value=None: s.alerts.add_alert(c, symbol, kind, value),
        _alert_args,
    ),
    "alerts": Command(lambda s, c: s.alerts.alerts(c), _no_args("alerts")),
    "delalert": Command(_delalert, _one_arg("delalert", "alert_id")),
    "mute": Command(_mute, _one_arg("mute", "duration")),
    "unmute": Command(lambda s, c: s.chats.unmute(c), _no_args("unmute")),
    "heatmap": Command(
        lambda s, c, symbol, span=None: heatmap_reply(s.ctx, symbol, span), heatmap_args
    ),
    "top": Command(lambda s, c, by="ratio", rows=10: top_reply(s.ctx, by, rows), top_args),
    "wallet": Command(lambda s, c, **options: wallet_reply(s.ctx, c, **options), wallet_args),
    "liqs": Command(lambda s, c, symbol, window=None: liqs_reply(s.ctx, symbol, window), liqs_args),
    "feed": Command(
        lambda s, c, symbols=(), min_usd=None, off=False: feed_reply(
            s.ctx, c, list(symbols), min_usd, off
        ),
        feed_args,
    ),
    "accuracy": Command(
        lambda s, c, symbol, span=None: accuracy_reply(s.ctx, symbol, span), accuracy_args
    ),
    "summary": Command(
        lambda s, c, setting: s.chats.set_summary(c, list(setting)),
        lambda args: {"setting": list(args)},
    ),
}
COMMAND_TABLE["quit"] = COMMAND_TABLE["exit"] = COMMAND_TABLE["help"]

# Buttons: action → (command, how its args become the command's options).
BUTTONS: dict[str, Callable[[Service, Caller, str], Awaitable[Message]]] = {
    "refresh": lambda s, c, arg: s.report(arg, chart=False),
    "chart": lambda s, c, arg: s.report(arg, chart=True),
    "alert_breakout": lambda s, c, arg: s.alerts.add_alert(c, arg, "breakout", None),
    "snooze": lambda s, c, arg: s.alerts.snooze(c, parse.alert_id(arg)),
    "mute_symbol": lambda s, c, arg: s.alerts.mute_symbol(c, arg),
}


def answer_error(exc: BaseException, command: str | None = None) -> Message:
    """The one error policy: what a failed command answers (a UsageError gets its usage)."""
    if isinstance(exc, LiqwatchError):
        usage = _usage(command) if command in BY_NAME and isinstance(exc, UsageError) else ""
        text = f"{exc} Usage: {usage}" if usage and "Usage" not in str(exc) else str(exc)
        return error_message(text)
    log.error("command %s failed", command or "?", exc_info=exc)
    return error_message(INTERNAL_ERROR)


async def guarded(command: str | None, call: Callable[[], Awaitable[Any]]) -> list[Message]:
    """Run a call under the error policy; a single Message becomes a list."""
    try:
        result = await call()
    except Exception as exc:  # noqa: BLE001  (the policy decides what each one answers)
        return [answer_error(exc, command)]
    return list(result) if isinstance(result, list | tuple) else [result]


class Dispatcher:
    """The ChatService of core/chat/api.py over one Service."""

    def __init__(self, service: Service) -> None:
        self.service = service

    async def handle(self, caller: Caller, text: str) -> list[Message]:
        """Run one command line. Bad input gets one short error Message and changes nothing."""
        try:
            line = parsing.parse_line(text)
        except UsageError as exc:
            return [error_message(str(exc))]
        if line is None:
            if caller.chat_kind == "private" and text.strip():
                return [error_message("Commands start with /. Try /liq BTC or /help.")]
            return []
        command = COMMAND_TABLE.get(line.name)
        if command is None:
            return [error_message("Unknown command. Try /help.")]
        return await guarded(
            line.name, lambda: command.run(self.service, caller, **command.read(line.args))
        )

    async def run(self, caller: Caller, name: str, **options: Any) -> list[Message]:
        """A typed call (`run(caller, "alert", symbol="BTC", kind="near", value=1.5)`): the same
        command and the same answers as the typed line."""
        command = COMMAND_TABLE.get(name)
        if command is None:
            return [error_message("Unknown command. Try /help.")]
        return await guarded(name, lambda: command.run(self.service, caller, **options))

    async def press(self, caller: Caller, action: str, args: tuple[str, ...]) -> list[Message]:
        """Run a button's action (Button.action with Button.args)."""
        button = BUTTONS.get(action)
        if button is None:
            return [error_message("That button has expired. Try the command again.")]
        return await guarded(action, lambda: button(self.service, caller, args[0] if args else ""))

    def press_needs_chat_rights(self, caller: Caller, action: str, args: tuple[str, ...]) -> bool:
        """Whether this press concerns the chat's own alerts (core/chat/alert_commands.py), so
        the presser's admin rights must be known before `press`."""
        return self.service.alerts.press_needs_chat_rights(caller, action, args[0] if args else "")

    def command_needs_chat_rights(self, caller: Caller, text: str) -> bool:
        """Whether this typed line concerns the chat's own alerts (`/delalert` of one), so the
        caller's admin rights must be known before `handle`. Reads only."""
        try:
            line = parsing.parse_line(text)
        except UsageError:
            return False
        if line is None or line.name != "delalert" or not line.args:
            return False
        return self.service.alerts.press_needs_chat_rights(caller, "delalert", line.args[0])

    def help(self) -> Message:
        return self.service.help()

    def known_symbols(self, prefix: str = "") -> list[str]:
        return self.service.known_symbols(prefix)

    def set_chat_active(self, platform: str, chat_id: str, active: bool) -> None:
        self.service.chats.set_chat_active(platform, chat_id, active)

    def chat_moved(self, platform: str, old_chat_id: str, new_chat_id: str) -> None:
        self.service.chats.chat_moved(platform, old_chat_id, new_chat_id)
