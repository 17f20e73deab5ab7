"""The open-interest model of core/estimator.py written the plain way, one position at a time.

It walks the candles in order and keeps every open position in a list: the executable statement of
the model, used to check the vectorised version (tests) and to measure it (benchmarks/estimator.py).
Too slow for production on weeks of candles: that is the point of the comparison.
"""

from __future__ import annotations

import numpy as np

from core.market.estimator import (
    CandleArrays,
    EstimatorParams,
    SurvivingPositions,
    clean_inputs,
    map_from_positions,
)


def reference_positions(candles: CandleArrays, params: EstimatorParams) -> SurvivingPositions:
    """Positions alive after the last candle, walking candle by candle, position by position."""
    high, low, close, share, oi = (array.tolist() for array in clean_inputs(candles))
    if not close:
        empty = np.empty(0)
        return SurvivingPositions(empty, empty, empty, empty, None)
    tiers = list(
        zip(params.tier_shares, params.long_liq_factors, params.short_liq_factors, strict=True)
    )
    longs: list[list[float]] = []  # [liquidation price, USD]
    shorts: list[list[float]] = []
    for candle in range(1, len(close)):
        # 1. consume: the candle's wick reaches the level
        longs = [position for position in longs if low[candle] > position[0]]
        shorts = [position for position in shorts if high[candle] < position[0]]
        change = oi[candle] - oi[candle - 1]
        if change > 0:
            # 2. open at the close, split by taker-buy share, spread over the tiers
            entry = close[candle]
            long_total = change * share[candle]
            short_total = change * (1 - share[candle])
            for tier_share, long_factor, short_factor in tiers:
                longs.append([entry * long_factor, long_total * tier_share])
                shorts.append([entry * short_factor, short_total * tier_share])
        elif change < 0:
            # 3. the same fraction of every open position closed
            kept = oi[candle] / oi[candle - 1]
            for position in longs:
                position[1] *= kept
            for position in shorts:
                position[1] *= kept
    return SurvivingPositions(
        long_price=np.array([p[0] for p in longs], dtype=float),
        long_usd=np.array([p[1] for p in longs], dtype=float),
        short_price=np.array([p[0] for p in shorts], dtype=float),
        short_usd=np.array([p[1] for p in shorts], dtype=float),
        last_price=close[-1],
    )


def reference_map(
    candles: CandleArrays, params: EstimatorParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Same output as estimate_map, through the per-position walk."""
    return map_from_positions(reference_positions(candles, params), params)
