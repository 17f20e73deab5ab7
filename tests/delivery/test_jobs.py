"""The scheduled jobs around the alert tick: a store outage (locked elsewhere, disk full) skips
ticks with one warning for the whole outage, not a traceback every tick; rules keep their state."""

from __future__ import annotations

import logging

from core.delivery.scheduler import Jobs
from core.kernel.errors import StoreUnavailable


class Outage:
    """A monitor whose ticks meet a full disk `failing` times, then work."""

    store = None

    def __init__(self, failing: int) -> None:
        self.failing = failing
        self.ticks = 0

    async def tick(self):
        self.ticks += 1
        if self.ticks <= self.failing:
            raise StoreUnavailable("The disk holding the database x.db is full; free some space.")
        return type("Stats", (), {"messages": 0, "events": 0})()

    async def run_summary(self, summary_id: int) -> bool:
        return True


class NoDelivery:
    async def deliver_due(self):
        return None


async def test_a_store_outage_is_one_warning_per_outage_and_no_traceback(caplog):
    monitor = Outage(failing=3)
    jobs = Jobs(monitor, NoDelivery())  # type: ignore[arg-type]
    with caplog.at_level(logging.INFO, logger="core.delivery.scheduler"):
        for _ in range(5):
            await jobs.check_alerts()
    assert monitor.ticks == 5
    skipped = [r for r in caplog.records if "alert tick skipped" in r.getMessage()]
    assert len(skipped) == 1 and skipped[0].levelno == logging.WARNING and not skipped[0].exc_info
    assert "disk" in skipped[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert sum("runs again" in r.getMessage() for r in caplog.records) == 1
