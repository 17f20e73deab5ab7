"""Scheduled summaries: the schedule grammar, its cron trigger, and what the next one compares.

`/summary BTC ETH every 4h` or `/summary BTC daily 08:00 Europe/Berlin`. Each summary runs on an
APScheduler CronTrigger in its own time zone; core.render.summaries words the message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from apscheduler.triggers.cron import CronTrigger

from core.kernel import parse as parsing
from core.kernel import symbols
from core.kernel.config import TableSpec
from core.kernel.errors import ConfigError, UsageError
from core.types import Analysis

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


# ---- [[summaries]] in the config: scheduled posts set by the operator ------------------------

SUMMARY_KEYS: dict[str, Any] = {
    "symbols": ["BTC"],
    "every": "",  # e.g. "4h"
    "daily": "",  # e.g. "08:00"
    "tz": "UTC",
    "webhook_url": "",  # Discord webhook: post without inviting the bot
    "telegram_chat": "",  # or a Telegram chat id the bot is in
}


def _check_entry(item: dict[str, Any], n: int, where: str) -> None:
    if bool(item["every"]) == bool(item["daily"]):
        raise ConfigError(f"{where}: [[summaries]] #{n} needs exactly one of every or daily")
    if not item["webhook_url"] and not item["telegram_chat"]:
        raise ConfigError(f"{where}: [[summaries]] #{n} needs webhook_url or telegram_chat")
    url = item["webhook_url"]
    if url and not re.match(r"^https?://[^\s/]+/\S+$", url):
        raise ConfigError(f"{where}: [[summaries]] #{n} webhook_url must be an http(s) URL")
    chat = item["telegram_chat"]
    if chat and not re.match(r"^(-?\d+|@\w{4,})$", chat):
        raise ConfigError(
            f"{where}: [[summaries]] #{n} telegram_chat must be a chat id or @channelname"
        )
    if not item["symbols"] or not all(
        isinstance(x, str) and re.match(r"^[A-Za-z0-9$#./:_-]{1,30}$", x) for x in item["symbols"]
    ):
        raise ConfigError(f"{where}: [[summaries]] #{n} symbols must be a list like ['BTC']")


def _webhook_token(item: dict[str, Any]) -> list[str]:
    # A webhook URL's last segment is its token (`.../webhooks/ID/TOKEN`): whoever reads it
    # can post there. Logs that name the chat keep the ID part.
    token = urlsplit(item["webhook_url"]).path.rstrip("/").rpartition("/")[2]
    return [token] if token else []


SUMMARIES_TABLE = TableSpec(SUMMARY_KEYS, check_entry=_check_entry, secrets=_webhook_token)
