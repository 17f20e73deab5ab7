"""Dead letters: outbox messages that failed for good (a permanent refusal) or too many times.

Moving one is one transaction: the row leaves the outbox (so the chat's newer messages are due
again) and lands here with its reason, for `/status`, `liqwatch db` and the operator's eyes.
Nothing here is retried automatically; a dead letter is evidence, not a queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.store.base import StoreBase
from core.store.codec import db_time, message_from_db, py_time
from core.types import Message


@dataclass(frozen=True)
class DeadLetter:
    id: int  # the outbox id it had
    chat_key: int
    message: Message
    attempts: int
    reason: str
    created_at: datetime
    dead_at: datetime


class DeadLetterStore(StoreBase):
    def dead_letter(self, outbox_id: int, reason: str, attempts: int | None = None) -> bool:
        """Move an unsent outbox message to the dead letters; False if it was not there (sent,
        or moved already)."""
        now = db_time(self._now())
        with self._transaction():
            cursor = self._write(
                "INSERT OR IGNORE INTO dead_letters (id, chat_key, kind, payload, image,"
                " created_at, attempts, reason, dead_at)"
                " SELECT id, chat_key, kind, payload, image, created_at, ifnull(?, attempts), ?, ?"
                " FROM outbox WHERE id = ? AND sent_at IS NULL",
                (attempts, reason[:1000], now, outbox_id),
            )
            if cursor.rowcount != 1:
                return False
            self._write("DELETE FROM outbox WHERE id = ?", (outbox_id,))
        return True

    def dead_letters(self, chat_key: int | None = None, limit: int = 100) -> list[DeadLetter]:
        """The newest dead letters first (of one chat, or all)."""
        where = "" if chat_key is None else "WHERE chat_key = :chat"
        rows = self._rows(
            "SELECT id, chat_key, payload, image, attempts, reason, created_at, dead_at"
            f" FROM dead_letters {where} ORDER BY dead_at DESC, id DESC LIMIT :limit",
            {"chat": chat_key, "limit": int(limit)},
        )
        return [
            DeadLetter(
                id=row["id"],
                chat_key=row["chat_key"],
                message=message_from_db(row["payload"], row["image"]),
                attempts=row["attempts"],
                reason=row["reason"],
                created_at=py_time(row["created_at"]),  # type: ignore[arg-type]
                dead_at=py_time(row["dead_at"]),  # type: ignore[arg-type]
            )
            for row in rows
        ]

    def record_parts(self, outbox_id: int, parts_done: int) -> None:
        """How many parts of a multi-part message the platform accepted (a restart resumes after
        them)."""
        self._write(
            "UPDATE outbox SET parts_done = max(parts_done, ?) WHERE id = ? AND sent_at IS NULL",
            (int(parts_done), outbox_id),
        )
