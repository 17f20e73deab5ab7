"""The one command grammar: a typed line or a pressed button → the service call → messages.

Every platform sends what users type through `handle_line` (Discord may call the service's typed
methods directly). Errors a user can cause become one short message with the right usage; errors
of ours are logged and answered with an apology, never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import parsing
from .commands import BY_NAME
from .errors import LiqwatchError, UsageError
from .model import Caller, Message
from .report import error_message
from .rules import ALERT_USAGE

if TYPE_CHECKING:
    from .service import Service

log = logging.getLogger(__name__)


async def handle_line(service: Service, caller: Caller, text: str) -> list[Message]:
    """Run one command line. Bad input gets one short error Message and changes nothing."""
    try:
        line = parsing.parse_line(text)
    except UsageError as exc:
        return [error_message(str(exc))]
    if line is None:
        if caller.chat_kind == "private" and text.strip():
            return [error_message("Commands start with /. Try /liq BTC or /help.")]
        return []
    return await _guard(line.name, lambda: _dispatch(service, caller, line.name, line.args))


async def press_button(
    service: Service, caller: Caller, action: str, args: tuple[str, ...]
) -> list[Message]:
    """Run a button's action (Button.action with Button.args)."""

    async def run() -> list[Message]:
        arg = args[0] if args else ""
        if action == "refresh":
            return [await service.report(arg, chart=False)]
        if action == "chart":
            return [await service.report(arg, chart=True)]
        if action == "alert_breakout":
            return [await service.add_alert(caller, arg, "breakout", None)]
        if action == "snooze":
            return [await service.snooze(caller, parsing.alert_id(arg))]
        if action == "mute_symbol":
            return [await service.mute_symbol(caller, arg)]
        raise UsageError("That button has expired. Try the command again.")

    return await _guard(action, run)


async def _guard(name: str, run: Callable) -> list[Message]:
    try:
        return await run()
    except LiqwatchError as exc:
        usage = BY_NAME[name].usage if name in BY_NAME and isinstance(exc, UsageError) else ""
        text = f"{exc} Usage: {usage}" if usage and "Usage" not in str(exc) else str(exc)
        return [error_message(text)]
    except Exception:
        log.exception("command %s failed", name)
        return [error_message("Something went wrong on our side. Please try again shortly.")]


async def _dispatch(
    service: Service, caller: Caller, name: str, args: tuple[str, ...]
) -> list[Message]:
    if name in ("help", "quit", "exit"):
        return [service.help()]
    if name == "liq":
        if not 1 <= len(args) <= 2:
            raise UsageError(f"Usage: {BY_NAME['liq'].usage}")
        window = parsing.number(args[1], "window %", 0, 100) if len(args) == 2 else None
        return [await service.report(args[0], window)]
    if name in ("watch", "unwatch"):
        if not args:
            raise UsageError(f"Name at least one symbol. Usage: {BY_NAME[name].usage}")
        method = service.watch if name == "watch" else service.unwatch
        return [await method(caller, list(args))]
    if name in ("watchlist", "alerts", "unmute") and args:
        raise UsageError(f"/{name} takes no arguments.")
    if name == "watchlist":
        return [await service.watchlist(caller)]
    if name == "alerts":
        return [await service.alerts(caller)]
    if name == "unmute":
        return [await service.unmute(caller)]
    if name == "alert":
        if len(args) < 2:
            raise UsageError(f"Usage: {ALERT_USAGE}")
        kind = args[1].lower()
        value = args[2] if len(args) > 2 else None
        if len(args) > 3:
            raise UsageError(f"Too many arguments. Usage: {ALERT_USAGE}")
        return [await service.add_alert(caller, args[0], kind, value)]
    if name == "delalert":
        if len(args) != 1:
            raise UsageError(f"Usage: {BY_NAME['delalert'].usage}")
        return [await service.delete_alert(caller, parsing.alert_id(args[0]))]
    if name == "mute":
        if len(args) != 1:
            raise UsageError(f"Usage: {BY_NAME['mute'].usage}")
        return [await service.mute(caller, args[0])]
    if name == "summary":
        return [await service.set_summary(caller, list(args))]
    raise UsageError("Unknown command. Try /help.")
