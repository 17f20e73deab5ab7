"""Scheduled summaries: the schedule grammar, its cron trigger, and the summary message.

`/summary BTC ETH every 4h` or `/summary BTC daily 08:00 Europe/Berlin`. Each summary runs on an
APScheduler CronTrigger in its own time zone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from apscheduler.triggers.cron import CronTrigger

from . import parsing, symbols
from .errors import UsageError
from .fmt import price as fmt_price
from .model import Analysis, Message, Snapshot
from .report import summary_section

log = logging.getLogger(__name__)

EVERY_MINUTES = (15, 20, 30)
EVERY_HOURS = (1, 2, 3, 4, 6, 8, 12, 24)


@dataclass(frozen=True)
class Schedule:
    symbols: tuple[str, ...]
    text: str  # canonical: "every 4h" | "every 30m" | "daily 08:00"
    tz: str = "UTC"

    def trigger(self) -> CronTrigger:
        kind, value = self.text.split(" ", 1)
        if kind == "daily":
            hour, minute = parsing.time_of_day(value)
            return CronTrigger(hour=hour, minute=minute, timezone=self.tz)
        amount, unit = int(value[:-1]), value[-1]
        if unit == "m":
            return CronTrigger(minute=f"*/{amount}", timezone=self.tz)
        if amount == 24:
            return CronTrigger(hour=0, minute=0, timezone=self.tz)
        return CronTrigger(hour=f"*/{amount}", minute=0, timezone=self.tz)

    def next_run(self, now: datetime) -> datetime | None:
        fire = self.trigger().get_next_fire_time(None, now)
        return fire


def parse_schedule(args: list[str]) -> Schedule:
    """SYMBOL... every 4h | SYMBOL... daily HH:MM [TZ]."""
    lowered = [a.lower() for a in args]
    if "every" in lowered:
        at = lowered.index("every")
        rest = args[at + 1 :]
        if len(rest) != 1:
            raise UsageError("Say how often, e.g. every 4h or every 30m.")
        span = parsing.duration(rest[0])
        minutes = int(span.total_seconds() // 60)
        if minutes in EVERY_MINUTES:
            text = f"every {minutes}m"
        elif minutes % 60 == 0 and minutes // 60 in EVERY_HOURS:
            text = f"every {minutes // 60}h"
        else:
            raise UsageError("Summaries run every 15m, 20m, 30m, or 1, 2, 3, 4, 6, 8, 12 or 24h.")
        tz = "UTC"
    elif "daily" in lowered:
        at = lowered.index("daily")
        rest = args[at + 1 :]
        if not 1 <= len(rest) <= 2:
            raise UsageError("Say when, e.g. daily 08:00 or daily 08:00 Europe/Berlin.")
        hour, minute = parsing.time_of_day(rest[0])
        text = f"daily {hour:02d}:{minute:02d}"
        tz = parsing.timezone(rest[1]) if len(rest) == 2 else "UTC"
    else:
        raise UsageError("Add a schedule: every 4h, or daily 08:00 [TZ].")
    names = tuple(dict.fromkeys(symbols.normalize(s) for s in args[:at]))
    return Schedule(symbols=names, text=text, tz=tz)


def crossed_levels(previous: dict, high: float, low: float) -> list[str]:
    """Key levels the price went through since the previous summary (from its stored levels),
    judged on the high and low since then, so a break that reverted still counts."""
    crossed = []
    above, below = previous.get("key_short"), previous.get("key_long")
    if above and high >= above:
        crossed.append(f"broke above the key short level {fmt_price(above)}")
    if below and low <= below:
        crossed.append(f"fell through the key long level {fmt_price(below)}")
    return crossed


def summary_message(
    schedule_text: str,
    results: list[tuple[str, Snapshot | None, Analysis | None]],
    previous: dict[str, dict],
    image: bytes | None,
    ranges: dict[str, tuple[float, float]] | None = None,
) -> Message:
    """One message: a section per symbol (price, 24 h change, ratio move, zones, crossings)."""
    sections, failed = [], []
    for sym, snapshot, result in results:
        if snapshot is None or result is None:
            failed.append(sym)
            continue
        prev = previous.get(sym, {})
        sections.append(
            summary_section(
                sym,
                snapshot,
                result,
                prev.get("ratio"),
                crossed_levels(prev, *(ranges or {}).get(sym, (snapshot.price,) * 2))
                if prev
                else None,
            )
        )
    lines = [f"No data for {', '.join(failed)} this time."] if failed else []
    sources = sorted({s.source for _, s, _ in results if s is not None})
    sample = any(s is not None and s.sample for _, s, _ in results)
    footer = f"Source: {', '.join(sources) or 'none'} · {schedule_text}"
    if sample:
        footer += " · SAMPLE DATA, not live"
    names = ", ".join(sym for sym, _, _ in results)
    return Message(
        title=f"Summary · {names}",
        lines=tuple(lines),
        sections=tuple(sections),
        footer=footer,
        image=image,
        kind="summary",
    )


def remembered(result: Analysis) -> dict:
    """What the next summary compares against."""
    return {
        "ratio": result.ratio,
        "price": result.price,
        # the far edges, as breakout alerts use them: through the whole cluster
        "key_short": result.key_short.high if result.key_short else None,
        "key_long": result.key_long.low if result.key_long else None,
    }


class SummaryPlanner:
    """Parses schedules and tells the scheduler (when one is attached) that summaries changed."""

    def __init__(self, store) -> None:
        self.store = store
        self.listeners: list[Callable[[], None]] = []

    parse = staticmethod(parse_schedule)

    def changed(self) -> None:
        for listener in self.listeners:
            try:
                listener()
            except Exception:  # a scheduler hiccup must not fail the user's command
                log.exception("re-planning summaries failed")


async def gather_analyses(
    service, names: list[str]
) -> list[tuple[str, Snapshot | None, Analysis | None]]:
    results = await asyncio.gather(*(service.analysis(s) for s in names), return_exceptions=True)
    out = []
    for sym, result in zip(names, results, strict=True):
        if isinstance(result, BaseException):
            log.warning("summary: no data for %s: %s", sym, result)
            out.append((sym, None, None))
        else:
            out.append((sym, result[0], result[1]))
    return out
