"""`/top [ratio|longs|shorts|near] [N]`: the screener's ranking of the universe, one message."""

from __future__ import annotations

from core.chat.base import ChatContext
from core.kernel import parse
from core.kernel.errors import LiqwatchError, UsageError
from core.market.screener import ORDERS, rank
from core.render.screener import screener_message
from core.types import Message

USAGE = "/top [ratio|longs|shorts|near] [N]"
DEFAULT_ROWS, MAX_ROWS = 10, 30


def top_args(args: tuple[str, ...]) -> dict:
    """The order and the count, in either order: `/top near 5`, `/top 5`, `/top shorts`."""
    by, rows = None, None
    for word in args:
        if word.lower() in ORDERS and by is None:
            by = word.lower()
        elif word.isdigit() and rows is None:
            rows = int(parse.number(word, "N", 1, MAX_ROWS))
        else:
            raise UsageError(f"'{word[:20]}' is neither an order nor a count. Usage: {USAGE}")
    return {"by": by or "ratio", "rows": rows or DEFAULT_ROWS}


async def top_reply(ctx: ChatContext, by: str = "ratio", rows: int = DEFAULT_ROWS) -> Message:
    screener = ctx.screener
    if screener is None:
        raise LiqwatchError("The screener is not set up in this bot.")
    if not 1 <= int(rows) <= MAX_ROWS:
        raise UsageError(f"N must be between 1 and {MAX_ROWS}. Usage: {USAGE}")
    found = await screener.scan()
    return screener_message(rank(found, by, int(rows)), by, ctx.clock(), screener.universe_size)
