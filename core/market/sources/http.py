"""One small async JSON fetcher shared by the HTTP sources (Binance, Coinglass).

What it decides so the sources don't have to:
- retries, bounded, with exponential backoff and jitter, on 5xx, timeouts and connection errors;
- 429 (and Binance's 418 ban) honour `Retry-After` in seconds when it is short enough to wait for;
  a longer wait is not slept through inside a chat command: it fails at once, naming the wait;
- a 2xx body that is not JSON is a SourceUnavailable (a proxy's HTML page, a truncated reply);
- any other 4xx is handed back with its parsed body, because only the caller knows what its
  vendor's error codes mean (Binance -1121, Coinglass "401").

Each failure is logged once at WARNING (retries at DEBUG). Request headers are never logged or put
in an error message: the Coinglass key travels in one.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from core.kernel.errors import SourceUnavailable

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


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
    ):
        self.vendor = vendor
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._jitter = jitter
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers=dict(headers or {}),
            timeout=httpx.Timeout(timeout_seconds),
            follow_redirects=False,
        )

    async def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> JsonReply:
        """GET `path`; returns a 2xx or 4xx reply, raises SourceUnavailable for everything else."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        where = f"{self.vendor} {path}"
        last_reason = ""
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return await self._attempt(path, query, where)
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

    async def _attempt(self, path: str, query: dict[str, Any], where: str) -> JsonReply:
        try:
            response = await self._client.get(path, params=query)
        except httpx.TimeoutException:
            raise _Retry("timed out") from None
        except httpx.RequestError as exc:  # refused, reset, DNS, bad encoding: worth a retry
            raise _Retry(f"connection failed: {type(exc).__name__}") from None
        status = response.status_code
        if status in (429, 418):
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait is not None and wait > self.retry.retry_after_max_seconds:
                what = "banned us for now" if status == 418 else "is rate limiting us"
                log.warning("%s: HTTP %d, Retry-After %.0f s: not waiting", where, status, wait)
                raise SourceUnavailable(f"{self.vendor} {what}; try again in {wait:.0f} s.")
            raise _Retry(f"rate limited (HTTP {status})", wait)
        if status >= 500:
            raise _Retry(f"HTTP {status}")
        body = _parse_json(response)
        if 200 <= status < 300:
            if body is _NOT_JSON:
                log.warning("%s: HTTP %d with a body that is not JSON", where, status)
                raise SourceUnavailable(f"{self.vendor} sent a reply that is not JSON.")
            return JsonReply(status, body, response.headers)
        if 400 <= status < 500:
            return JsonReply(status, None if body is _NOT_JSON else body, response.headers)
        log.warning("%s: unexpected HTTP %d", where, status)
        raise SourceUnavailable(f"{self.vendor} answered HTTP {status}.")

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


def _parse_json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        return _NOT_JSON
