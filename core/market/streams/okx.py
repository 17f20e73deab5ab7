"""OKX v5 public `liquidation-orders` (instType SWAP): every swap's liquidation orders, one stream.

Frames (tests/data/real/streams/okx_*.json, from okx.com/docs-v5/en/#public-data-websocket-
liquidation-orders-channel and a live element in ccxt/ccxt#23451):
- push `{"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"instId":
  "BTC-USDT-SWAP","details":[{"side":"buy","posSide":"short","sz":"13","bkPx":"0.007831",
  "ts":"1692266434010",...}],...}]}`: every field a string;
- ack `{"event":"subscribe","arg":{...}}`, error `{"event":"error","code":"60018","msg":..}`,
  notice `{"event":"notice","code":"64008",...}` ("reconnect": a service upgrade in 60 s);
- keepalive: the text frame 'ping', answered by the text 'pong' (not JSON), sent well inside the
  30 s after which OKX drops a silent connection.

- Side: `side` is the ORDER side, `posSide` the position's: long/short in hedge mode; "net" in net
  mode, then the order side says it (a forced sell closes a long). So posSide long (or net+sell)
  → "long" liquidated, posSide short (or net+buy) → "short".
- Size: `sz` is in CONTRACTS: × the instrument's `ctVal` (GET /api/v5/public/instruments
  ?instType=SWAP). Linear contracts count `ctVal` coins; inverse ones `ctVal` USD.
- Coverage: "This data doesn't represent the total number of liquidations on OKX" ("partial").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from dataclasses import dataclass

import httpx

from core.market.streams.base import (
    Malformed,
    Parsed,
    Venue,
    field_of,
    load_json,
    positive,
    when,
)
from core.types import LiqPrint

log = logging.getLogger(__name__)

SUBSCRIBE = '{"op":"subscribe","args":[{"channel":"liquidation-orders","instType":"SWAP"}]}'
RELOAD_SECONDS = 3600.0  # contract sizes change rarely
UNKNOWN_RELOAD_SECONDS = 300.0  # a print of an unknown instrument: reload, at most this often


@dataclass(frozen=True)
class Contract:
    value: float  # ctVal
    in_usd: bool  # inverse: ctVal is USD; linear: ctVal is coins


def coin_of_instrument(inst_id: object) -> str | None:
    """`BTC-USDT-SWAP`, `BTC-USDC-SWAP`, `BTC-USD-SWAP` → `BTC`."""
    if not isinstance(inst_id, str):
        return None
    parts = inst_id.split("-")
    if len(parts) != 3 or parts[2] != "SWAP" or parts[1] not in ("USDT", "USDC", "USD"):
        return None
    coin = parts[0]
    return coin if coin.isalnum() and coin.isupper() else None


class Okx(Venue):
    name = "okx"
    label = "OKX"
    coverage = "partial"
    path = "/ws/v5/public"
    needs_ack = True
    ping_seconds = 20.0
    idle_seconds = 60.0

    def __init__(self, ws_url: str, rest_url: str = "https://www.okx.com", timeout: float = 10.0):
        super().__init__(ws_url)
        self.rest_url = rest_url.rstrip("/")
        self.timeout = timeout
        self.contracts: dict[str, Contract] = {}
        self._loaded_at: float | None = None
        self._unknown: set[str] = set()

    async def prepare(self) -> None:
        fresh = self._loaded_at is not None and time.monotonic() - self._loaded_at < RELOAD_SECONDS
        if fresh and not self._unknown:
            return
        try:
            self.contracts = await self._load_contracts()
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            if not self.contracts:
                raise ConnectionError(f"OKX contract sizes unavailable: {exc}") from exc
            log.warning("okx: contract sizes not refreshed (%s); keeping the last ones", exc)
        self._loaded_at = time.monotonic()
        self._unknown.clear()

    async def maintain(self) -> None:
        """A live connection can last a day: reload the contract sizes hourly, and within
        UNKNOWN_RELOAD_SECONDS of a print of an instrument not known yet (a new listing)."""
        age = time.monotonic() - (self._loaded_at or 0.0)
        if age >= RELOAD_SECONDS or (self._unknown and age >= UNKNOWN_RELOAD_SECONDS):
            await self.prepare()

    async def _load_contracts(self) -> dict[str, Contract]:
        url = f"{self.rest_url}/api/v5/public/instruments"
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            reply = await client.get(url, params={"instType": "SWAP"})
        reply.raise_for_status()
        body = reply.json()
        if str(body.get("code")) != "0":
            raise ValueError(f"code {body.get('code')}: {str(body.get('msg'))[:80]}")
        contracts = {}
        for row in body["data"]:
            try:
                value = positive(row.get("ctVal"), "ctVal")
            except Malformed:
                continue
            in_usd = row.get("ctType") == "inverse" or row.get("ctValCcy") == "USD"
            contracts[str(row.get("instId"))] = Contract(value, in_usd)
        if not contracts:
            raise ValueError("no instruments")
        return contracts

    def ping_frame(self) -> str:
        return "ping"

    def subscribe_frames(self, symbols: Collection[str]) -> list[str]:
        return [SUBSCRIBE]

    def parse(self, frame: str | bytes) -> Parsed:
        if frame == "pong" or frame == b"pong":
            return Parsed(control=True)
        body = load_json(frame)
        if not isinstance(body, dict):
            raise Malformed("not an object")
        event = body.get("event")
        if event is not None:
            code = str(body.get("code", ""))
            if event == "subscribe":
                return Parsed(control=True, subscribed=True)
            if event == "error":
                return Parsed(control=True, rejected=f"{code} {str(body.get('msg', ''))[:200]}")
            if event == "notice" and code == "64008":
                return Parsed(control=True, reconnect="OKX service upgrade (64008)")
            return Parsed(control=True)  # channel-conn-count and other notices
        arg = body.get("arg")
        if not isinstance(arg, dict) or arg.get("channel") != "liquidation-orders":
            raise Malformed("a push of another channel")
        data = field_of(body, "data")
        if not isinstance(data, list):
            raise Malformed("data is not an array")
        parsed = Parsed()
        for item in data:
            inst_id = field_of(item, "instId")
            coin = coin_of_instrument(inst_id)
            details = field_of(item, "details")
            if coin is None:
                continue
            if not isinstance(details, list):
                raise Malformed("details is not an array")
            contract = self.contracts.get(inst_id)
            if contract is None:
                if inst_id not in self._unknown:
                    self._unknown.add(inst_id)
                    log.warning("okx: no contract size for %s yet; its prints are skipped", inst_id)
                continue
            for detail in details:
                parsed.prints.append(self._print(coin, contract, detail))
        return parsed

    def _print(self, coin: str, contract: Contract, detail: object) -> LiqPrint:
        if not isinstance(detail, dict):
            raise Malformed("a detail is not an object")
        pos_side, order_side = detail.get("posSide"), detail.get("side")
        if pos_side in ("long", "short"):
            side = pos_side
        elif order_side in ("sell", "buy"):  # net mode: a forced sell closes a long
            side = "long" if order_side == "sell" else "short"
        else:
            raise Malformed(f"no side in {str(detail)[:60]}")
        price = positive(field_of(detail, "bkPx"), "bkPx")
        contracts = positive(field_of(detail, "sz"), "sz")
        if contract.in_usd:
            usd = contracts * contract.value
            qty = usd / price
        else:
            qty = contracts * contract.value
            usd = qty * price
        return LiqPrint(self.name, coin, side, price, qty, usd, when(field_of(detail, "ts")))
