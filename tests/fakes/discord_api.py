"""A loopback fake of Discord for the bot: REST login and a gateway websocket that says HELLO
and READY, enough for a bot to log in and identify."""

from __future__ import annotations

import asyncio
import json

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

TOKEN = "MTAwMQ.fake-discord-bot-token.for-tests-only"
BOT_USER = {"id": "1001", "username": "liqwatch", "discriminator": "0", "avatar": None, "bot": True}
OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_HELLO, OP_HEARTBEAT_ACK = 0, 1, 2, 10, 11


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
        self.app = web.Application()
        self.app.router.add_get("/api/v10/users/@me", self.me)
        self.app.router.add_get("/api/v10/oauth2/applications/@me", self.application)
        self.app.router.add_get("/gateway", self.gateway)
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
