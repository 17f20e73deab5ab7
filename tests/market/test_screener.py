"""The screener: the most traded perpetuals found on the (fake) exchange, ranked by their maps."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.__main__ import main
from core.market.screener import Screener, ScreenRow, rank, universe_from
from core.market.snapshots import SnapshotCache
from core.market.sources import make_source
from core.market.sources.binance import BinanceClient
from tests.fakes.exchange import FakeExchange, RecordingSleep
from tests.fakes.exchange_universe import EXCHANGE_INFO, TICKER_24H

REAL = "tests/data/real/binance"
NOW = datetime(2025, 1, 5, tzinfo=UTC)


def real_body(name: str):
    with open(f"{REAL}/{name}.json") as f:
        return json.load(f)["body"]


def row(symbol, ratio, longs=1e6, shorts=1e6, near=None) -> ScreenRow:
    return ScreenRow(symbol, 100.0, ratio, longs, shorts, near, NOW)


def test_the_universe_is_read_from_the_recorded_exchange_info_and_tickers():
    info = real_body("exchange_info_trimmed")
    ticker = real_body("ticker_24hr_btcusdt")
    eth = dict(ticker, symbol="ETHUSDT", quoteVolume="30000000000.0")
    stray = dict(ticker, symbol="BTCUSDT_250328", quoteVolume="9e12")  # a dated future
    assert universe_from(info, [ticker, eth, stray], 30) == ["ETH", "BTC"]
    assert universe_from(info, [ticker, eth], 1) == ["ETH"]


def test_ranking_orders_as_each_trader_asks():
    rows = [
        row("AAA", 0.5, longs=9e6, near=-4.0),
        row("BBB", 2.5, shorts=9e6, near=0.5),
        row("CCC", None, longs=0.0, near=None),
        row("DDD", 1.2, longs=3e6, shorts=3e6, near=-1.0),
    ]
    assert [r.symbol for r in rank(rows, "ratio", 10)] == ["BBB", "DDD", "AAA", "CCC"]
    assert [r.symbol for r in rank(rows, "longs", 2)] == ["AAA", "DDD"]
    assert [r.symbol for r in rank(rows, "shorts", 1)] == ["BBB"]
    assert [r.symbol for r in rank(rows, "near", 10)] == ["BBB", "DDD", "AAA", "CCC"]


@pytest.fixture(name="market")
def market_fixture():
    with FakeExchange() as fake:
        fake.add_symbol("SOL", 210.0, oi_usd=2e9)
        fake.add_symbol("DOGE", 0.31, oi_usd=1e9)
        fake.volume_scale.update(BTC=50, ETH=20, SOL=5, DOGE=1)
        fake.listings_extra.append({"coin": "OLD", "status": "SETTLING"})
        fake.listings_extra.append({"coin": "BTC250328", "contractType": "CURRENT_QUARTER"})
        yield fake


async def test_the_universe_is_the_most_traded_trading_perpetuals_found_once_a_day(market):
    cfg = market.config("estimate", estimator={"days": 2})
    clock = [datetime.now(UTC)]
    source = make_source(cfg)
    client = BinanceClient.from_config(cfg)
    try:
        screener = Screener(SnapshotCache(source), client, size=3, clock=lambda: clock[0])
        assert await screener.universe() == ["BTC", "ETH", "SOL"]
        await screener.universe()
        clock[0] += timedelta(hours=23)
        await screener.universe()
        assert (market.count(EXCHANGE_INFO), market.count(TICKER_24H)) == (1, 1)
        clock[0] += timedelta(hours=2)
        await screener.universe()
        assert (market.count(EXCHANGE_INFO), market.count(TICKER_24H)) == (2, 2)
    finally:
        await client.aclose()
        await source.aclose()


async def test_a_failed_discovery_keeps_the_last_universe(market):
    cfg = market.config("estimate", estimator={"days": 2})
    clock = [datetime.now(UTC)]
    source = make_source(cfg)
    client = BinanceClient.from_config(cfg, sleep=RecordingSleep())  # its backoffs: no waiting
    try:
        screener = Screener(SnapshotCache(source), client, size=2, clock=lambda: clock[0])
        assert await screener.universe() == ["BTC", "ETH"]
        clock[0] += timedelta(days=1)
        market.fail(EXCHANGE_INFO, 503, times=10)
        assert await screener.universe() == ["BTC", "ETH"]
    finally:
        await client.aclose()
        await source.aclose()


def test_cli_top_json_is_the_contract_sorted_as_asked(market, tmp_path, capsys, monkeypatch):
    cfg_file = tmp_path / "config.toml"
    cfg_file.write_text(
        f'[data]\nsource = "estimate"\nvenues = ["binance"]\n'  # the fake is Binance only
        f'[sources.binance]\nbase_url = "{market.url}"\n'
        '[estimator]\ndays = 1\ninterval = "15m"\n[screener]\nsize = 4\n'
    )
    assert main(["top", "--config", str(cfg_file), "--by", "shorts", "--limit", "3", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 3
    assert set(rows[0]) == {
        "symbol", "price", "ratio", "long_below_usd", "short_above_usd", "nearest_zone_pct"
    }  # fmt: skip
    shorts = [r["short_above_usd"] for r in rows]
    assert shorts == sorted(shorts, reverse=True)
    assert {r["symbol"] for r in rows} <= {"BTC", "ETH", "SOL", "DOGE"}
