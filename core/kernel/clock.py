"""The one default clock: every time inside liqwatch is UTC, and tests inject their own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The default clock everywhere (every time inside liqwatch is UTC; tests inject their own)."""
    return datetime.now(UTC)
