"""Chats, watchlists, alert rules and summaries: what users subscribed to."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from core.kernel.errors import StoreError
from core.store.base import StoreBase
from core.store.codec import chat_ref_of_row, db_time, finite_json, py_time
from core.types import ChatRef, Rule

CHAT_KINDS = ("private", "group", "channel")
RULE_KIND_FORM = re.compile(r"[a-z][a-z_]{0,23}")
SUMMARY_ORIGINS = ("chat", "config")  # who set a summary: a chat's /summary, or [[summaries]]

# Rules the engine evaluates: paused ones and those of chats that left are skipped.
_ACTIVE_RULES = (
    "FROM rules r JOIN chats c ON c.key = r.chat_key WHERE c.active = 1 AND r.paused = 0"
)


def _text(value: Any, what: str) -> str:
    if value is None or (isinstance(value, str) and not value):
        raise StoreError(f"A {what} is required.")
    return str(value)


def _optional_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _rule(row: dict[str, Any]) -> Rule:
    return Rule(
        id=row["id"],
        chat_key=row["chat_key"],
        user_id=row["user_id"],
        symbol=row["symbol"],
        kind=row["kind"],
        value=row["value"],
        created_at=py_time(row["created_at"]),
        snoozed_until=py_time(row["snoozed_until"]),
        paused=bool(row["paused"]),
    )


def _chat_dict(row: dict[str, Any]) -> dict[str, Any]:
    chat = dict(row)
    chat["active"] = bool(chat["active"])
    chat["muted_until"] = py_time(chat["muted_until"])
    chat["created_at"] = py_time(chat["created_at"])
    return chat


class SubscriptionStore(StoreBase):
    # ---- chats -------------------------------------------------------------------------------

    def find_chat(
        self, platform: str, chat_id: str, thread_id: str | None = None
    ) -> dict[str, Any] | None:
        """The chat row as a dict, or None if this chat never talked to the bot."""
        row = self._row(
            "SELECT * FROM chats WHERE platform = ? AND chat_id = ? AND ifnull(thread_id, '') = ?",
            (str(platform), str(chat_id), "" if thread_id is None else str(thread_id)),
        )
        return None if row is None else _chat_dict(row)

    def upsert_chat(
        self,
        platform: str,
        chat_id: str,
        kind: str = "private",
        thread_id: str | None = None,
        user_id: str | None = None,
        fallback_chat_id: str | None = None,
    ) -> int:
        """The chat's key; creates it, or refreshes and re-activates an existing one."""
        if kind not in CHAT_KINDS:
            raise StoreError(f"Unknown chat kind {kind!r}: use one of {', '.join(CHAT_KINDS)}.")
        platform, chat_id = _text(platform, "platform"), _text(chat_id, "chat id")
        with self._transaction():
            existing = self.find_chat(platform, chat_id, thread_id)
            if existing is None:
                cursor = self._write(
                    "INSERT INTO chats (platform, chat_id, kind, thread_id, user_id,"
                    " fallback_chat_id, active, created_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?)",
                    (
                        platform,
                        chat_id,
                        kind,
                        _optional_text(thread_id),
                        _optional_text(user_id),
                        _optional_text(fallback_chat_id),
                        db_time(self._now()),
                    ),
                )
                return int(cursor.lastrowid)
            # Keep what we knew when the caller does not say (e.g. a fallback learnt earlier).
            self._write(
                "UPDATE chats SET kind = ?, active = 1, user_id = ifnull(?, user_id),"
                " fallback_chat_id = ifnull(?, fallback_chat_id) WHERE key = ?",
                (kind, _optional_text(user_id), _optional_text(fallback_chat_id), existing["key"]),
            )
            return int(existing["key"])

    def move_chat(self, platform: str, old_chat_id: str, new_chat_id: str) -> int:
        """A chat changed its id (a Telegram group became a supergroup): every row of the old
        id (each forum topic too) takes the new one, with its watchlists, rules, summary and
        queued messages. Where the new id already has a row (someone used the bot there
        first), the old row's things are merged into it. Returns how many chat rows moved."""
        platform = _text(platform, "platform")
        old, new = _text(old_chat_id, "chat id"), _text(new_chat_id, "chat id")
        moved = 0
        with self._transaction():
            rows = self._rows(
                "SELECT * FROM chats WHERE platform = ? AND chat_id = ?", (platform, old)
            )
            for row in rows:
                target = self.find_chat(platform, new, row["thread_id"])
                if target is None:
                    self._write("UPDATE chats SET chat_id = ? WHERE key = ?", (new, row["key"]))
                else:
                    self._merge_chat(row["key"], target["key"])
                moved += 1
        return moved

    def _merge_chat(self, source: int, target: int) -> None:
        """Move everything of chat `source` to chat `target`, then drop `source`."""
        self._write(
            "INSERT OR IGNORE INTO watchlist (chat_key, user_id, symbol)"
            " SELECT ?, user_id, symbol FROM watchlist WHERE chat_key = ?",
            (target, source),
        )
        self._write("UPDATE rules SET chat_key = ? WHERE chat_key = ?", (target, source))
        self._write("UPDATE outbox SET chat_key = ? WHERE chat_key = ?", (target, source))
        if self._row("SELECT id FROM summaries WHERE chat_key = ?", (target,)) is None:
            self._write("UPDATE summaries SET chat_key = ? WHERE chat_key = ?", (target, source))
        self._write("DELETE FROM chats WHERE key = ?", (source,))

    def chat(self, chat_key: int) -> dict[str, Any]:
        row = self._row("SELECT * FROM chats WHERE key = ?", (chat_key,))
        if row is None:
            raise StoreError(f"No chat with key {chat_key}.")
        return _chat_dict(row)

    def chat_ref(self, chat_key: int) -> ChatRef:
        chat = self.chat(chat_key)
        return chat_ref_of_row(chat, chat["key"], chat["kind"])

    def set_chat_active(self, platform: str, chat_id: str, active: bool) -> int:
        """Every thread of that chat goes (in)active; returns how many rows changed."""
        cursor = self._write(
            "UPDATE chats SET active = ? WHERE platform = ? AND chat_id = ? AND active != ?",
            (int(active), str(platform), str(chat_id), int(active)),
        )
        return cursor.rowcount

    def deactivate_chat(self, chat_key: int) -> None:
        """The chat blocked or removed the bot: its rules stop, its queued messages wait."""
        self._write("UPDATE chats SET active = 0 WHERE key = ?", (chat_key,))

    def set_chat_tz(self, chat_key: int, tz: str) -> None:
        self._write("UPDATE chats SET tz = ? WHERE key = ?", (_text(tz, "time zone"), chat_key))

    def set_muted_until(self, chat_key: int, until: datetime | None) -> None:
        self._write("UPDATE chats SET muted_until = ? WHERE key = ?", (db_time(until), chat_key))

    def muted_until(self, chat_key: int) -> datetime | None:
        row = self._row("SELECT muted_until FROM chats WHERE key = ?", (chat_key,))
        return None if row is None else py_time(row["muted_until"])

    # ---- watchlist ---------------------------------------------------------------------------

    def watch(self, chat_key: int, user_id: str, symbol: str) -> bool:
        """False if the user already watched that symbol in that chat."""
        cursor = self._write(
            "INSERT INTO watchlist (chat_key, user_id, symbol) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (chat_key, _text(user_id, "user id"), _text(symbol, "symbol")),
        )
        return cursor.rowcount == 1

    def unwatch(self, chat_key: int, user_id: str, symbol: str) -> bool:
        cursor = self._write(
            "DELETE FROM watchlist WHERE chat_key = ? AND user_id = ? AND symbol = ?",
            (chat_key, str(user_id), str(symbol)),
        )
        return cursor.rowcount > 0

    def watchlist(self, chat_key: int, user_id: str) -> list[str]:
        rows = self._rows(
            "SELECT symbol FROM watchlist WHERE chat_key = ? AND user_id = ? ORDER BY rowid",
            (chat_key, str(user_id)),
        )
        return [row["symbol"] for row in rows]

    def watched_symbols(self) -> set[str]:
        rows = self._rows(
            "SELECT DISTINCT w.symbol FROM watchlist w JOIN chats c ON c.key = w.chat_key"
            " WHERE c.active = 1"
        )
        return {row["symbol"] for row in rows}

    # ---- rules -------------------------------------------------------------------------------

    def add_rule(
        self, chat_key: int, user_id: str, symbol: str, kind: str, value: float | None
    ) -> Rule:
        # Which kinds exist is the alerts' business (core.alerts.kinds, above the store); the
        # store keeps any well-formed name, and the engine skips one it does not know.
        if not isinstance(kind, str) or not RULE_KIND_FORM.fullmatch(kind):
            raise StoreError(f"A rule kind is a short lower-case word, not {kind!r}.")
        if self.rule_kinds is not None and kind not in self.rule_kinds:
            raise StoreError(
                f"Unknown rule kind {kind!r}: use one of {', '.join(self.rule_kinds)}."
            )
        if value is not None and not (isinstance(value, int | float) and math.isfinite(value)):
            raise StoreError(f"A rule's value must be a finite number, not {value!r}.")
        cursor = self._write(
            "INSERT INTO rules (chat_key, user_id, symbol, kind, value, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                chat_key,
                _text(user_id, "user id"),
                _text(symbol, "symbol"),
                kind,
                None if value is None else float(value),
                db_time(self._now()),
            ),
        )
        return self.rule(int(cursor.lastrowid))

    def rule(self, rule_id: int) -> Rule:
        row = self._row("SELECT * FROM rules WHERE id = ?", (rule_id,))
        if row is None:
            raise StoreError(f"No alert #{rule_id}.")
        return _rule(row)

    def delete_rule(self, chat_key: int, user_id: str, rule_id: int) -> bool:
        """Only the rule's owner in that chat can delete it."""
        cursor = self._write(
            "DELETE FROM rules WHERE id = ? AND chat_key = ? AND user_id = ?",
            (rule_id, chat_key, str(user_id)),
        )
        return cursor.rowcount > 0

    def rules_for(self, chat_key: int, user_id: str) -> list[Rule]:
        rows = self._rows(
            "SELECT * FROM rules WHERE chat_key = ? AND user_id = ? ORDER BY id",
            (chat_key, str(user_id)),
        )
        return [_rule(row) for row in rows]

    def count_rules(self, chat_key: int, user_id: str) -> int:
        row = self._row(
            "SELECT count(*) AS n FROM rules WHERE chat_key = ? AND user_id = ?",
            (chat_key, str(user_id)),
        )
        return int(row["n"]) if row else 0

    def active_rules(self) -> list[Rule]:
        """Rules to evaluate (snoozed ones included: the engine keeps their state moving)."""
        return [_rule(row) for row in self._rows(f"SELECT r.* {_ACTIVE_RULES} ORDER BY r.id")]

    def rule_states(self) -> dict[int, str]:
        rows = self._rows("SELECT id, state_json FROM rules WHERE state_json IS NOT NULL")
        return {row["id"]: row["state_json"] for row in rows}

    def set_rule_paused(self, rule_id: int, paused: bool) -> None:
        self._write("UPDATE rules SET paused = ? WHERE id = ?", (int(paused), rule_id))

    def snooze_rule(self, rule_id: int, until: datetime | None) -> None:
        self._write("UPDATE rules SET snoozed_until = ? WHERE id = ?", (db_time(until), rule_id))

    def rules_symbols(self) -> set[str]:
        return {row["symbol"] for row in self._rows(f"SELECT DISTINCT r.symbol {_ACTIVE_RULES}")}

    # ---- summaries ---------------------------------------------------------------------------

    def set_summary(
        self,
        chat_key: int,
        symbols: list[str],
        schedule: str,
        tz: str,
        origin: str = "chat",
    ) -> int:
        """One summary per chat: a new one replaces the chat's old one (keeping its history).

        `origin` says who owns it: "chat" (/summary) or "config" ([[summaries]], removed again by
        `delete_config_summaries_except` when the entry leaves the file).
        """
        if not symbols:
            raise StoreError("A summary needs at least one symbol.")
        if origin not in SUMMARY_ORIGINS:
            raise StoreError(
                f"Unknown summary origin {origin!r}: use one of {', '.join(SUMMARY_ORIGINS)}."
            )
        with self._transaction():
            self._write(
                "INSERT INTO summaries (chat_key, symbols, schedule, tz, origin)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (chat_key) DO UPDATE SET"
                " symbols = excluded.symbols, schedule = excluded.schedule, tz = excluded.tz,"
                " origin = excluded.origin",
                (
                    chat_key,
                    json.dumps([str(s) for s in symbols]),
                    _text(schedule, "schedule"),
                    _text(tz, "time zone"),
                    origin,
                ),
            )
            row = self._row("SELECT id FROM summaries WHERE chat_key = ?", (chat_key,))
        return int(row["id"])

    def delete_config_summaries_except(self, keep_ids: Iterable[int]) -> list[int]:
        """Delete the config's summaries that are not in `keep_ids` (the entries the config has
        now); a chat's own /summary is never touched. Returns the chat keys that lost theirs."""
        keep = sorted({int(i) for i in keep_ids})
        marks = ", ".join("?" for _ in keep)
        where = "origin = 'config'" + (f" AND id NOT IN ({marks})" if keep else "")
        with self._transaction():
            rows = self._rows(f"SELECT chat_key FROM summaries WHERE {where}", tuple(keep))
            self._write(f"DELETE FROM summaries WHERE {where}", tuple(keep))
        return sorted(row["chat_key"] for row in rows)

    def delete_summary(self, chat_key: int) -> bool:
        cursor = self._write("DELETE FROM summaries WHERE chat_key = ?", (chat_key,))
        return cursor.rowcount > 0

    def summaries(self) -> list[dict[str, Any]]:
        """Summaries of active chats, each with its `chat` (a ChatRef) for delivery."""
        rows = self._rows(
            "SELECT s.* FROM summaries s JOIN chats c ON c.key = s.chat_key"
            " WHERE c.active = 1 ORDER BY s.id"
        )
        result = []
        for row in rows:
            summary = dict(row)
            summary["symbols"] = json.loads(row["symbols"])
            summary["last_run_at"] = py_time(row["last_run_at"])
            summary["last_ratios"] = json.loads(row["last_ratios"])
            summary["last_prices"] = json.loads(row["last_prices"])
            summary["last_state"] = json.loads(row["last_state"])
            summary["chat"] = self.chat_ref(row["chat_key"])
            result.append(summary)
        return result

    def summary_done(
        self,
        summary_id: int,
        when: datetime,
        ratios: dict[str, float | None] | None = None,
        prices: dict[str, float | None] | None = None,
        *,
        state: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """Remember what the summary showed, so the next one can say what moved since.

        `state` is free-form per symbol (e.g. ratio, price, key levels); ratios and prices not
        given are taken from its "ratio" and "price" entries.
        """
        state = state or {}
        if ratios is None:
            ratios = {sym: shown.get("ratio") for sym, shown in state.items()}
        if prices is None:
            prices = {sym: shown.get("price") for sym, shown in state.items()}
        self._write(
            "UPDATE summaries SET last_run_at = ?, last_ratios = ?, last_prices = ?,"
            " last_state = ? WHERE id = ?",
            (
                db_time(when),
                finite_json(ratios),
                finite_json(prices),
                finite_json(state),
                summary_id,
            ),
        )

    def needed_symbols(self) -> set[str]:
        """Every symbol some active chat needs a snapshot of: rules, watchlists, summaries."""
        # Called every alert tick: read only the symbol lists, not whole summaries with their chats.
        rows = self._rows(
            "SELECT s.symbols FROM summaries s JOIN chats c ON c.key = s.chat_key"
            " WHERE c.active = 1"
        )
        summary_symbols = {symbol for row in rows for symbol in json.loads(row["symbols"])}
        return self.rules_symbols() | self.watched_symbols() | summary_symbols
