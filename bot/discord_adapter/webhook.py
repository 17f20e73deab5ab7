"""Posting to a Discord webhook with httpx: summaries for a community without inviting the bot.

A webhook URL is a secret (`.../webhooks/ID/TOKEN`: whoever has it can post); it is never logged
or put into an error message whole, only as `redact_webhook_url(url)`, and never stored: the
chat is keyed by `webhook_chat_id(url)` ("wh:ID", the public webhook id), and the sender finds
the URL in the config it was given.

Errors (tests/data/real/discord): 401/403/404 (10015 Unknown Webhook) → ChatUnreachable; another
4xx (50035 invalid form body) → MessageRejected, never retried; a 429 → its retry_after, or, with
none (Cloudflare's plain-text "error code: 1015"), the IP block's minutes-long wait.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from core.chat.api import (
    ChatUnreachable,
    DeliveryRetryAfter,
    MessageRejected,
    PlatformUnavailable,
    on_the_wire,
)
from core.types import ChatRef, Message

from ..logs import install as install_log_scrubbing
from .limits import IpBlock
from .render import CHART_FILENAME, render

log = logging.getLogger(__name__)

WEBHOOK_USERNAME = "liqwatch"
RATE_LIMIT_RETRIES = 3  # 429s honoured in place before handing the wait to the delivery layer
MAX_WAIT_SECONDS = 30.0  # a longer retry_after is the delivery layer's to wait, not ours
DEFAULT_RETRY_AFTER_SECONDS = 1.0
GONE_STATUSES = (401, 403, 404)  # token revoked or webhook deleted: stop posting there

Sleep = Callable[[float], Awaitable[Any]]


IP_BLOCK = IpBlock()  # one IP for every webhook of the process


def webhook_chat_id(url: str) -> str:
    """The chat id a webhook is stored under: `wh:ID` (plus `/THREAD` for a forum thread), with
    no token: the database never holds the secret part."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return "wh:invalid"
    segments = [s for s in parsed.path.split("/") if s]
    webhook_id = segments[segments.index("webhooks") + 1] if "webhooks" in segments[:-1] else "?"
    thread = parsed.params.get("thread_id")
    return f"wh:{webhook_id}" + (f"/{thread}" if thread else "")


class WebhookError(PlatformUnavailable):
    """A webhook post failed in a way worth retrying later (5xx, network, unexpected answer)."""


