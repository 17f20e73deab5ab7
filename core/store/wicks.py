"""Where each symbol's alert checks stand: the time of the last good check and the newest 1-minute
candle seen then, so that a restarted monitor reads the wicks since that check, not just the last
minute (core/monitor.py says how it uses them).

Written by `commit_tick` in the same transaction as the rule states they go with: after a crash,
the marks and the states always describe the same check.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.store.base import StoreBase
from core.store.codec import db_time, py_time
from core.types import Candle


@dataclass(frozen=True)
class WickMark:
    """One symbol after a good alert check: when it was, and the newest 1m candle seen then."""

    checked_at: datetime
    candle: Candle | None = None


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _mark(row: dict[str, Any]) -> WickMark | None:
    """A stored row back as a WickMark; None for a row that cannot be read (never a crash)."""
    try:
        checked_at = py_time(row["checked_at"])
        opened = py_time(row["candle_open_time"])
    except (TypeError, ValueError):
        return None
    if checked_at is None:
        return None
    prices = [row["candle_open"], row["candle_high"], row["candle_low"], row["candle_close"]]
    candle = None
    if opened is not None and all(_finite(p) for p in prices):
        candle = Candle(opened, *(float(p) for p in prices))
    return WickMark(checked_at, candle)


class WickMarkStore(StoreBase):
    def wick_marks(self) -> dict[str, WickMark]:
        """Every symbol's mark as the last committed tick left it."""
        marks = {}
        for row in self._rows("SELECT * FROM wick_marks"):
            mark = _mark(row)
            if mark is not None:
                marks[row["symbol"]] = mark
        return marks

    def save_wick_marks(self, marks: Mapping[str, WickMark]) -> None:
        """Replace the marks of these symbols (inside the caller's transaction, if any)."""
        with self._transaction():
            for symbol, mark in marks.items():
                candle = mark.candle
                self._write(
                    "INSERT INTO wick_marks (symbol, checked_at, candle_open_time, candle_open,"
                    " candle_high, candle_low, candle_close) VALUES (?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (symbol) DO UPDATE SET checked_at = excluded.checked_at,"
                    " candle_open_time = excluded.candle_open_time,"
                    " candle_open = excluded.candle_open, candle_high = excluded.candle_high,"
                    " candle_low = excluded.candle_low, candle_close = excluded.candle_close",
                    (
                        str(symbol),
                        db_time(mark.checked_at),
                        None if candle is None else db_time(candle.open_time),
                        None if candle is None else candle.open,
                        None if candle is None else candle.high,
                        None if candle is None else candle.low,
                        None if candle is None else candle.close,
                    ),
                )
