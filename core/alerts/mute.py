"""The end of a chat's mute: everything held while it lasted becomes one digest."""

from __future__ import annotations

from datetime import datetime

from core.delivery.deliverer import release_held_as_one
from core.render.alerts import digest_message
from core.store import Store


def release_mute(store: Store, chat_key: int, now: datetime) -> int | None:
    """End a chat's mute: None if it was not muted, else how many held messages were digested."""
    muted = store.muted_until(chat_key)
    if muted is None:
        return None
    held = release_held_as_one(
        store, chat_key, lambda messages: digest_message(messages, muted_from=None, muted_to=now)
    )
    store.set_muted_until(chat_key, None)
    return held
