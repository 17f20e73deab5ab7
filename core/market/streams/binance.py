"""Binance USD-M `!forceOrder@arr`: every symbol's liquidations on one stream.

Frames (tests/data/real/streams/binance_forceorder*.json, from developers.binance.com
…/websocket-market-streams/All-Market-Liquidation-Order-Streams and a live frame in c9s/bbgo#1232):
`{"e":"forceOrder","E":ms,"o":{"s":"BTCUSDT","S":"SELL","q":"0.014","p":"9910","ap":"9910",
"X":"FILLED","l":"0.014","z":"0.014","T":ms}}`, or wrapped as `{"stream":..,"data":..}` on a
combined stream.

- Side: `o.S` is the side of the liquidation ORDER. A forced SELL closes a long: SELL → "long"
  liquidated, BUY → "short" liquidated.
- Size and price: `z` (filled so far) in base coin, else `q`; the average fill price `ap`, else
  the order price `p` (the IOC limit sits at the bankruptcy side of the fills).
- Coverage: "For each symbol, only the latest one liquidation order within 1000ms will be pushed
  as the snapshot": totals are a lower bound, labelled "sampled".
- Keepalive: the server pings every 3 minutes and wants a pong within 10 (the websockets library
  answers pings itself); a connection lives at most 24 h, then the venue closes it and we reconnect.
- No subscribe message: the stream is in the URL (at most 10 incoming messages/s, so none sent).
"""

from __future__ import annotations

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

SIDES = {"SELL": "long", "BUY": "short"}  # liquidation order side → the side liquidated


class Binance(Venue):
    name = "binance"
    label = "Binance"
    coverage = "sampled"
    path = "/ws/!forceOrder@arr"

    def parse(self, frame: str | bytes) -> Parsed:
        body = load_json(frame)
        if isinstance(body, dict) and "data" in body and "stream" in body:
            body = body["data"]  # combined-stream wrapper
        events = body if isinstance(body, list) else [body]
        parsed = Parsed()
        for event in events:
            if not isinstance(event, dict):
                raise Malformed("an event is not an object")
            if event.get("e") != "forceOrder":
                if "result" in event and "id" in event:  # a reply to a (never sent) request
                    parsed.control = True
                    continue
                raise Malformed(f"unexpected event {str(event.get('e'))[:30]!r}")
            order = field_of(event, "o")
            side = SIDES.get(field_of(order, "S"))
            if side is None:
                raise Malformed(f"unknown side {str(order.get('S'))[:10]!r}")
            coin = coin_of_pair(field_of(order, "s"))
            if coin is None:
                continue  # a dated contract (BTCUSDT_250328) or another quote: not ours
            qty = _first_positive(order, ("z", "q"), "size")
            price = _first_positive(order, ("ap", "p"), "price")
            at = when(order.get("T", event.get("E")))
            parsed.prints.append(make_print(self.name, coin, side, price, qty, at))
        return parsed


def _first_positive(order: dict, keys: tuple[str, ...], what: str) -> float:
    for key in keys:
        try:
            return positive(order.get(key), what)
        except Malformed:
            continue
    raise Malformed(f"no usable {what} in {keys}")
