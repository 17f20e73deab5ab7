"""Recording what a platform accepted, whatever the store does meanwhile.

Every accepted message, and every accepted part of a long one, is noted in the journal
(journal.py) before the outbox is written, then written; a write that fails leaves it noted,
in memory and on disk, and only the write is retried (by the next pass that can write, in this
process or the next one after a kill), never the send. While the store fails, every pass backs
off (1 s doubling to 5 s), logged once per outage.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta

from core.delivery.journal import AcceptedJournal
from core.kernel.errors import StoreError
from core.store import Store

log = logging.getLogger(__name__)

STORE_BACKOFF_FIRST_SECONDS = 1.0
# A local write is cheap to try again, and delivery resumes within 5 s of the store's recovery
# (a full disk freed, a lock released): the next tick, at the fastest tick there is.
STORE_BACKOFF_MAX_SECONDS = 5.0
STORE_ERRORS = (StoreError, sqlite3.Error)


class Records:
    def __init__(self, store: Store, clock: Callable[[], datetime]):
        self._store = store
        self._clock = clock
        self._journal = AcceptedJournal(getattr(store, "path", None))
        # Accepted by the platform, not yet recorded: outbox id → when (never sent again), and
        # parts accepted whose `parts_done` is not written yet: outbox id → parts. From a killed
        # process too.
        self._accepted, self._parts = self._journal.load()
        self._journal.reserve()  # its room, while the disk has some (see journal.py)
        self._dirty = bool(self._accepted or self._parts)
        self._failures = 0  # consecutive passes that met a store error
        self.retry_at: datetime | None = None  # no pass before this (the store failed)
        self._down_since: datetime | None = None

    @property
    def unrecorded(self) -> int:
        return len(self._accepted)

    def backing_off(self, now: datetime) -> bool:
        return self.retry_at is not None and now < self.retry_at

    def replay(self) -> None:
        """Write what earlier passes could not (raises a store error if it still fails)."""
        for outbox_id, parts in list(self._parts.items()):
            self._store.record_parts(outbox_id, parts)
            del self._parts[outbox_id]
        for outbox_id, when in list(self._accepted.items()):
            self._store.mark_sent(outbox_id, when)
            del self._accepted[outbox_id]
        self.pass_done()

    def already_sent(self, outbox_id: int) -> bool:
        """Sent before, only its record failed: record it now (True), never send it again."""
        if outbox_id not in self._accepted:
            return False
        self._store.mark_sent(outbox_id, self._accepted.pop(outbox_id))
        return True

    def sent(self, outbox_id: int) -> None:
        """The platform accepted the whole message: noted, then recorded. No await in here: this
        is all there is of the send-then-record window."""
        accepted_at = self._clock()
        self._accepted[outbox_id] = accepted_at
        self._journal.add(outbox_id, accepted_at)  # first: a kill in a slow record repeats nothing
        self._dirty = True  # blanked at the end of the pass once recorded
        try:
            self._store.mark_sent(outbox_id, accepted_at)
        except STORE_ERRORS:
            self._journal.sync()  # the record failed: through a power cut too
            raise
        del self._accepted[outbox_id]

    def part_saver(self, outbox_id: int) -> Callable[[int], None]:
        """What a sender calls with the parts accepted so far (parts.py's `resuming`)."""

        def save(parts: int) -> None:
            self._journal.add(outbox_id, self._clock(), parts=parts)
            self._dirty = True
            try:
                self._store.record_parts(outbox_id, parts)
            except STORE_ERRORS:
                self._parts[outbox_id] = max(parts, self._parts.get(outbox_id, 0))  # replayed
                self._journal.sync()
                raise

        return save

    def pass_done(self) -> None:
        if self._dirty and not self._accepted and not self._parts:  # every entry is recorded
            self._journal.clear()
            self._dirty = False

    # ---- the store's health --------------------------------------------------------------

    def fault(self, error: Exception) -> None:
        self._failures += 1
        wait = min(
            STORE_BACKOFF_FIRST_SECONDS * 2 ** min(self._failures - 1, 10),
            STORE_BACKOFF_MAX_SECONDS,
        )
        now = self._clock()
        self.retry_at = now + timedelta(seconds=wait)
        if self._down_since is None:
            self._down_since = now
            log.warning(
                "the store failed during delivery (%s: %s); backing off, nothing is sent again",
                type(error).__name__,
                error,
            )

    def ok(self) -> None:
        if self._down_since is not None:
            log.info(
                "the store works again after %.0f s; delivery resumed",
                (self._clock() - self._down_since).total_seconds(),
            )
        self._failures = 0
        self.retry_at = None
        self._down_since = None
