"""The accepted-but-unrecorded journal: `<db>.accepted`, one line per message a platform
accepted, written the moment it is accepted, before the outbox records it.

The write goes to the page cache (no fsync: that is enough for a kill -9, the process dies, the
kernel keeps the page); when recording then fails (database locked for seconds, disk full) it is
fsync'd, for a power cut too. The next pass that can write replays it into the store, in this
process or the next one after a kill, so a message the platform accepted is never sent again,
however long the record took or failed; entries whose record succeeded are blanked at the next
pass. Each accepted part is noted the same way before the outbox's `parts_done` is written, so
a kill while that write waits resumes after the part, too. What is left of the send-then-record
window is the answer's way from the socket to here.

A full disk is one of those outages, so the journal must not need the disk to have room: its
space is reserved while there is some (`reserve()`, at start: RESERVED_BYTES of blanks), and
entries and clearing overwrite that space in place, never growing the file. (On a copy-on-write
filesystem, btrfs or ZFS, an overwrite may still need a block: there a kill during a full disk
can repeat the messages sent during it.) Past the reserve it appends, which a full disk refuses:
then memory keeps the entry for this process, logged.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime

log = logging.getLogger(__name__)

RESERVED_BYTES = 64 * 1024  # ~1,500 entries of ~40 bytes
_BLANK = b" "


class AcceptedJournal:
    def __init__(self, db_path: str | None, reserved: int = RESERVED_BYTES):
        self.path = None if not db_path or db_path == ":memory:" else f"{db_path}.accepted"
        self.reserved = reserved
        self._end = 0  # where the next entry goes: the end of the entries written so far

    def reserve(self) -> None:
        """Make sure the file holds `reserved` bytes (blanks past the entries). Best effort."""
        if self.path is None:
            return
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                size = os.fstat(fd).st_size
                if size < self.reserved:
                    os.pwrite(fd, _BLANK * (self.reserved - size), size)
                    os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as error:
            log.warning("could not reserve %s: %s", self.path, error)

    def load(self) -> tuple[dict[int, datetime], dict[int, int]]:
        """(accepted messages: id → when, accepted parts of messages not finished: id → count)."""
        if self.path is None or not os.path.exists(self.path):
            return {}, {}
        sent: dict[int, datetime] = {}
        parts: dict[int, int] = {}
        with open(self.path, "rb") as journal:
            content = journal.read()
        self._end = len(content.rstrip(_BLANK + b"\0"))
        for raw in content[: self._end].splitlines():
            try:
                outbox_id, when, *count = raw.decode("utf-8").split()
                if count:
                    parts[int(outbox_id)] = max(parts.get(int(outbox_id), 0), int(count[0]))
                else:
                    sent[int(outbox_id)] = datetime.fromisoformat(when)
            except ValueError:
                continue  # a blank line, or a line cut by the kill: that message's window
        return sent, {k: v for k, v in parts.items() if k not in sent}

    def add(
        self, outbox_id: int, when: datetime, durable: bool = False, parts: int | None = None
    ) -> None:
        """Note an accepted message (or its first `parts` parts); `durable`: fsync too."""
        if self.path is None:
            return
        count = "" if parts is None else f" {parts}"
        line = f"{outbox_id} {when.isoformat()}{count}\n".encode()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                os.pwrite(fd, line, self._end)  # into the reserve: no new block needed
                if durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            self._end += len(line)
        except OSError as error:  # past the reserve on a full disk: memory keeps it
            log.warning("could not journal sent message %s: %s", outbox_id, error)

    def sync(self) -> None:
        """fsync what was noted (a record failed: keep it through a power cut too)."""
        if self.path is None or not os.path.exists(self.path):
            return
        try:
            fd = os.open(self.path, os.O_WRONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as error:
            log.warning("could not sync %s: %s", self.path, error)

    def clear(self) -> None:
        """Forget every entry (they are recorded now), keeping the reserved space."""
        if self.path is None or not os.path.exists(self.path):
            return
        try:
            fd = os.open(self.path, os.O_WRONLY)
            try:
                length = max(self._end, 0) or os.fstat(fd).st_size
                os.pwrite(fd, _BLANK * length, 0)  # no fsync: a stale entry replays harmlessly
            finally:
                os.close(fd)
            self._end = 0
        except OSError as error:
            log.warning("could not clear %s: %s", self.path, error)
