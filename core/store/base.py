"""Opening the database: connection settings, migrations, helpers shared by the store parts."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from core.kernel.clock import utcnow
from core.kernel.errors import StoreError
from core.store.schema import LATEST_VERSION, MIGRATIONS

Clock = Callable[[], datetime]
BUSY_TIMEOUT_MS = 5000  # another process (e.g. `liqwatch db`) holding the write lock briefly


def connect(path: str | os.PathLike[str]) -> Database:
    """A sqlite-utils Database in WAL mode with foreign keys on and a busy timeout, migrated."""
    name = os.fspath(path)
    try:
        conn = sqlite3.connect(name, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise StoreError(f"Cannot open the database {name}: {exc}.") from exc
    try:
        db = Database(conn)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA foreign_keys = ON")
        if name != ":memory:":
            db.enable_wal()
        # FULL: a commit that returned survives a power cut too, not only a killed process.
        db.execute("PRAGMA synchronous = FULL")
        migrate(db, name)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(f"{name} is not a usable liqwatch database: {exc}.") from exc
    except BaseException:
        conn.close()
        raise
    return db


def schema_version(db: Database) -> int:
    if "schema_version" not in db.table_names():
        return 0
    row = db.execute("SELECT version FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(db: Database, name: str) -> None:
    """Apply the missing migrations in order, each with its version bump in one transaction."""
    tables = set(db.table_names())
    if tables and "schema_version" not in tables:
        raise StoreError(f"{name} is a SQLite database, but not one liqwatch created.")
    version = schema_version(db)
    if version > LATEST_VERSION:
        raise StoreError(
            f"{name} was written by a newer liqwatch (schema v{version}; this one knows up to "
            f"v{LATEST_VERSION}). Upgrade liqwatch or use another database file."
        )
    for number in range(version + 1, LATEST_VERSION + 1):
        # IMMEDIATE takes the write lock first, so two processes opening at once cannot both
        # apply the same migration: the second re-reads the version and skips it.
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            if schema_version(db) < number:
                for step in MIGRATIONS[number - 1]:
                    if callable(step):
                        step(db.conn)
                    else:
                        db.conn.execute(step)
                db.conn.execute("UPDATE schema_version SET version = ?", (number,))
            db.conn.execute("COMMIT")
        except BaseException:
            db.rollback()
            raise


class StoreBase:
    """Holds the connection and clock; the parts of the Store build on these helpers."""

    def __init__(
        self,
        db: Database,
        path: str,
        clock: Clock | None = None,
        rule_kinds: Collection[str] | None = None,
    ):
        self._db = db
        self.path = path
        self._clock: Clock = clock or utcnow
        # The alert kinds a rule may have (core.alerts.kinds, above the store, hands them in at
        # the wiring); None keeps any well-formed name.
        self.rule_kinds = tuple(rule_kinds) if rule_kinds is not None else None

    def _now(self) -> datetime:
        return self._clock()

    @contextmanager
    def _transaction(self) -> Iterator[Database]:
        """All or nothing; nests as a savepoint inside an outer transaction."""
        with self._db.atomic() as db:
            yield db

    def _rows(self, sql: str, params: dict[str, Any] | tuple = ()) -> list[dict[str, Any]]:
        return list(self._db.query(sql, params))

    def _row(self, sql: str, params: dict[str, Any] | tuple = ()) -> dict[str, Any] | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _write(self, sql: str, params: dict[str, Any] | tuple = ()) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"The database refused a change: {exc}.") from exc

    @property
    def schema_version(self) -> int:
        return schema_version(self._db)

    def pragma(self, name: str) -> Any:
        """A connection setting (journal_mode, foreign_keys...), for checks and `liqwatch db`."""
        if not name.isidentifier():
            raise StoreError(f"Not a pragma name: {name[:40]!r}.")
        return self._db.execute(f"PRAGMA {name}").fetchone()[0]

    def close(self) -> None:
        self._db.close()
