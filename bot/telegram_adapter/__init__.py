"""Telegram adapter over python-telegram-bot 22: commands, buttons, replies, queued delivery.

`CONFIG` (the `[telegram]` section) and `from_config` are what bot/platforms.py registers; the
adapter's classes load on first use, so reading the config never imports the Telegram library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.chat.api import Config, ConfigPart

from .webhook import check_settings  # imports no Telegram library: reading the config stays light

if TYPE_CHECKING:
    from .adapter import TelegramAdapter

__all__ = ["CONFIG", "TelegramAdapter", "TelegramSender", "build_bot", "from_config"]


def _check(values, bad) -> None:
    for key in ("admins", "allowed_chats"):
        ids = values["telegram"].get(key, [])
        if any(isinstance(x, bool) or not isinstance(x, int) for x in ids):
            raise bad("telegram", key, "must be numeric ids, e.g. [123456789] (not @names)")
    check_settings(values["telegram"], bad)


CONFIG = ConfigPart(
    {
        "telegram": {
            "token": "",
            "api_base_url": "https://api.telegram.org/bot",
            "admins": [],
            "allowed_chats": [],
            "mode": "polling",  # or "webhook" (bot/telegram_adapter/webhook.py)
            "listen": "127.0.0.1",
            "port": 8443,
            "public_url": "",
            "secret_token": "",
        }
    },
    check=_check,
    env={
        "TELEGRAM_TOKEN": ("telegram", "token"),
        "TELEGRAM_WEBHOOK_SECRET": ("telegram", "secret_token"),
    },
    secrets=(("telegram", "token"), ("telegram", "secret_token")),
)


def from_config(service: Any, config: Config) -> TelegramAdapter | None:
    """The adapter when a token is set, else None (the platform is off)."""
    if not config.get("telegram", "token"):
        return None
    from .adapter import TelegramAdapter

    return TelegramAdapter(
        service,
        config.section("telegram"),
        commands_per_minute=config.get("alerts", "commands_per_minute"),
    )


def __getattr__(name: str) -> Any:
    if name == "TelegramAdapter":
        from .adapter import TelegramAdapter

        return TelegramAdapter
    if name in ("TelegramSender", "build_bot"):
        from . import sender

        return getattr(sender, name)
    raise AttributeError(name)
