"""The free estimate (domain.md §3b): answers known by hand, bad data, vectorised == reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import config
from core.kernel.errors import ConfigError, DataError
from core.market.estimator import (
    CandleArrays,
    EstimatorParams,
    estimate_map,
    plain_bucket_width,
    surviving_positions,
)
from tests.oracles.estimator_reference import reference_map, reference_positions

PARAMS = EstimatorParams()  # 5/10/25/50/100x, 15/30/25/20/10 %, m = 0.4 %
TIERS = list(zip(PARAMS.leverage, PARAMS.weights, strict=True))
M = PARAMS.maintenance_margin


def candles(rows: list[tuple[float, float, float, float, float]]) -> CandleArrays:
    """rows of (high, low, close, taker_buy_share, oi_usd), oldest first, 5 minutes apart."""
    high, low, close, share, oi = (
        np.array(column, dtype=float) for column in zip(*rows, strict=True)
    )
    times = np.arange(len(rows), dtype=float) * 300_000
    return CandleArrays(times, high, low, close, share, oi)


def as_dict(prices: np.ndarray, amounts: np.ndarray) -> dict[float, float]:
    return {float(p): float(a) for p, a in zip(prices, amounts, strict=True) if a > 0}


BASELINE = (101.0, 99.0, 100.0, 0.5, 1_000.0)
# OI rises by $600 at a close of $200; a quarter of the taker volume was buying
OPEN_AT_200 = (201.0, 199.0, 200.0, 0.25, 1_600.0)


def expected_longs(entry: float, usd: float) -> dict[float, float]:
    return {entry * (1 - 1 / lev) / (1 - M): usd * w for lev, w in TIERS}


def expected_shorts(entry: float, usd: float) -> dict[float, float]:
    return {entry * (1 + 1 / lev) / (1 + M): usd * w for lev, w in TIERS}


def assert_levels(prices, amounts, expected: dict[float, float]) -> None:
    got = sorted(zip(prices.tolist(), amounts.tolist(), strict=True))
    want = sorted(expected.items())
    assert len(got) == len(want)
    for (price, usd), (want_price, want_usd) in zip(got, want, strict=True):
        assert price == pytest.approx(want_price, rel=1e-12)
        assert usd == pytest.approx(want_usd, rel=1e-12)


# ---- answers known by hand --------------------------------------------------------------------


def test_new_open_interest_opens_levels_at_the_formula_price_of_each_tier():
    alive = surviving_positions(candles([BASELINE, OPEN_AT_200]), PARAMS)

    assert_levels(alive.long_price, alive.long_usd, expected_longs(200.0, 600 * 0.25))
    assert_levels(alive.short_price, alive.short_usd, expected_shorts(200.0, 600 * 0.75))
    # worked by hand: a 100x long from $200 dies at 200 × 0.99 / 0.996 = $198.7952,
    # a 5x short at 200 × 1.2 / 1.004 = $239.0438
    assert max(alive.long_price) == pytest.approx(198.7952, abs=1e-4)
    assert max(alive.short_price) == pytest.approx(239.0438, abs=1e-4)


def test_map_with_tiny_buckets_shows_one_level_per_tier_at_the_formula_prices():
    fine = EstimatorParams(bucket_pct=0.0001)  # $0.0002 buckets at $200: nothing merges
    prices, longs, shorts = estimate_map(candles([BASELINE, OPEN_AT_200]), fine)

    assert list(prices) == sorted(prices)
    long_levels, short_levels = as_dict(prices, longs), as_dict(prices, shorts)
    assert len(long_levels) == len(short_levels) == len(TIERS)
    for want, got in (
        (expected_longs(200, 150), long_levels),
        (expected_shorts(200, 450), short_levels),
    ):
        for (price, usd), (want_price, want_usd) in zip(
            sorted(got.items()), sorted(want.items()), strict=True
        ):
            assert price == pytest.approx(want_price, abs=0.0001)
            assert usd == pytest.approx(want_usd, rel=1e-12)
    assert all(p < 200 for p in long_levels) and all(p > 200 for p in short_levels)


def test_first_candle_is_only_the_baseline():
    prices, longs, shorts = estimate_map(candles([BASELINE]), PARAMS)
    assert prices.size == longs.size == shorts.size == 0


def test_a_later_low_that_reaches_a_long_level_removes_it_and_only_it():
    # 25x long dies at ~$192.77, 50x at ~$196.79: a low of $195 kills 50x and 100x only, and
    # their $150 × 30 % = $45 leave open interest with them (nothing else opens or closes)
    wick = (200.5, 195.0, 199.0, 0.5, 1_555.0)
    alive = surviving_positions(candles([BASELINE, OPEN_AT_200, wick]), PARAMS)

    want = {p: usd for p, usd in expected_longs(200.0, 150).items() if p < 195.0}
    assert len(want) == 3
    assert_levels(alive.long_price, alive.long_usd, want)
    assert_levels(alive.short_price, alive.short_usd, expected_shorts(200.0, 450))


def test_a_wick_that_exactly_touches_a_level_liquidates_it():
    opened = surviving_positions(candles([BASELINE, OPEN_AT_200]), PARAMS)
    nearest_long, nearest_short = max(opened.long_price), min(opened.short_price)  # the 100x tiers
    # the liquidated 100x tier's notional leaves open interest (450 or 150 × 10 %)
    touch_high = (nearest_short, 199.5, 200.0, 0.5, 1_555.0)
    touch_low = (200.5, nearest_long, 200.0, 0.5, 1_585.0)
    after_high = surviving_positions(candles([BASELINE, OPEN_AT_200, touch_high]), PARAMS)
    after_low = surviving_positions(candles([BASELINE, OPEN_AT_200, touch_low]), PARAMS)

    assert nearest_short not in after_high.short_price.tolist()
    assert len(after_high.short_price) == len(TIERS) - 1
    assert len(after_high.long_price) == len(TIERS)
    assert nearest_long not in after_low.long_price.tolist()
    assert len(after_low.long_price) == len(TIERS) - 1
    assert len(after_low.short_price) == len(TIERS)


def test_the_candle_that_opens_a_position_does_not_liquidate_it():
    # a huge wick in the opening candle itself: positions open at its close, after the wick
    wild = (400.0, 50.0, 200.0, 0.25, 1_600.0)
    alive = surviving_positions(candles([BASELINE, wild]), PARAMS)
    assert len(alive.long_price) == len(alive.short_price) == len(TIERS)


def test_falling_open_interest_shrinks_every_level_on_both_sides_by_the_same_fraction():
    falls = (200.5, 199.5, 200.0, 0.9, 1_200.0)  # OI 1600 → 1200: a quarter of contracts closed
    alive = surviving_positions(candles([BASELINE, OPEN_AT_200, falls]), PARAMS)

    assert_levels(alive.long_price, alive.long_usd, expected_longs(200.0, 150 * 0.75))
    assert_levels(alive.short_price, alive.short_usd, expected_shorts(200.0, 450 * 0.75))


def test_open_interest_falling_to_zero_leaves_an_empty_map_without_nan():
    gone = (200.5, 199.5, 200.0, 0.5, 0.0)
    reopened = (200.5, 199.5, 200.0, 0.5, 0.0)
    prices, longs, shorts = estimate_map(candles([BASELINE, OPEN_AT_200, gone, reopened]), PARAMS)
    assert prices.size == 0 and longs.size == 0 and shorts.size == 0


def test_buckets_are_plain_numbers_and_keep_every_dollar():
    assert plain_bucket_width(90_131.71, 0.1) == 100
    assert plain_bucket_width(3_512.84, 0.1) == 5
    assert plain_bucket_width(3_120.0, 0.1) == 2
    assert plain_bucket_width(0.1234, 0.1) == pytest.approx(0.0001)
    rows = [(90_200.0, 90_000.0, 90_131.71, 0.5, 1e9), (90_300.0, 90_100.0, 90_131.71, 0.6, 1.5e9)]
    prices, longs, shorts = estimate_map(candles(rows), PARAMS)

    assert np.allclose(prices / 100, np.round(prices / 100))  # every level on a $100 grid
    assert longs.sum() + shorts.sum() == pytest.approx(0.5e9)
    assert shorts.sum() == pytest.approx(0.5e9 * 0.4)


# ---- what the model learned from the fidelity harness (benchmarks/fidelity.py) -----------------


def with_columns(base: CandleArrays, **columns: list[float]) -> CandleArrays:
    fields_ = {name: getattr(base, name) for name in CandleArrays.__dataclass_fields__}
    return CandleArrays(**{**fields_, **{k: np.array(v, dtype=float) for k, v in columns.items()}})


def test_six_positional_arrays_still_make_candles_without_contracts_or_volume():
    data = candles([BASELINE, OPEN_AT_200])
    assert np.isnan(data.oi_contracts).all() and np.isnan(data.quote_volume).all()


def test_open_interest_in_contracts_opens_only_new_contracts_valued_at_the_close():
    # the price doubles while USD open interest doubles with it: no contract was opened...
    rows = [BASELINE, (201.0, 199.0, 200.0, 0.25, 2_000.0), (201.0, 199.0, 200.0, 0.25, 2_600.0)]
    in_coins = with_columns(candles(rows), oi_contracts=[10.0, 10.0, 13.0])
    alive = surviving_positions(in_coins, PARAMS)
    # ...then 3 coins open at $200: $600, as the USD series alone would have said only at entry
    assert_levels(alive.long_price, alive.long_usd, expected_longs(200.0, 600 * 0.25))
    assert_levels(alive.short_price, alive.short_usd, expected_shorts(200.0, 600 * 0.75))
    usd_only = surviving_positions(candles(rows), PARAMS)  # differencing USD opens $1,600
    assert sum(usd_only.long_usd) + sum(usd_only.short_usd) == pytest.approx(1_600)


def test_open_interest_that_falls_more_than_its_liquidations_shrinks_survivors_by_the_rest():
    # the $195 wick liquidates $45 of longs (50x, 100x); OI falls $245: $200 of real closes,
    # out of the $1,555 left after the wick
    wick = (200.5, 195.0, 199.0, 0.5, 1_355.0)
    alive = surviving_positions(candles([BASELINE, OPEN_AT_200, wick]), PARAMS)
    kept = 1_355 / 1_555
    survivors = {p: usd * kept for p, usd in expected_longs(200.0, 150).items() if p < 195.0}
    assert_levels(alive.long_price, alive.long_usd, survivors)
    assert_levels(alive.short_price, alive.short_usd, expected_shorts(200.0, 450 * kept))


def test_a_candle_without_open_interest_still_liquidates_and_its_levels_close_their_oi():
    # Binance was silent for the wick candle; the next sample shows the $45 gone and no more
    wick = (200.5, 195.0, 199.0, 0.5, math.nan)
    after = (199.5, 198.5, 199.0, 0.5, 1_555.0)
    alive = surviving_positions(candles([BASELINE, OPEN_AT_200, wick, after]), PARAMS)
    want = {p: usd for p, usd in expected_longs(200.0, 150).items() if p < 195.0}
    assert_levels(alive.long_price, alive.long_usd, want)
    assert_levels(alive.short_price, alive.short_usd, expected_shorts(200.0, 450))


def test_turnover_on_flat_open_interest_renews_the_map_and_fades_with_its_life():
    flat = (200.5, 199.5, 200.0, 0.5, 1_600.0)
    rows = [BASELINE, OPEN_AT_200, flat, flat]
    busy = with_columns(candles(rows), quote_volume=[0.0, 0.0, 1_000.0, 0.0])
    off = surviving_positions(busy, PARAMS)  # the default: volume is not read as turnover
    assert_levels(off.long_price, off.long_usd, expected_longs(200.0, 150))

    params = EstimatorParams(turnover_share=0.1, turnover_hours=1.0, bucket_pct=0.0001)
    # $100 of turnover (a tenth of the volume) opens at the third close, half of it long; OI
    # stayed flat, so $100 of the older positions closed to make room for it...
    prices, longs, _ = estimate_map(busy, params)
    want = sorted(expected_longs(200.0, 150 * 15 / 16 + 50).items())
    got = sorted(as_dict(prices, longs).items())
    assert [p for p, _ in got] == pytest.approx([p for p, _ in want], abs=1e-4)
    assert [usd for _, usd in got] == pytest.approx([usd for _, usd in want], rel=1e-12)
    # ...and one 5-minute candle of its 1-hour mean life later, that much of it has closed again
    # (the fourth candle's flat OI reopens it as regular positions)
    fade = math.exp(-5 / 60)
    alive = surviving_positions(busy, params)
    five_x = max(PARAMS.tier_shares[:1]) * 50
    assert any(usd == pytest.approx(five_x * fade, rel=1e-12) for usd in alive.long_usd)
    assert any(usd == pytest.approx(five_x * (1 - fade), rel=1e-12) for usd in alive.long_usd)


# ---- bad data ---------------------------------------------------------------------------------


def test_a_candle_without_a_usable_price_is_skipped_and_its_oi_change_moves_to_the_next():
    broken = (math.nan, 150.0, 150.0, 0.5, 1_300.0)
    rows = [BASELINE, broken, OPEN_AT_200]
    alive = surviving_positions(candles(rows), PARAMS)
    # the $150 wick never happened; the whole $600 rise opens at $200
    assert_levels(alive.long_price, alive.long_usd, expected_longs(200.0, 600 * 0.25))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, -5.0, 0.0])
def test_garbage_values_never_put_nan_or_inf_in_the_map(bad):
    rows = [
        (bad, 99.0, 100.0, bad, bad),
        (101.0, 99.0, 100.0, 0.5, 1_000.0),
        (201.0, bad, 200.0, bad, 1_600.0),
        (201.0, 199.0, 200.0, bad, bad),
        (203.0, 199.0, 202.0, 0.5, 2_000.0),
    ]
    prices, longs, shorts = estimate_map(candles(rows), PARAMS)
    assert prices.size > 0
    for array in (prices, longs, shorts):
        assert np.isfinite(array).all()
    assert (longs >= 0).all() and (shorts >= 0).all()


def test_no_usable_candle_gives_an_empty_map():
    nothing = candles([(math.nan, math.nan, math.nan, math.nan, math.nan)] * 3)
    assert all(a.size == 0 for a in estimate_map(nothing, PARAMS))


def test_arrays_of_different_lengths_are_refused_clearly():
    with pytest.raises(DataError, match="equal lengths"):
        CandleArrays(np.zeros(3), np.ones(3), np.ones(3), np.ones(2), np.ones(3), np.ones(3))


def test_params_come_from_the_config_section_and_bad_ones_are_refused(tmp_path):
    cfg_file = tmp_path / "config.toml"
    cfg_file.write_text("[estimator]\nleverage = [10, 20]\nweights = [1, 3]\nbucket_pct = 0.05\n")
    params = EstimatorParams.from_config(config.load(cfg_file, env={}).section("estimator"))
    assert params.leverage == (10, 20) and params.tier_shares == (0.25, 0.75)
    assert params.bucket_pct == 0.05 and params.maintenance_margin == 0.004
    assert (
        EstimatorParams.from_config(config.load(env={}).section("estimator")) == EstimatorParams()
    )
    with pytest.raises(ConfigError, match="one weight per leverage tier"):
        EstimatorParams(leverage=(5, 10), weights=(1.0,))
    with pytest.raises(ConfigError, match="leverage"):
        EstimatorParams(leverage=(1, 10), weights=(1, 1))


# ---- the vectorised model is the per-position model --------------------------------------------


@st.composite
def random_candles(draw) -> CandleArrays:
    count = draw(st.integers(1, 30))
    moves = draw(st.lists(st.floats(-0.08, 0.08), min_size=count, max_size=count))
    wicks = draw(
        st.lists(st.tuples(st.floats(0, 0.06), st.floats(0, 0.06)), min_size=count, max_size=count)
    )
    shares = draw(st.lists(st.floats(0, 1), min_size=count, max_size=count))
    oi_steps = draw(
        st.lists(
            st.sampled_from([-400.0, -50.0, 0.0, 30.0, 250.0, 900.0]) | st.floats(-500, 500),
            min_size=count,
            max_size=count,
        )
    )
    close = 100.0 * np.exp(np.cumsum(moves))
    high = close * (1 + np.array([w[0] for w in wicks]))
    low = close * (1 - np.array([w[1] for w in wicks]))
    oi = np.clip(1_000.0 + np.cumsum(oi_steps), 0.0, None)
    # open interest in coins (sometimes), quote volume (sometimes)
    coins = oi / close[0] if draw(st.booleans()) else np.full(count, np.nan)
    volumes = draw(st.lists(st.floats(0, 5_000), min_size=count, max_size=count))
    volume = np.array(volumes) if draw(st.booleans()) else np.full(count, np.nan)
    arrays = [high, low, close, np.array(shares), oi, coins, volume]
    # sometimes sprinkle missing values, as exchanges do
    for _ in range(draw(st.integers(0, 3))):
        column = draw(st.integers(0, 6))
        arrays[column][draw(st.integers(0, count - 1))] = draw(st.sampled_from([math.nan, -1.0]))
    return CandleArrays(np.arange(count) * 300_000.0, *arrays)


@settings(max_examples=300, deadline=None)
@given(
    random_candles(),
    st.sampled_from([0.1, 0.5, 2.0]),
    st.sampled_from([0.0, 0.0, 0.05, 0.5]),
    st.sampled_from([0.25, 3.0]),
)
def test_vectorised_map_equals_the_per_position_walk(data, bucket_pct, turnover, hours):
    params = EstimatorParams(bucket_pct=bucket_pct, turnover_share=turnover, turnover_hours=hours)
    fast_alive, slow_alive = surviving_positions(data, params), reference_positions(data, params)
    assert sorted(fast_alive.long_price.tolist()) == sorted(slow_alive.long_price.tolist())
    assert sorted(fast_alive.short_price.tolist()) == sorted(slow_alive.short_price.tolist())

    fast, slow = estimate_map(data, params), reference_map(data, params)
    assert np.array_equal(fast[0], slow[0])
    scale = max(1.0, float(np.abs(slow[1]).sum() + np.abs(slow[2]).sum()))
    assert np.abs(fast[1] - slow[1]).max(initial=0) <= 1e-9 * scale
    assert np.abs(fast[2] - slow[2]).max(initial=0) <= 1e-9 * scale


def test_a_denormal_taker_share_gives_the_same_map_both_ways():
    # Found by hypothesis: a share of 5e-324 leaves 1e-320 USD in one walk and 0 in the other.
    flat = np.full(20, 100.0)
    share = np.zeros(20)
    share[7] = 5e-324
    oi = [600, 550, 500, 450, 700, 1600, 2500, 2530, 2130, 1730, 1330, 930, 530, 480, 430, 380,
          330, 280, 230, 180]  # fmt: skip
    data = CandleArrays(np.arange(20) * 300_000.0, flat, flat, flat, share, np.array(oi, float))
    params = EstimatorParams(bucket_pct=0.1)
    fast, slow = estimate_map(data, params), reference_map(data, params)
    assert np.array_equal(fast[0], slow[0])
