"""Analysis: cumulative sums to each edge, the ratio, the window, zones, and bad data."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.kernel.errors import DataError
from core.market.analysis import (
    MAX_LEVEL_USD,
    MAX_ZONES_PER_SIDE,
    MIN_LEVEL_USD,
    analyze,
    cumulative_long_below,
    cumulative_short_above,
)
from core.types import Level, Snapshot

AS_OF = datetime(2025, 1, 5, 12, 0, tzinfo=UTC)


def snap(price: float, *levels: Level) -> Snapshot:
    return Snapshot("BTC", price, tuple(levels), "replay", AS_OF)


def short(price: float, usd: float) -> Level:
    return Level(price, short_usd=usd)


def long(price: float, usd: float) -> Level:
    return Level(price, long_usd=usd)


# Price 100: longs 10 + 30 + 5 below, shorts 20 + 40 + 60 above.
SIMPLE = snap(
    100.0,
    long(90, 10),
    long(95, 30),
    long(99, 5),
    short(101, 20),
    short(105, 40),
    short(110, 60),
)


def test_totals_edges_and_ratio_over_the_whole_map():
    result = analyze(SIMPLE)
    assert result.short_above_usd == 120
    assert result.long_below_usd == 45
    assert result.short_edge == 110
    assert result.long_edge == 90
    assert result.ratio == pytest.approx(120 / 45)
    assert result.window_pct == 0


def test_window_cuts_both_sides_at_the_percentage_of_the_price():
    result = analyze(SIMPLE, window_pct=6)
    assert (result.short_above_usd, result.short_edge) == (60, 105)
    assert (result.long_below_usd, result.long_edge) == (35, 95)
    assert all(94 <= z.low and z.high <= 106 for z in result.zones)


def test_cumulative_sums_stop_at_the_target_price_inclusive():
    assert cumulative_short_above(SIMPLE, 105) == 60
    assert cumulative_short_above(SIMPLE, 104.9) == 20
    assert cumulative_long_below(SIMPLE, 95) == 35
    assert cumulative_short_above(SIMPLE, 50) == 0  # target below the price: nothing to break
    assert cumulative_long_below(SIMPLE, 1e9) == 0


def test_cumulative_sum_to_a_non_price_is_a_clear_error():
    with pytest.raises(DataError):
        cumulative_short_above(SIMPLE, math.nan)


def test_long_usd_above_and_short_usd_below_the_price_are_ignored():
    mixed = snap(100, Level(95, long_usd=10, short_usd=999), Level(105, long_usd=999, short_usd=7))
    result = analyze(mixed)
    assert (result.long_below_usd, result.short_above_usd) == (10, 7)


def test_a_level_exactly_at_the_price_belongs_to_neither_side():
    result = analyze(snap(100, Level(100, long_usd=5, short_usd=5), long(99, 1), short(101, 1)))
    assert (result.long_below_usd, result.short_above_usd) == (1, 1)


def test_empty_map_has_no_edges_no_ratio_and_no_zones():
    result = analyze(snap(100))
    assert (result.short_above_usd, result.long_below_usd) == (0, 0)
    assert result.short_edge is None and result.long_edge is None
    assert result.ratio is None
    assert result.zones == ()
    assert result.key_short is None and result.nearest_long is None


def test_one_empty_side_gives_no_ratio_rather_than_infinity():
    result = analyze(snap(100, short(101, 50), short(102, 10)))
    assert result.ratio is None
    assert result.long_edge is None and result.key_long is None
    assert result.key_short is not None and result.key_short.side == "short"


def test_price_above_the_whole_map_sees_only_longs():
    # Every level is below the price, so their short USD cannot be short fuel above.
    result = analyze(snap(200, Level(100, long_usd=5, short_usd=5), Level(150, long_usd=8)))
    assert result.short_above_usd == 0 and result.short_edge is None
    assert result.long_below_usd == 13 and result.long_edge == 100


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, -40.0, 1e-9, MAX_LEVEL_USD * 10])
def test_bad_usd_values_are_ignored(bad):
    dirty = snap(100, *SIMPLE.levels, short(103, bad), short(130, bad), long(80, bad))
    result = analyze(dirty)
    assert result.short_above_usd == 120 and result.short_edge == 110
    assert result.long_below_usd == 45 and result.long_edge == 90


@pytest.mark.parametrize("bad_price", [math.nan, math.inf, -5.0, 0.0, None, "junk"])
def test_levels_without_a_usable_price_are_dropped(bad_price):
    result = analyze(snap(100, *SIMPLE.levels, Level(bad_price, long_usd=1e6, short_usd=1e6)))
    assert (result.short_above_usd, result.long_below_usd) == (120, 45)


def test_duplicated_prices_are_added_together():
    result = analyze(snap(100, short(101, 1), short(105, 40), short(105, 10), short(106, 1)))
    assert result.short_above_usd == 52
    assert result.key_short is not None and result.key_short.peak == 105


@pytest.mark.parametrize("price", [0.0, -1.0, math.nan, math.inf, None])
def test_a_map_without_a_usable_price_is_a_data_error(price):
    with pytest.raises(DataError, match="price"):
        analyze(snap(price, short(101, 1)))


@pytest.mark.parametrize("window", [-1.0, math.nan, math.inf])
def test_a_nonsense_window_is_a_data_error(window):
    with pytest.raises(DataError, match="window"):
        analyze(SIMPLE, window_pct=window)


# ---- zones: a quiet $1 floor on a $1 grid with a few walls ---------------------------------


def grid_map(price: float, walls: dict[float, float], low: int = 80, high: int = 121) -> Snapshot:
    """Levels every $1 from `low` to `high` holding $1, except the `walls` (price → USD)."""
    levels = []
    for p in range(low, high):
        usd = walls.get(p, 1.0)
        levels.append(short(p, usd) if p > price else long(p, usd))
    return snap(price, *levels)


def test_a_wall_of_neighbouring_levels_is_one_zone_with_its_total_peak_and_distance():
    result = analyze(grid_map(100, {110: 10, 111: 30, 112: 10}))
    zone = result.key_short
    assert zone is not None
    assert (zone.low, zone.high, zone.peak, zone.usd) == (110, 112, 111, 50)
    assert zone.distance_pct == pytest.approx(10.0)  # to the zone's nearest edge, $110


def test_a_zone_peak_sits_at_its_weighted_centre_so_near_equal_buckets_swapping_do_not_move_it():
    # two refreshes of one cluster whose outer buckets trade places by a hair: the biggest level
    # jumps from $112 to $110, the zone's weight stays centred on $111
    before = analyze(grid_map(100, {110: 30.0, 111: 29.0, 112: 30.5})).key_short
    after = analyze(grid_map(100, {110: 30.5, 111: 29.0, 112: 30.0})).key_short
    assert before is not None and after is not None
    assert before.peak == after.peak == 111
    assert (before.low, before.high) == (after.low, after.high) == (110, 112)


def test_long_zone_distance_is_negative_and_measured_to_its_upper_edge():
    result = analyze(grid_map(100, {90: 20, 91: 20}))
    zone = result.key_long
    assert zone is not None and zone.side == "long"
    assert (zone.low, zone.high) == (90, 91)
    assert zone.distance_pct == pytest.approx(-9.0)


def test_walls_one_quiet_level_apart_merge_and_the_gap_counts_in_the_total():
    zone = analyze(grid_map(100, {110: 20, 112: 20})).key_short
    assert zone is not None
    assert (zone.low, zone.high, zone.usd) == (110, 112, 41)


def test_walls_far_apart_are_separate_zones_ranked_by_usd():
    result = analyze(grid_map(100, {104: 20, 115: 50}))
    shorts = [z for z in result.zones if z.side == "short"]
    assert [(z.low, z.usd) for z in shorts] == [(115, 50), (104, 20)]
    assert result.key_short == shorts[0]
    assert result.nearest_short == shorts[1]  # smaller but closer to the price


def test_quiet_levels_do_not_become_zones_next_to_a_real_wall():
    result = analyze(grid_map(100, {115: 50}))
    assert [(z.low, z.high) for z in result.zones if z.side == "short"] == [(115, 115)]


def test_at_most_a_few_zones_per_side():
    walls = {p: 20.0 + p for p in range(102, 121, 3)}
    shorts = [z for z in analyze(grid_map(100, walls)).zones if z.side == "short"]
    assert len(shorts) == MAX_ZONES_PER_SIDE
    assert [z.low for z in shorts] == [120, 117, 114]  # the biggest ones


def test_a_flat_side_is_one_zone_so_it_still_has_a_key_level():
    result = analyze(snap(100, short(101, 5), short(102, 5), short(103, 5)))
    assert result.key_short is not None
    assert (result.key_short.low, result.key_short.high, result.key_short.usd) == (101, 103, 15)


def test_all_zones_are_listed_biggest_first_across_both_sides():
    result = analyze(grid_map(100, {90: 70, 110: 30}))
    assert [z.side for z in result.zones] == ["long", "short"]
    assert result.zones[0].usd > result.zones[1].usd


# ---- properties over arbitrary, dirty maps ---------------------------------------------------

BAD_USD = st.sampled_from([math.nan, math.inf, -math.inf, -1.0, 0.0, 5e-324, 1e300])
USD = st.one_of(st.floats(min_value=0, max_value=1e11), BAD_USD)


@st.composite
def dirty_maps(draw) -> tuple[Snapshot, float]:
    price = draw(st.floats(min_value=1e-4, max_value=1e6))
    # Prices on a 0.1 % grid (so neighbours, gaps and duplicates happen), plus some junk.
    grid = st.integers(min_value=-300, max_value=300).map(lambda k: price * (1 + k / 1000))
    junk = st.sampled_from([math.nan, math.inf, -price, 0.0])
    level = st.builds(Level, st.one_of(grid, grid, grid, junk), USD, USD)
    levels = draw(st.lists(level, max_size=60))
    window = draw(st.one_of(st.just(0.0), st.floats(min_value=0.01, max_value=50)))
    return Snapshot("X", price, tuple(levels), "replay", AS_OF), window


def clean(value: float) -> float:
    return value if math.isfinite(value) and MIN_LEVEL_USD <= value <= MAX_LEVEL_USD else 0.0


def in_window(p: float, price: float, window: float) -> bool:
    return window == 0 or price * (1 - window / 100) <= p <= price * (1 + window / 100)


def usable(p: float) -> bool:
    return math.isfinite(p) and p > 0


@settings(max_examples=300, deadline=None)
@given(dirty_maps())
def test_totals_equal_the_sums_of_the_valid_levels_in_the_window(case):
    snapshot, window = case
    price = snapshot.price
    shorts = math.fsum(
        clean(lv.short_usd)
        for lv in snapshot.levels
        if usable(lv.price) and lv.price > price and in_window(lv.price, price, window)
    )
    longs = math.fsum(
        clean(lv.long_usd)
        for lv in snapshot.levels
        if usable(lv.price) and lv.price < price and in_window(lv.price, price, window)
    )
    result = analyze(snapshot, window)
    assert result.short_above_usd == pytest.approx(shorts, rel=1e-9)
    assert result.long_below_usd == pytest.approx(longs, rel=1e-9)


@settings(max_examples=300, deadline=None)
@given(dirty_maps())
def test_ratio_is_finite_and_positive_or_none(case):
    result = analyze(*case)
    if result.short_above_usd > 0 and result.long_below_usd > 0:
        assert result.ratio is not None and math.isfinite(result.ratio) and result.ratio > 0
        assert result.ratio == pytest.approx(result.short_above_usd / result.long_below_usd)
    else:
        assert result.ratio is None


@settings(max_examples=300, deadline=None)
@given(dirty_maps())
def test_zones_lie_on_their_side_inside_the_window_and_never_overlap(case):
    snapshot, window = case
    result = analyze(snapshot, window)
    price = snapshot.price
    for zone in result.zones:
        assert zone.low <= zone.peak <= zone.high
        assert math.isfinite(zone.usd) and zone.usd > 0
        assert in_window(zone.low, price, window) and in_window(zone.high, price, window)
        if zone.side == "short":
            assert zone.low > price and zone.distance_pct > 0
        else:
            assert zone.high < price and zone.distance_pct < 0
    ordered = sorted(result.zones, key=lambda z: z.low)
    for lower, upper in zip(ordered, ordered[1:], strict=False):
        assert lower.high < upper.low


@settings(max_examples=300, deadline=None)
@given(dirty_maps())
def test_every_side_with_liquidations_has_a_key_level_that_is_its_biggest_zone(case):
    result = analyze(*case)
    for side, total, key in (
        ("short", result.short_above_usd, result.key_short),
        ("long", result.long_below_usd, result.key_long),
    ):
        side_zones = [z for z in result.zones if z.side == side]
        assert (key is not None) == (total > 0)
        assert len(side_zones) <= MAX_ZONES_PER_SIDE
        assert math.fsum(z.usd for z in side_zones) <= total * (1 + 1e-9)
        if key is not None:
            assert key.usd == max(z.usd for z in side_zones)
