"""Which leverage tiers make up the key zones: the estimate carries USD per tier and level, the
venues' tiers add up on one grid, /liq names the shortest run of tiers holding half a key zone,
and the sources that cannot know it (Coinglass, replay) show no such line."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from bot.app import build
from core.market.analysis import analyze
from core.market.estimator import EstimatorParams, estimate_map, estimate_map_tiers
from core.market.sources import EstimateSource, make_source
from core.market.sources.binance import BinanceClient
from core.market.sources.bybit import BybitClient
from core.market.sources.okx import OkxClient
from core.market.sources.replay import SAMPLE_PATH, ReplaySource
from core.market.sources.venues import BinanceVenue
from core.render.report import report_message
from core.render.tiers import tier_line, tier_run
from core.types import Caller
from tests.fakes.bybit import FakeBybit
from tests.fakes.exchange import FakeExchange, RecordingSleep, coinglass_rows
from tests.fakes.okx import FakeOkx
from tests.helpers import ManualClock

from benchmarks.estimator import synthetic_candles  # isort: skip

MOSTLY_25 = (0.05, 0.05, 0.80, 0.05, 0.05)  # one tier dominating: 25×


def key_zone_lines(message) -> list[str]:
    return list(next(s for s in message.sections if s.name == "Key zones").lines)


def test_tier_breakdown_adds_up_to_the_map_it_explains():
    candles, params = synthetic_candles(3_000, seed=3), EstimatorParams()
    prices, longs, shorts, long_tiers, short_tiers = estimate_map_tiers(candles, params)
    same = estimate_map(candles, params)
    assert all(np.array_equal(a, b) for a, b in zip(same, (prices, longs, shorts), strict=True))
    assert long_tiers.shape == short_tiers.shape == (prices.size, len(params.leverage))
    np.testing.assert_allclose(long_tiers.sum(axis=1), longs, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(short_tiers.sum(axis=1), shorts, rtol=1e-9, atol=1e-6)


def test_shortest_run_of_neighbouring_tiers_holding_half():
    lev = (5.0, 10.0, 25.0, 50.0, 100.0)
    assert tier_run(lev, [0, 0, 70, 0, 0], 100) == (2, 2)
    assert tier_run(lev, [10, 5, 31, 31, 23], 100) == (2, 3)  # 25×–50×: 62 of 100
    assert tier_run(lev, [0, 0, 10, 0, 0], 100) is None  # the rest is not the estimate's


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


async def test_three_venues_sum_their_tiers_and_liq_reads_the_dominant_one(clock):
    with (
        FakeExchange(clock=clock) as binance,
        FakeBybit(clock=clock) as bybit,
        FakeOkx(clock=clock) as okx,
    ):
        bybit.add_symbol("BTC", 90_131.71, oi_usd=3e9)
        okx.add_symbol("BTC", 90_131.71, oi_usd=2e9)
        venues = [
            BinanceVenue(BinanceClient(binance.url, clock=clock, sleep=RecordingSleep())),
            BybitClient(bybit.url, clock=clock, sleep=RecordingSleep()),
            OkxClient(okx.url, clock=clock, sleep=RecordingSleep()),
        ]
        params = EstimatorParams(weights=MOSTLY_25)
        source = EstimateSource(venues=venues, params=params, days=1, clock=clock)
        try:
            snapshot = await source.snapshot("BTC")
        finally:
            await source.aclose()
    assert len([v for v in snapshot.venues if v.status == "ok"]) == 3
    assert snapshot.tier_leverage == params.leverage
    by_price = dict(snapshot.tiers)
    for level in snapshot.levels:  # every level's tiers add up to what it holds
        assert sum(by_price[level.price]) == pytest.approx(level.long_usd + level.short_usd)
    analysis = analyze(snapshot)
    line = tier_line(snapshot, analysis)
    assert line is not None and line.startswith("Key short zone: mostly 25× (")
    assert "key long zone: mostly 25× (" in line
    message = report_message(snapshot, analysis, clock())
    assert key_zone_lines(message)[-1] == line


async def test_liq_names_the_tiers_of_the_key_zone(exchange, tmp_path):
    estimator = {"weights": list(MOSTLY_25), "days": 1, "interval": "15m"}
    cfg = exchange.config("estimate", estimator=estimator, store={"path": str(tmp_path / "db")})
    app = build(cfg)
    try:
        [report] = await app.service.handle(Caller("console", "c", "u"), "/liq BTC")
    finally:
        await app.aclose()
    [line] = [x for x in key_zone_lines(report) if "mostly" in x]
    assert line.startswith("Key short zone: mostly 25× (")


async def test_coinglass_and_replay_reports_have_no_tier_line(exchange):
    exchange.set_coinglass_map("BTC", coinglass_rows({93_000: 700e6, 88_000: 450e6}))
    source = make_source(exchange.config("coinglass"))
    try:
        snapshot = await source.snapshot("BTC")
    finally:
        await source.aclose()
    replayed = await ReplaySource(SAMPLE_PATH).snapshot("BTC")
    for snap in (snapshot, replayed):
        assert snap.tiers == ()
        message = report_message(snap, analyze(snap), datetime.now(UTC))
        assert not [x for x in key_zone_lines(message) if "mostly" in x]
