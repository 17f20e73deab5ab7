"""Shared by the store tests: a clock the test moves, a store opened on it, a sample alert.

Fixtures are provided by importing them (pytest finds them by their `name=`):

    from tests.store_helpers import clock_fixture, store_fixture  # noqa: F401
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.alerts.kinds import KIND_NAMES
from core.store import Store
from core.types import Message

T0 = datetime(2025, 1, 2, 12, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime = T0):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(name="clock")
def clock_fixture() -> FakeClock:
    return FakeClock()


@pytest.fixture(name="store")
def store_fixture(tmp_path, clock):
    with Store.open(tmp_path / "liqwatch.db", clock=clock, rule_kinds=KIND_NAMES) as opened:
        yield opened


def alert(title: str = "BTC broke $94,681") -> Message:
    return Message(title=title, lines=("Shorts above: $2.71B",), kind="alert")
