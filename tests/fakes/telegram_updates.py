"""Updates as Telegram sends them (plain dicts), for the fake Bot API in telegram_api.py.

`TelegramUpdates` is mixed into FakeTelegramAPI, so tests build updates on the fake they push them
to (`await fake.push(fake.message(chat, user, "/liq BTC"))`): message ids keep counting across
updates and the bot's own replies, and a chat marked as a channel stays one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

BOT_ID = 777000111
# Who a message from an anonymous group admin is `from`: tests/data/real/telegram/
# message_anonymous_admin_forward.json (teloxide's regression test for its issue #419).
GROUP_ANONYMOUS_BOT = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}


class TelegramUpdates:
    """Builders of `message`, `channel_post`, `callback_query` and `my_chat_member` updates."""

    # Set by the class this is mixed into (FakeTelegramAPI.__init__).
    username: str
    chat_types: dict[int, str]  # chat id -> "channel" etc. (default by sign)
    _message_ids: Iterator[int]

    def _chat(self, chat_id: int, title: str = "Test group") -> dict[str, Any]:
        kind = self.chat_types.get(chat_id) or ("private" if chat_id > 0 else "supergroup")
        chat: dict[str, Any] = {"id": chat_id, "type": kind}
        if kind == "private":
            chat["first_name"] = "Trader"
        else:
            chat["title"] = title
        return chat

    @staticmethod
    def user(user_id: int, name: str = "Trader") -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": name}

    def message(
        self, chat_id: int, user_id: int, text: str, thread_id: int | None = None
    ) -> dict[str, Any]:
        """A `message` update; commands get their bot_command entity like Telegram's."""
        msg: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self.user(user_id),
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0]) if text.strip() else 1
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        if thread_id is not None:
            msg["message_thread_id"] = thread_id
            msg["is_topic_message"] = True
        return {"message": msg}

    def anonymous_admin_message(
        self, chat_id: int, text: str, thread_id: int | None = None
    ) -> dict[str, Any]:
        """A command an anonymous admin sends in a supergroup: `from` is GroupAnonymousBot and
        `sender_chat` the group itself, as recorded in tests/data/real/telegram/
        message_anonymous_admin_forward.json (Bot API, Message.sender_chat: "the supergroup
        itself for messages from anonymous group administrators"). A button that admin presses
        later comes `from` their real account (tdlib/telegram-bot-api issue #667): `callback`."""
        update = self.message(chat_id, 0, text, thread_id)
        update["message"]["from"] = dict(GROUP_ANONYMOUS_BOT)
        update["message"]["sender_chat"] = self._chat(chat_id)
        return update

    def channel_post(self, chat_id: int, text: str) -> dict[str, Any]:
        self.chat_types[chat_id] = "channel"
        update = self.message(chat_id, 0, text)["message"]
        del update["from"]
        update["sender_chat"] = self._chat(chat_id)
        return {"channel_post": update}

    def callback(
        self, chat_id: int, user_id: int, data: str, on_message: dict[str, Any]
    ) -> dict[str, Any]:
        """A button press on `on_message` (a message dict the bot sent, e.g. from a call)."""
        return {
            "callback_query": {
                "id": str(next(self._message_ids)),
                "from": self.user(user_id),
                "chat_instance": str(chat_id),
                "data": data,
                "message": on_message,
            }
        }

    def my_chat_member(self, chat_id: int, user_id: int, old: str, new: str) -> dict[str, Any]:
        return {
            "my_chat_member": {
                "chat": self._chat(chat_id),
                "from": self.user(user_id),
                "date": int(time.time()),
                "old_chat_member": self._member(old, BOT_ID, bot=True),
                "new_chat_member": self._member(new, BOT_ID, bot=True),
            }
        }

    def _member(self, status: str, user_id: int, bot: bool = False) -> dict[str, Any]:
        user = {"id": user_id, "is_bot": bot, "first_name": self.username if bot else "Trader"}
        member: dict[str, Any] = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            flags = (
                "can_be_edited is_anonymous can_manage_chat can_delete_messages "
                "can_manage_video_chats can_restrict_members can_promote_members can_change_info "
                "can_invite_users can_post_stories can_edit_stories can_delete_stories"
            ).split()
            member.update({flag: flag == "can_manage_chat" for flag in flags})
        elif status == "kicked":
            member["until_date"] = 0
        return member
