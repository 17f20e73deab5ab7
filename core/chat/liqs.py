"""Realised liquidations as a chat asks for them: /liqs SYMBOL [1h|4h|24h], /feed, /accuracy.

/feed is chat-wide (admins only in groups and channels): `/feed BTC ETH min 1M` posts every
print of BTC or ETH of $1M or more, batched (core/alerts/feed.py); `/feed off` stops it; `/feed`
alone shows the current one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from core.chat.base import ChatContext, reply, require_chat_rights
from core.kernel import parse, symbols
from core.kernel.errors import UsageError
from core.kernel.fmt import money
from core.market.accuracy import MAX_MAP_AGE, grade
from core.market.streams import COVERAGE, LABELS
from core.render.accuracy import accuracy_message, render_accuracy_chart
from core.render.liq_chart import render_liqs_chart
from core.render.liquidations import LiqsReport, liqs_message
from core.store import Store
from core.types import Caller, Message

LIQS_USAGE = "/liqs SYMBOL [1h|4h|24h]"
FEED_USAGE = "/feed SYMBOL... min USD | /feed off"
DEFAULT_FEED_MIN = 100_000.0
MIN_FEED_USD, MAX_FEED_USD = 10_000.0, 1e10
MAX_FEED_SYMBOLS = 20


def venues_of(live: Any, names: list[str] | None = None) -> dict[str, tuple[str, str]]:
    """name → (label, coverage) of the venues running (or configured, or all)."""
    if live is not None:
        coverage, labels = live.coverage(), live.labels()
        return {name: (labels[name], coverage[name]) for name in coverage}
    return {name: (LABELS[name], COVERAGE[name]) for name in (names or list(LABELS))}


def liqs_report(
    store: Store,
    symbol: str,
    window: timedelta,
    now: datetime,
    venues: Mapping[str, tuple[str, str]],
    followed: bool = True,
    running: bool = True,
) -> LiqsReport:
    since = now - window
    return LiqsReport(
        symbol=symbol,
        window=window,
        until=now,
        minutes=tuple(store.liq_minutes(symbol, since, now)),
        largest=tuple(store.largest_liq_prints(symbol, since, now, limit=5)),
        gaps=tuple(g for g in store.liq_gaps(since, now) if g.venue in venues and _shown(g)),
        venues=venues,
        followed=followed,
        running=running,
    )


MIN_GAP_SHOWN = timedelta(seconds=10)  # a reconnect within a Bybit batch or two is not news


def _shown(gap) -> bool:
    return gap.end is None or gap.end - gap.start >= MIN_GAP_SHOWN


def followed_symbols(ctx: ChatContext) -> set[str]:
    if ctx.live is not None:
        return set(ctx.live.symbols)
    return ctx.store.needed_symbols() | ctx.store.feed_symbols()


def last_hour(ctx: ChatContext, symbol: str) -> tuple[float, float, list] | None:
    """(longs, shorts, gaps) of the last hour when the feeds run, for the /liq line."""
    if ctx.live is None:
        return None
    now = ctx.clock()
    minutes = ctx.store.liq_minutes(symbol, now - timedelta(hours=1), now)
    longs = sum(m.usd for m in minutes if m.side == "long")
    shorts = sum(m.usd for m in minutes if m.side == "short")
    return longs, shorts, ctx.store.liq_gaps(now - timedelta(hours=1), now)


# ---- /liqs -------------------------------------------------------------------------------------


def liqs_args(args: tuple[str, ...]) -> dict[str, Any]:
    if not 1 <= len(args) <= 2:
        raise UsageError(f"Usage: {LIQS_USAGE}")
    return {"symbol": args[0], "window": args[1] if len(args) == 2 else None}


async def liqs_reply(
    ctx: ChatContext, symbol: str, window: str | None = None, chart: bool = True
) -> Message:
    sym = symbols.normalize(symbol)
    span = parse.duration(window or "1h", timedelta(minutes=5), timedelta(hours=24))
    now = ctx.clock()
    report = liqs_report(
        ctx.store,
        sym,
        span,
        now,
        venues_of(ctx.live),
        followed=sym in followed_symbols(ctx),
        running=ctx.live is not None,
    )
    image = None
    if chart:
        labels = {name: label for name, (label, _) in report.venues.items()}
        image = await asyncio.to_thread(
            render_liqs_chart, sym, report.minutes, now - span, now, report.gaps, labels
        )
    return liqs_message(report, image)


# ---- /feed -------------------------------------------------------------------------------------


def feed_args(args: tuple[str, ...]) -> dict[str, Any]:
    words = list(args)
    if not words:
        return {"symbols": [], "min_usd": None, "off": False}
    if len(words) == 1 and words[0].lower() == "off":
        return {"symbols": [], "min_usd": None, "off": True}
    lowered = [w.lower() for w in words]
    min_usd = None
    if "min" in lowered:
        at = lowered.index("min")
        if at != len(words) - 2:
            raise UsageError(f"Put the amount last, after min. Usage: {FEED_USAGE}")
        min_usd = words[at + 1]
        words = words[:at]
    if not words:
        raise UsageError(f"Name at least one symbol. Usage: {FEED_USAGE}")
    return {"symbols": words, "min_usd": min_usd, "off": False}


async def feed_reply(
    ctx: ChatContext,
    caller: Caller,
    symbols_typed: list[str],
    min_usd: str | float | None = None,
    off: bool = False,
) -> Message:
    key = ctx.chat_key(caller)
    if not symbols_typed and not off:
        current = ctx.store.liq_feeds(key)
        if not current:
            return reply("No liquidation feed here", f"Start one with {FEED_USAGE.split(' | ')[0]}")
        feed = current[0]
        return reply(
            "Liquidation feed",
            f"{', '.join(feed.symbols)}: prints of {money(feed.min_usd)} or more.",
            "/feed off stops it.",
        )
    require_chat_rights(caller, "set this chat's liquidation feed")
    if off:
        if ctx.store.delete_liq_feed(key):
            return reply("Liquidation feed off")
        return reply("No liquidation feed here")
    wanted = list(dict.fromkeys(symbols.normalize(s) for s in symbols_typed))
    if len(wanted) > MAX_FEED_SYMBOLS:
        raise UsageError(f"A feed follows at most {MAX_FEED_SYMBOLS} symbols.")
    amount = DEFAULT_FEED_MIN
    if min_usd not in (None, ""):
        amount = (
            float(min_usd)
            if isinstance(min_usd, int | float)
            else parse.money_amount(str(min_usd), "feed minimum", MIN_FEED_USD, MAX_FEED_USD)
        )
        if not MIN_FEED_USD <= amount <= MAX_FEED_USD:
            raise UsageError(f"Feed minimum must be between $10,000 and {money(MAX_FEED_USD)}.")
    known, unknown, note = await ctx.checked_symbols(wanted)
    if unknown:
        raise UsageError(f"Unknown symbol {unknown[0]}. Usage: {FEED_USAGE}")
    ctx.store.set_liq_feed(key, known, amount)
    lines = [f"{', '.join(known)}: every print of {money(amount)} or more, batched."]
    if ctx.live is None:
        lines.append("The live feeds are off here ([feeds] enabled = false): nothing will post.")
    else:
        ctx.live.refresh()
    if note:
        lines.append(note)
    lines.append("/feed off stops it.")
    return reply("Liquidation feed on", *lines)


# ---- /accuracy ---------------------------------------------------------------------------------

ACCURACY_USAGE = "/accuracy SYMBOL [7d]"


def accuracy_args(args: tuple[str, ...]) -> dict[str, Any]:
    if not 1 <= len(args) <= 2:
        raise UsageError(f"Usage: {ACCURACY_USAGE}")
    return {"symbol": args[0], "span": args[1] if len(args) == 2 else None}


async def accuracy_of(store: Store, symbol: str, span: timedelta, now: datetime):
    """Grade the kept maps against the stored prints (the maths off the loop)."""
    since = now - span
    prints = store.liq_prints(symbol, since, now)
    frames = store.map_frames(symbol, since - MAX_MAP_AGE, now)
    return await asyncio.to_thread(grade, symbol, prints, frames, since, now)


async def accuracy_reply(ctx: ChatContext, symbol: str, span: str | None = None) -> Message:
    sym = symbols.normalize(symbol)
    window = parse.duration(span or "7d", timedelta(hours=1), timedelta(days=30))
    acc = await accuracy_of(ctx.store, sym, window, ctx.clock())
    labels = {name: label for name, (label, _) in venues_of(ctx.live).items()}
    image = await asyncio.to_thread(render_accuracy_chart, acc, labels)
    return accuracy_message(acc, labels, image)
