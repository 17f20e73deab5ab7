"""Replay source: the bundled sample is the worked example, the price path plays on the clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from core.kernel.errors import ConfigError, SourceRejected, UnknownSymbol
from core.market.analysis import analyze
from core.market.sources.replay import SAMPLE_PATH, ReplaySource
from core.render.report import report_message

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # on a minute boundary, like exchange candles


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, seconds: float) -> None:
        self.now = START + timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sample(clock) -> ReplaySource:
    return ReplaySource(SAMPLE_PATH, clock=clock)


def write(tmp_path, body) -> str:
    path = tmp_path / "replay.json"
    path.write_text(body if isinstance(body, str) else json.dumps(body))
    return str(path)


def one_symbol(**fields) -> dict:
    btc = {"price": 100.0, "levels": [[90, 5, 0], [110, 0, 7]]} | fields
    return {"symbols": {"BTC": btc}}


def short_above(snapshot) -> float:
    return sum(lv.short_usd for lv in snapshot.levels if lv.price > snapshot.price)


def long_below(snapshot) -> float:
    return sum(lv.long_usd for lv in snapshot.levels if lv.price < snapshot.price)


# ---- the bundled sample ------------------------------------------------------------------------


async def test_sample_has_the_worked_example_figures_exactly(sample):
    snap = await sample.snapshot("BTC")

    assert snap.price == 90_131.71
    assert short_above(snap) == 2_705_000_000
    assert long_below(snap) == 1_563_000_000
    assert max(lv.price for lv in snap.levels if lv.short_usd > 0) == 94_681
    assert min(lv.price for lv in snap.levels if lv.long_usd > 0) == 86_137
    assert round(short_above(snap) / long_below(snap), 2) == 1.73
    assert snap.context.high_7d == 93_012
    assert 85_000 <= snap.context.low_7d <= 85_500


async def test_sample_levels_sit_on_their_side_of_the_price_and_ascend(sample):
    snap = await sample.snapshot("BTC")
    prices = [lv.price for lv in snap.levels]
    assert prices == sorted(prices)
    assert all(lv.short_usd == 0 for lv in snap.levels if lv.price < snap.price)
    assert all(lv.long_usd == 0 for lv in snap.levels if lv.price > snap.price)
    inner = [p for p in prices if p not in (86_137, 94_681)]
    assert all(p % 100 == 0 for p in inner)  # $100 levels between the note's two edges


def biggest_cluster(levels, side: str, width: int = 6) -> tuple[float, float]:
    """(low, high) of the `width` neighbouring levels with the most USD on one side."""
    side_levels = [lv for lv in levels if getattr(lv, f"{side}_usd") > 0]
    sums = [
        sum(getattr(lv, f"{side}_usd") for lv in side_levels[i : i + width])
        for i in range(len(side_levels) - width + 1)
    ]
    best = max(range(len(sums)), key=sums.__getitem__)
    return side_levels[best].price, side_levels[best + width - 1].price


async def test_sample_has_standing_out_key_clusters_where_the_note_puts_them(sample):
    snap = await sample.snapshot("BTC")
    assert biggest_cluster(snap.levels, "short") == (91_800, 92_300)
    assert biggest_cluster(snap.levels, "long") == (88_500, 89_000)
    # the peak level of each key cluster is several times a typical level of its side
    for side in ("short", "long"):
        amounts = sorted(getattr(lv, f"{side}_usd") for lv in snap.levels)
        amounts = [a for a in amounts if a > 0]
        assert amounts[-1] > 4 * amounts[len(amounts) // 2]


async def test_every_sample_snapshot_says_it_is_a_sample(sample):
    for symbol in sample.symbols:
        snap = await sample.snapshot(symbol)
        assert snap.sample is True
        assert "SAMPLE DATA" in snap.note and "not live" in snap.note
        assert snap.source == "replay"
    assert set(sample.symbols) == {"BTC", "ETH"}


async def test_eth_sample_is_a_full_map_of_its_own(sample):
    snap = await sample.snapshot("eth")
    assert snap.symbol == "ETH"
    assert 1_000 < snap.price < 10_000
    assert short_above(snap) > 0 and long_below(snap) > 0
    assert snap.context.low_7d < snap.price < snap.context.high_7d


# ---- the price path ---------------------------------------------------------------------------


async def test_path_breaks_out_through_the_key_short_cluster_then_drifts_back(sample, clock):
    assert (await sample.snapshot("BTC")).price == 90_131.71
    seen = []
    for second in range(0, 181, 5):
        clock.at(second)
        seen.append((second, (await sample.snapshot("BTC")).price))

    breakout = next(s for s, price in seen if price > 92_300)
    assert 30 <= breakout <= 45
    back_below = next(s for s, price in seen if s > breakout and price < 92_300)
    assert back_below - breakout <= 15
    # the demo loops: a user who arrives late still sees the breakout, on the next round
    restart = next(s for s, price in seen if s > back_below and price == 90_131.71)
    assert max(price for s, price in seen if s > restart) > 92_300
    # and it moves plausibly: never more than 0.5 % in one 5-second step
    steps = [abs(b[1] / a[1] - 1) for a, b in zip(seen, seen[1:], strict=False)]
    assert max(steps) < 0.005


async def test_a_holding_path_stays_at_its_last_price(tmp_path, clock):
    path = {"step_seconds": 5, "prices": [100, 103, 101], "then": "hold"}
    source = ReplaySource(write(tmp_path, one_symbol(path=path)), clock=clock)
    prices = []
    for second in (0, 5, 10, 15, 3_600):
        clock.at(second)
        prices.append((await source.snapshot("BTC")).price)
    assert prices == [100, 103, 101, 101, 101]


async def test_candles_keep_the_breakout_wick_after_the_price_fell_back(sample, clock):
    clock.at(70)
    snap = await sample.snapshot("BTC")
    candles = await sample.candles("BTC", since=START)

    assert [c.open_time for c in candles] == [START, START + timedelta(minutes=1)]
    assert snap.price < 92_300
    assert candles[0].open == 90_131.71 and candles[0].low == 90_131.71
    assert candles[0].high > 92_300
    assert candles[-1].close == snap.price


async def test_candles_before_the_replay_started_are_flat_at_the_first_price(sample, clock):
    candles = await sample.candles("BTC", since=START - timedelta(minutes=10), interval="5m")
    assert len(candles) == 3  # 09:50, 09:55 and the one in progress from 10:00
    assert {(c.open, c.high, c.low, c.close) for c in candles} == {(90_131.71,) * 4}


async def test_a_looping_path_starts_over(tmp_path, clock):
    path = {"step_seconds": 10, "prices": [100, 104, 97], "then": "loop"}
    source = ReplaySource(write(tmp_path, one_symbol(path=path)), clock=clock)
    prices = []
    for second in (0, 10, 20, 30, 45):
        clock.at(second)
        prices.append((await source.snapshot("BTC")).price)
    assert prices == [100, 104, 97, 100, 104]
    clock.at(600)
    candle = (await source.candles("BTC", since=START + timedelta(minutes=9)))[0]
    assert (candle.high, candle.low) == (104, 97)


async def test_without_a_path_the_price_is_the_files(tmp_path, clock):
    source = ReplaySource(write(tmp_path, one_symbol(as_of="2025-03-01T08:00:00Z")), clock=clock)
    clock.at(500)
    snap = await source.snapshot("BTCUSDT")
    assert snap.price == 100.0
    assert snap.as_of == datetime(2025, 3, 1, 8, 0, tzinfo=UTC)  # a fixed time is kept
    assert snap.sample is False and snap.note == ""
    candles = await source.candles("BTC", since=START)
    assert {(c.high, c.low) for c in candles} == {(100.0, 100.0)}
    await source.aclose()


# ---- errors -----------------------------------------------------------------------------------


async def test_the_sample_splits_its_map_between_venues_for_the_split_line(sample):
    snapshot = await sample.snapshot("BTC")
    analysis = analyze(snapshot)
    assert [(v.label, v.status) for v in snapshot.venues] == [
        ("Binance", "ok"),
        ("Bybit", "ok"),
        ("OKX", "ok"),
    ]
    # the venues' parts add up to the whole map, side by side
    assert sum(v.short_usd for v in snapshot.venues) == pytest.approx(analysis.short_above_usd)
    assert sum(v.long_usd for v in snapshot.venues) == pytest.approx(analysis.long_below_usd)
    report = report_message(snapshot, analysis, START).text()
    assert "Binance 48% · Bybit 31% · OKX 21%" in report
    assert "$2.705B of shorts" in report  # the worked example reads as before


async def test_unknown_symbol_is_a_clear_error(sample):
    with pytest.raises(UnknownSymbol, match="DOGE"):
        await sample.snapshot("doge")
    with pytest.raises(UnknownSymbol):
        await sample.candles("DOGE", since=START)


async def test_unsupported_candle_interval_is_refused(sample):
    with pytest.raises(SourceRejected, match="interval"):
        await sample.candles("BTC", since=START, interval="7m")


@pytest.mark.parametrize(
    "body, names",
    [
        ("{not json", ["not valid JSON"]),
        ([1, 2], ["symbols"]),
        ({"symbols": {}}, ["symbols"]),
        (one_symbol(price=-3), ["symbols.BTC.price"]),
        (one_symbol(levels=[[90, 5]]), ["levels[0]"]),
        (one_symbol(levels=[[90, -5, 0]]), ["levels[0] long_usd"]),
        (one_symbol(levels=[[90, 5, 0], [90, 1, 0]]), ["levels[1]", "repeats"]),
        ('{"symbols": {"BTC": {"price": 100, "levels": [[90, NaN, 0]]}}}', ["long_usd"]),
        (one_symbol(as_of="yesterday"), ["as_of"]),
        (one_symbol(path={"step_seconds": 0, "prices": [1]}), ["step_seconds"]),
        (one_symbol(path={"step_seconds": 5, "prices": []}), ["path.prices"]),
        (one_symbol(path={"step_seconds": 5, "prices": [1], "then": "bounce"}), ["then"]),
        ({"meta": {"sample": "yes"}, **one_symbol()}, ["meta.sample"]),
        ({"symbols": {"B-T-C": {"price": 1, "levels": []}}}, ["B-T-C"]),
        (one_symbol(venues={"binance": -1}), ["venues.binance"]),
        (one_symbol(venues=[0.5, 0.5]), ["venues"]),
    ],
)
def test_invalid_file_is_refused_naming_the_file_and_the_problem(tmp_path, body, names):
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        ReplaySource(path)
    assert path in str(caught.value)
    for name in names:
        assert name in str(caught.value)


def test_missing_file_is_refused_naming_it(tmp_path):
    missing = tmp_path / "nowhere.json"
    with pytest.raises(ConfigError, match="nowhere.json"):
        ReplaySource(missing)
