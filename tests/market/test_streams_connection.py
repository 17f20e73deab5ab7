"""The three streams against loopback venues that speak their protocols: subscribe, keep alive,
survive a disconnect mid-stream and a malformed frame, resubscribe, and record the gap."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime

from core.market.streams import VenueConnection
from core.market.streams.binance import Binance
from core.market.streams.bybit import Bybit
from core.market.streams.connection import backoff
from core.market.streams.okx import Okx
from tests.fakes.ws_venues import FakeVenue, binance_frame, bybit_frame, okx_frame
from tests.streams_helpers import RecordingSink, feeds

T = 1_767_225_600_000  # 2026-01-01 00:00 UTC, ms


async def test_binance_stream_survives_a_disconnect_and_a_malformed_frame(caplog):
    async with FakeVenue("binance", ping_interval=0.05) as venue:
        sink = RecordingSink()
        live = feeds([Binance(venue.url)], sink)
        await live.start()
        try:
            await venue.wait_for(lambda: venue.subscribed_clients() == 1)
            await venue.push(binance_frame("BTCUSDT", "SELL", 2.0, 90_000, T))
            await venue.push(binance_frame("DOGEUSDT", "SELL", 1e6, 0.1, T))  # not followed
            await sink.until(lambda: len(sink.prints) == 1)
            with caplog.at_level(logging.WARNING):
                await venue.push_text("{oops")
                await venue.push(binance_frame("ETHUSDT", "BUY", 10, 3_000, T + 5))
                await sink.until(lambda: len(sink.prints) == 2)
            assert [r for r in caplog.records if "malformed" in r.getMessage()] != []
            assert [(p.symbol, p.side) for p in sink.prints] == [("BTC", "long"), ("ETH", "short")]

            await venue.drop()  # mid-stream: the 24 h close, a network fault
            await sink.until(lambda: sink.count("started", "binance") >= 2)
            await venue.wait_for(lambda: venue.connections == 2 and venue.subscribed_clients() == 1)
            await venue.push(binance_frame("BTCUSDT", "SELL", 1.0, 89_000, T + 9000))
            await sink.until(lambda: len(sink.prints) == 3)
            # one gap from the start until connected, one from the drop until back
            assert sink.count("ended", "binance") >= 2
        finally:
            await live.stop()
        assert sink.events[-1][0] == "started"  # the stop opens a gap until the next start


async def test_bybit_subscribes_pings_follows_new_symbols_and_resubscribes(caplog):
    async with FakeVenue("bybit", resend_on_subscribe=1) as venue:
        sink = RecordingSink()
        bybit = Bybit(venue.url)
        bybit.ping_seconds = 0.05
        symbols = {"BTC", "NOPE"}
        live = feeds([bybit], sink, symbols)
        live.symbols_in_use = lambda: set(symbols)
        with caplog.at_level(logging.WARNING):
            await live.start()
            try:
                await venue.wait_for(lambda: venue.subscriptions >= 1)
                first = json.loads(next(f for f in venue.received if "subscribe" in f))
                assert first["op"] == "subscribe"
                assert set(first["args"]) == {"allLiquidation.BTCUSDT", "allLiquidation.NOPEUSDT"}
                await venue.wait_for(lambda: any('"ping"' in f for f in venue.received))
                await venue.push(bybit_frame("BTCUSDT", [("Buy", 1.5, 90_000, T)], T + 100))
                await sink.until(lambda: len(sink.prints) == 1)
                assert sink.prints[0].side == "long"  # Bybit: Buy = a long position liquidated
                assert any("handler not found" in r.getMessage() for r in caplog.records)

                symbols.add("ETH")  # a chat starts using ETH: followed without a restart
                live.refresh()
                await venue.wait_for(
                    lambda: any("allLiquidation.ETHUSDT" in f for f in venue.received)
                )
                await venue.push(bybit_frame("ETHUSDT", [("Sell", 3, 3_000, T + 1)], T + 200))
                await sink.until(lambda: len(sink.prints) == 2)

                await venue.drop()
                await venue.wait_for(lambda: venue.connections == 2 and venue.subscriptions >= 3)
                # the venue resent its last push after the reconnect: the sink sees it again,
                # and the store (tests/store/test_liquidations.py) counts it once
                await sink.until(lambda: len(sink.prints) == 3)
                assert sink.prints[2] == sink.prints[1]
                resubscribed = [json.loads(f) for f in venue.received if '"subscribe"' in f][-1]
                assert "allLiquidation.ETHUSDT" in resubscribed["args"]
            finally:
                await live.stop()


async def test_okx_sizes_by_contract_answers_ping_and_reconnects_on_notice():
    async with FakeVenue("okx") as venue:
        sink = RecordingSink()
        okx = Okx(venue.url, rest_url=venue.rest_url)
        okx.ping_seconds = 0.05
        live = feeds([okx], sink)
        await live.start()
        try:
            await venue.wait_for(lambda: venue.subscriptions == 1)
            assert venue.instrument_requests == 1
            await venue.wait_for(lambda: "ping" in venue.received)
            await venue.push(okx_frame("BTC-USDT-SWAP", [("sell", "long", 250, 90_000, T)]))
            await sink.until(lambda: len(sink.prints) == 1)
            (p,) = sink.prints
            assert (p.symbol, p.side, p.qty, p.usd) == ("BTC", "long", 2.5, 225_000)

            await venue.push({"event": "notice", "code": "64008", "msg": "upgrade", "connId": "a"})
            await venue.wait_for(lambda: venue.connections == 2 and venue.subscriptions == 2)
            await venue.push(okx_frame("BTC-USD-SWAP", [("buy", "short", 10, 100_000, T + 1)]))
            await sink.until(lambda: len(sink.prints) == 2)
            assert (sink.prints[1].side, sink.prints[1].usd) == ("short", 1000)
        finally:
            await live.stop()


async def test_a_venue_that_is_down_is_retried_with_backoff_and_its_gap_stays_open():
    sink = RecordingSink()
    attempts = []

    def refuse(url, **options):
        attempts.append(url)
        sink._changed.set()
        raise OSError("connection refused")

    connection = VenueConnection(
        Binance("ws://127.0.0.1:9"), sink, connect=refuse, backoff_first=0.001
    )
    sink.gap_started("binance", datetime.now(UTC), "starting")
    task = asyncio.create_task(connection.run())
    try:
        await sink.until(lambda: len(attempts) >= 4)
    finally:
        task.cancel()
    assert sink.count("ended", "binance") == 0  # no data ever came: the gap is still open
    assert 0.0005 <= backoff(0, 0.0, 0.001) <= backoff(3, 0.99, 0.001) <= 0.008
    assert backoff(30, 1.0) == 60.0  # capped at a minute
