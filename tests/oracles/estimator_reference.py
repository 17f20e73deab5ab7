"""The open-interest model of core/market/estimator.py written plainly, one position at a time.

It walks the candles in order and keeps every open position in a list: the executable statement of
the model, used to check the vectorised version (tests) and to measure it (benchmarks/estimator.py).
Too slow for production on weeks of candles: that is the point of the comparison. The per-candle
arithmetic of steps 2 to 5 (liquidations are closes, turnover, shrink, open) is the shared
`candle_flows`, so the two walks differ only in how they track positions.
"""

from __future__ import annotations

import numpy as np

from core.market.estimator import (
    DUST_USD,
    CandleArrays,
    EstimatorParams,
    SurvivingPositions,
    candle_flows,
    clean_inputs,
    map_from_positions,
)


def reference_positions(candles: CandleArrays, params: EstimatorParams) -> SurvivingPositions:
    """Positions alive after the last candle, walking candle by candle, position by position."""
    high, low, close, share, oi, unit, volume = (array.tolist() for array in clean_inputs(candles))
    if not close:
        empty = np.empty(0)
        return SurvivingPositions(empty, empty, empty, empty, None)
    tiers = list(
        zip(params.tier_shares, params.long_liq_factors, params.short_liq_factors, strict=True)
    )
    longs: list[list[float]] = []  # [liquidation price, USD at entry, USD per unit at entry]
    shorts: list[list[float]] = []
    for candle in range(1, len(close)):
        # 1. consume: the candle's wick reaches the level; what it held is liquidated OI
        gone = [p for p in longs if low[candle] <= p[0]] + [
            p for p in shorts if high[candle] >= p[0]
        ]
        longs = [position for position in longs if low[candle] > position[0]]
        shorts = [position for position in shorts if high[candle] < position[0]]
        liquidated = sum(usd / unit_price for _, usd, unit_price in gone)
        # 2-4. the rest of the OI change, turnover, closes
        kept, opened = candle_flows(
            oi[candle - 1], oi[candle], liquidated, volume[candle], unit[candle],
            params.turnover_share,
        )  # fmt: skip
        for position in longs + shorts:
            position[1] *= kept
        # 5. open at the close, split by taker-buy share, spread over the tiers
        entry, opened_usd = close[candle], opened * unit[candle]
        for tier_share, long_factor, short_factor in tiers:
            longs.append(
                [entry * long_factor, opened_usd * share[candle] * tier_share, unit[candle]]
            )
            shorts.append(
                [entry * short_factor, opened_usd * (1 - share[candle]) * tier_share, unit[candle]]
            )
    longs = [p for p in longs if p[1] >= DUST_USD]  # less than a cent is no level
    shorts = [p for p in shorts if p[1] >= DUST_USD]
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
