"""Posting to a Discord webhook with httpx: summaries for a community without inviting the bot.

A webhook URL is a secret (`.../webhooks/ID/TOKEN`: whoever has it can post); it is never logged
or put into an error message whole, only as `redact_webhook_url(url)`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from core.chat.api import ChatUnreachable, DeliveryRetryAfter
from core.types import ChatRef, Message

from ..logs import install as install_log_scrubbing
from .render import CHART_FILENAME, render

log = logging.getLogger(__name__)

WEBHOOK_USERNAME = "liqwatch"
RATE_LIMIT_RETRIES = 3  # 429s honoured in place before handing the wait to the delivery layer
MAX_WAIT_SECONDS = 30.0  # a longer retry_after is the delivery layer's to wait, not ours
DEFAULT_RETRY_AFTER_SECONDS = 1.0
GONE_STATUSES = (401, 403, 404)  # token revoked or webhook deleted: stop posting there

Sleep = Callable[[float], Awaitable[Any]]


class WebhookError(Exception):
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


def _retry_after(response: httpx.Response) -> float:
    """Discord puts `retry_after` (seconds, a float) in the 429 body; Retry-After as a fallback."""
    seconds: Any = None
    try:
        seconds = response.json().get("retry_after")
    except (ValueError, AttributeError):
        pass
    if seconds is None:
        seconds = response.headers.get("Retry-After")
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
        try:
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
            return
        if status == 429:
            wait = _retry_after(response)
            if attempt == retries or wait > MAX_WAIT_SECONDS:
                raise DeliveryRetryAfter(wait)
            log.info("webhook %s rate-limited: retrying in %.2f s", shown, wait)
            await sleep(wait)
            continue
        if status in GONE_STATUSES:
            raise ChatUnreachable(f"webhook {shown} is gone (HTTP {status})")
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
    """core.ports.Sender for `[[summaries]] webhook_url` entries: chat_id is the webhook URL."""

    platform = "webhook"

    def __init__(self, client: httpx.AsyncClient | None = None, timeout_seconds: float = 10.0):
        self._owns_client = client is None
        self.client = client or httpx.AsyncClient(timeout=timeout_seconds)

    async def send(self, chat: ChatRef, message: Message) -> None:
        await post_webhook(self.client, chat.chat_id, message, thread_id=chat.thread_id)

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()
