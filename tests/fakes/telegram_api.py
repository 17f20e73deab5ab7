"""A fake Telegram Bot API server on 127.0.0.1 (aiohttp), for adapter tests and benchmarks.

It answers the methods the adapter uses (telegram_methods.py), records every call with its
parameters, lets a test push updates (the getUpdates long poll returns as soon as one is queued),
can fail the next N calls of a method (429 with `retry_after`, 403 blocked, 400 chat not found)
and can enforce a global message rate (a token bucket holding one second of messages, answering
429 past it), as Telegram does.

Tests wait on what the server saw (`await fake.wait_for("sendMessage", count=2)`), never sleep.

`replay_next(method, record)` answers the next call of a method with a recorded real reply from
tests/data/real/telegram (status, headers and body as recorded, an HTML 502 page included): the
error shapes come from there, not from what this fake's author believed.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.corpus import load
from tests.fakes.telegram_methods import BotApiMethods
from tests.fakes.telegram_updates import TelegramUpdates

# Values PTB sends JSON-encoded in form fields; everything else stays the string it was.
_JSON_FIELDS = {"reply_markup", "commands", "allowed_updates", "media", "scope"}
_INT_FIELDS = {"chat_id", "message_id", "message_thread_id", "user_id", "offset", "limit"}
_SENDING = {"sendMessage", "sendPhoto", "editMessageText", "editMessageMedia"}


@dataclass(frozen=True)
class ApiCall:
    """One request the fake received."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes]
    at: float  # time.monotonic() when it arrived
    status: int  # HTTP status the fake answered
    result: Any = None  # what the fake answered (e.g. the Message dict a button press can quote)


@dataclass
class _Fault:
    method: str
    remaining: int
    status: int
    description: str
    retry_after: int | None
    chat_id: int | None
    migrate_to: int | None = None


