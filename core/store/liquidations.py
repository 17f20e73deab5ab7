"""Realised liquidations: the venues' prints, their per-minute aggregates, the streams' gaps and
the chats' liquidation feeds.

Prints are written in batches by the PrintWriter (core/store/print_writer.py) on its own
connection and thread, so the streams never wait on the disk; everything here that reads runs on
the main connection. A print is stored once: a venue resending old prints after a reconnect gives
rows the unique index ignores, and the per-minute aggregates are kept by a trigger, so only rows
really inserted are counted. Times are epoch milliseconds in the tables, UTC datetimes outside.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from core.store.base import StoreBase
from core.store.codec import db_time
from core.types import LiqGap, LiqMinute, LiqPrint, LiqWindow, Message


def ms(when: datetime) -> int:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


Gap = LiqGap  # the store's name for it


@dataclass(frozen=True)
class LiqFeed:
    """A chat's liquidation feed: prints of these symbols at or above min_usd, after `cursor`."""

    chat_key: int
    symbols: tuple[str, ...]
    min_usd: float
    cursor: int


_INSERT = (
    "INSERT OR IGNORE INTO liq_prints (venue, symbol, side, price, qty, usd, ts)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def _print_of(row: dict) -> LiqPrint:
    return LiqPrint(
        row["venue"],
        row["symbol"],
        row["side"],
        row["price"],
        row["qty"],
        row["usd"],
        from_ms(row["ts"]),
    )


class LiquidationStore(StoreBase):
    # ---- writing (the PrintWriter's connection) -------------------------------------------

    def add_prints(self, prints: Iterable[LiqPrint]) -> int:
        """Insert a batch in one transaction; returns how many were new (resends are ignored)."""
        rows = [
            (p.venue, p.symbol, p.side, float(p.price), float(p.qty), float(p.usd), ms(p.at))
            for p in prints
        ]
        if not rows:
            return 0
        with self._transaction():
            cursor = self._db.conn.executemany(_INSERT, rows)
        return max(cursor.rowcount, 0)

    def gap_started(self, venue: str, at: datetime, reason: str = "") -> None:
        """Open a gap for the venue unless one is open already (the earlier start holds)."""
        with self._transaction():
            if self._row("SELECT 1 FROM liq_gaps WHERE venue = ? AND ended IS NULL", (venue,)):
                return
            self._write(
                "INSERT OR IGNORE INTO liq_gaps (venue, started, reason) VALUES (?, ?, ?)",
                (venue, ms(at), reason[:200]),
            )

    def gap_ended(self, venue: str, at: datetime) -> None:
        with self._transaction():
            self._write(
                "UPDATE liq_gaps SET ended = max(started, ?) WHERE venue = ? AND ended IS NULL",
                (ms(at), venue),
            )

    def prune_liquidations(self, before: datetime) -> int:
        """Delete prints, aggregates and closed gaps older than `before`; returns prints removed."""
        cutoff = ms(before)
        with self._transaction():
            removed = self._write("DELETE FROM liq_prints WHERE ts < ?", (cutoff,)).rowcount
            self._write("DELETE FROM liq_minutes WHERE minute < ?", (cutoff - 60_000,))
            self._write("DELETE FROM liq_gaps WHERE ended IS NOT NULL AND ended < ?", (cutoff,))
        return max(removed or 0, 0)

    # ---- reading -------------------------------------------------------------------------

    def liq_minutes(
        self, symbol: str, since: datetime, until: datetime | None = None
    ) -> list[LiqMinute]:
        """The symbol's per-minute aggregates with minute start in [since's minute, until]."""
        start = ms(since) - ms(since) % 60_000
        end = ms(until) if until is not None else 2**62
        return [
            LiqMinute(
                from_ms(r["minute"]),
                r["venue"],
                r["side"],
                r["usd"],
                r["count"],
                r["largest_usd"],
                r["largest_price"],
                r["low"],
                r["high"],
            )
            for r in self._rows(
                "SELECT * FROM liq_minutes WHERE symbol = ? AND minute >= ? AND minute <= ?"
                " ORDER BY minute, venue, side",
                (symbol, start, end),
            )
        ]

    def liq_windows(
        self, symbols: Collection[str], since: datetime, until: datetime
    ) -> dict[str, LiqWindow]:
        """Per symbol, its minutes since `since` (every asked symbol gets a window, maybe empty)."""
        return {
            symbol: LiqWindow(until, tuple(self.liq_minutes(symbol, since, until)))
            for symbol in symbols
        }

    def largest_liq_prints(
        self, symbol: str, since: datetime, until: datetime | None = None, limit: int = 5
    ) -> list[LiqPrint]:
        end = ms(until) if until is not None else 2**62
        rows = self._rows(
            "SELECT * FROM liq_prints WHERE symbol = ? AND ts >= ? AND ts <= ?"
            " ORDER BY usd DESC, ts LIMIT ?",
            (symbol, ms(since), end, int(limit)),
        )
        return [_print_of(r) for r in rows]

    def liq_prints(self, symbol: str, since: datetime, until: datetime) -> list[LiqPrint]:
        rows = self._rows(
            "SELECT * FROM liq_prints WHERE symbol = ? AND ts >= ? AND ts <= ? ORDER BY ts",
            (symbol, ms(since), ms(until)),
        )
        return [_print_of(r) for r in rows]

    def liq_prints_after(
        self, cursor: int, symbols: Collection[str], min_usd: float, limit: int = 200
    ) -> list[tuple[int, LiqPrint]]:
        """Prints with id > cursor of these symbols at or above min_usd, oldest first."""
        wanted = list(symbols)
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        rows = self._rows(
            f"SELECT * FROM liq_prints WHERE id > ? AND usd >= ? AND symbol IN ({marks})"
            " ORDER BY id LIMIT ?",
            (int(cursor), float(min_usd), *wanted, int(limit)),
        )
        return [(r["id"], _print_of(r)) for r in rows]

    def liq_newest_id(self) -> int:
        row = self._row("SELECT ifnull(max(id), 0) AS n FROM liq_prints")
        return int(row["n"]) if row else 0

    def liq_gaps(self, since: datetime, until: datetime | None = None) -> list[LiqGap]:
        """Gaps overlapping [since, until], oldest first."""
        end = ms(until) if until is not None else 2**62
        rows = self._rows(
            "SELECT * FROM liq_gaps WHERE started <= ? AND (ended IS NULL OR ended >= ?)"
            " ORDER BY started",
            (end, ms(since)),
        )
        return [
            LiqGap(
                r["venue"],
                from_ms(r["started"]),
                None if r["ended"] is None else from_ms(r["ended"]),
                r["reason"],
            )
            for r in rows
        ]

    def liq_print_count(self) -> int:
        row = self._row("SELECT count(*) AS n FROM liq_prints")
        return int(row["n"]) if row else 0

    # ---- chat feeds ------------------------------------------------------------------------

    def set_liq_feed(self, chat_key: int, symbols: Sequence[str], min_usd: float) -> LiqFeed:
        """Start (or change) the chat's feed from now on: older prints are not replayed."""
        cursor = self.liq_newest_id()
        with self._transaction():
            self._write(
                "INSERT INTO liq_feeds (chat_key, symbols, min_usd, cursor, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (chat_key) DO UPDATE SET"
                " symbols = excluded.symbols, min_usd = excluded.min_usd,"
                " cursor = max(cursor, excluded.cursor)",
                (chat_key, json.dumps(list(symbols)), float(min_usd), cursor, db_time(self._now())),
            )
        return LiqFeed(chat_key, tuple(symbols), float(min_usd), cursor)

    def delete_liq_feed(self, chat_key: int) -> bool:
        with self._transaction():
            return self._write("DELETE FROM liq_feeds WHERE chat_key = ?", (chat_key,)).rowcount > 0

    def liq_feeds(self, chat_key: int | None = None) -> list[LiqFeed]:
        """Feeds of active chats (or the one chat's feed, active or not)."""
        if chat_key is None:
            rows = self._rows(
                "SELECT f.* FROM liq_feeds f JOIN chats c ON c.key = f.chat_key"
                " WHERE c.active = 1 ORDER BY f.chat_key"
            )
        else:
            rows = self._rows("SELECT * FROM liq_feeds WHERE chat_key = ?", (chat_key,))
        return [
            LiqFeed(r["chat_key"], tuple(json.loads(r["symbols"])), r["min_usd"], r["cursor"])
            for r in rows
        ]

    def feed_symbols(self) -> set[str]:
        return {symbol for feed in self.liq_feeds() for symbol in feed.symbols}

    def advance_liq_feed(self, chat_key: int, cursor: int) -> None:
        """Move the feed's cursor forward (inside the caller's transaction, with its message)."""
        with self._transaction():
            self._write(
                "UPDATE liq_feeds SET cursor = max(cursor, ?) WHERE chat_key = ?",
                (int(cursor), chat_key),
            )

    def post_liq_feed(self, chat_key: int, message: Message, cursor: int) -> None:
        """Queue one feed batch and move the feed past it, in one transaction (needs the
        outbox part of the Store: a crash either posts the batch and moves on, or neither)."""
        with self._transaction():
            self.enqueue(chat_key, message, dedup_key=f"feed:{chat_key}:{cursor}", kind="feed")
            self.advance_liq_feed(chat_key, cursor)
