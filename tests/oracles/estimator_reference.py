"""The open-interest model of core/market/estimator.py written plainly, one position at a time.

It walks the candles in order and keeps every open position in a list: the executable statement of
the model, used to check the vectorised version (tests) and to measure it (benchmarks/estimator.py).
Too slow for production on weeks of candles: that is the point of the comparison. The per-candle
arithmetic of steps 2 to 5 (liquidations are closes, turnover, shrink, open) is the shared
`candle_flows`; this walk counts the liquidated and the open turnover units from its own positions
where the vectorised one keeps running totals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.market.estimator import (
    DUST_USD,
    CandleArrays,
    EstimatorParams,
    SurvivingPositions,
    candle_flows,
    clean_inputs,
    map_from_positions,
    turnover_decay,
)


@dataclass
class Position:
    price: float  # liquidation price
    regular_usd: float  # USD at entry held as a regular (long-lived) position
    turnover_usd: float  # USD at entry held as turnover (short-lived)
    unit_price: float  # USD per OI unit at entry

    @property
    def usd(self) -> float:
        return self.regular_usd + self.turnover_usd


def reference_positions(candles: CandleArrays, params: EstimatorParams) -> SurvivingPositions:
    """Positions alive after the last candle, walking candle by candle, position by position."""
    clean = clean_inputs(candles)
    high, low, close, share, oi, unit, volume = (
        array.tolist()
        for array in (clean.high, clean.low, clean.close, clean.share, clean.oi, clean.unit_price,
                      clean.volume)
    )  # fmt: skip
    if not close:
        empty = np.empty(0)
        return SurvivingPositions(empty, empty, empty, empty, None)
    decay = turnover_decay(clean.candle_ms, params.turnover_hours)
    tiers = list(
        zip(params.tier_shares, params.long_liq_factors, params.short_liq_factors, strict=True)
    )
    longs: list[Position] = []
    shorts: list[Position] = []
    open_interest = oi[0]  # the model's OI after the previous candle (the sample when known)
    for candle in range(1, len(close)):
        # 1. consume: the candle's wick reaches the level; what it held is liquidated OI
        gone = [p for p in longs if low[candle] <= p.price]
        gone += [p for p in shorts if high[candle] >= p.price]
        longs = [p for p in longs if low[candle] > p.price]
        shorts = [p for p in shorts if high[candle] < p.price]
        liquidated = sum(p.usd / p.unit_price for p in gone)
        turnover_alive = 0.0
        if params.turnover_share > 0:
            turnover_alive = sum(p.turnover_usd / p.unit_price for p in longs + shorts)
        # 2-4. the rest of the OI change: turnover, closes
        flows = candle_flows(
            open_interest, oi[candle], liquidated, turnover_alive, volume[candle], unit[candle],
            params.turnover_share, decay,
        )  # fmt: skip
        open_interest = flows.oi_after
        if flows.kept != 1 or params.turnover_share > 0:
            for p in longs + shorts:
                p.regular_usd *= flows.kept
                p.turnover_usd *= flows.turnover_kept
        # 5. open at the close, split by taker-buy share, spread over the tiers
        entry, price_unit = close[candle], unit[candle]
        regular, turnover = flows.opened * price_unit, flows.turnover_opened * price_unit
        if regular == 0 and turnover == 0:
            continue  # nothing opened: a level of $0 would change nothing
        for tier_share, long_factor, short_factor in tiers:
            long_part, short_part = share[candle] * tier_share, (1 - share[candle]) * tier_share
            longs.append(
                Position(entry * long_factor, regular * long_part, turnover * long_part, price_unit)
            )
            shorts.append(
                Position(
                    entry * short_factor, regular * short_part, turnover * short_part, price_unit
                )
            )
    longs = [p for p in longs if p.usd >= DUST_USD]  # less than a cent is no level
    shorts = [p for p in shorts if p.usd >= DUST_USD]
    return SurvivingPositions(
        long_price=np.array([p.price for p in longs], dtype=float),
        long_usd=np.array([p.usd for p in longs], dtype=float),
        short_price=np.array([p.price for p in shorts], dtype=float),
        short_usd=np.array([p.usd for p in shorts], dtype=float),
        last_price=close[-1],
    )


def reference_map(
    candles: CandleArrays, params: EstimatorParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Same output as estimate_map, through the per-position walk."""
    return map_from_positions(reference_positions(candles, params), params)
