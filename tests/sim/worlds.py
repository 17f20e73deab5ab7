"""The simulated worlds: name → spec, fixed seeds, each breaking one comfortable assumption.

`calm` is the estimator's own model made true (see tests/sim/__init__.py for why it is exact). The
others start from calm and change what their description says. Every world publishes open interest
the way venues do (`oi_value="mark"`: contracts × the candle's close) and lets a liquidation close
its contracts (`liquidation_oi="close"`), because that is how real markets behave (`REAL_MARKET`);
the estimator reads open interest in contracts and counts liquidations as closes, so calm needs no
departure from it (before those model changes calm valued OI at entry and let liquidations
transfer, `oi_value="entry"`, `liquidation_oi="transfer"`, which the simulator still offers).

Candle indices are 5-minute candles from the start of the window (288 a day, 8,640 in 30 days).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

DAY = 288  # 5-minute candles per day


@dataclass(frozen=True)
class VenueSpec:
    """One venue's slice of the market and how it publishes it."""

    name: Literal["binance", "bybit", "okx"]
    share: float = 1.0  # share of the market's flows and of the initial open interest
    maintenance_margin: float = 0.004
    contract_value: float = 1.0  # coins per contract (OKX BTC-USDT-SWAP: 0.01)
    # Published taker-buy share = fidelity × (openers' true long share) + (1 − fidelity) × noise
    # (traders who are not opening). 1: the published share is exactly the openers' split.
    taker_fidelity: float = 1.0
    long_bias: float = 0.0  # added to the openers' long share (0.1: 60 % longs on average)
    kline_gaps: tuple[tuple[int, int], ...] = ()  # [start, stop) candles missing from klines
    oi_gaps: tuple[tuple[int, int], ...] = ()  # [start, stop) candles whose OI sample is missing


@dataclass(frozen=True)
class Regime:
    """Overrides on candles [start, stop); None keeps the world's value."""

    start: int
    stop: int
    volatility: float | None = None
    open_prob: float | None = None
    open_scale: float = 1.0  # × the notional opened per opening candle
    close_scale: float = 1.0  # × the fraction closed per closing candle (0: nobody closes)
    long_bias: float = 0.0  # added to the openers' long share


@dataclass(frozen=True)
class Shock:
    """A forced candle: its close return (log) and an extra wick (< 0: the low, > 0: the high)."""

    candle: int
    close_return: float = 0.0
    wick: float = 0.0


@dataclass(frozen=True)
class Cascade:
    """A sharp move from `start`: the first closes follow `returns`, and for `length` candles every
    liquidated USD pushes the price further by `impact_per_usd` (a fraction of the price), of which
    `carry` stays in the close. The cascade's candles open and close no positions."""

    start: int
    returns: tuple[float, ...]
    impact_per_usd: float
    length: int = 36
    carry: float = 0.7


@dataclass(frozen=True)
class DayTraders:
    """Extra pairs opened every candle, closed whole after a lifetime (exponential, in candles)."""

    usd_per_candle: float
    mean_life: float


@dataclass(frozen=True)
class WorldSpec:
    name: str
    description: str
    seed: int
    venues: tuple[VenueSpec, ...] = (VenueSpec("binance"),)
    symbol: str = "BTC"
    start_price: float = 90_000.0
    tick: float = 0.1
    candles: int = 30 * DAY
    start_ms: int = 1_735_689_600_000  # 2025-01-01T00:00Z
    # price path: log returns per candle, wicks beyond open/close
    drift: float = 0.0  # total log drift over the window
    volatility: float = 0.0011  # per candle (≈ 1.9 % a day)
    wick_mean: float = 0.00035
    spike_prob: float = 0.004  # a long wick (either side) of spike_size
    spike_size: tuple[float, float] = (0.003, 0.012)
    regimes: tuple[Regime, ...] = ()
    shocks: tuple[Shock, ...] = ()
    cascade: Cascade | None = None
    # flows: a candle either opens (probability open_prob) or closes a fraction of every position
    initial_oi_usd: float = 7.0e9  # passive (unleveraged both sides) open interest at the start
    open_prob: float = 0.5
    open_usd_mean: float = 4.0e6  # notional opened by an opening candle (whole market)
    volume_usd_mean: float = 60.0e6  # quote volume per candle (whole market), besides openings
    leverage: tuple[float, ...] = (5, 10, 25, 50, 100)
    weights: tuple[float, ...] = (0.15, 0.30, 0.25, 0.20, 0.10)
    day_traders: DayTraders | None = None
    oi_value: Literal["entry", "mark"] = "entry"  # what the published USD open interest values
    liquidation_oi: Literal["transfer", "close"] = "transfer"  # what a liquidation does to OI

    def venue(self, name: str) -> VenueSpec:
        return next(v for v in self.venues if v.name == name)


