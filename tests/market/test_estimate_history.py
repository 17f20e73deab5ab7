"""The estimate source keeps each symbol's history: refreshes download only what is new, over
loopback, and give exactly the map a fresh full download gives at the same moment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.kernel.errors import SourceUnavailable
from core.market.sources import EstimateSource
from core.market.sources.binance import DAY_MS, BinanceClient, Kline, OpenInterestPoint
from core.market.sources.history import History, HistoryStore, plan_update, stitch
from core.types import Snapshot
from tests.fakes.exchange import KLINES, OPEN_INTEREST, PREMIUM_INDEX, FakeExchange, RecordingSleep
from tests.helpers import ManualClock

STEP = 300_000  # 5 minutes, the default interval
FULL_WINDOW_REQUESTS = 1 + 2 + 5  # premiumIndex + 2 klines pages + 5 openInterestHist pages


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeExchange]:
    with FakeExchange(clock=clock) as exchange:
        yield exchange


def kept_source(fake: FakeExchange, clock: ManualClock, **options) -> EstimateSource:
    """The default 7 days × 5m source; no real waiting between retries."""
    client = BinanceClient(fake.url, clock=clock, sleep=RecordingSleep())
    return EstimateSource(client, clock=clock, **options)


async def fresh_download(fake: FakeExchange, clock: ManualClock, symbol: str) -> Snapshot:
    """What a source that never saw `symbol` answers now (the reference for every refresh)."""
    source = EstimateSource.from_config(fake.config("estimate", estimator={"days": 7}), clock)
    try:
        return await source.snapshot(symbol)
    finally:
        await source.aclose()


async def refresh_cost(fake: FakeExchange, source: EstimateSource, symbol: str) -> Snapshot:
    fake.reset_counts()
    return await source.snapshot(symbol)


async def test_a_refresh_asks_for_one_page_each_instead_of_the_whole_week(fake, clock):
    source = kept_source(fake, clock)
    first = await refresh_cost(fake, source, "BTC")
    assert fake.total_requests() == FULL_WINDOW_REQUESTS
    clock.advance(5 * 60)  # a new candle and a new open-interest point
    fake.set_price("BTC", fake.price("BTC") * 1.01)
    second = await refresh_cost(fake, source, "BTC")
    await source.aclose()
    counts = (fake.count(PREMIUM_INDEX), fake.count(KLINES), fake.count(OPEN_INTEREST))
    assert counts == (1, 1, 1) and fake.total_requests() == 3
    now = fake.now_ms()
    for request in fake.requests(KLINES) + fake.requests(OPEN_INTEREST):
        assert int(request.query["startTime"]) >= now - 3 * STEP  # only the last few rows
    assert int(fake.requests(KLINES)[0].query["limit"]) < 100  # Binance's lightest weight (1)
    assert second != first
    assert second == await fresh_download(fake, clock, "BTC")


async def test_refreshed_maps_stay_identical_to_fresh_downloads_over_an_afternoon(fake, clock):
    source = kept_source(fake, clock)
    maps = [await source.snapshot("BTC")]
    price = fake.price("BTC")
    for seconds, move in ((37, 1.004), (300, 0.99), (61, 1.0), (12 * 60, 1.02), (50 * 60, 0.97)):
        clock.advance(seconds)
        price *= move
        fake.set_price("BTC", price)
        maps.append(await refresh_cost(fake, source, "BTC"))
        assert fake.total_requests() <= 3
        assert maps[-1] == await fresh_download(fake, clock, "BTC")
    await source.aclose()
    assert len({(m.price, m.levels) for m in maps}) > 1  # the map did move


async def test_a_new_high_inside_the_current_candle_reaches_the_refreshed_snapshot(fake, clock):
    source = kept_source(fake, clock)
    before = await source.snapshot("BTC")
    assert before.context is not None
    clock.advance(60)  # still inside the same 5-minute candle
    new_high = round(before.context.high_7d * 1.03)  # klines carry cents
    fake.set_price("BTC", new_high)
    after = await refresh_cost(fake, source, "BTC")
    await source.aclose()
    assert after.context is not None and after.context.high_7d == new_high
    assert after == await fresh_download(fake, clock, "BTC")


async def test_no_open_interest_request_before_the_next_point_is_due(fake, clock):
    source = kept_source(fake, clock)
    await source.snapshot("BTC")
    clock.advance(120)  # the next 5-minute point is stamped 3 minutes from now
    await refresh_cost(fake, source, "BTC")
    await source.aclose()
    assert fake.count(OPEN_INTEREST) == 0 and fake.total_requests() == 2


async def test_a_long_pause_downloads_the_whole_window_again(fake, clock):
    source = kept_source(fake, clock)
    await source.snapshot("BTC")
    clock.advance(2 * 24 * 3600)  # more open interest missing than one 500-row page holds
    after_pause = await refresh_cost(fake, source, "BTC")
    assert fake.total_requests() == FULL_WINDOW_REQUESTS
    assert after_pause == await fresh_download(fake, clock, "BTC")
    clock.advance(300)
    await refresh_cost(fake, source, "BTC")  # and the one after is incremental again
    await source.aclose()
    assert fake.total_requests() == 3


async def test_changed_past_data_at_the_exchange_is_downloaded_whole_again(fake, clock):
    source = kept_source(fake, clock)
    await source.snapshot("BTC")
    clock.advance(300)
    fake.add_symbol("BTC", 70_000, oi_usd=5e9)  # the exchange now tells another past
    rewritten = await refresh_cost(fake, source, "BTC")
    await source.aclose()
    assert fake.count(OPEN_INTEREST) == 1 + 5  # the incremental page, then the whole window
    assert rewritten == await fresh_download(fake, clock, "BTC")


@pytest.mark.parametrize("failing", [KLINES, OPEN_INTEREST])
async def test_a_failed_refresh_keeps_the_history_and_the_next_recovers(fake, clock, failing):
    source = kept_source(fake, clock)
    await source.snapshot("BTC")
    clock.advance(300)
    fake.fail(failing, 503, times=3)  # every attempt of this refresh
    with pytest.raises(SourceUnavailable):
        await source.snapshot("BTC")
    clock.advance(300)
    recovered = await refresh_cost(fake, source, "BTC")
    await source.aclose()
    assert fake.total_requests() == 3
    assert recovered == await fresh_download(fake, clock, "BTC")


async def test_two_symbols_keep_separate_histories(fake, clock):
    source = kept_source(fake, clock)
    await source.snapshot("BTC")
    await source.snapshot("ETH")
    clock.advance(300)
    fake.set_price("ETH", fake.price("ETH") * 0.98)
    refreshed = {}
    for coin in ("BTC", "ETH"):
        refreshed[coin] = await refresh_cost(fake, source, coin)
        assert fake.total_requests() == 3
        assert {r.query["symbol"] for r in fake.requests(KLINES)} == {f"{coin}USDT"}
    await source.aclose()
    for coin, snapshot in refreshed.items():
        assert snapshot.symbol == coin
        assert snapshot == await fresh_download(fake, clock, coin)


async def test_a_symbol_not_asked_for_in_an_hour_is_downloaded_whole_again(fake, clock):
    source = kept_source(fake, clock)
    await source.snapshot("BTC")
    await source.snapshot("ETH")
    for _ in range(13):  # 65 minutes of BTC refreshes, no one asks for ETH
        clock.advance(300)
        await refresh_cost(fake, source, "BTC")
        assert fake.total_requests() == 3
    await refresh_cost(fake, source, "ETH")
    await source.aclose()
    assert fake.total_requests() == FULL_WINDOW_REQUESTS


async def test_without_the_kept_history_every_snapshot_downloads_the_whole_window(fake, clock):
    source = kept_source(fake, clock, incremental=False)
    await source.snapshot("BTC")
    clock.advance(300)
    await refresh_cost(fake, source, "BTC")
    await source.aclose()
    assert fake.total_requests() == FULL_WINDOW_REQUESTS


# ---- the stitching rules without HTTP ------------------------------------------------------

NOW = 1_800_000_000_000 - 1_800_000_000_000 % STEP + 90_000  # 1.5 minutes into a candle


def kline(open_ms: int, close: float = 100.0) -> Kline:
    return Kline(open_ms, 100.0, max(close, 100.0), min(close, 100.0), close, 1.0, 100.0, 50.0)


def week(now_ms: int) -> History:
    """What a full download at `now_ms` keeps: 7 days of klines (the last unfinished) and OI."""
    first = now_ms - 7 * DAY_MS
    opens = range(first - first % STEP, now_ms + 1, STEP)
    points = range(first - first % STEP + STEP, now_ms + 1, STEP)
    return History(
        tuple(kline(t) for t in opens),
        tuple(OpenInterestPoint(t, 1.0, float(t % 997)) for t in points),
        now_ms,
    )


def test_a_refresh_starts_at_the_last_candle_that_was_final_when_stored():
    plan = plan_update(week(NOW), NOW + STEP, STEP)
    assert plan is not None
    current_open = NOW - NOW % STEP
    assert plan.klines_from_ms == current_open - STEP  # the unfinished one is asked again
    assert plan.open_interest_from_ms == current_open  # the last stored point


def test_a_candle_closed_only_moments_before_the_fetch_is_not_trusted_as_final():
    just_closed = week(NOW - NOW % STEP + 5_000)  # fetched 5 s after a close
    plan = plan_update(just_closed, just_closed.fetched_at_ms + 60_000, STEP)
    assert plan is not None
    assert plan.klines_from_ms == just_closed.klines[-3].open_time_ms


def test_gaps_and_a_clock_that_went_back_need_a_full_download():
    stored = week(NOW)
    assert plan_update(stored, NOW + 500 * STEP, STEP) is None  # open interest beyond one page
    assert plan_update(stored, NOW - 1, STEP) is None


def test_stitching_drops_rows_that_left_the_window_and_replaces_the_unfinished_candle():
    stored = week(NOW)
    later = NOW + 2 * STEP
    plan = plan_update(stored, later, STEP)
    assert plan is not None and plan.open_interest_from_ms is not None
    fresh = week(later)
    page = [k for k in fresh.klines if k.open_time_ms >= plan.klines_from_ms]
    page[-3] = kline(page[-3].open_time_ms, close=123.0)  # the candle that was unfinished
    points = [p for p in fresh.open_interest if p.timestamp_ms >= plan.open_interest_from_ms]
    stitched = stitch(stored, plan, page, points, later, 7, STEP)
    assert stitched is not None
    assert [k.open_time_ms for k in stitched.klines] == [k.open_time_ms for k in fresh.klines]
    assert stitched.open_interest == fresh.open_interest
    assert stitched.klines[-3].close == 123.0


def test_a_page_that_does_not_repeat_the_stored_anchor_is_refused():
    stored = week(NOW)
    later = NOW + STEP
    plan = plan_update(stored, later, STEP)
    assert plan is not None
    fresh = week(later)
    page = [k for k in fresh.klines if k.open_time_ms >= plan.klines_from_ms]
    points = [p for p in fresh.open_interest if p.timestamp_ms >= (plan.open_interest_from_ms or 0)]
    changed_anchor = [kline(page[0].open_time_ms, close=99.0), *page[1:]]
    assert stitch(stored, plan, changed_anchor, points, later, 7, STEP) is None
    assert stitch(stored, plan, page[1:], points, later, 7, STEP) is None  # a gap at the anchor
    assert stitch(stored, plan, page, points[1:], later, 7, STEP) is None


def test_the_store_forgets_idle_symbols_and_keeps_the_newest_history():
    store = HistoryStore(idle_ms=3_600_000, max_symbols=2)
    old, new = week(NOW), week(NOW + STEP)
    store.put("BTC", new, NOW)
    store.put("BTC", old, NOW)  # a slower, older refresh finishing last
    assert store.get("BTC", NOW) is new
    store.put("ETH", old, NOW)
    assert store.get("ETH", NOW + 3_600_001) is None
    assert store.symbols() == []  # BTC idle as long
    for coin in ("BTC", "ETH", "SOL"):
        store.put(coin, old, NOW)
    assert store.symbols() == ["ETH", "SOL"]
