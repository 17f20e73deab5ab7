"""Loopback WebSocket venues speaking Binance's, Bybit's and OKX's liquidation-stream protocols.

Every frame shape is the recorded real one (tests/data/real/streams/*.json and STREAMS.md, taken
from the venues' docs and live frames; each file cites its source):
- Binance `/ws/!forceOrder@arr`: no subscribe message; protocol ping frames from the server
  ("a ping frame every 3 minutes": here every `ping_interval`), events `{"e":"forceOrder",..}`.
- Bybit `/v5/public/linear`: `{"op":"subscribe","args":[..]}` → ack `{"success":true,
  "ret_msg":"","conn_id":..,"req_id":..,"op":"subscribe"}` (bybit_subscribe_ack.json), a topic
  of an unknown symbol → success false "error:handler not found,topic:<t>" (ccxt#27929);
  `{"op":"ping"}` → `{"success":true,"ret_msg":"pong",..,"op":"ping"}` (bybit_pong.json);
  pushes `{"topic":"allLiquidation.X","type":"snapshot","ts":..,"data":[..]}` to subscribers.
- OKX `/ws/v5/public`: text 'ping' → text 'pong' (okx_pong.json); subscribe → `{"event":
  "subscribe","arg":..,"connId":..}` (okx_subscribe_ack.json); pushes `{"arg":{"channel":
  "liquidation-orders","instType":"SWAP"},"data":[..]}`; the notice 64008
  (okx_notice_64008.json); and, over plain HTTP on the same port, GET /api/v5/public/instruments
  ?instType=SWAP with `{"code":"0","msg":"","data":[{instId, ctVal, ctValCcy, ctType}]}`
  (okx/instruments_swap_inverse_row_live.json; linear rows as the docs describe them).

Faults on demand: `drop()` closes every connection mid-stream, `push_text()` sends any frame (a
malformed one), and `resend_on_subscribe` replays the last pushes to a new subscriber, as venues
do after a reconnect.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from http import HTTPStatus

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Response

PATHS = {"binance": "/ws/!forceOrder@arr", "bybit": "/v5/public/linear", "okx": "/ws/v5/public"}

OKX_INSTRUMENTS = [
    {"instId": "BTC-USDT-SWAP", "ctVal": "0.01", "ctValCcy": "BTC", "ctType": "linear"},
    {"instId": "ETH-USDT-SWAP", "ctVal": "0.1", "ctValCcy": "ETH", "ctType": "linear"},
    {"instId": "APT-USDT-SWAP", "ctVal": "1", "ctValCcy": "APT", "ctType": "linear"},
    {"instId": "IOST-USDT-SWAP", "ctVal": "1000", "ctValCcy": "IOST", "ctType": "linear"},
    {"instId": "BTC-USD-SWAP", "ctVal": "100", "ctValCcy": "USD", "ctType": "inverse"},
]


class FakeVenue:
    def __init__(
        self,
        venue: str,
        known_symbols: tuple[str, ...] = ("BTC", "ETH", "SOL", "APT", "ROSE", "IOST"),
        ping_interval: float | None = 20.0,
        resend_on_subscribe: int = 0,
    ):
        self.venue = venue
        self.known = set(known_symbols)
        self.ping_interval = ping_interval
        self.resend_on_subscribe = resend_on_subscribe
        self.received: list[str] = []  # every text frame clients sent
        self.clients: dict[ServerConnection, set[str]] = {}  # connection → its topics
        self.connections = 0
        self.subscriptions = 0  # acked subscribe requests (binance: connections)
        self.pushed: list[str] = []
        self.instrument_requests = 0
        self._changed = asyncio.Condition()
        self._server = None
        self.url = ""

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> FakeVenue:
        self._server = await serve(
            self._handler,
            "127.0.0.1",
            0,
            process_request=self._http,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_interval,
        )
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}"
        self.rest_url = f"http://127.0.0.1:{port}"
        return self

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> FakeVenue:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ---- waiting without sleeps ------------------------------------------------------------

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        async def wait() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        await asyncio.wait_for(wait(), timeout)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # ---- the protocol ----------------------------------------------------------------------

    def _http(self, connection: ServerConnection, request):
        if request.path.startswith("/api/v5/public/instruments"):
            self.instrument_requests += 1
            body = json.dumps({"code": "0", "msg": "", "data": OKX_INSTRUMENTS}).encode()
            headers = Headers(
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            )
            return Response(HTTPStatus.OK, "OK", headers, body)
        if request.path != PATHS[self.venue]:
            return connection.respond(HTTPStatus.NOT_FOUND, "no such stream\n")
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        self.clients[ws] = set()
        if self.venue == "binance":  # the stream is the URL: data flows at once
            self.clients[ws].add("*")
            self.subscriptions += 1
            await self._resend(ws)
        await self._notify()
        try:
            async for frame in ws:
                text = frame if isinstance(frame, str) else frame.decode()
                self.received.append(text)
                await self._answer(ws, text)
                await self._notify()
        except Exception:  # noqa: BLE001  (a client that vanished)
            pass
        finally:
            self.clients.pop(ws, None)
            await self._notify()

    async def _answer(self, ws: ServerConnection, text: str) -> None:
        if self.venue == "okx":
            if text == "ping":
                await ws.send("pong")
                return
            request = json.loads(text)
            if request.get("op") == "subscribe":
                for arg in request["args"]:
                    await ws.send(
                        json.dumps({"event": "subscribe", "arg": arg, "connId": "a4d3ae55"})
                    )
                self.clients[ws].add("*")
                self.subscriptions += 1
                await self._resend(ws)
            return
        if self.venue == "bybit":
            request = json.loads(text)
            conn_id = str(uuid.uuid4())
            if request.get("op") == "ping":
                await ws.send(
                    json.dumps(
                        {
                            "success": True,
                            "ret_msg": "pong",
                            "conn_id": conn_id,
                            "req_id": "",
                            "op": "ping",
                        }
                    )
                )
            elif request.get("op") in ("subscribe", "unsubscribe"):
                good = [
                    a
                    for a in request["args"]
                    if a.removeprefix("allLiquidation.").removesuffix("USDT") in self.known
                ]
                bad = [a for a in request["args"] if a not in good]
                reply = {
                    "success": not bad,
                    "ret_msg": "",
                    "conn_id": conn_id,
                    "req_id": request.get("req_id", ""),
                    "op": request["op"],
                }
                if bad:
                    reply["ret_msg"] = f"error:handler not found,topic:{bad[0]}"
                first = request["op"] == "subscribe" and not self.clients[ws]
                if request["op"] == "subscribe":
                    self.clients[ws].update(good)
                    if good:
                        self.subscriptions += 1
                else:
                    self.clients[ws].difference_update(request["args"])
                await ws.send(json.dumps(reply))
                if first and good:
                    await self._resend(ws)

    async def _resend(self, ws: ServerConnection) -> None:
        """After a REconnect, the venue pushes its last frames again."""
        if self.resend_on_subscribe and self.connections > 1:
            for frame in self.pushed[-self.resend_on_subscribe :]:
                await ws.send(frame)

    # ---- pushing ---------------------------------------------------------------------------

    def _topic_of(self, frame: str) -> str:
        if self.venue != "bybit":
            return "*"
        try:
            return json.loads(frame).get("topic", "*")
        except ValueError:
            return "*"

    async def push(self, body: dict | list) -> int:
        """Send one venue frame to every client subscribed to it; returns how many got it."""
        frame = json.dumps(body)
        self.pushed.append(frame)
        return await self.push_text(frame, record=False)

    async def push_text(self, frame: str, record: bool = False) -> int:
        if record:
            self.pushed.append(frame)
        topic = self._topic_of(frame)
        sent = 0
        for ws, topics in list(self.clients.items()):
            if topic in topics or "*" in topics or topic == "*":
                try:
                    await ws.send(frame)
                    sent += 1
                except Exception:  # noqa: BLE001
                    pass
        return sent

    async def drop(self, code: int = 1006) -> None:
        """Close every connection mid-stream (a network fault, the 24 h close, an upgrade)."""
        for ws in list(self.clients):
            ws.transport.abort() if code == 1006 else await ws.close(code)
        await self._notify()

    def subscribed_clients(self) -> int:
        return sum(1 for topics in self.clients.values() if topics)


# ---- frames as the venues send them ------------------------------------------------------------


def binance_frame(pair: str, side: str, qty: float, price: float, ts: int) -> dict:
    """`side`: the liquidation ORDER side, "SELL" (a long liquidated) or "BUY"."""
    return {
        "e": "forceOrder",
        "E": ts + 2,
        "o": {
            "s": pair,
            "S": side,
            "o": "LIMIT",
            "f": "IOC",
            "q": f"{qty}",
            "p": f"{price * 0.996}",
            "ap": f"{price}",
            "X": "FILLED",
            "l": f"{qty}",
            "z": f"{qty}",
            "T": ts,
        },
    }


def bybit_frame(pair: str, items: list[tuple[str, float, float, int]], ts: int) -> dict:
    """items: (S — the POSITION side, "Buy" = a long liquidated — , size, price, T)."""
    return {
        "topic": f"allLiquidation.{pair}",
        "type": "snapshot",
        "ts": ts,
        "data": [{"T": t, "s": pair, "S": s, "v": f"{v}", "p": f"{p}"} for s, v, p, t in items],
    }


def okx_frame(inst_id: str, details: list[tuple[str, str, float, float, int]]) -> dict:
    """details: (side — the ORDER side — , posSide, sz in contracts, bkPx, ts)."""
    family = inst_id.removesuffix("-SWAP")
    return {
        "arg": {"channel": "liquidation-orders", "instType": "SWAP"},
        "data": [
            {
                "details": [
                    {
                        "bkLoss": "0",
                        "bkPx": f"{px}",
                        "ccy": "",
                        "posSide": pos,
                        "side": side,
                        "sz": f"{sz}",
                        "ts": f"{ts}",
                    }
                    for side, pos, sz, px, ts in details
                ],
                "instFamily": family,
                "instId": inst_id,
                "instType": "SWAP",
                "uly": family,
            }
        ],
    }
