"""The Bybit client against a loopback fake that answers like Bybit's recorded payloads: paging by
windows and by cursor, the retCode envelope (errors with HTTP 200), the CloudFront 403, and the
one rate limiter every symbol shares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.kernel.errors import SourceRejected, SourceUnavailable, UnknownSymbol
from core.market.sources.bybit import RATES, BybitClient
from core.market.sources.venues import Rate, RateLimiter
from tests.fakes.bybit import KLINE, OPEN_INTEREST, TICKERS, FakeBybit, bybit_fixture  # noqa: F401
from tests.fakes.exchange import RecordingSleep
from tests.fakes.venue_base import recorded_body

HOUR_MS = 3_600_000
STEP = 300_000


def client(fake: FakeBybit, **options) -> BybitClient:
    return BybitClient(fake.url, sleep=RecordingSleep(), **options)


async def test_mark_price_and_klines_oldest_first(bybit):
    bybit_client = client(bybit)
    mark = await bybit_client.mark_price("btc")
    now = bybit.now_ms()
    klines = await bybit_client.klines_between("BTC", "5m", now - 2 * HOUR_MS, now)
    await bybit_client.aclose()
    assert mark == pytest.approx(bybit.price("BTC"), abs=0.01)
    times = [k.open_time_ms for k in klines]
    assert times == sorted(times) and len(times) in (24, 25)
    assert all(b - a == STEP for a, b in zip(times, times[1:], strict=False))
    assert klines[-1].close == pytest.approx(bybit.price("BTC"), abs=0.01)
    assert all(k.quote_volume > 0 and k.taker_buy_quote == 0 for k in klines)  # no taker split
    assert bybit.requests(TICKERS)[0].query == {"category": "linear", "symbol": "BTCUSDT"}


async def test_long_ranges_are_fetched_in_windows_of_at_most_1000_rows(bybit):
    bybit_client = client(bybit)
    now = bybit.now_ms()
    klines = await bybit_client.klines_between("BTC", "1m", now - 30 * HOUR_MS, now)
    await bybit_client.aclose()
    pages = bybit.requests(KLINE)
    assert len(pages) == 2 and all(int(p.query["limit"]) <= 1000 for p in pages)
    times = [k.open_time_ms for k in klines]
    assert len(times) == len(set(times)) and len(times) >= 30 * 60
    assert all(b - a == 60_000 for a, b in zip(times, times[1:], strict=False))


async def test_open_interest_follows_the_cursor_to_the_last_page(bybit):
    bybit_client = client(bybit)
    now = bybit.now_ms()
    start = now - 24 * HOUR_MS  # 288 points: more than one 200-row page
    points = await bybit_client.open_interest("BTC", "5m", start, now, 200)
    await bybit_client.aclose()
    pages = bybit.requests(OPEN_INTEREST)
    assert len(pages) == 2
    assert "cursor" not in pages[0].query and pages[1].query["cursor"].startswith("lastid%3D")
    stamps = [p.timestamp_ms for p in points]
    assert stamps == sorted(stamps) and len(stamps) == len(set(stamps)) >= 287
    assert all(b - a == STEP for a, b in zip(stamps, stamps[1:], strict=False))
    # coins (linear), about $5B at the price
    assert points[-1].contracts * bybit.price("BTC") == pytest.approx(5e9, rel=0.02)


async def test_an_unknown_symbol_is_retcode_10001_with_http_200(bybit):
    bybit_client = client(bybit)
    with pytest.raises(UnknownSymbol, match="DOGGO"):
        await bybit_client.mark_price("DOGGO")
    await bybit_client.aclose()
    assert bybit.count(TICKERS) == 1


async def test_too_many_visits_is_retried_after_a_backoff(bybit):
    sleep = RecordingSleep()
    bybit_client = BybitClient(bybit.url, sleep=sleep)
    bybit.rate_limit(TICKERS, times=1)
    mark = await bybit_client.mark_price("BTC")
    await bybit_client.aclose()
    assert mark > 0 and bybit.count(TICKERS) == 2 and sleep.waits


async def test_a_lasting_rate_limit_says_so(bybit):
    bybit_client = client(bybit)
    bybit.rate_limit(TICKERS, times=10)
    with pytest.raises(SourceUnavailable, match="rate limiting"):
        await bybit_client.mark_price("BTC")
    await bybit_client.aclose()
    assert bybit.count(TICKERS) == 3  # the fetcher's attempts, then it gives up


async def test_system_error_10016_is_temporary(bybit):
    bybit_client = client(bybit)
    bybit.system_error(KLINE, times=10)
    now = bybit.now_ms()
    with pytest.raises(SourceUnavailable, match="System error"):
        await bybit_client.klines("BTC", "5m", now - HOUR_MS, now, 12)
    await bybit_client.aclose()


async def test_the_cloudfront_403_page_is_an_outage_named_plainly(bybit):
    bybit_client = client(bybit)
    bybit.block(TICKERS)
    with pytest.raises(SourceUnavailable, match="403"):
        await bybit_client.mark_price("BTC")
    await bybit_client.aclose()
    assert bybit.count(TICKERS) == 1  # a block is not retried into a longer ban


async def test_an_interval_bybit_does_not_serve_is_refused_before_any_request(bybit):
    bybit_client = client(bybit)
    with pytest.raises(SourceRejected, match="interval"):
        await bybit_client.klines("BTC", "2h", 0, 1, 1)
    await bybit_client.aclose()
    assert bybit.total_requests() == 0


async def test_the_recorded_kline_payload_reads_oldest_first(bybit):
    # tests/data/real/bybit/kline_docs_inverse.json: three hourly rows, newest first
    bybit.fail(KLINE, 200, body=recorded_body("bybit", "kline_docs_inverse"))
    bybit_client = client(bybit)
    klines = await bybit_client.klines("BTC", "1h", 1670601600000, 1670608800000, 3)
    await bybit_client.aclose()
    assert [k.open_time_ms for k in klines] == [1670601600000, 1670605200000, 1670608800000]
    assert klines[-1].close == 17055.5 and klines[-1].quote_volume == pytest.approx(15.74462667)


async def test_candles_for_alerts_see_a_new_high(bybit):
    bybit_client = client(bybit)
    bybit.set_price("BTC", 101_000)
    candles = await bybit_client.candles("BTC", datetime.now(UTC) - timedelta(minutes=3))
    await bybit_client.aclose()
    assert candles and max(c.high for c in candles) == 101_000


async def test_every_symbol_shares_one_limiter(bybit):
    limiter = RateLimiter(RATES)
    bybit_client = client(bybit, limiter=limiter)
    for coin in ("BTC", "ETH"):
        await bybit_client.mark_price(coin)
    await bybit_client.aclose()
    assert limiter.spent["ip"] == 2 == bybit.total_requests()


async def test_the_limiter_waits_once_the_budget_is_spent():
    now = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = RateLimiter({"ip": Rate(600, 5)}, clock=lambda: now[0], sleep=sleep)
    for _ in range(600):
        await limiter.acquire("ip")
    assert waits == []  # the burst fits the 5-second budget
    await limiter.acquire("ip")
    assert waits == [pytest.approx(5 / 600)]
    now[0] += 5
    for _ in range(600):
        await limiter.acquire("ip")
    assert len(waits) == 1
