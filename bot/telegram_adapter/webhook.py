"""How updates arrive: long polling (the default) or a webhook behind the operator's proxy.

    [telegram]
    mode = "webhook"
    listen = "127.0.0.1"          # where liqwatch's HTTP server binds (the proxy forwards here)
    port = 8443
    public_url = "https://bot.example.com/liqwatch/telegram"   # what Telegram posts to
    secret_token = "..."          # or TELEGRAM_WEBHOOK_SECRET; 1–256 of A–Z a–z 0–9 _ -

In webhook mode PTB's own server (tornado, on this same asyncio loop as the scheduler) listens on
`listen:port` at the path of `public_url`, and `setWebhook` tells Telegram the URL and the secret.
Every request must carry `X-Telegram-Bot-Api-Secret-Token` equal to the secret: PTB answers a
missing or wrong one with 403 before reading the update, so nothing is processed.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:  # the config check imports this module: PTB loads only when the bot starts
    from telegram.ext import Application

log = logging.getLogger(__name__)

MODES = ("polling", "webhook")
SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what setWebhook accepts as secret_token
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def check_settings(section: dict[str, Any], bad) -> None:
    """The config check of the webhook keys (called from the [telegram] part's check)."""
    mode = section.get("mode", "polling")
    if mode not in MODES:
        raise bad("telegram", "mode", f'must be "polling" or "webhook", not {mode!r}')
    if not 1 <= section.get("port", 8443) <= 65535:
        raise bad("telegram", "port", "must be a TCP port (1–65535)")
    if mode != "webhook":
        return
    url = urlsplit(section.get("public_url", ""))
    if url.scheme != "https" and not (url.scheme == "http" and url.hostname in LOOPBACK):
        raise bad(
            "telegram",
            "public_url",
            "must be the https:// URL Telegram posts updates to (webhook mode)",
        )
    if not SECRET.match(section.get("secret_token", "")):
        raise bad(
            "telegram",
            "secret_token",
            "is required in webhook mode: 1–256 characters of A-Z, a-z, 0-9, _ and - "
            "(or set TELEGRAM_WEBHOOK_SECRET)",
        )


def url_path(public_url: str) -> str:
    """The path PTB serves: the public URL's (the proxy forwards it unchanged)."""
    return urlsplit(public_url).path.strip("/")


async def start_updates(
    app: Application, settings: dict[str, Any], poll_timeout: float, error_callback: Any = None
) -> str:
    """Start receiving updates the configured way; returns how, for the log line.
    `error_callback`: PTB calls it for each failed poll (polling mode only)."""
    from telegram import Update

    assert app.updater is not None
    if settings.get("mode", "polling") != "webhook":
        await app.updater.start_polling(
            timeout=poll_timeout,
            allowed_updates=Update.ALL_TYPES,
            bootstrap_retries=3,
            error_callback=error_callback,
        )
        return "polling"
    public_url = settings["public_url"]
    await app.updater.start_webhook(
        listen=settings.get("listen", "127.0.0.1"),
        port=int(settings.get("port", 8443)),
        url_path=url_path(public_url),
        webhook_url=public_url,
        secret_token=settings["secret_token"],
        allowed_updates=Update.ALL_TYPES,
        bootstrap_retries=3,
    )
    # the URL is not secret (the token is not in it); the secret_token is never logged
    return f"webhook at {public_url} (listening on {settings.get('listen')}:{settings.get('port')})"