@dataclass
class _TokenBucket:
    """`rate` messages per second with a burst of one second's worth."""

    rate: float
    tokens: float = field(init=False)
    stamp: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = self.rate

    def take(self) -> float:
        """0 if a message may pass now, else the seconds until it could."""
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class FakeTelegramAPI(TelegramUpdates, BotApiMethods):
    """Start with `await fake.start()`; point the bot at `fake.api_base_url`. The update builders
    (`fake.message(...)`, `fake.callback(...)`, ...) come from TelegramUpdates."""

    def __init__(
        self,
        token: str = "123456:TEST-token-abcdefghijklmnop",
        username: str = "liqwatch_test_bot",
        global_rate: float | None = None,
    ):
        self.token = token
        self.username = username
        self.calls: list[ApiCall] = []
        # Methods as requests arrive (a long poll is recorded in `calls` only when it returns).
        self.received: list[str] = []
        self.count_429 = 0
        self.member_status: dict[tuple[int, int], str] = {}  # (chat, user) -> status
        self.default_member_status = "member"
        self.chat_types: dict[int, str] = {}  # chat id -> "channel" etc. (default by sign)
        # Forum topics deleted: a send into one gets the recorded 400 "message thread not found"
        # (tests/data/real/telegram/error_message_thread_not_found.json).
        self.deleted_topics: set[tuple[int, int]] = set()
        self._bucket = _TokenBucket(global_rate) if global_rate else None
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._faults: list[_Fault] = []
        self._replays: list[tuple[str, dict[str, Any], int | None]] = []
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.webhook: dict[str, Any] = {}  # what setWebhook registered (url, secret_token...)
        self.send_latency = 0.0  # s a sendMessage/sendPhoto takes to be answered
        self.sends_in_flight = self.most_sends_in_flight = 0

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        # handler_cancellation: a pending long poll ends when the server stops.
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.api_base_url

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    @property
    def api_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    # ---- what a test controls ----------------------------------------------------------------

    async def push(self, update: dict[str, Any]) -> int:
        """Queue one update (without update_id); the pending long poll returns it at once."""
        update = {"update_id": next(self._update_ids), **update}
        async with self._changed:
            self._updates.append(update)
            self._changed.notify_all()
        return update["update_id"]

    def fail_next(
        self,
        method: str,
        count: int = 1,
        status: int = 429,
        retry_after: int | None = 1,
        description: str | None = None,
        chat_id: int | None = None,
        migrate_to: int | None = None,
    ) -> None:
        """Answer the next `count` calls of `method` (to `chat_id` if given) with an error;
        `migrate_to`: the group was upgraded to this supergroup id (400 with the parameter)."""
        default = {
            429: f"Too Many Requests: retry after {retry_after}",
            403: "Forbidden: bot was blocked by the user",
            400: "Bad Request: chat not found",
        }.get(status, "Internal Server Error")
        if migrate_to is not None:
            status = 400
            default = "Bad Request: group chat was upgraded to a supergroup chat"
        self._faults.append(
            _Fault(method, count, status, description or default, retry_after, chat_id, migrate_to)
        )

    def replay_next(
        self, method: str, record: dict[str, Any], count: int = 1, chat_id: int | None = None
    ) -> None:
        """Answer the next `count` calls of `method` (to `chat_id` if given) with `record`, a
        tests/data/real/telegram file: {status, headers, body}."""
        self._replays.extend([(method, record, chat_id)] * count)

    def calls_to(self, method: str, ok_only: bool = True) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method and (c.status == 200 or not ok_only)]

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        where: Callable[[ApiCall], bool] | None = None,
        timeout: float = 5.0,
    ) -> list[ApiCall]:
        """Wait until `count` successful calls of `method` (matching `where`) were recorded."""

        def matching() -> list[ApiCall]:
            return [c for c in self.calls_to(method) if where is None or where(c)]

        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(matching()) >= count), timeout
            )
        return matching()

    async def wait_received(self, method: str, count: int = 1, timeout: float = 5.0) -> None:
        """Wait until `count` requests of `method` have arrived (answered or still pending)."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: self.received.count(method) >= count), timeout
            )

    # ---- the HTTP side -------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.received.append(method)
        asyncio.get_running_loop().create_task(self._notify())
        params, files = await self._read(request)
        if request.match_info["token"] != self.token:
            return self._answer(method, params, files, 401, {"description": "Unauthorized"})
        for index, (replayed, record, chat) in enumerate(self._replays):
            if replayed == method and (chat is None or params.get("chat_id") == chat):
                del self._replays[index]
                return self._replay(method, params, files, record)
        topic = (params.get("chat_id"), params.get("message_thread_id"))
        if method in _SENDING and topic in self.deleted_topics:
            return self._replay(
                method, params, files, load("telegram", "error_message_thread_not_found")
            )
        fault = self._take_fault(method, params)
        if fault:
            body: dict[str, Any] = {"description": fault.description}
            if fault.status == 429:
                body["parameters"] = {"retry_after": fault.retry_after}
            if fault.migrate_to is not None:
                body["parameters"] = {"migrate_to_chat_id": fault.migrate_to}
            return self._answer(method, params, files, fault.status, body)
        if self._bucket and method in _SENDING:
            wait = self._bucket.take()
            if wait:
                retry = max(1, math.ceil(wait))
                body = {"description": f"Too Many Requests: retry after {retry}"}
                body["parameters"] = {"retry_after": retry}
                return self._answer(method, params, files, 429, body)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            body = {"description": "Not Found: method not found"}
            return self._answer(method, params, files, 404, body)
        if method in ("sendMessage", "sendPhoto"):
            self.sends_in_flight += 1
            self.most_sends_in_flight = max(self.most_sends_in_flight, self.sends_in_flight)
            try:
                await asyncio.sleep(self.send_latency)
                result = await handler(params, files)
            finally:
                self.sends_in_flight -= 1
        else:
            result = await handler(params, files)
        return self._answer(method, params, files, 200, {"result": result})

    async def _read(self, request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        if request.method == "POST":
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    files[key] = value.file.read()
                else:
                    params[key] = _decode(key, str(value))
        for key, value in request.query.items():
            params[key] = _decode(key, value)
        return params, files

    def _answer(
        self, method: str, params: dict, files: dict, status: int, body: dict[str, Any]
    ) -> web.Response:
        result = body.get("result")
        self.calls.append(ApiCall(method, params, files, time.monotonic(), status, result))
        if status == 429:
            self.count_429 += 1
        body = {"ok": status == 200, **body}
        if status != 200:
            body["error_code"] = status
        # Wake waiters without blocking the response (wait_for holds the condition briefly).
        asyncio.get_running_loop().create_task(self._notify())
        return web.json_response(body, status=status)

    def _replay(
        self, method: str, params: dict, files: dict, record: dict[str, Any]
    ) -> web.Response:
        status = record.get("status") or 200
        body = record["body"]
        self.calls.append(ApiCall(method, params, files, time.monotonic(), status, None))
        if status == 429:
            self.count_429 += 1
        asyncio.get_running_loop().create_task(self._notify())
        headers = {
            k: v
            for k, v in (record.get("headers") or {}).items()
            if k.lower() not in ("content-type", "content-length")
        }
        if isinstance(body, str):
            return web.Response(text=body, status=status, headers=headers, content_type="text/html")
        return web.json_response(body, status=status, headers=headers)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _take_fault(self, method: str, params: dict[str, Any]) -> _Fault | None:
        for fault in self._faults:
            if fault.method != method or fault.remaining <= 0:
                continue
            if fault.chat_id is not None and params.get("chat_id") != fault.chat_id:
                continue
            fault.remaining -= 1
            return fault
        return None


def _decode(key: str, value: str) -> Any:
    if key in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    if key in _INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            return value
    return value
