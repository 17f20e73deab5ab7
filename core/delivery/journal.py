"""The accepted-but-unrecorded journal: `<db>.accepted`, one line per message a platform
accepted while the store could not record it (locked, disk full).

Written only when recording fails (the normal path never touches it), fsync'd, and replayed into
the store by the next pass that can write, in this process or the next one after a kill: so a
message sent during a store outage is not sent again after a restart. Cleared once replayed.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime

log = logging.getLogger(__name__)


class AcceptedJournal:
    def __init__(self, db_path: str | None):
        self.path = None if not db_path or db_path == ":memory:" else f"{db_path}.accepted"

    def load(self) -> dict[int, datetime]:
        if self.path is None or not os.path.exists(self.path):
            return {}
        found: dict[int, datetime] = {}
        with open(self.path, encoding="utf-8") as journal:
            for line in journal:
                try:
                    outbox_id, when = line.split(maxsplit=1)
                    found[int(outbox_id)] = datetime.fromisoformat(when.strip())
                except ValueError:
                    continue  # a line cut by the kill: that message's window, as documented
        return found

    def add(self, outbox_id: int, when: datetime) -> None:
        if self.path is None:
            return
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, f"{outbox_id} {when.isoformat()}\n".encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as error:  # the disk is full too: memory keeps it for this process
            log.warning("could not journal sent message %s: %s", outbox_id, error)

    def clear(self) -> None:
        if self.path is not None and os.path.exists(self.path):
            try:
                os.unlink(self.path)
            except OSError as error:
                log.warning("could not clear %s: %s", self.path, error)
