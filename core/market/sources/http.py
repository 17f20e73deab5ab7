"""One small async JSON fetcher shared by the HTTP sources (Binance, Coinglass, the venues; POST
for Hyperliquid's /info).

What it decides so the sources don't have to:
- retries, bounded, with exponential backoff and jitter, on 5xx, timeouts and connection errors;
- 429 (and Binance's 418 ban) honour `Retry-After` in seconds when it is short enough to wait for;
  a longer wait is not slept through inside a chat command: it fails at once, naming the wait;
- a 2xx body that is not JSON is a SourceUnavailable (a proxy's HTML page, a truncated reply);
- every attempt has a total deadline (`deadline_seconds`, default the timeout), not only a per-read
  timeout: a server trickling a byte every two seconds cannot hold a fetch open; bodies over
  `max_body_bytes` are refused while streaming (or at once from Content-Length), never buffered;
- a 418 (Binance's IP ban) is never retried: knocking during a ban lengthens it. The fetcher then
  refuses to call the host until the ban ends (Retry-After, or the "banned until <ms>" Binance
  writes in the body), so no request of any command reaches it meanwhile;
- any other 4xx is handed back with its parsed body, because only the caller knows what its
  vendor's error codes mean (Binance -1121, Coinglass "401").

Each failure is logged once at WARNING (retries at DEBUG). Request headers are never logged or put
in an error message: the Coinglass key travels in one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from core.kernel.errors import SourceUnavailable

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024  # the biggest real reply (a 30-day map) is ~2 MB
_BANNED_UNTIL = re.compile(r"banned until (\d{12,14})")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before giving up. Defaults keep a failing /liq under ~15 s of waiting."""

    attempts: int = 3  # requests in all, the first included
    backoff_seconds: float = 0.5  # first backoff; doubles per retry
    backoff_max_seconds: float = 8.0
    retry_after_max_seconds: float = 15.0  # longer Retry-After: give up now instead of waiting

    def backoff(self, retry_number: int, jitter: float) -> float:
        """Delay before retry `retry_number` (1-based); `jitter` in [0, 1) spreads it to 50–100 %
        so that many clients failing together do not come back together."""
        ceiling = min(self.backoff_max_seconds, self.backoff_seconds * 2 ** (retry_number - 1))
        return ceiling * (0.5 + jitter / 2)


