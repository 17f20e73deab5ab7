"""The free estimate source over the loopback fake, and the factory that picks sources."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import numpy as np
import pytest

from core.kernel.errors import SourceRejected, SourceUnavailable, UnknownSymbol
from core.market.estimator import EstimatorParams, estimate_map
from core.market.sources import CoinglassSource, EstimateSource, make_source
from core.market.sources.binance import DAY_MS, BinanceClient, Kline, OpenInterestPoint
from core.market.sources.estimate import align_candles, levels_by_side
from tests.fakes.exchange import (  # noqa: F401  (exchange_fixture: the `exchange` fixture)
    KLINES,
    OPEN_INTEREST,
    PREMIUM_INDEX,
    FakeExchange,
    exchange_fixture,
)

FIVE_MIN = 300_000


async def test_default_source_builds_a_btc_map_from_public_data(exchange):
    source = make_source(exchange.config("estimate"))
    snapshot = await source.snapshot("btc")
    await source.aclose()
    price = exchange.price("BTC")
    assert (snapshot.symbol, snapshot.source, snapshot.price) == ("BTC", "estimate", price)
    assert all(lv.long_usd == 0 for lv in snapshot.levels if lv.price > price)
    assert all(lv.short_usd == 0 for lv in snapshot.levels if lv.price < price)
    assert sum(lv.long_usd for lv in snapshot.levels) > 0  # open interest rose over the week
    assert sum(lv.short_usd for lv in snapshot.levels) > 0
    assert [lv.price for lv in snapshot.levels] == sorted(lv.price for lv in snapshot.levels)
    context = snapshot.context
    assert context is not None and context.low_7d <= price <= context.high_7d


async def test_btc_levels_sit_on_round_100_dollar_buckets(exchange):
    source = make_source(exchange.config("estimate"))
    snapshot = await source.snapshot("BTC")
    await source.aclose()
    assert snapshot.levels
    assert all(lv.price % 100 == 0 for lv in snapshot.levels)


async def test_the_map_never_holds_more_than_the_open_interest_that_was_added(exchange):
    source = make_source(exchange.config("estimate"))
    snapshot = await source.snapshot("BTC")
    await source.aclose()
    now = int(datetime.now(UTC).timestamp() * 1000)
    client = BinanceClient(exchange.url)
    history = await client.open_interest_between("BTC", "5m", now - 7 * DAY_MS, now)
    await client.aclose()
    added_usd = sum(max(0.0, b.usd - a.usd) for a, b in pairwise(history))
    # the model counts open interest in coins when the estimator takes them, valued at the price
    added_coins = sum(max(0.0, b.contracts - a.contracts) * b.usd / b.contracts
                      for a, b in pairwise(history))  # fmt: skip
    mapped = sum(lv.long_usd + lv.short_usd for lv in snapshot.levels)
    assert 0 < mapped <= max(added_usd, added_coins) * 1.01  # a close is not the sampled price


async def test_the_default_30_days_of_5m_data_are_fetched_in_pages_within_binance_limits(exchange):
    source = make_source(exchange.config("estimate"))
    await source.snapshot("BTC")
    await source.aclose()
    now = int(datetime.now(UTC).timestamp() * 1000)
    kline_pages, oi_pages = exchange.requests(KLINES), exchange.requests(OPEN_INTEREST)
    # 8,640 candles: 5 pages of 1,500 + 1,140; open interest in 18 pages of at most 500
    assert len(kline_pages) == 6 and len(oi_pages) == 18
    for page in kline_pages + oi_pages:
        assert page.query.get("interval", page.query.get("period")) == "5m"
    assert all(int(p.query["limit"]) <= 1500 for p in kline_pages)
    assert all(int(p.query["limit"]) <= 500 for p in oi_pages)
    # Binance keeps 30 days of open interest: that history starts a few minutes inside them.
    for pages, slack in ((kline_pages, FIVE_MIN), (oi_pages, 3 * FIVE_MIN)):
        starts = sorted(int(p.query["startTime"]) for p in pages)
        assert starts[0] <= now - 30 * DAY_MS + slack


async def test_asking_again_for_a_symbol_downloads_only_the_latest_rows(exchange):
    source = make_source(exchange.config("estimate"))
    await source.snapshot("BTC")
    exchange.reset_counts()
    again = await source.snapshot("BTC")
    await source.aclose()
    assert again.symbol == "BTC" and again.levels
    assert exchange.count(KLINES) == 1 and exchange.count(OPEN_INTEREST) <= 1
    assert exchange.total_requests() <= 3  # instead of 24 for the whole 30 days


async def test_days_and_interval_come_from_the_config(exchange):
    config = exchange.config("estimate", estimator={"days": 2, "interval": "15m"})
    source = make_source(config)
    snapshot = await source.snapshot("ETH")
    await source.aclose()
    assert snapshot.symbol == "ETH" and snapshot.levels
    assert {p.query["interval"] for p in exchange.requests(KLINES)} >= {"15m", "1h"}
    assert exchange.count(KLINES) == 2  # one page of 15m candles, one of hourly for the context


async def test_an_unknown_coin_fails_fast_with_one_request(exchange):
    source = make_source(exchange.config("estimate"))
    with pytest.raises(UnknownSymbol, match="DOGGO"):
        await source.snapshot("DOGGO")
    await source.aclose()
    assert exchange.count(PREMIUM_INDEX) == 1
    assert exchange.count(KLINES) == exchange.count(OPEN_INTEREST) == 0


async def test_binance_down_makes_the_estimate_unavailable(exchange):
    exchange.fail(OPEN_INTEREST, 503, times=50)
    source = EstimateSource(BinanceClient(exchange.url, sleep=_no_wait), days=1)
    with pytest.raises(SourceUnavailable, match="Binance"):
        await source.snapshot("BTC")
    await source.aclose()


async def test_the_model_runs_off_the_event_loop(exchange):
    threads: list[threading.Thread] = []

    def recording_estimator(candles, params):
        threads.append(threading.current_thread())
        return estimate_map(candles, params)

    source = EstimateSource(BinanceClient(exchange.url), days=1, estimator=recording_estimator)
    await source.snapshot("BTC")
    await source.aclose()
    assert threads and threads[0] is not threading.main_thread()


async def test_candles_for_alerts_come_from_the_same_exchange(exchange):
    source = make_source(exchange.config("estimate"))
    exchange.set_price("BTC", 101_000)
    candles = await source.candles("BTC", datetime.now(UTC) - timedelta(minutes=3))
    await source.aclose()
    assert candles and max(c.high for c in candles) == 101_000


def test_factory_picks_each_source_by_name(exchange):
    assert isinstance(make_source(exchange.config("estimate")), EstimateSource)
    assert isinstance(make_source(exchange.config("coinglass")), CoinglassSource)
    config = exchange.config("coinglass")
    config.set("sources.coinglass", "api_key", "")
    with pytest.raises(SourceRejected, match="COINGLASS_API_KEY"):
        make_source(config)


async def test_factory_builds_the_replay_source_from_its_file(exchange):
    from core.market.sources.replay import SAMPLE_PATH

    config = exchange.config("estimate")
    config.set("sources.replay", "path", str(SAMPLE_PATH))
    config.set("data", "source", "replay")
    source = make_source(config)
    snapshot = await source.snapshot("BTC")
    await source.aclose()
    assert snapshot.source == "replay" and snapshot.sample


def test_each_candle_carries_the_open_interest_at_its_close():
    klines = [_kline(t, quote=1000.0, taker=600.0) for t in (0, FIVE_MIN, 2 * FIVE_MIN)]
    klines.append(_kline(3 * FIVE_MIN, quote=0.0, taker=0.0))
    points = [OpenInterestPoint(t, 1.0, usd) for t, usd in ((FIVE_MIN, 10.0), (2 * FIVE_MIN, 12.0))]
    points.append(OpenInterestPoint(4 * FIVE_MIN, 1.0, 15.0))
    candles = align_candles(klines, points, FIVE_MIN)
    # candle 0 closes at 5m (OI 10), candle 1 at 10m (OI 12); candle 2 has no sample at its close
    assert candles.open_time_ms.tolist() == [0, FIVE_MIN, 3 * FIVE_MIN]
    assert candles.oi_usd.tolist() == [10.0, 12.0, 15.0]
    assert candles.taker_buy_share.tolist() == [0.6, 0.6, 0.5]  # no volume: no side known


def test_levels_keep_longs_below_and_shorts_above_the_mark_price():
    prices = np.array([99.0, 100.0, 101.0])
    levels = levels_by_side(prices, np.array([5.0, 3.0, 2.0]), np.array([1.0, 4.0, 7.0]), 100.0)
    assert [(lv.price, lv.long_usd, lv.short_usd) for lv in levels] == [
        (99.0, 5.0, 0.0),
        (101.0, 0.0, 7.0),
    ]


def test_config_estimator_section_reaches_the_model(exchange):
    config = exchange.config("estimate", estimator={"maintenance_margin": 0.01, "bucket_pct": 0.2})
    source = make_source(config)
    assert isinstance(source, EstimateSource)
    assert source.params == EstimatorParams(maintenance_margin=0.01, bucket_pct=0.2)


async def _no_wait(seconds: float) -> None:
    return None


def _kline(open_ms: int, quote: float, taker: float) -> Kline:
    return Kline(open_ms, 100.0, 101.0, 99.0, 100.5, 10.0, quote, taker)
