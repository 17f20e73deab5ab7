"""Command lines as users type them: `/liq@MyBot btc 10` → the command's name and its words.

The values inside (numbers, durations, times) are read by core.kernel.parse.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.chat.commands import ALIASES, BY_NAME
from core.kernel.errors import UsageError

MAX_LINE = 400  # no real command is longer
MAX_ARGS = 24


@dataclass(frozen=True)
class CommandLine:
    name: str  # canonical command name, e.g. "liq"
    args: tuple[str, ...]


def parse_line(text: str) -> CommandLine | None:
    """`/liq@MyBot btc 10` → CommandLine("liq", ("btc", "10")). None if it is not a command."""
    stripped = text.strip()
    if not stripped.startswith("/"):
        return None
    if len(stripped) > MAX_LINE:
        raise UsageError(f"That message is too long ({len(stripped):,} characters). Try /help.")
    head, *args = stripped.split()
    name = head[1:].split("@", 1)[0].lower()
    name = ALIASES.get(name, name)
    if name not in BY_NAME and name not in ("quit", "exit"):
        shown = name[:20]
        raise UsageError(f"Unknown command /{shown}. Try /help.")
    if len(args) > MAX_ARGS:
        raise UsageError("Too many arguments.")
    return CommandLine(name, tuple(args))
