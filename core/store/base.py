"""Opening the database: connection settings, migrations, helpers shared by the store parts.

- One process per database: `ProcessLock` takes an exclusive lock on `<db>.lock` (fcntl, released
  by the kernel when the process ends, even by kill -9), so a second `liqwatch run` on the same
  store refuses to start instead of delivering every message twice.
- Write transactions start with BEGIN IMMEDIATE: the write lock is taken first, so the busy
  timeout applies (a DEFERRED transaction that reads then writes fails at once with "database is
  locked" when another process writes meanwhile). A store failure (locked past the timeout, disk
  full, I/O error) is a StoreError with a clear sentence, never a raw sqlite3 error.
- The database, its WAL and shared-memory files, and the lock file are created readable and
  writable by the owner only (0600): they hold chat ids and the outbox.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from core.kernel.clock import utcnow
from core.kernel.errors import StoreError, StoreUnavailable
from core.store.schema import LATEST_VERSION, MIGRATIONS

Clock = Callable[[], datetime]
BUSY_TIMEOUT_MS = 5000  # another process (e.g. `liqwatch db`) holding the write lock briefly
PRIVATE = 0o600


def store_error(exc: sqlite3.Error, name: str) -> StoreError:
    """A StoreError saying what happened to the database, in words an operator acts on."""
    text = str(exc)
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        return StoreUnavailable(
            f"The database {name} stayed locked by another process for over "
            f"{BUSY_TIMEOUT_MS // 1000} s ({text}); try again, or stop the other process."
        )
    if "full" in lowered:
        return StoreUnavailable(
            f"The disk holding the database {name} is full ({text}); free some space."
        )
    if "readonly" in lowered or "read-only" in lowered:
        what = f"The database {name} is read-only ({text}); check its permissions."
    else:
        what = f"The database {name} failed: {text}."
    return StoreError(what)


class ProcessLock:
    """An exclusive lock on `<db>.lock` held while the store is open (see the module docstring).
    Raises StoreError with one clear line when another process holds it."""

    def __init__(self, db_path: str):
        self.path = f"{db_path}.lock"
        self._fd: int | None = None

    def acquire(self) -> ProcessLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE)
        except OSError as exc:
            raise StoreError(f"Cannot create the lock file {self.path}: {exc.strerror}.") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            db = self.path.removesuffix(".lock")
            raise StoreError(
                f"Another liqwatch (pid {holder}) is already running on {db}; stop it first, "
                "or give this one another [store] path."
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # the kernel drops the lock with the descriptor
            self._fd = None


def _create_private(name: str) -> None:
    """Create the database file (and its WAL and shared-memory files) 0600 before SQLite does:
    SQLite creates them with the process's umask, usually world-readable."""
    for suffix in ("", "-wal", "-shm"):
        path = name + suffix
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE)
        except FileExistsError:
            continue
        except OSError:
            return  # SQLite will say what is wrong with the directory
        os.close(fd)


def connect(path: str | os.PathLike[str]) -> Database:
    """A sqlite-utils Database in WAL mode with foreign keys on and a busy timeout, migrated."""
    name = os.fspath(path)
    if name != ":memory:" and not name.startswith("file:"):
        _create_private(name)
    try:
        conn = sqlite3.connect(name, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise StoreError(f"Cannot open the database {name}: {exc}.") from exc
    try:
        db = Database(conn)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA foreign_keys = ON")
        # Deleted or replaced content is zeroed, not left in free pages (an old webhook URL).
        db.execute("PRAGMA secure_delete = ON")
        if name != ":memory:":
            db.enable_wal()
        # FULL: a commit that returned survives a power cut too, not only a killed process.
        db.execute("PRAGMA synchronous = FULL")
        migrate(db, name)
    except sqlite3.OperationalError as exc:
        conn.close()
        raise store_error(exc, name) from exc
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
        """All or nothing, taking the write lock first (BEGIN IMMEDIATE, so the busy timeout
        applies); nests as a savepoint inside an outer transaction."""
        conn = self._db.conn
        if conn.in_transaction:
            with self._db.atomic() as db:
                yield db
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise store_error(exc, self.path) from exc
        try:
            yield self._db
        except sqlite3.OperationalError as exc:
            conn.rollback()
            raise store_error(exc, self.path) from exc
        except BaseException:
            conn.rollback()
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.rollback()
            raise store_error(exc, self.path) from exc

    def _rows(self, sql: str, params: dict[str, Any] | tuple = ()) -> list[dict[str, Any]]:
        try:
            return list(self._db.query(sql, params))
        except sqlite3.OperationalError as exc:
            raise store_error(exc, self.path) from exc

    def _row(self, sql: str, params: dict[str, Any] | tuple = ()) -> dict[str, Any] | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _write(self, sql: str, params: dict[str, Any] | tuple = ()) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"The database refused a change: {exc}.") from exc
        except sqlite3.OperationalError as exc:
            raise store_error(exc, self.path) from exc

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
        lock = getattr(self, "_lock", None)
        if lock is not None:
            lock.release()
