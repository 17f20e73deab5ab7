"""Conversions between core.model values and what the database holds.

Times are stored as ISO-8601 UTC text with microseconds, so text comparison in SQL is time order.
Messages are stored as JSON (everything but the image) plus a BLOB column for the PNG, and come
back equal to what went in: tuples stay tuples, Sections and Buttons stay dataclasses.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from core.kernel.errors import StoreError
from core.types import Button, ChatRef, Message, Section


def db_time(when: datetime | None) -> str | None:
    """UTC text for the database. A naive datetime is taken as UTC (core's convention)."""
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def py_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def message_json(message: Message) -> str:
    """The message without its image, as JSON text."""
    if not isinstance(message, Message):
        raise StoreError(f"Only Message values can be queued, not {type(message).__name__}.")
    return json.dumps(
        {
            "title": message.title,
            "lines": list(message.lines),
            "sections": [
                {"name": s.name, "lines": list(s.lines), **({"mono": True} if s.mono else {})}
                for s in message.sections
            ],
            "footer": message.footer,
            "buttons": [
                {"label": b.label, "action": b.action, "args": list(b.args)}
                for b in message.buttons
            ],
            "kind": message.kind,
        },
        ensure_ascii=False,
    )


def message_from_db(payload: str, image: bytes | None) -> Message:
    data = json.loads(payload)
    return Message(
        title=data["title"],
        lines=tuple(data["lines"]),
        sections=tuple(
            Section(s["name"], tuple(s["lines"]), bool(s.get("mono", False)))
            for s in data["sections"]
        ),
        footer=data["footer"],
        image=None if image is None else bytes(image),
        buttons=tuple(Button(b["label"], b["action"], tuple(b["args"])) for b in data["buttons"]),
        kind=data["kind"],
    )


def finite_json(values: dict[str, Any]) -> str:
    """JSON of a {symbol: value} map; non-finite numbers (at any depth) become null."""

    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    return json.dumps(clean(dict(values)))


def chat_ref_of_row(row: Any, key: int, kind: str) -> ChatRef:
    """The delivery address of a chats row (its key and kind may come under other column names,
    as in the outbox's join)."""
    return ChatRef(
        platform=row["platform"],
        chat_id=row["chat_id"],
        thread_id=row["thread_id"],
        user_id=row["user_id"],
        fallback_chat_id=row["fallback_chat_id"],
        extra={"chat_key": key, "kind": kind, "tz": row["tz"]},
    )