@dataclass(frozen=True)
class JsonReply:
    """A reply the caller must read: 2xx with a JSON body, or a 4xx with its body (None if the
    4xx body was not JSON)."""

    status: int
    body: Any
    headers: Mapping[str, str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class _Retry(Exception):
    """Internal: this attempt failed in a way worth retrying."""

    def __init__(self, reason: str, wait: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.wait = wait  # None: use the backoff


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After: 7` → 7.0. HTTP-date forms and garbage → None (fall back to the backoff)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


class JsonFetcher:
    """GET JSON from one base URL with one reused httpx.AsyncClient.

    `vendor` names the upstream in messages ("Binance"). `headers` are sent with every request
    and never logged. `sleep` and `jitter` are injectable so tests run without waiting.
    """

    def __init__(
        self,
        base_url: str,
        *,
        vendor: str,
        timeout_seconds: float = 10.0,
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        deadline_seconds: float | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        wall_clock: Callable[[], float] = time.time,
    ):
        self.vendor = vendor
        self.retry = retry or RetryPolicy()
        self.deadline_seconds = deadline_seconds or timeout_seconds
        self.max_body_bytes = max_body_bytes
        self._sleep = sleep
        self._jitter = jitter
        self._wall_clock = wall_clock
        self._banned_until = 0.0  # wall-clock seconds; 0: not banned
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers=dict(headers or {}),
            timeout=httpx.Timeout(timeout_seconds),
            follow_redirects=False,
        )

    async def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> JsonReply:
        """GET `path`; returns a 2xx or 4xx reply, raises SourceUnavailable for everything else."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        return await self._fetch(path, query, None)

    async def post_json(self, path: str, body: Any) -> JsonReply:
        """POST `body` as JSON to `path` (Hyperliquid's /info), with the same policy as GET."""
        return await self._fetch(path, {}, body)

    async def _fetch(self, path: str, query: dict[str, Any], body: Any) -> JsonReply:
        where = f"{self.vendor} {path}"
        self._refuse_while_banned()
        last_reason = ""
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return await self._attempt(path, query, where, body)
            except _Retry as retry:
                last_reason = retry.reason
                if attempt == self.retry.attempts:
                    break
                wait = retry.wait
                if wait is None:
                    wait = self.retry.backoff(attempt, self._jitter())
                log.debug("%s: %s; retry %d in %.2f s", where, retry.reason, attempt, wait)
                await self._sleep(wait)
        log.warning("%s failed after %d attempts: %s", where, self.retry.attempts, last_reason)
        if last_reason.startswith("rate limited"):
            raise SourceUnavailable(f"{self.vendor} is rate limiting us; try again in a minute.")
        raise SourceUnavailable(f"{self.vendor} is not answering ({last_reason}); try again soon.")

    def _refuse_while_banned(self) -> None:
        left = self._banned_until - self._wall_clock()
        if left > 0:
            raise SourceUnavailable(f"{self.vendor} banned us for now; try again in {left:.0f} s.")

    def _ban(self, where: str, wait: float | None, body: bytes) -> SourceUnavailable:
        """A 418: remember until when, log once, and fail without a retry."""
        now = self._wall_clock()
        match = _BANNED_UNTIL.search(body[:2000].decode("utf-8", "replace"))
        if wait is None and match and int(match.group(1)) / 1000 > now:
            wait = int(match.group(1)) / 1000 - now
        wait = 60.0 if wait is None else wait  # no hint: a minute before knocking again
        self._banned_until = now + wait
        log.warning("%s: HTTP 418 (IP banned) for %.0f s: no request until then", where, wait)
        return SourceUnavailable(f"{self.vendor} banned us for now; try again in {wait:.0f} s.")

    async def _attempt(
        self, path: str, query: dict[str, Any], where: str, body: Any = None
    ) -> JsonReply:
        try:
            async with asyncio.timeout(self.deadline_seconds):
                status, headers, raw = await self._read(path, query, where, body)
        except TimeoutError:
            raise _Retry(f"timed out: no complete reply in {self.deadline_seconds:g} s") from None
        except httpx.TimeoutException:
            raise _Retry("timed out") from None
        except httpx.RequestError as exc:  # refused, reset, DNS, bad encoding: worth a retry
            raise _Retry(f"connection failed: {type(exc).__name__}") from None
        wait = retry_after_seconds(headers.get("Retry-After"))
        if status == 418:
            raise self._ban(where, wait, raw)
        if status == 429:
            if wait is not None and wait > self.retry.retry_after_max_seconds:
                log.warning("%s: HTTP 429, Retry-After %.0f s: not waiting", where, wait)
                raise SourceUnavailable(
                    f"{self.vendor} is rate limiting us; try again in {wait:.0f} s."
                )
            raise _Retry(f"rate limited (HTTP {status})", wait)
        if status >= 500:
            raise _Retry(f"HTTP {status}")
        body = _parse_json(raw)
        if 200 <= status < 300:
            if body is _NOT_JSON:
                log.warning("%s: HTTP %d with a body that is not JSON", where, status)
                raise SourceUnavailable(f"{self.vendor} sent a reply that is not JSON.")
            return JsonReply(status, body, headers)
        if 400 <= status < 500:
            return JsonReply(status, None if body is _NOT_JSON else body, headers)
        log.warning("%s: unexpected HTTP %d", where, status)
        raise SourceUnavailable(f"{self.vendor} answered HTTP {status}.")

    async def _read(
        self, path: str, query: dict[str, Any], where: str, body: Any = None
    ) -> tuple[int, httpx.Headers, bytes]:
        """Status, headers and the body, read in chunks up to the size cap (a POST when there is
        a `body`)."""
        cap = self.max_body_bytes
        if body is None:
            request = self._client.stream("GET", path, params=query)
        else:
            request = self._client.stream("POST", path, json=body)
        async with request as response:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > cap:
                raise self._too_big(where, int(declared))
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():  # decoded: a gzip bomb stops at the cap
                size += len(chunk)
                if size > cap:
                    raise self._too_big(where, size)
                chunks.append(chunk)
            return response.status_code, response.headers, b"".join(chunks)

    def _too_big(self, where: str, size: int) -> SourceUnavailable:
        log.warning(
            "%s: reply of %d bytes is over the %d-byte cap", where, size, self.max_body_bytes
        )
        return SourceUnavailable(
            f"{self.vendor} sent a reply larger than {self.max_body_bytes // 1024} KB; refused."
        )

    async def aclose(self) -> None:
        await self._client.aclose()


_NOT_JSON = object()


async def gather_or_cancel(*awaitables: Awaitable[Any]) -> list[Any]:
    """Like asyncio.gather, but the first failure cancels the others, so no request outlives the
    call that wanted it (e.g. still running while the source is being closed)."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        raise


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        return _NOT_JSON


def finite_number(value: Any) -> float | None:
    """A finite float from a venue's string or number (they send both), else None."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
