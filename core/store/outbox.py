"""The outbox: messages waiting to be delivered, written in the same transaction as their cause.

A message stays in the outbox until a platform accepted it (`sent_at` set): failures move its
`due_at` later, an unreachable chat keeps it waiting, a mute holds it. Nothing here drops a message
except `release_held`, which replaces held ones by the digest that carries them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.store.codec import chat_ref_of_row, db_time, message_from_db, message_json, py_time
from core.store.dead_letters import DeadLetterStore
from core.store.subscriptions import SubscriptionStore
from core.store.wicks import WickMark, WickMarkStore
from core.types import ChatRef, Message

# Kinds a mute holds back; replies and summaries the chat asked for still go out.
HELD_WHEN_MUTED = ("alert",)


@dataclass(frozen=True)
class OutboxItem:
    """One queued message with where it goes."""

    id: int
    chat_key: int
    chat: ChatRef
    message: Message
    attempts: int
    created_at: datetime
    due_at: datetime | None = None
    last_error: str | None = None
    parts_done: int = 0  # parts of a multi-part message the platform accepted already


_ITEM_COLUMNS = (
    "o.id, o.chat_key, o.payload, o.image, o.attempts, o.created_at, o.due_at, o.last_error,"
    " o.parts_done,"
    " c.platform, c.chat_id, c.thread_id, c.user_id, c.fallback_chat_id, c.kind AS chat_kind,"
    " c.tz"
)


def _item(row: dict[str, Any]) -> OutboxItem:
    chat = chat_ref_of_row(row, row["chat_key"], row["chat_kind"])
    return OutboxItem(
        id=row["id"],
        chat_key=row["chat_key"],
        chat=chat,
        message=message_from_db(row["payload"], row["image"]),
        attempts=row["attempts"],
        created_at=py_time(row["created_at"]),
        due_at=py_time(row["due_at"]),
        last_error=row["last_error"],
        parts_done=row["parts_done"],
    )


class OutboxStore(SubscriptionStore, WickMarkStore, DeadLetterStore):
    def enqueue(
        self,
        chat_key: int,
        message: Message,
        dedup_key: str | None = None,
        kind: str | None = None,
        due_at: datetime | None = None,
    ) -> int | None:
        """Queue a message; its id, or None when `dedup_key` was queued before (a re-run).

        An alert for a chat that is muted right now is held, to arrive in the digest after.
        """
        now = self._now()
        payload = message_json(message)  # first: refuses anything that is not a Message
        kind = kind or message.kind
        with self._transaction():
            muted = self.muted_until(chat_key)
            held = kind in HELD_WHEN_MUTED and muted is not None and muted > now
            cursor = self._write(
                "INSERT INTO outbox (chat_key, kind, payload, image, dedup_key, created_at,"
                " due_at, held) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING",
                (
                    chat_key,
                    kind,
                    payload,
                    message.image,
                    dedup_key,
                    db_time(now),
                    db_time(due_at or now),
                    int(held),
                ),
            )
            return int(cursor.lastrowid) if cursor.rowcount == 1 else None

    def commit_tick(
        self,
        states: dict[int, str],
        messages: list[tuple[int, Message, str | None]],
        wick_marks: Mapping[str, WickMark] | None = None,
    ) -> list[int]:
        """The alert engine's result, all or nothing: new rule states, the messages they caused,
        and (optionally) each checked symbol's WickMark, so the states and the marks always
        describe the same check.

        Messages whose dedup key is already queued are skipped, so re-running a tick after a crash
        changes nothing. Returns the ids of the messages queued now.
        """
        queued = []
        with self._transaction():
            for rule_id, state in states.items():
                self._write("UPDATE rules SET state_json = ? WHERE id = ?", (state, rule_id))
            if wick_marks:
                self.save_wick_marks(wick_marks)
            for chat_key, message, dedup_key in messages:
                outbox_id = self.enqueue(chat_key, message, dedup_key)
                if outbox_id is not None:
                    queued.append(outbox_id)
        return queued

    def due_messages(
        self,
        now: datetime | None = None,
        limit: int = 100,
        platforms: Collection[str] | None = None,
    ) -> list[OutboxItem]:
        """Unsent, not held, due, for an active chat; oldest first.

        `platforms`: only chats on these (the ones that have a sender right now). Delivery must
        pass it: messages nobody can send stay due, and if they were not filtered out here the
        oldest `limit` of them would fill every batch and starve all the other chats. None means
        every platform (for inspection).

        A message behind an older one of the same chat that is waiting for a retry is not due
        yet: each chat gets its messages in order.
        """
        params: dict[str, Any] = {"now": db_time(now or self._now()), "limit": int(limit)}
        only = ""
        if platforms is not None:
            names = sorted({str(p) for p in platforms})
            if not names:
                return []
            params.update({f"p{i}": name for i, name in enumerate(names)})
            only = f" AND c.platform IN ({', '.join(f':p{i}' for i in range(len(names)))})"
        rows = self._rows(
            f"SELECT {_ITEM_COLUMNS} FROM outbox o JOIN chats c ON c.key = o.chat_key"
            f" WHERE o.sent_at IS NULL AND o.held = 0 AND o.due_at <= :now AND c.active = 1{only}"
            " AND NOT EXISTS (SELECT 1 FROM outbox b WHERE b.chat_key = o.chat_key"
            "   AND b.sent_at IS NULL AND b.held = 0 AND b.id < o.id AND b.due_at > :now"
            "   AND b.last_error IS NOT NULL)"
            " ORDER BY o.id LIMIT :limit",
            params,
        )
        return [_item(row) for row in rows]

    def next_due_at(self) -> datetime | None:
        """When the earliest waiting message falls due (None: nothing waits for an active chat)."""
        row = self._row(
            "SELECT min(o.due_at) AS due FROM outbox o JOIN chats c ON c.key = o.chat_key"
            " WHERE o.sent_at IS NULL AND o.held = 0 AND c.active = 1"
        )
        return None if row is None else py_time(row["due"])

    def pending(self, chat_key: int | None = None) -> list[OutboxItem]:
        """Every unsent message (held, failing, or for an inactive chat too), oldest first."""
        where = "o.sent_at IS NULL" + ("" if chat_key is None else " AND o.chat_key = :chat")
        rows = self._rows(
            f"SELECT {_ITEM_COLUMNS} FROM outbox o JOIN chats c ON c.key = o.chat_key"
            f" WHERE {where} ORDER BY o.id",
            {"chat": chat_key},
        )
        return [_item(row) for row in rows]

    def mark_sent(self, outbox_id: int, when: datetime) -> None:
        self._write("UPDATE outbox SET sent_at = ? WHERE id = ?", (db_time(when), outbox_id))

    def mark_failed(self, outbox_id: int, error: str, retry_at: datetime) -> None:
        """A failed attempt: counted, and due again at `retry_at`."""
        self._write(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, due_at = ? WHERE id = ?",
            (error[:1000], db_time(retry_at), outbox_id),
        )

    def postpone(self, outbox_id: int, retry_at: datetime, reason: str) -> None:
        """The platform asked us to wait: due again at `retry_at`, not counted as a failure."""
        self._write(
            "UPDATE outbox SET last_error = ?, due_at = ? WHERE id = ?",
            (reason[:1000], db_time(retry_at), outbox_id),
        )

    # ---- mute: hold alerts, then one digest ---------------------------------------------------

    def hold_for_mute(self, chat_key: int) -> int:
        """Hold the chat's queued alerts (the chat was just muted); how many were held."""
        marks = ", ".join("?" for _ in HELD_WHEN_MUTED)
        cursor = self._write(
            f"UPDATE outbox SET held = 1 WHERE chat_key = ? AND sent_at IS NULL AND held = 0"
            f" AND kind IN ({marks})",
            (chat_key, *HELD_WHEN_MUTED),
        )
        return cursor.rowcount

    def held_messages(self, chat_key: int) -> list[OutboxItem]:
        rows = self._rows(
            f"SELECT {_ITEM_COLUMNS} FROM outbox o JOIN chats c ON c.key = o.chat_key"
            " WHERE o.chat_key = ? AND o.sent_at IS NULL AND o.held = 1 ORDER BY o.id",
            (chat_key,),
        )
        return [_item(row) for row in rows]

    def release_held(self, chat_key: int, digest: Message | None) -> int | None:
        """End a mute in one transaction: the held messages are replaced by `digest`, queued now.

        With no digest they are released one by one instead (never dropped). Returns the digest's
        outbox id (None when there was no digest to queue).
        """
        now = db_time(self._now())
        with self._transaction():
            if digest is None:
                self._write(
                    "UPDATE outbox SET held = 0, due_at = ? WHERE chat_key = ? AND held = 1"
                    " AND sent_at IS NULL",
                    (now, chat_key),
                )
                return None
            self._write(
                "DELETE FROM outbox WHERE chat_key = ? AND held = 1 AND sent_at IS NULL",
                (chat_key,),
            )
            cursor = self._write(
                "INSERT INTO outbox (chat_key, kind, payload, image, created_at, due_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (chat_key, digest.kind, message_json(digest), digest.image, now, now),
            )
            return int(cursor.lastrowid)

    def expired_mutes(self, now: datetime | None = None) -> list[int]:
        """Chats that hold messages although their mute has ended (or was lifted)."""
        rows = self._rows(
            "SELECT DISTINCT o.chat_key FROM outbox o JOIN chats c ON c.key = o.chat_key"
            " WHERE o.held = 1 AND o.sent_at IS NULL"
            " AND (c.muted_until IS NULL OR c.muted_until <= ?) ORDER BY o.chat_key",
            (db_time(now or self._now()),),
        )
        return [row["chat_key"] for row in rows]
