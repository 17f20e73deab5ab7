"""A loopback fake of Discord for the bot: REST login and a gateway websocket that says HELLO
and READY, enough for a bot to log in and identify; and the REST calls the bot's sender makes
(GET a channel, open a DM, POST a message), answered with the shapes recorded in
tests/data/real/discord (a sent message is webhook_execute_wait_true_success.json's body).

`replay_next("POST", "/channels/9090/messages", record)` answers the next such call with a
recorded error reply as it was (status, headers, JSON or plain-text body). Real Discord adds
`Via: 1.1 google` to its own JSON 429s; discord.py reads a 429 without it as Cloudflare's IP
block, so the fake adds it to JSON 429s (not to the plain-text 1015 page).
"""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

TOKEN = "MTAwMQ.fake-discord-bot-token.for-tests-only"
BOT_USER = {"id": "1001", "username": "liqwatch", "discriminator": "0", "avatar": None, "bot": True}
OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_HELLO, OP_HEARTBEAT_ACK = 0, 1, 2, 10, 11
_REAL = Path(__file__).resolve().parent.parent / "data" / "real" / "discord"
SENT_MESSAGE = json.loads((_REAL / "webhook_execute_wait_true_success.json").read_text())["body"]


def discord_json(body: dict, status: int = 200) -> web.Response:
    # discord.py parses a body as JSON only for exactly `application/json` (no charset).
    return web.Response(
        body=json.dumps(body).encode(), status=status, headers={"Content-Type": "application/json"}
    )


