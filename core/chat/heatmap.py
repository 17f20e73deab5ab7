"""`/heatmap SYMBOL [24h|3d|7d]`: how the symbol's map evolved, from the map history.

The maps come from the store (recorded at each refresh, see core/store/map_history.py); the
picture is rendered off the event loop, so other chats' commands keep their pace meanwhile.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from core.chat.base import ChatContext
from core.kernel import fmt, parse, symbols
from core.kernel.errors import LiqwatchError, UsageError
from core.render.heatmap import heat_grid, render_heatmap
from core.types import Button, Message

DEFAULT_SPAN = timedelta(hours=24)
MAX_SPAN = timedelta(days=14)
MIN_MAPS = 2


def read_span(text: str | None, keep: timedelta = MAX_SPAN) -> timedelta:
    """`24h`, `3d`, `7d` (any duration from 1 h up to what the history keeps)."""
    if not text:
        return DEFAULT_SPAN
    try:
        return parse.duration(text, timedelta(hours=1), min(keep, MAX_SPAN))
    except UsageError as exc:
        raise UsageError(f"{exc} Usage: /heatmap SYMBOL [24h|3d|7d]") from None


def heatmap_args(args: tuple[str, ...]) -> dict:
    if not 1 <= len(args) <= 2:
        raise UsageError("Usage: /heatmap SYMBOL [24h|3d|7d]")
    return {"symbol": args[0], "span": args[1] if len(args) == 2 else None}


async def heatmap_reply(ctx: ChatContext, symbol: str, span: str | None = None) -> Message:
    name = symbols.normalize(symbol)
    window = read_span(span, ctx.store.history_keep)
    now = ctx.clock()
    frames = ctx.store.map_frames(name, now - window, now)
    if len(frames) < MIN_MAPS:
        # A first look starts the history (the fetch records the map): say when to come back.
        try:
            await ctx.market.snapshots.get(name)
        except LiqwatchError as exc:
            raise LiqwatchError(f"No map history for {name}: {exc}") from None
        every = int(ctx.store.history_every.total_seconds() // 60)
        raise LiqwatchError(
            f"No map history for {name} over the last {_span(window)} yet. liqwatch keeps a map "
            f"every {every} min for symbols in use (watched, alerted, screened or asked for); "
            f"{name} is recorded from now on: try again in {every * MIN_MAPS} min or more."
        )
    grid = heat_grid(frames, now - window, now)
    image = await asyncio.to_thread(render_heatmap, grid)
    last = grid.notional[-1] if len(grid.notional) else None
    lines = [f"{len(frames)} maps, {frames[0].taken_at:%d %b %H:%M} to "
             f"{frames[-1].taken_at:%d %b %H:%M} UTC."]  # fmt: skip
    if last is not None and last.max() > 0:
        peak = int(last.argmax())
        lines.append(
            f"Brightest band now: {fmt.price(float(grid.price_centres[peak]))} "
            f"({fmt.money(float(last[peak]))} in its bucket)."
        )
    footer = f"Source: {grid.source} · newest map {fmt.age(frames[-1].taken_at, now)}"
    return Message(
        title=f"{name} liquidation heatmap · {_span(window)}",
        lines=tuple(lines),
        footer=footer + " · estimates, not financial advice",
        image=image,
        buttons=(Button("Map now", "chart", (name,)),),
        kind="report",
    )


def _span(window: timedelta) -> str:
    hours = window.total_seconds() / 3600
    return f"{hours:g} h" if hours < 48 else f"{hours / 24:g} d"
