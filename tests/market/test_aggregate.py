"""The estimate as the sum of Binance, Bybit and OKX, over loopback fakes: each venue's share, a
venue left out and named when it fails or lacks the coin, Bybit's borrowed taker split, the
refresh that stays incremental per venue, and what /liq and `liq --json` show of it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.__main__ import main
from core.kernel.config import Config
from core.kernel.errors import ConfigError, SourceUnavailable, UnknownSymbol
from core.market.analysis import analyze
from core.market.sources import EstimateSource, make_source
from core.market.sources.binance import BinanceClient, Kline, OpenInterestPoint
from core.market.sources.bybit import BybitClient
from core.market.sources.estimate import align_candles
from core.market.sources.okx import OkxClient
from core.market.sources.venues import BinanceVenue
from core.render.report import report_json, report_message
from tests.fakes.bybit import KLINE as BYBIT_KLINE
from tests.fakes.bybit import TICKERS, FakeBybit
from tests.fakes.exchange import KLINES, PREMIUM_INDEX, FakeExchange, RecordingSleep
from tests.fakes.okx import CANDLES, MARK_PRICE, FakeOkx
from tests.helpers import ManualClock

ALL = ["binance", "bybit", "okx"]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def venues(clock) -> Iterator[tuple[FakeExchange, FakeBybit, FakeOkx]]:
    with (
        FakeExchange(clock=clock) as binance,
        FakeBybit(clock=clock) as bybit,
        FakeOkx(clock=clock) as okx,
    ):
        bybit.add_symbol("BTC", 90_131.71, oi_usd=3e9)  # smaller than Binance's 8e9
        okx.add_symbol("BTC", 90_131.71, oi_usd=2e9)
        yield binance, bybit, okx


def config(venues, names=ALL, **sections) -> Config:
    binance, bybit, okx = venues
    return binance.config(
        "estimate",
        data={"venues": list(names)},
        estimator={"days": 1},
        sources__bybit={"base_url": bybit.url, "timeout_seconds": 2.0},
        sources__okx={"base_url": okx.url, "timeout_seconds": 2.0},
        **sections,
    )


def quick_source(venues, clock, names=ALL) -> EstimateSource:
    """The estimate over the fakes (1 day) whose retries do not really wait."""
    binance, bybit, okx = venues
    built = {
        "binance": BinanceVenue(BinanceClient(binance.url, clock=clock, sleep=RecordingSleep())),
        "bybit": BybitClient(bybit.url, clock=clock, sleep=RecordingSleep()),
        "okx": OkxClient(okx.url, clock=clock, sleep=RecordingSleep()),
    }
    return EstimateSource(venues=[built[n] for n in names], days=1, clock=clock)


async def snapshot_of(cfg: Config, symbol: str = "BTC", clock=None):
    source = EstimateSource.from_config(cfg, clock)
    try:
        return await source.snapshot(symbol)
    finally:
        await source.aclose()


async def test_the_map_is_the_sum_of_the_three_venues(venues, clock):
    snapshot = await snapshot_of(config(venues), clock=clock)
    shares = {v.name: v for v in snapshot.venues}
    assert list(shares) == ALL and all(v.status == "ok" for v in shares.values())
    total_longs = sum(lv.long_usd for lv in snapshot.levels)
    assert total_longs == pytest.approx(sum(v.long_usd for v in shares.values()))
    assert sum(lv.short_usd for lv in snapshot.levels) == pytest.approx(
        sum(v.short_usd for v in shares.values())
    )
    # bigger open interest, bigger share: Binance 8e9 > Bybit 3e9 > OKX 2e9
    sizes = [shares[n].long_usd + shares[n].short_usd for n in ALL]
    assert sizes[0] > sizes[1] > sizes[2] > 0
    assert snapshot.price == pytest.approx(venues[0].price("BTC"), abs=0.01)  # Binance's mark


async def test_liq_shows_the_total_and_a_split_line(venues, clock):
    snapshot = await snapshot_of(config(venues), clock=clock)
    analysis = analyze(snapshot, 0)
    text = report_message(snapshot, analysis, clock()).text()
    split = next(line for line in text.splitlines() if line.startswith("Binance "))
    parts = split.split(" · ")
    assert [p.split()[0] for p in parts] == ["Binance", "Bybit", "OKX"]
    assert sum(int(p.split()[1].rstrip("%")) for p in parts) == 100
    assert "Bybit taker split: Binance's same candles" in text
    assert "unavailable" not in text


async def test_json_keeps_every_field_and_adds_venues_that_sum_to_the_totals(venues, clock):
    snapshot = await snapshot_of(config(venues), clock=clock)
    for window in (0, 2):
        analysis = analyze(snapshot, window)
        report = report_json(snapshot, analysis)
        assert {"symbol", "price", "short_above_usd", "long_below_usd", "zones"} <= set(report)
        assert set(report["venues"]) == set(ALL)
        for field in ("long_below_usd", "short_above_usd"):
            summed = sum(v[field] for v in report["venues"].values())
            assert summed == pytest.approx(report[field], rel=1e-9)
        assert {v["status"] for v in report["venues"].values()} == {"ok"}
        assert all("error" not in v for v in report["venues"].values())


async def test_a_failing_venue_is_left_out_and_named(venues, clock):
    binance, bybit, okx = venues
    okx.fail(MARK_PRICE, 503, times=50)
    source = quick_source(venues, clock)
    snapshot = await source.snapshot("BTC")
    await source.aclose()
    shares = {v.name: v for v in snapshot.venues}
    assert shares["okx"].status == "unavailable" and "OKX" in shares["okx"].error
    assert shares["binance"].status == shares["bybit"].status == "ok"
    analysis = analyze(snapshot, 0)
    text = report_message(snapshot, analysis, clock()).text()
    assert "OKX unavailable: OKX is not answering" in text
    assert "OKX " not in next(line for line in text.splitlines() if line.startswith("Binance "))
    report = report_json(snapshot, analysis)
    assert report["venues"]["okx"]["status"] == "unavailable"
    assert report["venues"]["okx"]["long_below_usd"] is None and report["venues"]["okx"]["error"]
    answered = sum(report["venues"][n]["long_below_usd"] for n in ("binance", "bybit"))
    assert answered == pytest.approx(report["long_below_usd"], rel=1e-9)


async def test_a_coin_one_venue_lists_is_that_venue_alone_with_the_others_named(venues, clock):
    binance, bybit, okx = venues
    binance.add_symbol("PEPE", 0.00002, oi_usd=2e8)
    snapshot = await snapshot_of(config(venues), "PEPE", clock=clock)
    shares = {v.name: v for v in snapshot.venues}
    assert shares["binance"].status == "ok"
    assert shares["bybit"].error == "does not list PEPE" == shares["okx"].error
    assert snapshot.levels == shares["binance"].levels
    assert bybit.count(BYBIT_KLINE) == 0 and okx.count(CANDLES) == 0  # stopped at the price


async def test_a_coin_no_venue_lists_is_unknown(venues, clock):
    with pytest.raises(UnknownSymbol, match="DOGGO"):
        await snapshot_of(config(venues), "DOGGO", clock=clock)


async def test_all_venues_failing_is_an_error_naming_each(venues, clock):
    binance, bybit, okx = venues
    binance.fail(PREMIUM_INDEX, 503, times=50)
    bybit.block(TICKERS, times=50)
    source = quick_source(venues, clock, ["binance", "bybit"])
    with pytest.raises(SourceUnavailable) as failure:
        await source.snapshot("BTC")
    await source.aclose()
    message = str(failure.value)
    assert "Binance: Binance is not answering" in message and "Bybit: Bybit refused" in message


async def test_without_binance_bybit_takes_a_neutral_taker_split_and_says_so(venues, clock):
    snapshot = await snapshot_of(config(venues, ["bybit", "okx"]), clock=clock)
    assert "Bybit taker split: 0.5 (no Binance candles)" in snapshot.note
    assert snapshot.price == pytest.approx(venues[1].price("BTC"), abs=0.01)  # Bybit's mark
    assert venues[0].total_requests() == 0


def test_bybit_candles_take_binances_share_of_the_same_candle():
    step = 300_000
    klines = [Kline(t * step, 100, 101, 99, 100, 1, 100, 0) for t in range(3)]
    points = [OpenInterestPoint((t + 1) * step, 10 + t, 0) for t in range(3)]
    candles = align_candles(
        klines, points, step, taker_split="none", borrowed_shares={0: 0.7, step: 0.2}
    )
    assert list(candles.taker_buy_share) == [0.7, 0.2, 0.5]
    assert list(candles.oi_usd) == [1000, 1100, 1200]  # coins valued at the candle's close


async def test_each_venue_refreshes_incrementally_and_matches_a_fresh_download(venues, clock):
    binance, bybit, okx = venues
    cfg = config(venues)
    source = EstimateSource.from_config(cfg, clock)
    await source.snapshot("BTC")
    clock.advance(300)
    for fake in venues:
        fake.set_price("BTC", fake.price("BTC") * 1.004)
        fake.reset_counts()
    refreshed = await source.snapshot("BTC")
    await source.aclose()
    assert binance.count(KLINES) == 2  # one page of 5m candles, one hourly for the 1-day context
    assert bybit.total_requests() == 3  # tickers, one kline page, one open-interest page
    assert okx.total_requests() == 4  # mark price, candles, open interest, taker volume
    assert refreshed == await snapshot_of(cfg, clock=clock)


async def test_each_venue_uses_its_own_maintenance_margin(venues, clock):
    base = await snapshot_of(config(venues), clock=clock)
    cfg = config(venues)
    cfg.set("sources.bybit", "maintenance_margin", 0.02)
    wider = await snapshot_of(cfg, clock=clock)
    by_name = {v.name: v for v in base.venues}
    for venue in wider.venues:
        changed = venue.levels != by_name[venue.name].levels
        assert changed == (venue.name == "bybit"), venue.name


def test_the_default_venues_are_the_three_and_an_unknown_one_is_refused(venues):
    cfg = venues[0].config("estimate")
    assert cfg.get("data", "venues") == ["binance"]  # the Binance-only fake's own config
    from bot.config import SCHEMA

    assert SCHEMA.defaults()["data"]["venues"] == ALL
    with pytest.raises(ConfigError, match="venues"):
        cfg.set("data", "venues", ["binance", "kraken"])
    assert isinstance(make_source(config(venues)), EstimateSource)


def test_cli_venues_flag_overrides_the_config_for_one_run(venues, tmp_path, capsys):
    binance, bybit, okx = venues
    path = tmp_path / "config.toml"
    path.write_text(
        f'[sources.binance]\nbase_url = "{binance.url}"\n'
        f'[sources.bybit]\nbase_url = "{bybit.url}"\n'
        f'[sources.okx]\nbase_url = "{okx.url}"\n'
        "[estimator]\ndays = 1\n"
    )
    assert main(["liq", "BTC", "--config", str(path), "--json", "--venues", "binance,okx"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report["venues"]) == ["binance", "okx"]
    assert bybit.total_requests() == 0
    assert main(["liq", "BTC", "--config", str(path), "--venues", "binance,kraken"]) == 1
    assert "venues" in capsys.readouterr().err
