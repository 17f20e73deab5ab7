"""The PrintWriter: the streams' prints and gaps reach the database in batches, on a thread and
a connection of their own, so a stream never waits on the disk (or on the main connection).

`put()` only appends to a buffer under a lock; the thread writes whatever is buffered every
`flush_seconds` (sooner when `max_batch` prints are waiting), one transaction per batch. A clean
stop writes the batch in flight; a kill -9 loses at most the prints buffered since the last write.
A database that is briefly locked by the main connection is waited for (busy timeout); a failing
write is logged once and retried with the next batch, so nothing is dropped while the disk is
merely slow.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime

from core.kernel.errors import StoreError
from core.store.base import connect
from core.store.liquidations import LiquidationStore
from core.types import LiqPrint

log = logging.getLogger(__name__)

Op = Callable[[LiquidationStore], None]


class PrintWriter:
    """Implements the streams' sink (`put`, `gap_started`, `gap_ended`) over the database."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        flush_seconds: float = 0.25,
        max_batch: int = 5000,
        max_buffer: int = 500_000,
    ):
        self.path = os.fspath(path)
        if self.path == ":memory:":
            raise StoreError("The print writer needs a database file, not :memory:.")
        self.flush_seconds = flush_seconds
        self.max_batch = max_batch
        self.max_buffer = max_buffer  # beyond this (a dead disk) the oldest prints are dropped
        self._lock = threading.Condition()
        self._prints: list[LiqPrint] = []
        self._received: list[tuple[int, float]] = []  # (prints before this stamp, monotonic time)
        self._ops: list[Op] = []
        self._queued = 0  # sequence numbers: everything queued up to _written is on disk
        self._written = 0
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._failing = False
        # Figures (benchmarks/feeds.py, `liqwatch doctor`-style checks).
        self.stored = 0
        self.duplicates = 0
        self.dropped = 0
        self.batches = 0
        self.latencies: deque[float] = deque(maxlen=100_000)  # receive → committed, seconds

    # ---- the sink, called from the event loop ---------------------------------------------

    def put(self, prints: Sequence[LiqPrint], received: float | None = None) -> None:
        """Queue prints (never blocks on the disk). `received`: time.monotonic() of arrival."""
        if not prints:
            return
        stamp = time.monotonic() if received is None else received
        with self._lock:
            self._prints.extend(prints)
            self._received.append((len(self._prints), stamp))
            self._queued += 1
            overflow = len(self._prints) - self.max_buffer
            if overflow > 0:
                del self._prints[:overflow]
                self._received = [(max(n - overflow, 0), t) for n, t in self._received]
                self.dropped += overflow
            if len(self._prints) >= self.max_batch:
                self._lock.notify_all()

    def gap_started(self, venue: str, at: datetime, reason: str = "") -> None:
        self._op(lambda store: store.gap_started(venue, at, reason))

    def gap_ended(self, venue: str, at: datetime) -> None:
        self._op(lambda store: store.gap_ended(venue, at))

    def prune(self, before: datetime) -> None:
        """Delete old rows on the writer's connection (a big delete must not block the loop)."""

        def run(store: LiquidationStore) -> None:
            removed = store.prune_liquidations(before)
            if removed:
                log.info("liquidations: pruned %d prints older than %s", removed, before)

        self._op(run)

    def _op(self, op: Op) -> None:
        with self._lock:
            self._ops.append(op)
            self._queued += 1
            self._lock.notify_all()

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping = False
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(ready, failure), name="liq-print-writer", daemon=True
        )
        self._thread.start()
        ready.wait()
        if failure:
            self._thread = None
            raise failure[0]

    def flush(self, timeout: float = 10.0) -> bool:
        """Block until everything queued before this call is written (True) or timeout."""
        with self._lock:
            target = self._queued
            self._lock.notify_all()
            return self._lock.wait_for(
                lambda: self._written >= target or self._thread is None, timeout
            )

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is buffered, then end the thread and close its connection."""
        thread = self._thread
        if thread is None:
            return
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        thread.join(timeout)
        self._thread = None

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._prints)

    # ---- the thread ------------------------------------------------------------------------

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        try:
            db = connect(self.path)
            # The print log is rebuilt by the venues' next pushes; a power cut may lose the last
            # batch (a kill -9 does not): no fsync per batch at 5,000 prints a second.
            db.execute("PRAGMA synchronous = NORMAL")
            store = LiquidationStore(db, self.path)
        except BaseException as exc:  # noqa: BLE001  (handed to start(), which raises it)
            failure.append(exc)
            ready.set()
            return
        ready.set()
        try:
            while True:
                with self._lock:
                    if not (self._stopping or self._prints or self._ops):
                        self._lock.wait(self.flush_seconds)
                    elif not self._stopping and len(self._prints) < self.max_batch:
                        # Let a batch build up until its oldest print is flush_seconds old (a
                        # flush() or a full batch wakes it sooner).
                        oldest = self._received[0][1] if self._received else time.monotonic()
                        wait = self.flush_seconds - (time.monotonic() - oldest)
                        if wait > 0:
                            self._lock.wait(wait)
                    prints, received, ops = self._prints, self._received, self._ops
                    self._prints, self._received, self._ops = [], [], []
                    queued = self._queued
                    stopping = self._stopping
                if prints or ops:
                    if not self._write(store, prints, received, ops):
                        with self._lock:  # put them back, in front of what came since
                            self._prints[:0] = prints
                            shift = len(prints)
                            self._received = received + [(n + shift, t) for n, t in self._received]
                            self._ops[:0] = ops
                        if stopping:
                            break
                        time.sleep(min(1.0, self.flush_seconds * 4))
                        continue
                with self._lock:
                    self._written = max(self._written, queued)
                    self._lock.notify_all()
                if stopping:
                    with self._lock:
                        if not (self._prints or self._ops):
                            break
        finally:
            db.close()
            with self._lock:
                self._lock.notify_all()

    def _write(self, store: LiquidationStore, prints, received, ops) -> bool:
        try:
            new = store.add_prints(prints) if prints else 0
            for op in ops:
                op(store)
        except Exception as exc:  # noqa: BLE001  (the disk or a lock: retried with the next batch)
            if not self._failing:
                log.warning(
                    "liquidations: writing %d prints failed (%s); will retry", len(prints), exc
                )
            self._failing = True
            return False
        if self._failing:
            log.info("liquidations: writing works again")
        self._failing = False
        done = time.monotonic()
        self.stored += new
        self.duplicates += len(prints) - new
        self.batches += 1
        start = 0
        for end, stamp in received:
            if end > start:
                self.latencies.append(done - stamp)
            start = max(start, end)
        return True
