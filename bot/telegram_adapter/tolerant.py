"""Reading getUpdates one update at a time, so one update this PTB cannot parse does not stop the
poller (see TolerantBot)."""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.ext import ExtBot

log = logging.getLogger(__name__)


class TolerantBot(ExtBot):
    """An ExtBot that skips an update it cannot read instead of refetching it forever.

    PTB parses a getUpdates batch as a whole; one update it cannot parse (a self-hosted Bot API
    server of another version sends a field in a shape this PTB does not know) fails the batch,
    and the poller asks for the same offset again and again. Here each update is tried alone; an
    unreadable one is logged once and replaced by its bare update_id, so the offset moves on and
    the rest of the batch is handled.
    """

    async def _do_post(self, endpoint: str, data: Any, **kwargs: Any) -> Any:
        result = await super()._do_post(endpoint, data, **kwargs)
        if endpoint == "getUpdates" and isinstance(result, list):
            return [self._readable(update) for update in result]
        return result

    def _readable(self, update: Any) -> Any:
        try:
            return _with_missing_rights(update, lambda u: Update.de_json(copy.deepcopy(u), self))
        except Exception as error:
            update_id = update.get("update_id") if isinstance(update, dict) else None
            kinds = sorted(k for k in update if k != "update_id") if update_id else []
            log.warning(
                "telegram: skipped update %s (%s) this library cannot read: %s: %s",
                update_id,
                ", ".join(kinds) or "?",
                type(error).__name__,
                str(error)[:200],
            )
            return {"update_id": update_id} if isinstance(update_id, int) else {"update_id": 0}


_MISSING = re.compile(r"missing \d+ required positional arguments?: (.*)$")


def _with_missing_rights(update: Any, parse: Callable[[Any], Any]) -> Any:
    """`update` once `parse` accepts it. Telegram adds required boolean rights to chat members
    now and then (can_post_stories...); an older server (a self-hosted Bot API, the 2022 update in
    tests/data/real/telegram/update_my_chat_member_bot_added_as_channel_admin.json) omits them.
    Those are filled in as False (not granted) on the member objects, a few rounds at most."""
    for _ in range(4):
        try:
            parse(update)
            return update
        except TypeError as error:
            missing = _MISSING.search(str(error))
            if not missing:
                raise
            names = re.findall(r"'(\w+)'", missing.group(1))
            if not names or not _fill_members(update, names):
                raise
    parse(update)
    return update


def _fill_members(node: Any, names: list[str]) -> bool:
    """Set `names` to False where absent in every chat-member dict (one with `status`)."""
    filled = False
    if isinstance(node, dict):
        if "status" in node and "user" in node:
            for name in names:
                if name not in node:
                    node[name] = False
                    filled = True
        for value in node.values():
            filled = _fill_members(value, names) or filled
    elif isinstance(node, list):
        for value in node:
            filled = _fill_members(value, names) or filled
    return filled
