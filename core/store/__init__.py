"""The SQLite store (sqlite-utils over sqlite3, WAL): chats, watchlists, rules, summaries, outbox,
and the alert checks' wick marks.

Calls are quick and synchronous, made from the one asyncio thread. All SQL is parameterised;
values go in and come out as core.model dataclasses and plain types. See schema.py for the tables
and their migrations.
"""

from __future__ import annotations

import os
from collections.abc import Collection

from core.kernel.config import ConfigPart
from core.store.base import Clock, ProcessLock, connect
from core.store.liquidations import LiquidationStore
from core.store.map_history import MapHistoryStore
from core.store.outbox import OutboxItem, OutboxStore
from core.store.schema import LATEST_VERSION
from core.store.wallets import WalletStore
from core.store.wicks import WickMark

__all__ = ["LATEST_VERSION", "OutboxItem", "Store", "WickMark"]


class Store(WalletStore, OutboxStore, MapHistoryStore, LiquidationStore):
    """The one handle on the database. Open with `Store.open(path)`; `close()` when done."""

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        clock: Clock | None = None,
        rule_kinds: Collection[str] | None = None,
        exclusive: bool = False,
    ) -> Store:
        """Open (creating if needed) and upgrade the database in place to the current schema.
        `rule_kinds`: the alert kinds rules may have (None: any well-formed name).
        `exclusive`: this process delivers from the store (`run`, `chat`): no other may at the
        same time (StoreError naming the other's pid; released by close() or the process end)."""
        name = os.fspath(path)
        lock = ProcessLock(name).acquire() if exclusive and name != ":memory:" else None
        try:
            store = cls(connect(path), name, clock, rule_kinds)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        store._lock = lock
        return store

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# open_wait_seconds: at start, a database locked by another process or on a full disk is waited
# for this long (bot/app.py's build) before `run` gives up with one line.
CONFIG = ConfigPart({"store": {"path": "liqwatch.db", "open_wait_seconds": 120.0}})