REAL_MARKET = {"oi_value": "mark", "liquidation_oi": "close"}

CALM = WorldSpec(
    name="calm",
    description=(
        "the estimator's own assumptions, exactly: opens at closes split by taker share over the "
        "default tiers, proportional closes, liquidations close their OI, no turnover"
    ),
    seed=101,
    **REAL_MARKET,
)


def _world(name: str, description: str, seed: int, **changes) -> WorldSpec:
    return replace(CALM, name=name, description=description, seed=seed, **changes)


CASCADE_AT = 24 * DAY
GAP_AT = 29 * DAY  # the gap ends 18 hours before the last candle

WORLDS: dict[str, WorldSpec] = {
    "calm": CALM,
    "turnover": _world(
        "turnover",
        "heavy turnover on flat OI: $25M a candle opened by day traders who close within hours",
        seed=202,
        day_traders=DayTraders(usd_per_candle=25.0e6, mean_life=36),
    ),
    "trend": _world(
        "trend",
        "a strong uptrend (+35 % in 30 days): USD OI moves with the price, no contract opened",
        seed=303,
        drift=math.log(1.35),
    ),
    "leverage_mix": _world(
        "leverage_mix",
        "leverage far from the default tiers: 60 % at 2-3x, 40 % at 75-125x",
        seed=404,
        leverage=(2, 3, 75, 100, 125),
        weights=(0.30, 0.30, 0.15, 0.10, 0.15),
    ),
    "cascade": _world(
        "cascade",
        "longs pile up for 3 quiet days, then a -2.4 % push liquidates them and the liquidations "
        "push the price further (OI drops with them)",
        seed=505,
        regimes=(
            Regime(
                CASCADE_AT - 3 * DAY,
                CASCADE_AT,
                volatility=0.0005,
                open_prob=0.75,
                open_scale=1.5,
                long_bias=0.2,
            ),
            Regime(CASCADE_AT, CASCADE_AT + 36, open_prob=0.0, close_scale=0.0),
        ),
        cascade=Cascade(start=CASCADE_AT, returns=(-0.008, -0.010, -0.006), impact_per_usd=3e-11),
    ),
    "gap": _world(
        "gap",
        "Binance publishes nothing for 6 hours (klines and OI) and a -3 % wick happens inside the "
        "gap; Bybit (40 % of OI) publishes everything",
        seed=606,
        venues=(
            VenueSpec(
                "binance",
                share=0.6,
                kline_gaps=((GAP_AT, GAP_AT + 72),),
                oi_gaps=((GAP_AT, GAP_AT + 72),),
            ),
            VenueSpec("bybit", share=0.4, maintenance_margin=0.005),
        ),
        shocks=(Shock(GAP_AT + 30, close_return=-0.004, wick=-0.03),),
    ),
    "three_venues": _world(
        "three_venues",
        "OI split 50/30/20 over Binance/Bybit/OKX, maintenance margins 0.4/0.5/0.3 %, Bybit's "
        "openers lean long (unpublished taker split), OKX's lean short with a noisy taker split",
        seed=707,
        venues=(
            VenueSpec("binance", share=0.5, maintenance_margin=0.004),
            VenueSpec("bybit", share=0.3, maintenance_margin=0.005, long_bias=0.08),
            VenueSpec(
                "okx",
                share=0.2,
                maintenance_margin=0.003,
                contract_value=0.01,
                taker_fidelity=0.4,
                long_bias=-0.1,
            ),
        ),
    ),
}
