"""Hyperliquid wallets: the latest reading of each wallet read, and the chats' /wallet watches.

`hl_wallets` holds one row per address: whether the config lists it (the observed map's universe)
and its latest reading (positions as compact JSON, or the last read error). A wallet only a chat
watches has a row while the watch lasts; `/wallet off` (or the chat leaving) removes it, so
nothing about a user outlives the watch. `wallet_watches` holds one watch per chat: the address,
its distance threshold and the alert state (which stage fired for which position).

The refresh reads round-robin: the watched wallets every run, then the configured ones oldest
reading first (never-read first of all), as many as the run's weight budget allows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.store.codec import db_time, py_time
from core.store.outbox import OutboxStore
from core.types import Message, WalletPosition, WalletReading

log = logging.getLogger(__name__)

_WATCHED = (
    "SELECT w.address FROM wallet_watches w JOIN chats c ON c.key = w.chat_key WHERE c.active = 1"
)


@dataclass(frozen=True)
class WalletWatch:
    chat_key: int
    address: str
    pct: float  # alert within this % of a liquidation price, and again at half of it
    state: dict[str, Any] = field(default_factory=dict)  # position key → {"stage", "episode"}
    created_at: datetime | None = None


def positions_json(positions: Iterable[WalletPosition]) -> str:
    rows = [
        [p.coin, p.size, p.entry_px, p.liquidation_px, p.leverage, p.margin_type, p.position_usd]
        for p in positions
    ]
    return json.dumps(rows, separators=(",", ":"))


def positions_of(text: str | None) -> tuple[WalletPosition, ...]:
    if not text:
        return ()
    try:
        rows = json.loads(text)
        return tuple(
            WalletPosition(str(c), float(s), float(e), None if q is None else float(q), int(lv),
                           "isolated" if t == "isolated" else "cross", float(u))
            for c, s, e, q, lv, t, u in rows
        )  # fmt: skip
    except (ValueError, TypeError):
        log.warning("wallets: an unreadable stored reading was ignored")
        return ()


def _reading(row: dict[str, Any]) -> WalletReading:
    return WalletReading(
        row["address"],
        py_time(row["read_at"]),
        positions_of(row["positions"]),
        row["account_usd"] or 0.0,
    )


class WalletStore(OutboxStore):
    # ---- the universe and its readings --------------------------------------------------

    def set_wallet_universe(self, addresses: Iterable[str]) -> None:
        """The configured wallets (lower-case addresses): listed ones in, the others out."""
        wanted = sorted(set(addresses))
        with self._transaction():
            self._write("UPDATE hl_wallets SET configured = 0")
            for address in wanted:
                self._write(
                    "INSERT INTO hl_wallets (address, configured) VALUES (?, 1)"
                    " ON CONFLICT (address) DO UPDATE SET configured = 1",
                    (address,),
                )
            self._forget_unused_wallets()

    def _forget_unused_wallets(self) -> int:
        cursor = self._write(
            "DELETE FROM hl_wallets WHERE configured = 0 AND address NOT IN"
            " (SELECT address FROM wallet_watches)"
        )
        return cursor.rowcount or 0

    def watched_wallets(self) -> list[str]:
        """Addresses some active chat watches, each once."""
        return sorted({r["address"] for r in self._rows(_WATCHED)})

    def wallets_due(self, limit: int, exclude: Sequence[str] = ()) -> list[str]:
        """Up to `limit` configured wallets, the never-read then the longest unread first."""
        if limit <= 0:
            return []
        skip = set(exclude)
        rows = self._rows(
            "SELECT address FROM hl_wallets WHERE configured = 1"
            " ORDER BY read_at IS NOT NULL, read_at, address LIMIT ?",
            (limit + len(skip),),
        )
        return [r["address"] for r in rows if r["address"] not in skip][:limit]

    def save_wallet_reading(self, reading: WalletReading) -> None:
        """Keep a reading of a configured or watched wallet (any other is not stored)."""
        with self._transaction():
            self._write(
                "UPDATE hl_wallets SET read_at = ?, account_usd = ?, positions = ?, error = NULL"
                " WHERE address = ?",
                (
                    db_time(reading.read_at),
                    reading.account_usd,
                    positions_json(reading.positions),
                    reading.address,
                ),
            )

    def save_wallet_error(self, address: str, error: str) -> None:
        self._write("UPDATE hl_wallets SET error = ? WHERE address = ?", (error[:200], address))

    def wallet_reading(self, address: str) -> WalletReading | None:
        row = self._row(
            "SELECT * FROM hl_wallets WHERE address = ? AND read_at IS NOT NULL", (address,)
        )
        return _reading(row) if row else None

    def universe_readings(self) -> tuple[list[WalletReading], int]:
        """The configured wallets' latest readings, and how many were never read."""
        rows = self._rows("SELECT * FROM hl_wallets WHERE configured = 1")
        readings = [_reading(r) for r in rows if r["read_at"] is not None]
        return readings, len(rows) - len(readings)

    # ---- /wallet watches ----------------------------------------------------------------

    def set_wallet_watch(self, chat_key: int, address: str, pct: float) -> WalletWatch:
        """Watch `address` for this chat (replacing its previous watch, state and all)."""
        with self._transaction():
            self._write(
                "INSERT INTO wallet_watches (chat_key, address, pct, state, created_at)"
                " VALUES (?, ?, ?, '{}', ?) ON CONFLICT (chat_key) DO UPDATE SET"
                " address = excluded.address, pct = excluded.pct, state = '{}',"
                " created_at = excluded.created_at",
                (chat_key, address, float(pct), db_time(self._now())),
            )
            self._forget_unused_wallets()
            self._write(
                "INSERT INTO hl_wallets (address, configured) VALUES (?, 0)"
                " ON CONFLICT (address) DO NOTHING",
                (address,),
            )
        watch = self.wallet_watch(chat_key)
        assert watch is not None
        return watch

    def wallet_watch(self, chat_key: int) -> WalletWatch | None:
        row = self._row("SELECT * FROM wallet_watches WHERE chat_key = ?", (chat_key,))
        return _watch(row) if row else None

    def delete_wallet_watch(self, chat_key: int) -> str | None:
        """Stop the chat's watch; the address it watched, or None. Its reading goes too unless
        the config or another chat still wants that wallet."""
        with self._transaction():
            watch = self.wallet_watch(chat_key)
            if watch is None:
                return None
            self._write("DELETE FROM wallet_watches WHERE chat_key = ?", (chat_key,))
            self._forget_unused_wallets()
        return watch.address

    def wallet_watches(self) -> list[WalletWatch]:
        """Every active chat's watch."""
        return [
            _watch(r)
            for r in self._rows(
                "SELECT w.* FROM wallet_watches w JOIN chats c ON c.key = w.chat_key"
                " WHERE c.active = 1 ORDER BY w.chat_key"
            )
        ]

    def commit_wallet_check(
        self, watch: WalletWatch, state: dict[str, Any], messages: Sequence[tuple[Message, str]]
    ) -> list[int]:
        """A watch's new alert state and the alerts it caused (with their dedup keys), together:
        a check re-run after a crash queues nothing twice. Skipped if the watch changed since."""
        queued: list[int] = []
        with self._transaction():
            current = self.wallet_watch(watch.chat_key)
            if current is None or current.address != watch.address:
                return queued
            self._write(
                "UPDATE wallet_watches SET state = ? WHERE chat_key = ?",
                (json.dumps(state, separators=(",", ":")), watch.chat_key),
            )
            for message, dedup_key in messages:
                outbox_id = self.enqueue(watch.chat_key, message, dedup_key, kind="alert")
                if outbox_id is not None:
                    queued.append(outbox_id)
        return queued


def _watch(row: dict[str, Any]) -> WalletWatch:
    try:
        state = json.loads(row["state"] or "{}")
    except ValueError:
        state = {}
    return WalletWatch(
        row["chat_key"],
        row["address"],
        float(row["pct"]),
        state if isinstance(state, dict) else {},
        py_time(row["created_at"]),
    )
