"""Bybit v5 public linear `allLiquidation.{symbol}`: one topic per symbol, every liquidation.

Frames (tests/data/real/streams/bybit_*.json, from bybit-exchange/docs
docs/v5/websocket/public/all-liquidation.mdx and docs/v5/ws/connect):
- push `{"topic":"allLiquidation.ROSEUSDT","type":"snapshot","ts":ms,"data":[{"T":ms,
  "s":"ROSEUSDT","S":"Sell","v":"20000","p":"0.04499"}]}` every 500 ms, `data` an array;
- ack `{"success":true,"ret_msg":"","op":"subscribe",...}` (Spot says ret_msg "subscribe": key on
  op and success only); a refused topic: success false, ret_msg "error:handler not found,...";
- pong `{"success":true,"ret_msg":"pong","op":"ping",...}` (linear), or `{"op":"pong",...}`.

- Side, the opposite of Binance and OKX: `S` is the POSITION side. "When you receive a Buy update,
  this means that a long position has been liquidated": Buy → "long", Sell → "short".
- `v` is the size in base coin (linear), `p` the bankruptcy price. Coverage: "push all
  liquidations that occur on Bybit" ("full").
- Keepalive: send `{"op":"ping"}` every 20 s. Limits: the args of one connection may not exceed
  21,000 characters in all, so a connection carries as many symbols as fit (the rest are logged).
- The deprecated `liquidation.{symbol}` push (one object, long field names) is read too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection

from core.market.streams.base import (
    Malformed,
    Parsed,
    Venue,
    coin_of_pair,
    field_of,
    load_json,
    make_print,
    positive,
    when,
)

log = logging.getLogger(__name__)

SIDES = {"Buy": "long", "Sell": "short"}  # POSITION side (Bybit's docs) → the side liquidated
TOPIC = "allLiquidation."
ARGS_CHARS_MAX = 21_000  # "length of args array over 21,000 characters" per public connection
ARGS_PER_REQUEST = 100  # keep each request small (Spot's cap is 10; linear has none "for now")


def topic(symbol: str) -> str:
    return f"{TOPIC}{symbol}USDT"


class Bybit(Venue):
    name = "bybit"
    label = "Bybit"
    coverage = "full"
    path = "/v5/public/linear"
    per_symbol = True
    needs_ack = True
    ping_seconds = 20.0
    idle_seconds = 70.0  # pongs come every 20 s: a minute of silence is a dead connection

    def __init__(self, ws_url: str):
        super().__init__(ws_url)
        self._requests = 0

    def ping_frame(self) -> str:
        return json.dumps({"op": "ping"})

    def limit_symbols(self, symbols: list[str]) -> list[str]:
        kept, used = [], 2  # the brackets
        for symbol in symbols:
            cost = len(json.dumps(topic(symbol))) + 2  # with the ", " between args
            if used + cost > ARGS_CHARS_MAX:
                log.warning(
                    "bybit: %d symbols do not fit one connection's subscriptions; following %d",
                    len(symbols),
                    len(kept),
                )
                break
            kept.append(symbol)
            used += cost
        return kept

    def _frames(self, op: str, symbols: Collection[str]) -> list[str]:
        args = [topic(s) for s in sorted(symbols)]
        frames = []
        for start in range(0, len(args), ARGS_PER_REQUEST):
            self._requests += 1
            frames.append(
                json.dumps(
                    {
                        "req_id": str(self._requests),
                        "op": op,
                        "args": args[start : start + ARGS_PER_REQUEST],
                    }
                )
            )
        return frames

    def subscribe_frames(self, symbols: Collection[str]) -> list[str]:
        return self._frames("subscribe", symbols)

    def unsubscribe_frames(self, symbols: Collection[str]) -> list[str]:
        return self._frames("unsubscribe", symbols)

    def parse(self, frame: str | bytes) -> Parsed:
        body = load_json(frame)
        if not isinstance(body, dict):
            raise Malformed("not an object")
        op = body.get("op")
        if op in ("ping", "pong"):
            return Parsed(control=True)
        if op in ("subscribe", "unsubscribe"):
            if body.get("success") is False:
                return Parsed(control=True, rejected=str(body.get("ret_msg", ""))[:200])
            return Parsed(control=True, subscribed=op == "subscribe")
        name = body.get("topic")
        if not isinstance(name, str):
            raise Malformed("neither a reply nor a topic push")
        data = field_of(body, "data")
        parsed = Parsed()
        if name.startswith(TOPIC):
            if not isinstance(data, list):
                raise Malformed("allLiquidation data is not an array")
            for item in data:
                self._add(parsed, item, "s", "S", "v", "p", ("T",))
        elif name.startswith("liquidation."):  # the deprecated topic: one object
            self._add(
                parsed, data, "symbol", "side", "size", "price", ("updatedTime", "updateTime")
            )
        else:
            return Parsed(control=True)  # a topic we did not ask for
        return parsed

    def _add(self, parsed: Parsed, item, sym, side_key, size, price, times) -> None:
        if not isinstance(item, dict):
            raise Malformed("a liquidation is not an object")
        side = SIDES.get(field_of(item, side_key))
        if side is None:
            raise Malformed(f"unknown side {str(item.get(side_key))[:10]!r}")
        coin = coin_of_pair(field_of(item, sym))
        if coin is None:
            return
        stamp = next((item[t] for t in times if t in item), None)
        parsed.prints.append(
            make_print(
                self.name,
                coin,
                side,
                positive(field_of(item, price), "price"),
                positive(field_of(item, size), "size"),
                when(stamp),
            )
        )