def redact_webhook_url(url: str) -> str:
    """`https://discord.com/api/webhooks/123/abc?wait=true` → `https://discord.com/api/webhooks/123/***`."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return "<invalid webhook URL>"
    segments = parsed.path.split("/")
    if "webhooks" in segments:
        keep = segments.index("webhooks") + 2  # ".../webhooks/ID"
    else:
        keep = max(1, len(segments) - 1)
    path = "/".join(segments[:keep])
    if len(segments) > keep:
        path += "/***"
    return f"{parsed.scheme}://{parsed.netloc.decode()}{path}"


def webhook_payloads(message: Message) -> list[tuple[dict[str, Any], bytes | None]]:
    """One (JSON body, chart PNG or None) per Discord message the Message needs."""
    payloads: list[tuple[dict[str, Any], bytes | None]] = []
    for page in render(message):
        body: dict[str, Any] = {
            "username": WEBHOOK_USERNAME,
            "embeds": [embed.to_dict() for embed in page.embeds],
            "allowed_mentions": {"parse": []},  # a summary never pings anyone
        }
        image = message.image if page.with_chart else None
        if image is not None:
            body["attachments"] = [{"id": 0, "filename": CHART_FILENAME}]
        payloads.append((body, image))
    return payloads


def _retry_after(response: httpx.Response) -> float | None:
    """Discord puts `retry_after` (seconds, a float) in the 429 body; Retry-After as a fallback;
    None when neither is there (an IP block)."""
    seconds: Any = None
    try:
        seconds = response.json().get("retry_after")
    except (ValueError, AttributeError):
        pass
    if seconds is None:
        seconds = response.headers.get("Retry-After")
    if seconds is None:
        return None
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_SECONDS
    return value if math.isfinite(value) and value >= 0 else DEFAULT_RETRY_AFTER_SECONDS


async def _post_page(
    client: httpx.AsyncClient,
    url: str,
    body: dict[str, Any],
    image: bytes | None,
    *,
    params: dict[str, str],
    retries: int,
    sleep: Sleep,
) -> None:
    shown = redact_webhook_url(url)
    for attempt in range(retries + 1):
        blocked = IP_BLOCK.blocked()
        if blocked:
            raise DeliveryRetryAfter(blocked)
        try:
            # Webhooks take no nonce: their posts take turns instead (core/delivery/wire.py).
            async with on_the_wire():
                if image is None:
                    response = await client.post(url, params=params, json=body)
                else:
                    response = await client.post(
                        url,
                        params=params,
                        data={"payload_json": json.dumps(body)},
                        files={"files[0]": (CHART_FILENAME, image, "image/png")},
                    )
        except httpx.HTTPError as exc:
            # httpx errors can carry the full URL: say what failed without it.
            raise WebhookError(f"webhook {shown}: {type(exc).__name__}") from None
        status = response.status_code
        if status < 300:
            IP_BLOCK.cleared()
            return
        if status == 429:
            wait = _retry_after(response)
            if wait is None:
                raise DeliveryRetryAfter(IP_BLOCK.hit())
            if attempt == retries or wait > MAX_WAIT_SECONDS:
                raise DeliveryRetryAfter(wait)
            log.info("webhook %s rate-limited: retrying in %.2f s", shown, wait)
            await sleep(wait)
            continue
        if status in GONE_STATUSES:
            raise ChatUnreachable(f"webhook {shown} is gone (HTTP {status})")
        if 400 <= status < 500:
            raise MessageRejected(
                f"webhook {shown} refused it: HTTP {status} {response.text[:200]}"
            )
        raise WebhookError(f"webhook {shown} answered HTTP {status}: {response.text[:200]}")


async def post_webhook(
    client: httpx.AsyncClient,
    url: str,
    message: Message,
    *,
    thread_id: str | None = None,
    retries: int = RATE_LIMIT_RETRIES,
    sleep: Sleep = asyncio.sleep,
) -> None:
    """Post `message` as embeds (and its chart as `files[0]`) to a Discord webhook.

    Raises ChatUnreachable (webhook deleted or token revoked), DeliveryRetryAfter (still rate
    limited after `retries` waits), WebhookError (anything worth retrying later).
    """
    try:
        scheme = httpx.URL(url).scheme
    except (httpx.InvalidURL, TypeError):
        scheme = ""
    if scheme not in ("http", "https"):
        raise ChatUnreachable(f"not a webhook URL: {redact_webhook_url(url)}")
    install_log_scrubbing()  # httpx logs the URL, token included, with every request
    # httpx's `params` replaces the URL's own query: keep a configured `?thread_id=` (forum posts).
    params = dict(httpx.URL(url).params)
    if thread_id:
        params["thread_id"] = thread_id
    for body, image in webhook_payloads(message):
        await _post_page(client, url, body, image, params=params, retries=retries, sleep=sleep)


class WebhookSender:
    """core.ports.Sender for `[[summaries]] webhook_url` entries. `urls`: the configured URLs;
    a chat's id is `webhook_chat_id(url)`, so the URL (a secret) comes from the config, never the
    database. (A chat id that is a URL, from a database older than that, is still served.)"""

    platform = "webhook"

    def __init__(
        self,
        client: httpx.AsyncClient | None = None,
        timeout_seconds: float = 10.0,
        urls: list[str] | tuple[str, ...] = (),
    ):
        self._owns_client = client is None
        self.client = client or httpx.AsyncClient(timeout=timeout_seconds)
        self.urls = {webhook_chat_id(url): url for url in urls}

    async def send(self, chat: ChatRef, message: Message) -> None:
        url = self.urls.get(chat.chat_id)
        if url is None and chat.chat_id.startswith(("http://", "https://")):
            url = chat.chat_id
        if url is None:
            raise ChatUnreachable(f"webhook {chat.chat_id} is no longer in the config")
        await post_webhook(self.client, url, message, thread_id=chat.thread_id)

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()
