"""Each venue's liquidation frames read the way the venue's own documentation says, from the
recorded frames in tests/data/real/streams/ (sources cited in each file and in STREAMS.md)."""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.market.streams.base import Malformed
from core.market.streams.binance import Binance
from core.market.streams.bybit import Bybit
from core.market.streams.okx import Contract, Okx

REAL = Path(__file__).resolve().parents[1] / "data" / "real" / "streams"


def body(name: str):
    raw = json.loads((REAL / name).read_text())["body"]
    if isinstance(raw, str) and raw.startswith("{'"):  # a Python repr quoted by the source
        return json.dumps(ast.literal_eval(raw))
    return raw if isinstance(raw, str) else json.dumps(raw)


def test_binance_sell_liquidation_order_means_a_long_was_liquidated():
    (p,) = Binance("wss://x").parse(body("binance_forceorder.json")).prints
    assert (p.venue, p.symbol, p.side) == ("binance", "BTC", "long")
    assert p.qty == pytest.approx(0.014) and p.price == pytest.approx(9910)
    assert p.usd == pytest.approx(0.014 * 9910)
    assert p.at == datetime.fromtimestamp(1568014460.893, UTC)


def test_binance_live_frame_uses_the_average_fill_price():
    (p,) = Binance("wss://x").parse(body("binance_forceorder_live.json")).prints
    assert p.side == "long" and p.price == pytest.approx(26245.10)
    assert p.usd == pytest.approx(0.115 * 26245.10)


def test_binance_buy_order_is_a_short_liquidated_and_combined_stream_is_unwrapped():
    event = json.loads(body("binance_forceorder.json"))
    event["o"]["S"] = "BUY"
    wrapped = json.dumps({"stream": "!forceOrder@arr", "data": event})
    (p,) = Binance("wss://x").parse(wrapped).prints
    assert p.side == "short"


def test_binance_dated_contracts_are_not_counted_as_the_perpetual():
    event = json.loads(body("binance_forceorder.json"))
    event["o"]["s"] = "BTCUSDT_250328"
    assert Binance("wss://x").parse(json.dumps(event)).prints == []


def test_bybit_buy_is_the_position_side_so_a_long_was_liquidated():
    # Bybit's docs: "When you receive a Buy update, this means that a long position has been
    # liquidated". The docs' example is a Sell: a SHORT was liquidated.
    (p,) = Bybit("wss://x").parse(body("bybit_allliquidation_push.json")).prints
    assert (p.venue, p.symbol, p.side) == ("bybit", "ROSE", "short")
    assert p.qty == 20000 and p.price == pytest.approx(0.04499)
    frame = json.loads(body("bybit_allliquidation_push.json"))
    frame["data"][0]["S"] = "Buy"
    (p,) = Bybit("wss://x").parse(json.dumps(frame)).prints
    assert p.side == "long"


def test_bybit_deprecated_topic_reads_the_same_way():
    (p,) = Bybit("wss://x").parse(body("bybit_liquidation_legacy_push.json")).prints
    assert (p.symbol, p.side, p.qty) == ("BTC", "short", 0.003)


def test_bybit_acks_and_pongs_are_control_frames():
    venue = Bybit("wss://x")
    assert venue.parse(body("bybit_subscribe_ack.json")).subscribed
    assert venue.parse(body("bybit_subscribe_ack_spot.json")).subscribed
    pong = venue.parse(body("bybit_pong.json"))
    assert pong.control and not pong.prints and not pong.subscribed
    refused = json.dumps(
        {
            "success": False,
            "ret_msg": "error:handler not found,topic:allLiquidation.XUSDT",
            "op": "subscribe",
        }
    )
    assert "handler not found" in venue.parse(refused).rejected


def test_bybit_subscriptions_fit_the_per_connection_args_limit():
    venue = Bybit("wss://x")
    many = [f"COIN{n}" for n in range(2000)]
    kept = venue.limit_symbols(many)
    args = [f"allLiquidation.{s}USDT" for s in kept]
    assert len(json.dumps(args)) <= 21_000 < len(json.dumps(args + ["allLiquidation.MOREUSDT"]))
    frames = [json.loads(f) for f in venue.subscribe_frames(kept)]
    assert sum(len(f["args"]) for f in frames) == len(kept)
    assert all(f["op"] == "subscribe" for f in frames)


def okx() -> Okx:
    venue = Okx("wss://x")
    venue.contracts = {
        "IOST-USDT-SWAP": Contract(1000, False),
        "APT-USDT-SWAP": Contract(1, False),
        "BTC-USD-SWAP": Contract(100, True),
    }
    return venue


def test_okx_docs_example_is_a_short_liquidated_sized_in_contracts():
    (p,) = okx().parse(body("okx_liquidation_orders_push.json")).prints
    assert (p.venue, p.symbol, p.side) == ("okx", "IOST", "short")
    assert p.qty == pytest.approx(13 * 1000)  # 13 contracts × ctVal 1000
    assert p.usd == pytest.approx(13 * 1000 * 0.007831)
    assert p.at == datetime.fromtimestamp(1692266434.010, UTC)


def test_okx_live_element_is_a_long_liquidated():
    element = json.loads(body("okx_liquidation_orders_live.json"))
    push = {"arg": {"channel": "liquidation-orders", "instType": "SWAP"}, "data": [element]}
    (p,) = okx().parse(json.dumps(push)).prints
    assert (p.symbol, p.side, p.qty) == ("APT", "long", 86)


def test_okx_net_mode_reads_the_side_from_the_order_and_inverse_sizes_are_usd():
    push = json.loads(body("okx_liquidation_orders_push.json"))
    detail = push["data"][0]["details"][0]
    detail.update(posSide="net", side="sell", sz="5", bkPx="90000")
    push["data"][0]["instId"] = "BTC-USD-SWAP"
    (p,) = okx().parse(json.dumps(push)).prints
    assert (p.symbol, p.side) == ("BTC", "long")
    assert p.usd == pytest.approx(500) and p.qty == pytest.approx(500 / 90000)


def test_okx_control_frames():
    venue = okx()
    assert venue.parse(body("okx_pong.json")).control
    assert venue.parse(body("okx_subscribe_ack.json")).subscribed
    assert venue.parse(body("okx_notice_64008.json")).reconnect
    assert venue.parse(body("okx_error_event.json")).rejected.startswith("60012")


def test_okx_unknown_contract_is_skipped_not_guessed():
    push = json.loads(body("okx_liquidation_orders_push.json"))
    push["data"][0]["instId"] = "NEW-USDT-SWAP"
    assert okx().parse(json.dumps(push)).prints == []


@pytest.mark.parametrize(
    "venue, frame",
    [
        (Binance("wss://x"), "{not json"),
        (Binance("wss://x"), '{"e":"forceOrder","E":1,"o":{"s":"BTCUSDT","S":"SELL","q":"-1"}}'),
        (Bybit("wss://x"), '{"topic":"allLiquidation.BTCUSDT","data":{"oops":1}}'),
        (Bybit("wss://x"), '{"topic":"allLiquidation.BTCUSDT","data":[{"s":"BTCUSDT","S":"Up"}]}'),
        (
            okx(),
            '{"arg":{"channel":"liquidation-orders"},"data":[{"instId":"IOST-USDT-SWAP",'
            '"details":[{"side":"buy","posSide":"short","sz":"x","bkPx":"1","ts":"1"}]}]}',
        ),
        (okx(), "[1, 2]"),
    ],
)
def test_malformed_frames_raise_malformed(venue, frame):
    with pytest.raises(Malformed):
        venue.parse(frame)
