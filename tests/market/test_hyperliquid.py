"""Hyperliquid: the recorded replies read right, the client against the loopback fake (errors,
429s, the weight budget), and the observed map with its coverage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.kernel.errors import SourceRejected, SourceUnavailable, UnknownSymbol, UsageError
from core.market.observed import observed_map
from core.market.sources.http import RetryPolicy
from core.market.sources.hyperliquid import (
    HyperliquidClient,
    parse_address,
    parse_asset_contexts,
    parse_clearinghouse,
)
from core.market.sources.hyperliquid_venue import ObservedVenue
from core.market.sources.venues import Rate, RateLimiter
from core.types import WalletPosition, WalletReading
from tests.fakes.exchange import RecordingSleep
from tests.fakes.hyperliquid import FakeHyperliquid, position, recorded

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ALICE = "0x5e9ee1089755c3435139848e47e6635505d5a13a"  # the SDK cassette's wallet
BOB = "0x" + "b0" * 20


@pytest.fixture
def hl():
    with FakeHyperliquid() as fake:
        fake.set_coin("BTC", mark=90_000, open_interest=1_000)
        fake.set_coin("ETH", mark=3_000, open_interest=20_000)
        yield fake


def client_for(fake: FakeHyperliquid, **kwargs) -> HyperliquidClient:
    kwargs.setdefault("retry", RetryPolicy(attempts=3, backoff_seconds=0.0))
    kwargs.setdefault("sleep", RecordingSleep())
    return HyperliquidClient(fake.url, timeout_seconds=2.0, clock=lambda: NOW, **kwargs)


# ---- the recorded replies -------------------------------------------------------------------


def test_the_docs_isolated_position_is_a_long_with_its_own_liquidation_price():
    reading = parse_clearinghouse(recorded("clearinghouse_state_docs_isolated"), ALICE, NOW)
    [eth] = reading.positions
    assert (eth.coin, eth.side, eth.size) == ("ETH", "long", 0.0335)
    assert eth.liquidation_px == pytest.approx(2866.26936529)
    assert (eth.leverage, eth.margin_type) == (20, "isolated")
    assert eth.mark_px == pytest.approx(100.02765 / 0.0335)  # positionValue / |szi|
    assert eth.distance_pct == pytest.approx((2985.9 - 2866.27) / 2985.9 * 100, abs=0.01)
    assert reading.account_usd == pytest.approx(13109.482328)


def test_the_mainnet_cassette_has_shorts_far_away_and_a_long_with_no_liquidation_price():
    reading = parse_clearinghouse(recorded("clearinghouse_state_sdk_cassette_2023"), ALICE, NOW)
    by_coin = {p.coin: p for p in reading.positions}
    assert by_coin["BTC"].side == "short" and by_coin["BTC"].liquidation_px == pytest.approx(
        173198.69592357
    )
    assert by_coin["ETH"].side == "long" and by_coin["ETH"].liquidation_px is None
    assert by_coin["ETH"].distance_pct is None
    assert by_coin["ATOM"].size == -0.45


def test_meta_and_asset_contexts_pair_each_coin_with_its_context_by_index():
    contexts = parse_asset_contexts(recorded("meta_and_asset_ctxs_docs"))
    assert list(contexts) == ["BTC", "ETH", "HPOS"]
    assert contexts["BTC"].mark_px == pytest.approx(14.3161)
    assert contexts["BTC"].open_interest_usd == pytest.approx(688.11 * 14.3161)


def test_misaligned_universe_and_contexts_are_refused_not_mismatched():
    meta, ctxs = recorded("meta_and_asset_ctxs_docs")
    with pytest.raises(SourceUnavailable, match="3 coins but 2 prices"):
        parse_asset_contexts([meta, ctxs[:2]])


@pytest.mark.parametrize(
    "bad",
    [
        "0x" + "a" * 39,
        "0x" + "a" * 41,
        "5e9ee1089755c3435139848e47e6635505d5a13a0x",
        "0x" + "g" * 40,
        "",
    ],
)
def test_an_address_must_be_0x_and_40_hex_digits(bad):
    with pytest.raises(UsageError, match="0x followed by 40 hex digits"):
        parse_address(bad)


def test_an_address_is_kept_lower_case():
    assert parse_address(" 0x5E9EE1089755C3435139848E47E6635505D5A13A ") == ALICE


# ---- the client against the fake ------------------------------------------------------------


async def test_a_wallet_read_gives_its_positions_and_costs_weight_two(hl):
    hl.set_wallet(ALICE, [position("BTC", 0.5, entry=88_000, liq=80_000, mark=90_000)])
    client = client_for(hl)
    try:
        reading = await client.clearinghouse_state(ALICE.upper().replace("0X", "0x"))
    finally:
        await client.aclose()
    assert reading.address == ALICE and reading.read_at == NOW
    [btc] = reading.positions
    assert (btc.side, btc.liquidation_px, btc.position_usd) == ("long", 80_000, 45_000)
    assert hl.requests == [{"type": "clearinghouseState", "user": ALICE}]
    assert client.limiter.spent["weight"] == 2


async def test_market_data_is_read_once_for_many_asks_within_its_ttl(hl):
    client = client_for(hl)
    try:
        assert await client.mark_price("btc") == 90_000
        assert (await client.asset_context("ETH")).open_interest_usd == 60_000_000
        with pytest.raises(UnknownSymbol):
            await client.asset_context("DOGE")
    finally:
        await client.aclose()
    assert hl.count("metaAndAssetCtxs") == 1
    assert client.limiter.spent["weight"] == 20


async def test_a_request_the_venue_cannot_read_is_refused_once_not_retried(hl):
    client = client_for(hl)
    try:
        with pytest.raises(SourceRejected, match="HTTP 422"):
            await client.info({"type": "nonexistentType"}, 20)
    finally:
        await client.aclose()
    assert len(hl.requests) == 1  # the plain-text 422 is a fault of the request: no retry


async def test_a_429_is_retried_after_its_retry_after_then_answers(hl):
    hl.rate_limit(times=1, retry_after=2)
    sleep = RecordingSleep()
    client = client_for(hl, sleep=sleep)
    try:
        reading = await client.clearinghouse_state(BOB)
    finally:
        await client.aclose()
    assert reading.positions == ()
    assert 2.0 in sleep.waits and hl.count("clearinghouseState") == 2


async def test_429s_that_do_not_end_are_a_short_outage(hl):
    hl.rate_limit(times=5)
    client = client_for(hl)
    try:
        with pytest.raises(SourceUnavailable, match="rate limiting"):
            await client.clearinghouse_state(BOB)
    finally:
        await client.aclose()


async def test_reads_beyond_the_weight_budget_wait_for_it_instead_of_spending_it_twice(hl):
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    # a 20-weight-a-minute budget: 10 wallet reads of weight 2 pass, the next 5 wait 30 s
    limiter = RateLimiter({"weight": Rate(20, 60)}, clock=lambda: now[0], sleep=sleep)
    client = client_for(hl, limiter=limiter)
    try:
        for _ in range(15):
            await client.clearinghouse_state(BOB)
    finally:
        await client.aclose()
    assert limiter.spent["weight"] == 30
    assert now[0] == pytest.approx(30.0)


async def test_candles_come_oldest_first_from_the_candle_snapshot(hl):
    client = client_for(hl)
    try:
        candles = await client.candles("BTC", NOW - timedelta(minutes=5), "1m")
    finally:
        await client.aclose()
    assert [c.open_time for c in candles] == sorted(c.open_time for c in candles)
    assert len(candles) == 6 and candles[-1].close == 90_000


# ---- the observed map -----------------------------------------------------------------------


def pos(coin, size, liq, mark=90_000.0, leverage=10):
    return WalletPosition(coin, size, mark, liq, leverage, "cross", abs(size) * mark)


def test_each_position_lands_at_its_own_liquidation_price_by_side_and_coverage_is_counted():
    alice = (pos("BTC", 1.0, 81_020), pos("BTC", -2.0, 99_040))
    bob = (pos("BTC", 0.5, 81_040), pos("BTC", 1.0, None), pos("ETH", 3.0, 2_500))
    readings = [
        WalletReading(ALICE, NOW - timedelta(minutes=2), alice),
        WalletReading(BOB, NOW - timedelta(minutes=1), bob),
        WalletReading("0x" + "c" * 40, NOW - timedelta(hours=2), (pos("BTC", 5.0, 85_000),)),
    ]
    result = observed_map("btc", readings, 90_000, 100, NOW, bucket_pct=0.1)
    assert [(lv.price, lv.long_usd, lv.short_usd) for lv in result.levels] == [
        (81_000, 135_000, 0),  # 1.0 + 0.5 BTC in one $100 bucket, valued at the mark now
        (99_000, 0, 180_000),
    ]
    cov = result.coverage
    assert cov.no_liq_count == 1 and cov.no_liq_usd == 90_000  # counted apart, not on the map
    assert (cov.long_usd, cov.short_usd) == (225_000, 180_000)  # all observed open notional
    assert cov.share == pytest.approx((225_000 + 180_000) / (2 * 100 * 90_000))
    assert (cov.wallets, cov.wallets_stale) == (2, 1)  # the 2-hour-old reading is left out
    assert cov.oldest_read_at == NOW - timedelta(minutes=2)
    assert result.note(NOW) == (
        "Hyperliquid observed: 2.2% of OI in 2 wallets, readings up to 2 min old, "
        "1 position without a liquidation price apart"
    )


def test_a_liquidation_price_the_mark_has_crossed_since_the_reading_is_left_out():
    readings = [WalletReading(ALICE, NOW, (pos("BTC", 1.0, 91_000), pos("BTC", -1.0, 89_000)))]
    result = observed_map("BTC", readings, 90_000, 100, NOW)
    assert result.levels == () and result.coverage.past_liq_count == 2


async def test_the_observed_venue_builds_the_map_from_stored_readings_and_the_venue_oi(hl):
    class Readings:
        def universe_readings(self):
            reading = WalletReading(ALICE, NOW, (pos("BTC", -1.0, 95_000),))
            return [reading], 3

    venue = ObservedVenue(client_for(hl), Readings(), clock=lambda: NOW)
    try:
        result = await venue.observed("BTC")
        with pytest.raises(UnknownSymbol):
            await venue.observed("DOGE")
    finally:
        await venue.aclose()
    assert result.short_usd == 90_000 and result.long_usd == 0
    assert result.coverage.open_interest_usd == 90_000_000
    assert result.coverage.wallets_unread == 3


async def test_no_wallet_to_observe_is_an_outage_with_the_reason_not_an_empty_map(hl):
    class Unread:
        def universe_readings(self):
            return [], 4

    for readings, said in ((None, "no wallets to observe"), (Unread(), "no wallet read yet")):
        venue = ObservedVenue(client_for(hl), readings, clock=lambda: NOW)
        try:
            with pytest.raises(SourceUnavailable, match=said):
                await venue.observed("BTC")
        finally:
            await venue.aclose()


async def test_without_the_store_a_one_shot_map_reads_the_configured_wallets_itself(hl):
    hl.set_wallet(ALICE, [position("BTC", -1.0, entry=90_000, liq=95_000, mark=90_000)])
    venue = ObservedVenue(client_for(hl), wallets=[ALICE, BOB], clock=lambda: NOW)
    try:
        first = await venue.observed("BTC")
        await venue.observed("ETH")  # the readings are kept: no second read of the wallets
    finally:
        await venue.aclose()
    assert first.short_usd == 90_000 and first.coverage.wallets == 2
    assert hl.count("clearinghouseState") == 2
