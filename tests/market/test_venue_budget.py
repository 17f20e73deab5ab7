"""One slow venue never holds up a map the others can make (core/market/sources/venue_calls.py):
after `[estimator] venue_budget_seconds` the map is the venues that answered, the slow one is
named, and it goes on fetching in the background to rejoin the next map; a coin the slow venue
does not list is not delayed by it again."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from core.market.analysis import analyze
from core.market.sources import EstimateSource
from core.market.sources.binance import BinanceClient
from core.market.sources.bybit import BybitClient
from core.market.sources.okx import OkxClient
from core.market.sources.venues import BinanceVenue
from core.render.report import report_message
from tests.fakes.bybit import TICKERS, FakeBybit
from tests.fakes.exchange import PREMIUM_INDEX, FakeExchange, RecordingSleep
from tests.fakes.okx import INSTRUMENTS, MARK_PRICE, FakeOkx
from tests.helpers import ManualClock

BUDGET = 0.5
SLOW = 2.5


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def venues(clock):
    with (
        FakeExchange(clock=clock) as binance,
        FakeBybit(clock=clock) as bybit,
        FakeOkx(clock=clock) as okx,
    ):
        bybit.add_symbol("BTC", 90_131.71, oi_usd=3e9)
        okx.add_symbol("BTC", 90_131.71, oi_usd=2e9)
        yield binance, bybit, okx


@pytest.fixture
async def source(venues, clock):
    binance, bybit, okx = venues
    built = EstimateSource(
        venues=[
            BinanceVenue(BinanceClient(binance.url, clock=clock, sleep=RecordingSleep())),
            BybitClient(bybit.url, clock=clock, sleep=RecordingSleep()),
            OkxClient(okx.url, clock=clock, sleep=RecordingSleep()),
        ],
        days=1,
        clock=clock,
        venue_budget_seconds=BUDGET,
    )
    yield built
    await built.aclose()


async def timed_snapshot(source: EstimateSource, coin: str = "BTC"):
    started = time.monotonic()
    snapshot = await source.snapshot(coin)
    return snapshot, time.monotonic() - started


async def test_a_slow_venue_is_left_out_and_named_then_rejoins_the_next_map(venues, source, clock):
    binance, bybit, okx = venues
    okx.fail(MARK_PRICE, delay=SLOW)

    snapshot, took = await timed_snapshot(source)

    assert took < SLOW - 1.0  # the map did not wait for OKX
    shares = {v.name: v for v in snapshot.venues}
    assert shares["binance"].status == shares["bybit"].status == "ok"
    assert shares["okx"].status == "unavailable"
    text = report_message(snapshot, analyze(snapshot, 0), clock()).text()
    assert f"OKX unavailable: no answer within {BUDGET:g} s" in text

    # asked again while OKX is still on its way: joins that fetch instead of a second one
    await source.snapshot("BTC")
    assert okx.count(MARK_PRICE) == 1

    time.sleep(SLOW)  # OKX answers meanwhile; its fetch completes in the background
    later = await source.snapshot("BTC")
    assert {v.name: v.status for v in later.venues}["okx"] == "ok"
    assert later.venues[0].long_usd + later.venues[1].long_usd < sum(
        v.long_usd for v in later.venues
    )


async def test_a_coin_the_slow_venue_does_not_list_is_not_delayed_by_it_again(venues, source):
    binance, bybit, okx = venues
    binance.add_symbol("PEPE", 0.00002, oi_usd=2e8)
    okx.fail(INSTRUMENTS, delay=1.0)  # OKX learns what it lists from its instruments list
    okx.fail(MARK_PRICE, delay=1.0)

    first, took = await timed_snapshot(source, "PEPE")
    assert took < 1.0 and {v.name: v.status for v in first.venues}["binance"] == "ok"

    time.sleep(1.2)  # OKX's answer arrives in the background: it does not list PEPE
    asked = okx.total_requests()
    okx.fail(INSTRUMENTS, delay=SLOW, times=5)
    okx.fail(MARK_PRICE, delay=SLOW, times=5)
    second, took = await timed_snapshot(source, "PEPE")
    assert took < BUDGET  # not even the budget: OKX is not asked about PEPE for a while
    assert okx.total_requests() == asked
    assert {v.name: v.error for v in second.venues}["okx"] == "does not list PEPE"


async def test_when_every_venue_is_slow_the_map_waits_for_the_first_answer(venues, source):
    binance, bybit, okx = venues
    binance.fail(PREMIUM_INDEX, delay=1.0)
    bybit.fail(TICKERS, delay=1.0)
    okx.fail(MARK_PRICE, delay=1.0)

    snapshot, took = await timed_snapshot(source)

    assert took >= 1.0  # nothing answered within the budget: not an empty "no data"
    assert any(v.status == "ok" for v in snapshot.venues)
    assert snapshot.levels
