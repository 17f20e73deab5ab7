"""The one formatter for money, prices, percentages, ratios and ages, used by every adapter."""

from __future__ import annotations

import math
from datetime import datetime, timedelta


def money(usd: float | None) -> str:
    """`$2.71B`, `$412.5M`, `$83.2K`, `$950`; `—` for missing or non-finite values."""
    if usd is None or not math.isfinite(usd):
        return "—"
    sign = "-" if usd < 0 else ""
    value = abs(usd)
    units = ((1e3, "K", 1), (1e6, "M", 1), (1e9, "B", 2), (1e12, "T", 2))
    for index in range(len(units) - 1, -1, -1):
        threshold, suffix, digits = units[index]
        if value >= threshold:
            scaled = round(value / threshold, digits)
            if scaled >= 1000 and index + 1 < len(units):  # 999.96M rounds to 1000.0M: say $1.00B
                threshold, suffix, digits = units[index + 1]
                scaled = round(value / threshold, digits)
            return f"{sign}${scaled:.{digits}f}{suffix}"
    if round(value) >= 1000:  # 999.6 rounds to $1,000: say $1.0K
        return f"{sign}$1.0K"
    return f"{sign}${value:,.0f}"


def money_precise(usd: float | None) -> str:
    """Three decimals for billions, as market notes write them: `$2.705B`."""
    if usd is None or not math.isfinite(usd):
        return "—"
    if abs(usd) >= 1e9:
        return f"{'-' if usd < 0 else ''}${abs(usd) / 1e9:.3f}B"
    return money(usd)


def price(value: float | None) -> str:
    """`$94,681`, `$3,012.5`, `$0.1234`: enough digits for the size of the number."""
    if value is None or not math.isfinite(value):
        return "—"
    magnitude = abs(value)
    if magnitude >= 10_000:
        return f"${value:,.0f}"
    if magnitude >= 100:
        return f"${value:,.2f}".rstrip("0").rstrip(".")
    if magnitude >= 1:
        return f"${value:,.3f}".rstrip("0").rstrip(".")
    if magnitude == 0:
        return "$0"
    digits = max(4, 3 - int(math.floor(math.log10(magnitude))))
    return f"${value:.{digits}f}"


def pct(value: float | None, signed: bool = True) -> str:
    """`+5.05%`, `-4.43%`."""
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:+.2f}%" if signed else f"{value:.2f}%"


def ratio(value: float | None) -> str:
    """`1.73×`; `—` when there is no finite ratio."""
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.2f}×"


def age(as_of: datetime, now: datetime) -> str:
    """How old data is, in words: `just now`, `45 s old`, `3 min old`, `2 h old`."""
    seconds = max(0.0, (now - as_of).total_seconds())
    if seconds < 5:
        return "just now"
    if seconds < 90:
        return f"{seconds:.0f} s old"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min old"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.0f} h old"
    return f"{seconds / 86400:.0f} days old"


def duration(delta: timedelta) -> str:
    """`2h`, `1h 30m`, `45m`, `3d`; under a minute `30s`."""
    if delta.total_seconds() < 60:
        return f"{max(0, int(delta.total_seconds()))}s"
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days}d"] if days else []
    if hours:
        parts.append(f"{hours}h")
    if minutes or not parts:
        parts.append(f"{minutes}m")
    return " ".join(parts)


def price_precise(value: float | None) -> str:
    """The current price to the cent, as market notes quote it: `$90,131.71`, `$0.1234`."""
    if value is None or not math.isfinite(value):
        return "—"
    if abs(value) >= 100:
        return f"${value:,.2f}"
    return price(value)
