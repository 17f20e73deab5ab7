"""APScheduler 3 jobs on the one asyncio event loop: alert ticks, delivery (which also ends
expired mutes with one digest), and summaries.

Every job has max_instances=1 and coalesce=True: a slow tick is never run twice at once and a
backlog after a pause collapses into one run. Summaries each get a CronTrigger in their own zone.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core.delivery.deliverer import Deliverer
from core.delivery.summaries import Schedule
from core.kernel.errors import StoreUnavailable

log = logging.getLogger(__name__)

JOB_DEFAULTS = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 30}


def _job(method):
    """A scheduled job: tracked while it runs, so that shutdown can wait for it (a job calling
    another, the tick delivering at once, is tracked by the outer one), and ended quietly when
    shutdown cancels it (APScheduler would log a cancelled job as a crash; nothing half-done was
    committed)."""

    @functools.wraps(method)
    async def run(self: Jobs, *args: object) -> None:
        task = asyncio.current_task()
        owner = task is not None and task not in self._running
        if owner:
            self._running.add(task)
        try:
            await method(self, *args)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            log.info("a running job was stopped at shutdown")
        finally:
            if owner:
                self._running.discard(task)

    return run


class Checks(Protocol):
    """The periodic work the jobs run (core.alerts.monitor.Monitor): the scheduler sits below
    the alerts in the layers, so it knows them only by this shape."""

    store: Any

    async def tick(self) -> Any: ...

    async def run_summary(self, summary_id: int) -> bool: ...


class Jobs:
    def __init__(
        self,
        monitor: Checks,
        deliverer: Deliverer,
        check_seconds: float = 60.0,
        deliver_seconds: float = 1.0,
    ):
        self.monitor = monitor
        self.deliverer = deliverer
        self.check_seconds = check_seconds
        self.deliver_seconds = deliver_seconds
        self.scheduler = AsyncIOScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")
        self._stopping = False
        self._tick_store_down = False  # the last tick met a store outage (logged once)
        self._running: set[asyncio.Task] = set()
        self._extra: list[tuple[str, float, Callable[[], Awaitable[Any]]]] = []

    def every(self, job_id: str, seconds: float, work: Callable[[], Awaitable[Any]]) -> None:
        """Another periodic job (e.g. the screener's map refresh), started with the others."""
        self._extra.append((job_id, seconds, work))

    def start(self) -> None:
        """Add the fixed jobs and the summaries; must be called inside the running loop."""
        now = datetime.now(self.scheduler.timezone)
        self.scheduler.add_job(
            self.check_alerts,
            "interval",
            seconds=self.check_seconds,
            id="alerts",
            next_run_time=now,
        )
        self.scheduler.add_job(
            self.deliver, "interval", seconds=self.deliver_seconds, id="deliver", next_run_time=now
        )
        for job_id, seconds, work in self._extra:
            self.scheduler.add_job(
                self.run_extra,
                "interval",
                seconds=seconds,
                args=(job_id, work),
                id=job_id,  # first run one interval after the start, not with the first tick
            )
        self.plan_summaries()
        self.scheduler.start()

    def shutdown(self) -> None:
        # AsyncIOScheduler shuts down on the next loop turn, so `running` stays True until then.
        if self.scheduler.running and not self._stopping:
            self._stopping = True
            self.scheduler.shutdown(wait=False)

    async def drain(self, timeout: float = 10.0) -> None:
        """Stop the jobs and wait for the ones still running (a tick waiting for the exchange),
        so that nothing touches the store after it is closed. Whatever a cancelled tick had not
        committed is simply done again by the next process."""
        self.shutdown()
        running = [task for task in self._running if not task.done()]
        if not running:
            return
        _, pending = await asyncio.wait(running, timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    @_job
    async def check_alerts(self) -> None:
        try:
            stats = await self.monitor.tick()
        except StoreUnavailable as error:  # locked elsewhere, disk full: a fault of the world
            if not self._tick_store_down:
                log.warning("alert tick skipped, rules keep their state: %s", error)
            self._tick_store_down = True  # one line per outage, not one per tick
            return
        except Exception:
            log.exception("alert tick failed; rules keep their state")
            return
        if self._tick_store_down:
            log.info("alert tick runs again: the store answers")
            self._tick_store_down = False
        if stats.messages:
            log.info("alert tick: %d events → %d messages", stats.events, stats.messages)
            await self.deliver()  # on time: do not wait for the next delivery run

    @_job
    async def run_extra(self, job_id: str, work: Callable[[], Awaitable[Any]]) -> None:
        try:
            await work()
        except Exception:
            log.exception("job %s failed", job_id)

    @_job
    async def deliver(self) -> None:
        try:
            await self.deliverer.deliver_due()
        except Exception:
            log.exception("delivery pass failed; messages stay queued")

    @_job
    async def run_summary(self, summary_id: int) -> None:
        try:
            if not await self.monitor.run_summary(summary_id):
                self._remove(f"summary:{summary_id}")
                return
        except Exception:
            log.exception("summary %s failed", summary_id)
            return
        await self.deliver()

    def plan_summaries(self) -> None:
        """Make the summary jobs match the store: add new ones, drop deleted, update changed."""
        wanted = {}
        for summary in self.monitor.store.summaries():
            schedule = Schedule(tuple(summary["symbols"]), summary["schedule"], summary["tz"])
            wanted[f"summary:{summary['id']}"] = (summary["id"], schedule)
        for job in self.scheduler.get_jobs():
            if job.id.startswith("summary:") and job.id not in wanted:
                job.remove()
        for job_id, (summary_id, schedule) in wanted.items():
            self.scheduler.add_job(
                self.run_summary,
                schedule.trigger(),
                args=(summary_id,),
                id=job_id,
                replace_existing=True,
                misfire_grace_time=300,
            )

    def _remove(self, job_id: str) -> None:
        job = self.scheduler.get_job(job_id)
        if job:
            job.remove()
