"""The Bot API methods the fake in telegram_api.py answers (`_m_<method>`), with the shapes of
https://core.telegram.org/bots/api: what a sent or edited message looks like, getUpdates' long
poll, getChatMember, the webhook methods, and a POST to the registered webhook as Telegram makes.

`BotApiMethods` is mixed into FakeTelegramAPI, which holds the state these read and write.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

from tests.fakes.telegram_updates import BOT_ID


class BotApiMethods:
    """The `_m_<method>` handlers FakeTelegramAPI dispatches to."""

    # Set by the class this is mixed into (FakeTelegramAPI.__init__).
    username: str
    member_status: dict[tuple[int, int], str]
    default_member_status: str
    webhook: dict[str, Any]
    _updates: list[dict[str, Any]]
    _update_ids: itertools.count
    _message_ids: itertools.count
    _changed: asyncio.Condition

    def _sent(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = params["chat_id"]
        msg: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self._chat(chat_id)
            if isinstance(chat_id, int)
            else {"id": -1, "type": "channel"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": self.username},
            **content,
        }
        if "reply_markup" in params:
            msg["reply_markup"] = params["reply_markup"]
        if "message_thread_id" in params:
            msg["message_thread_id"] = params["message_thread_id"]
        return msg

    # ---- methods -------------------------------------------------------------------------

    async def _m_getMe(self, params: dict, files: dict) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "liqwatch",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_getUpdates(self, params: dict, files: dict) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        async with self._changed:
            # Updates below the offset were confirmed by the client: forget them.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            if not self._updates and timeout > 0:
                try:
                    await asyncio.wait_for(self._changed.wait_for(lambda: self._updates), timeout)
                except TimeoutError:
                    pass
            return list(self._updates[: int(params.get("limit") or 100)])

    async def _m_sendMessage(self, params: dict, files: dict) -> dict[str, Any]:
        return self._sent(params, text=params.get("text", ""))

    async def _m_sendPhoto(self, params: dict, files: dict) -> dict[str, Any]:
        photo = [{"file_id": "photo1", "file_unique_id": "u1", "width": 800, "height": 600}]
        return self._sent(params, photo=photo, caption=params.get("caption", ""))

    async def _m_editMessageText(self, params: dict, files: dict) -> dict[str, Any]:
        msg = self._sent(params, text=params.get("text", ""))
        msg["message_id"] = params["message_id"]
        return msg

    async def _m_editMessageMedia(self, params: dict, files: dict) -> dict[str, Any]:
        media = params.get("media") or {}
        photo = [{"file_id": "photo2", "file_unique_id": "u2", "width": 800, "height": 600}]
        msg = self._sent(params, photo=photo, caption=media.get("caption", ""))
        msg["message_id"] = params["message_id"]
        return msg

    async def _m_editMessageReplyMarkup(self, params: dict, files: dict) -> dict[str, Any]:
        msg = self._sent(params, text="")
        msg["message_id"] = params["message_id"]
        return msg

    async def _m_answerCallbackQuery(self, params: dict, files: dict) -> bool:
        return True

    async def _m_getChatMember(self, params: dict, files: dict) -> dict[str, Any]:
        key = (params["chat_id"], params["user_id"])
        status = self.member_status.get(key, self.default_member_status)
        return self._member(status, params["user_id"])

    async def _m_setMyCommands(self, params: dict, files: dict) -> bool:
        return True

    async def _m_deleteWebhook(self, params: dict, files: dict) -> bool:
        self.webhook = {}
        return True

    async def _m_getWebhookInfo(self, params: dict, files: dict) -> dict[str, Any]:
        # https://core.telegram.org/bots/api#webhookinfo
        info = {"url": self.webhook.get("url", ""), "has_custom_certificate": False}
        return {**info, "pending_update_count": 0}

    async def _m_setWebhook(self, params: dict, files: dict) -> bool:
        # https://core.telegram.org/bots/api#setwebhook: url, secret_token, allowed_updates...
        self.webhook = dict(params)
        return True

    async def post_to_webhook(self, update: dict[str, Any], secret: str | None = "as set") -> int:
        """POST one update to the URL setWebhook registered, as Telegram does: JSON body and the
        X-Telegram-Bot-Api-Secret-Token header (the registered secret, another, or none).
        Returns the HTTP status the bot answered."""
        import httpx

        update = {"update_id": next(self._update_ids), **update}
        headers = {"Content-Type": "application/json"}
        token = self.webhook.get("secret_token") if secret == "as set" else secret
        if token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = token
        async with httpx.AsyncClient() as client:
            reply = await client.post(
                self.webhook["url"], content=json.dumps(update), headers=headers
            )
        return reply.status_code

    async def _m_sendChatAction(self, params: dict, files: dict) -> bool:
        return True