class FakeDiscord:
    """Discord's REST login and gateway, enough for a bot to log in, identify and get READY."""

    def __init__(self) -> None:
        self.identify: dict | None = None
        self.identified = asyncio.Event()
        self.gateway_closed = asyncio.Event()
        self.close_code: int | None = None
        self.rest_paths: list[str] = []
        self.identifies = 0
        self.close_next: list[int] = []  # close codes for the next IDENTIFYs (e.g. 4010)
        self.app = web.Application()
        self.app.router.add_get("/api/v10/users/@me", self.me)
        self.app.router.add_get("/api/v10/oauth2/applications/@me", self.application)
        self.app.router.add_get("/gateway", self.gateway)
        self.app.router.add_route("*", "/api/v10/{tail:.*}", self.rest)
        self.posted: list[dict[str, Any]] = []  # {"path", "json"} of every message accepted
        self._by_nonce: dict[str, dict[str, Any]] = {}  # enforced nonce → the message it made
        self.repeats_dropped = 0  # posts answered with the message their nonce made before
        self._replays: list[tuple[str, str, dict[str, Any]]] = []
        self.guild_id = "7070"
        # GET /applications/{application.id}/commands: the global commands, as a list of
        # application command objects (https://discord.com/developers/docs/interactions/
        # application-commands#get-global-application-commands); names are what doctor reads
        self.global_commands: list[str] = []
        self.app.router.add_get("/api/v10/applications/{app_id}/commands", self.commands)
        self.server = TestServer(self.app, host="127.0.0.1")

    @property
    def api(self) -> str:
        return str(self.server.make_url("/api/v10"))

    @property
    def gateway_url(self) -> str:
        return str(self.server.make_url("/gateway")).replace("http://", "ws://")

    def _authorised(self, request: web.Request) -> bool:
        self.rest_paths.append(request.path)
        return request.headers.get("Authorization") == f"Bot {TOKEN}"

    async def me(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return discord_json({"message": "401: Unauthorized", "code": 0}, status=401)
        return discord_json(BOT_USER)

    async def application(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return discord_json({"message": "401: Unauthorized", "code": 0}, status=401)
        return discord_json(
            {
                "id": "1001",
                "name": "liqwatch",
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": {**BOT_USER, "id": "2002", "bot": False},
                "verify_key": "0" * 64,
                "flags": 0,
            }
        )

    async def commands(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return discord_json({"message": "401: Unauthorized", "code": 0}, status=401)
        rows = [
            {"id": str(2000 + n), "application_id": request.match_info["app_id"], "version": "1",
             "type": 1, "name": name, "description": name}
            for n, name in enumerate(self.global_commands)
        ]  # fmt: skip
        return web.Response(body=json.dumps(rows).encode(), content_type="application/json")

    def replay_next(self, method: str, path: str, record: dict[str, Any], count: int = 1) -> None:
        """Answer the next `count` `method` calls of `path` (under /api/v10) with `record`."""
        self._replays.extend([(method.upper(), path, record)] * count)

    async def rest(self, request: web.Request) -> web.Response:
        """Channels, DMs and messages: what DiscordSender calls."""
        path = "/" + request.match_info["tail"]
        # A webhook's URL is its credential; everything else needs the bot token.
        open_path = path.startswith(("/webhooks/", "/interactions/"))  # the token is in the path
        if not open_path and not self._authorised(request):
            return discord_json({"message": "401: Unauthorized", "code": 0}, status=401)
        for index, (method, where, record) in enumerate(self._replays):
            if method == request.method and where == path:
                del self._replays[index]
                return _replayed(record)
        parts = path.strip("/").split("/")
        if request.method == "GET" and parts[0] == "channels" and len(parts) == 2:
            return discord_json(self._channel(parts[1]))
        if request.method == "GET" and parts[0] == "users" and len(parts) == 2:
            return discord_json({**BOT_USER, "id": parts[1], "username": "trader", "bot": False})
        if request.method == "POST" and path == "/users/@me/channels":
            body = await request.json()
            # A DM channel's id: "88" + the user's (a snowflake must be a number).
            return discord_json({"id": f"88{body['recipient_id']}", "type": 1, "recipients": []})
        if request.method == "POST" and parts[0] == "interactions":
            self.posted.append({"path": path, "json": await request.json()})
            return web.Response(status=204)
        if request.method == "POST" and parts[0] == "webhooks" and len(parts) == 3:
            payload = await _payload(request)
            self.posted.append({"path": path, "json": payload})
            return discord_json(copy.deepcopy(SENT_MESSAGE))
        if request.method == "POST" and parts[0] == "channels" and parts[-1] == "messages":
            payload = await _payload(request)
            # enforce_nonce: "If another message was created by the same author with the same
            # nonce, that message will be returned and no new message will be created" (the
            # API docs' field text, as in nyxx's MessageBuilder.enforceNonce docs; the fake
            # keeps every nonce, Discord "the past few minutes").
            nonce = payload.get("nonce") if payload.get("enforce_nonce") else None
            if nonce is not None and nonce in self._by_nonce:
                self.repeats_dropped += 1
                return discord_json(self._by_nonce[nonce])
            self.posted.append({"path": path, "json": payload})
            sent = copy.deepcopy(SENT_MESSAGE)
            sent.update(id=str(1000 + len(self.posted)), channel_id=parts[1], author=BOT_USER)
            if nonce is not None:
                self._by_nonce[nonce] = sent
            return discord_json(sent)
        return discord_json({"message": "404: Not Found", "code": 0}, status=404)

    def _channel(self, channel_id: str) -> dict[str, Any]:
        return {
            "id": channel_id,
            "type": 0,
            "guild_id": self.guild_id,
            "name": "alerts",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
        }

    async def gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"op": OP_HELLO, "d": {"heartbeat_interval": 45_000}})
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                continue
            payload = json.loads(frame.data)
            if payload["op"] == OP_HEARTBEAT:
                await ws.send_json({"op": OP_HEARTBEAT_ACK})
            elif payload["op"] == OP_IDENTIFY:
                self.identify = payload["d"]
                self.identifies += 1
                if self.close_next:  # the gateway ends the session with a code not resumed
                    await ws.close(code=self.close_next.pop(0))
                    break
                ready = {
                    "v": 10,
                    "user": BOT_USER,
                    "guilds": [],
                    "session_id": "session-1",
                    "resume_gateway_url": self.gateway_url,
                    "application": {"id": "1001", "flags": 0},
                }
                await ws.send_json({"op": OP_DISPATCH, "t": "READY", "s": 1, "d": ready})
                self.identified.set()
        self.close_code = ws.close_code
        self.gateway_closed.set()
        return ws


def _replayed(record: dict[str, Any]) -> web.Response:
    body = record["body"]
    status = record.get("status") or (429 if "1015" in str(body) else 400)
    headers = {
        k: v for k, v in (record.get("headers") or {}).items() if k.lower() != "content-type"
    }
    if isinstance(body, str):  # Cloudflare's page: plain text, no Via
        return web.Response(text=body, status=status, headers=headers, content_type="text/plain")
    if status == 429:
        headers.setdefault("Via", "1.1 google")
    headers["Content-Type"] = "application/json"
    return web.Response(body=json.dumps(body).encode(), status=status, headers=headers)


async def _payload(request: web.Request) -> Any:
    """A message's JSON, sent as the body or (with a chart attached) as the `payload_json` part."""
    if request.content_type == "application/json":
        return await request.json()
    reader = await request.multipart()
    async for part in reader:
        if part.name == "payload_json":  # type: ignore[union-attr]
            return json.loads(await part.text())  # type: ignore[union-attr]
    return {}
