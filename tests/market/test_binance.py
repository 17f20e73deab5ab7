"""Binance USD-M client over the loopback fake: prices, pagination within limits, errors, wicks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from core.kernel.errors import SourceRejected, SourceUnavailable, UnknownSymbol
from core.market.sources.binance import (
    DAY_MS,
    KLINES_MAX_LIMIT,
    OPEN_INTEREST_MAX_LIMIT,
    BinanceClient,
    page_windows,
)
from tests.fakes.exchange import (  # noqa: F401  (exchange_fixture: the `exchange` fixture)
    KLINES,
    OPEN_INTEREST,
    PREMIUM_INDEX,
    FakeExchange,
    RecordingSleep,
    exchange_fixture,
)

FIVE_MIN = 300_000


@pytest.fixture
async def binance(exchange: FakeExchange):
    client = BinanceClient(exchange.url, timeout_seconds=2, sleep=RecordingSleep())
    yield client
    await client.aclose()


async def test_mark_price_for_a_coin_as_users_type_it(exchange, binance):
    exchange.set_price("BTC", 91_234.5)
    assert await binance.mark_price("btc") == 91_234.5
    assert exchange.requests(PREMIUM_INDEX)[-1].query["symbol"] == "BTCUSDT"


@pytest.mark.parametrize(
    "call",
    [
        lambda b: b.mark_price("DOGGO"),
        lambda b: b.klines("DOGGO", "5m"),
        lambda b: b.open_interest_hist("DOGGO", "5m"),
        lambda b: b.context("DOGGO"),
    ],
)
async def test_unlisted_coin_is_an_unknown_symbol_everywhere(binance, call):
    with pytest.raises(UnknownSymbol, match="DOGGO"):
        await call(binance)


async def test_seven_days_of_5m_klines_are_stitched_without_gaps_or_repeats(exchange, binance):
    now = binance.now_ms()
    klines = await binance.klines_between("BTC", "5m", now - 7 * DAY_MS, now)
    times = [k.open_time_ms for k in klines]
    assert all(later - earlier == FIVE_MIN for earlier, later in pairwise(times))
    assert times[0] <= now - 7 * DAY_MS < times[0] + FIVE_MIN  # covers the start
    assert times[-1] <= now < times[-1] + FIVE_MIN  # up to the current candle
    assert len(klines) == 7 * 288 + 1
    asked = exchange.requests(KLINES)
    assert len(asked) == 2  # 2,017 candles need two pages of at most 1,500
    for request in asked:
        limit = int(request.query["limit"])
        span = int(request.query["endTime"]) - int(request.query["startTime"])
        assert limit <= KLINES_MAX_LIMIT and span < limit * FIVE_MIN


async def test_open_interest_pages_stay_within_500_rows_and_the_last_30_days(exchange, binance):
    now = binance.now_ms()
    points = await binance.open_interest_between("BTC", "5m", now - 40 * DAY_MS, now)
    times = [p.timestamp_ms for p in points]
    assert all(later - earlier == FIVE_MIN for earlier, later in pairwise(times))
    assert times[0] >= now - 30 * DAY_MS and times[-1] > now - FIVE_MIN
    assert all(p.usd > 0 for p in points)
    for request in exchange.requests(OPEN_INTEREST):
        assert int(request.query["limit"]) <= OPEN_INTEREST_MAX_LIMIT
        assert int(request.query["startTime"]) >= now - 30 * DAY_MS


async def test_a_spike_between_checks_shows_in_the_one_minute_wicks(exchange, binance):
    since = datetime.now(UTC) - timedelta(minutes=10)
    before = exchange.price("BTC")
    exchange.set_price("BTC", 99_000)
    exchange.set_price("BTC", before)
    candles = await binance.candles("BTC", since)
    assert 10 <= len(candles) <= 12
    assert candles[0].open_time <= since < candles[0].open_time + timedelta(minutes=1)
    assert max(c.high for c in candles) == 99_000
    assert candles[-1].close == pytest.approx(before, abs=0.01)


async def test_context_gives_the_7_day_range_and_the_24h_change(exchange, binance):
    old = exchange.price("BTC")
    exchange.set_price("BTC", old * 2)  # a new high, far above a day ago
    context = await binance.context("BTC")
    assert context.high_7d == pytest.approx(old * 2, abs=0.01)
    assert context.low_7d < old
    assert 50 < context.change_24h_pct < 200
    assert exchange.requests(KLINES)[-1].query["interval"] == "1h"


async def test_rate_limit_during_pagination_is_waited_out_and_the_fetch_completes(exchange):
    sleep = RecordingSleep()
    client = BinanceClient(exchange.url, sleep=sleep)
    exchange.rate_limit(KLINES, retry_after=3)
    now = client.now_ms()
    klines = await client.klines_between("ETH", "5m", now - 2 * DAY_MS, now)
    await client.aclose()
    assert sleep.waits == [3.0]
    assert len(klines) == 2 * 288 + 1


async def test_other_binance_errors_are_rejections_that_quote_binance(exchange, binance):
    exchange.fail(KLINES, 400, body={"code": -1130, "msg": "Data sent for 'limit' is invalid."})
    with pytest.raises(SourceRejected, match="Binance refused the request: Data sent"):
        await binance.klines("BTC", "5m")


async def test_a_pair_that_is_not_trading_now_is_a_passing_outage_not_unknown(exchange, binance):
    exchange.fail(PREMIUM_INDEX, 400, body={"code": -1122, "msg": "Invalid symbol status."})
    with pytest.raises(SourceUnavailable, match="BTCUSDT is not trading"):
        await binance.mark_price("BTC")
    assert await binance.mark_price("BTC") > 0


async def test_malformed_klines_are_unavailable_not_a_crash(exchange, binance):
    exchange.fail(KLINES, body=[[1, "abc", "1", "1", "1", "1", 2, "1", 1, "1", "1", "0"]])
    with pytest.raises(SourceUnavailable, match="kline"):
        await binance.klines("BTC", "5m")
    exchange.fail(PREMIUM_INDEX, body={"symbol": "BTCUSDT", "markPrice": "NaN"})
    with pytest.raises(SourceUnavailable, match="mark price"):
        await binance.mark_price("BTC")


async def test_an_interval_binance_does_not_serve_is_refused_before_asking(exchange, binance):
    with pytest.raises(SourceRejected, match="interval"):
        await binance.klines("BTC", "7m")
    assert exchange.count(KLINES) == 0


def test_page_windows_cover_the_range_with_at_most_limit_rows_each():
    windows = page_windows(1_000, 1_000 + 2_500 * FIVE_MIN, FIVE_MIN, 1_000)
    assert len(windows) == 3
    assert windows[0][0] <= 1_000 and windows[-1][1] == 1_000 + 2_500 * FIVE_MIN
    for (_, end), (next_start, _) in pairwise(windows):
        assert next_start == end + 1  # contiguous: no gap, no overlap
    assert all(end - start < 1_000 * FIVE_MIN for start, end in windows)
