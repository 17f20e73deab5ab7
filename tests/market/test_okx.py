"""The OKX client against a loopback fake that answers like OKX's recorded payloads: the instrument
list read once, candles and trading statistics paged, open interest joined with taker volume, the
code/msg envelope (51001 with HTTP 200, 50011 with HTTP 429), and per-instrument rate limits."""

from __future__ import annotations

import pytest

from core.kernel.errors import SourceUnavailable, UnknownSymbol
from core.market.sources.okx import RATES, OkxClient, OkxPoint
from core.market.sources.venues import Rate, RateLimiter
from tests.fakes.exchange import RecordingSleep
from tests.fakes.okx import (  # noqa: F401
    CANDLES,
    INSTRUMENTS,
    MARK_PRICE,
    OPEN_INTEREST,
    TAKER_VOLUME,
    FakeOkx,
    okx_fixture,
)
from tests.fakes.venue_base import recorded_body

HOUR_MS = 3_600_000
STEP = 300_000


def client(fake: FakeOkx, **options) -> OkxClient:
    return OkxClient(fake.url, sleep=RecordingSleep(), **options)


def roomy_limiter() -> RateLimiter:
    """OKX's rules with a budget no test reaches: a test must not wait out taker volume's 5/2 s."""
    return RateLimiter({k: Rate(10_000, 1, per_symbol=r.per_symbol) for k, r in RATES.items()})


async def test_the_instrument_list_is_read_once_and_refuses_an_unknown_coin(okx):
    okx_client = client(okx)
    assert await okx_client.contract_value("BTC") == 0.01
    assert await okx_client.mark_price("BTC") == pytest.approx(okx.price("BTC"), abs=0.01)
    with pytest.raises(UnknownSymbol, match="DOGGO"):
        await okx_client.mark_price("DOGGO")
    await okx_client.aclose()
    assert okx.count(INSTRUMENTS) == 1
    assert okx.count(MARK_PRICE) == 1  # DOGGO never reached a per-instrument endpoint
    assert okx.requests(MARK_PRICE)[0].query == {"instType": "SWAP", "instId": "BTC-USDT-SWAP"}


async def test_the_inverse_swap_row_is_not_taken_for_a_usdt_swap(okx):
    okx_client = client(okx)
    listing = await okx_client._listing()
    await okx_client.aclose()
    assert "BTC-USD-SWAP" not in listing and "BTC-USDT-SWAP" in listing


async def test_candles_are_paged_in_300s_oldest_first_without_gaps(okx):
    okx_client = client(okx)
    now = okx.now_ms()
    klines = await okx_client.klines_between("BTC", "5m", now - 48 * HOUR_MS, now)
    await okx_client.aclose()
    pages = okx.requests(CANDLES)
    assert len(pages) == 2 and all(int(p.query["limit"]) <= 300 for p in pages)
    assert {p.query["bar"] for p in pages} == {"5m"}
    times = [k.open_time_ms for k in klines]
    assert times == sorted(times) and len(times) == len(set(times)) >= 576
    assert all(b - a == STEP for a, b in zip(times, times[1:], strict=False))
    assert klines[-1].close == pytest.approx(okx.price("BTC"), abs=0.01)


async def test_open_interest_comes_in_coins_with_the_taker_volume_of_the_same_stamp(okx):
    okx_client = client(okx)
    now = okx.now_ms()
    points = await okx_client.open_interest_between("BTC", "5m", now - 12 * HOUR_MS, now)
    await okx_client.aclose()
    assert okx.count(OPEN_INTEREST) == okx.count(TAKER_VOLUME) == 2  # 144 points: 100 + 44
    assert {r.query["unit"] for r in okx.requests(TAKER_VOLUME)} == {"1"}
    assert all(isinstance(p, OkxPoint) for p in points)
    stamps = [p.timestamp_ms for p in points]
    assert stamps == sorted(stamps)
    assert all(b - a == STEP for a, b in zip(stamps, stamps[1:], strict=False))
    last = points[-1]
    assert last.contracts * okx.price("BTC") == pytest.approx(5e9, rel=0.02)  # oiCcy: coins
    assert last.usd == pytest.approx(5e9, rel=0.02) and last.taker_buy > 0 < last.taker_sell


async def test_only_the_latest_1440_entries_exist(okx):
    okx_client = client(okx, limiter=roomy_limiter())
    now = okx.now_ms()
    points = await okx_client.open_interest_between("BTC", "5m", now - 7 * 24 * HOUR_MS, now)
    await okx_client.aclose()
    assert 1438 <= len(points) <= 1440  # five days at 5 minutes, not seven


async def test_a_rate_limit_429_is_retried_then_named(okx):
    okx_client = client(okx)
    await okx_client.contract_value("BTC")
    okx.rate_limit(MARK_PRICE, times=1)
    assert await okx_client.mark_price("BTC") > 0
    okx.rate_limit(MARK_PRICE, times=10)
    with pytest.raises(SourceUnavailable, match="rate limiting"):
        await okx_client.mark_price("BTC")
    await okx_client.aclose()


async def test_code_51001_with_http_200_is_an_unknown_symbol(okx):
    okx_client = client(okx)
    await okx_client.contract_value("BTC")
    okx.fail(MARK_PRICE, 200, body={"code": "51001", "data": [], "msg": "doesn't exist"})
    with pytest.raises(UnknownSymbol):
        await okx_client.mark_price("BTC")
    await okx_client.aclose()


async def test_code_50011_with_http_200_is_a_rate_limit_too(okx):
    okx_client = client(okx)
    await okx_client.contract_value("BTC")
    okx.fail(MARK_PRICE, 200, times=10, body={"code": "50011", "msg": "Rate limit reached."})
    with pytest.raises(SourceUnavailable, match="rate limiting"):
        await okx_client.mark_price("BTC")
    await okx_client.aclose()
    assert okx.count(MARK_PRICE) == 3


async def test_the_recorded_statistics_payloads_read_as_documented(okx):
    okx_client = client(okx)
    await okx_client.contract_value("BTC")
    # tests/data/real/okx/open_interest_history_docs.json and taker_volume_contract_docs.json
    okx.fail(OPEN_INTEREST, 200, body=recorded_body("okx", "open_interest_history_docs"))
    okx.fail(TAKER_VOLUME, 200, body=recorded_body("okx", "taker_volume_contract_docs"))
    points = await okx_client.open_interest("BTC", "5m", 1701417500000, 1701417600000, 100)
    await okx_client.aclose()
    newest = points[-1]
    assert newest.timestamp_ms == 1701417600000 and newest.contracts == 111.0  # oiCcy
    assert newest.usd == 8888888.0
    assert (newest.taker_buy, newest.taker_sell) in ((380.0, 200.0), (300.0, 100.0))  # sell first


async def test_statistics_limits_count_per_instrument_in_one_shared_limiter(okx):
    limiter = RateLimiter(RATES)
    okx_client = client(okx, limiter=limiter)
    now = okx.now_ms()
    for coin in ("BTC", "ETH"):
        await okx_client.open_interest(coin, "5m", now - HOUR_MS, now, 12)
    await okx_client.aclose()
    buckets = {key for key in limiter._buckets if key[0] == "taker"}
    assert buckets == {("taker", "BTC-USDT-SWAP"), ("taker", "ETH-USDT-SWAP")}
    assert limiter.spent["taker"] == 2 and limiter.spent["instruments"] == 1
