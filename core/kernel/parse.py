"""Parsing what users type: numbers, durations, times of day and time zones.

Every function raises UsageError with a short sentence that says what was wrong; callers add the
right usage line. Limits keep absurd input out (a 10 KB message, a 1e308 price, a 10-year mute).
"""

from __future__ import annotations

import functools
import math
import re
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from core.kernel.errors import UsageError

_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d*)?$")


def number(text: str, what: str, low: float, high: float) -> float:
    """A finite number within [low, high]; accepts `1.5`, `1.5%`, `90,000`, `$90000`, `2x`.

    A comma is only a thousands separator (`95,500`); `95,5` or `1,5` is refused rather than
    silently read as 955 or 15.
    """
    cleaned = text.strip().lower().replace("_", "").lstrip("$").rstrip("%×x")
    if "," in cleaned:
        if not _THOUSANDS.match(cleaned):
            shown = text.strip()[:20]
            raise UsageError(f"'{shown}': use a dot for decimals, e.g. {shown.replace(',', '.')}.")
        cleaned = cleaned.replace(",", "")
    try:
        value = float(cleaned)
    except ValueError:
        raise UsageError(f"'{text[:20]}' is not a number ({what}).") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise UsageError(f"{what.capitalize()} must be between {plain(low)} and {plain(high)}.")
    return value


def plain(value: float) -> str:
    """A bound as people write it: `1,000,000,000`, `0.05`, `0.000000001`."""
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.10f}".rstrip("0").rstrip(".")


def alert_id(text: str) -> int:
    """`3` or `#3`: a whole number, nothing else (`1.9` must not delete alert #1)."""
    cleaned = text.strip().lstrip("#")
    if not cleaned.isascii() or not cleaned.isdigit() or len(cleaned) > 12 or int(cleaned) < 1:
        raise UsageError(f"'{text[:20]}' is not an alert id. See the ids with /alerts.")
    return int(cleaned)


_DURATION = re.compile(r"^(\d{1,7})\s*(m|min|mins|h|hr|hrs|d|day|days|w)$")
_UNIT_SECONDS = {
    "m": 60,
    "min": 60,
    "mins": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
}


def duration(
    text: str, low: timedelta = timedelta(minutes=1), high: timedelta = timedelta(days=30)
) -> timedelta:
    """`30m`, `2h`, `1d`, `1w` (also `90min`, `2hrs`); between `low` and `high`."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise UsageError(f"'{text[:20]}' is not a duration. Use e.g. 30m, 2h or 1d.")
    value = timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    if not low <= value <= high:
        raise UsageError(f"Duration must be between {_short(low)} and {_short(high)}.")
    return value


def _short(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def time_of_day(text: str) -> tuple[int, int]:
    """`08:00` → (8, 0)."""
    match = _TIME.match(text.strip())
    if not match:
        raise UsageError(f"'{text[:20]}' is not a time of day. Use HH:MM, e.g. 08:00.")
    return int(match.group(1)), int(match.group(2))


def timezone(text: str) -> str:
    """An IANA zone name (`Europe/Berlin`, `UTC`), validated."""
    name = text.strip()
    if len(name) > 64 or not re.match(r"^[A-Za-z0-9_+\-/]+$", name) or ".." in name:
        raise UsageError(f"Unknown time zone '{name[:20]}'. Use e.g. UTC or Europe/Berlin.")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        proper = _zones_by_lower_name().get(name.lower())  # `utc`, `europe/berlin`
        if proper is None:
            raise UsageError(
                f"Unknown time zone '{name[:20]}'. Use e.g. UTC or Europe/Berlin."
            ) from None
        return proper
    return name


@functools.cache
def _zones_by_lower_name() -> dict[str, str]:
    return {zone.lower(): zone for zone in available_timezones()}


_MONEY_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9}


def money_amount(text: str, what: str, low: float, high: float) -> float:
    """A USD amount as traders type it: `20M`, `1.5b`, `250k`, `$20,000,000`, `20000000`."""
    cleaned = text.strip().lower().lstrip("$")
    factor = 1.0
    if cleaned[-1:] in _MONEY_SUFFIX:
        factor = _MONEY_SUFFIX[cleaned[-1]]
        cleaned = cleaned[:-1]
    if not cleaned:
        raise UsageError(f"'{text[:20]}' is not an amount ({what}). Use e.g. 20M or 250K.")
    value = number(cleaned, what, 0, math.inf) * factor
    if not low <= value <= high:
        raise UsageError(f"{what.capitalize()} must be between ${plain(low)} and ${plain(high)}.")
    return value
