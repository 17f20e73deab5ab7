"""The estimator's inputs: its parameters ([estimator]), the candle arrays a venue client hands
it, and how bad data is cleaned before either walk of the model (core/market/estimator.py and
tests/oracles/estimator_reference.py) starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

import numpy as np

from core.kernel.errors import ConfigError, DataError


@dataclass(frozen=True)
class EstimatorParams:
    """Leverage tiers and weights, maintenance-margin rate and bucket width ([estimator])."""

    leverage: tuple[float, ...] = (5, 10, 25, 50, 100)
    weights: tuple[float, ...] = (0.15, 0.30, 0.25, 0.20, 0.10)
    maintenance_margin: float = 0.004
    bucket_pct: float = 0.1  # bucket width as % of price, rounded to a plain number ($100 for BTC)
    # share of the volume the net OI change does not explain that opened and closed in the window
    turnover_share: float = 0.0
    turnover_hours: float = 3.0  # mean life of a turnover position

    def __post_init__(self) -> None:
        # Accept lists (TOML gives lists) but keep the value hashable and immutable.
        object.__setattr__(self, "leverage", tuple(float(x) for x in self.leverage))
        object.__setattr__(self, "weights", tuple(float(x) for x in self.weights))
        if not self.leverage or len(self.leverage) != len(self.weights):
            raise ConfigError("[estimator] weights must have one weight per leverage tier")
        if any(not math.isfinite(x) or x <= 1 for x in self.leverage):
            raise ConfigError("[estimator] leverage must be numbers above 1")
        if any(not math.isfinite(x) or x < 0 for x in self.weights) or sum(self.weights) <= 0:
            raise ConfigError("[estimator] weights must be non-negative and not all 0")
        if not 0 <= self.maintenance_margin < 0.5:
            raise ConfigError("[estimator] maintenance_margin must be between 0 and 0.5")
        if not 0 < self.bucket_pct <= 5:
            raise ConfigError("[estimator] bucket_pct must be above 0 and at most 5")
        if not 0 <= self.turnover_share <= 1:
            raise ConfigError("[estimator] turnover_share must be between 0 and 1")
        if not 0 < self.turnover_hours <= 24 * 30:
            raise ConfigError("[estimator] turnover_hours must be above 0 and at most 720")

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> EstimatorParams:
        """From core.config's [estimator] section; keys the model does not use (days, interval:
        the fetcher's) are ignored, missing keys keep their defaults."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in section.items() if key in known})

    @property
    def tier_shares(self) -> tuple[float, ...]:
        """Weights normalised to sum to 1, so that a cohort's whole notional is spread."""
        total = sum(self.weights)
        return tuple(w / total for w in self.weights)

    @property
    def long_liq_factors(self) -> tuple[float, ...]:
        """Liquidation price / entry price of a long, per tier: (1−1/L)/(1−m)."""
        m = self.maintenance_margin
        return tuple((1 - 1 / lev) / (1 - m) for lev in self.leverage)

    @property
    def short_liq_factors(self) -> tuple[float, ...]:
        """Liquidation price / entry price of a short, per tier: (1+1/L)/(1+m)."""
        m = self.maintenance_margin
        return tuple((1 + 1 / lev) / (1 + m) for lev in self.leverage)


@dataclass(frozen=True, eq=False)  # eq=False: numpy arrays have no single truth value
class CandleArrays:
    """Candles with open interest, as numpy float arrays of equal length, oldest first.

    The first six are positional (as before); `oi_contracts` and `quote_volume` are optional
    (None: all NaN). `oi_contracts` is the open interest in coins (Binance sumOpenInterest, Bybit
    openInterest, OKX oiCcy or contracts × ctVal): when any value is known the model counts open
    interest in coins valued at each candle's close, else it differences `oi_usd`.
    """

    open_time_ms: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    taker_buy_share: np.ndarray  # takerBuyQuote / quoteVol, 0.5 where quoteVol == 0
    oi_usd: np.ndarray  # open interest in USD at the candle's close (sumOpenInterestValue)
    oi_contracts: np.ndarray | None = None  # open interest in coins at the candle's close
    quote_volume: np.ndarray | None = None  # USD traded in the candle (quoteVol); NaN: unknown

    def __post_init__(self) -> None:
        lengths = set()
        size = np.asarray(self.close).size
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                value = np.full(size, np.nan)
            array = np.asarray(value, dtype=float).reshape(-1)
            object.__setattr__(self, f.name, array)
            lengths.add(array.size)
        if len(lengths) > 1:
            raise DataError(f"candle arrays must have equal lengths, got {sorted(lengths)}")

    def __len__(self) -> int:
        return int(self.close.size)


class CleanInputs(NamedTuple):
    """What the model walks over after cleaning: every value finite, prices > 0, OI >= 0."""

    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    share: np.ndarray  # taker-buy share
    oi: np.ndarray  # open interest in units: coins (oi_contracts) or USD (oi_usd); NaN: unknown
    unit_price: np.ndarray  # USD per unit at each candle: the close (coins) or 1 (USD)
    volume: np.ndarray  # quote volume in USD, NaN where unknown (no turnover there)
    candle_ms: float  # the candles' duration: median step between open times (nan: unknown)


def _fill_unknown(values: np.ndarray) -> np.ndarray | None:
    """Unknown (non-finite or negative) values become NaN, except leading ones, which take the
    first known value; None when nothing is known."""
    with np.errstate(invalid="ignore"):
        known = np.isfinite(values) & (values >= 0)
    if not known.any():
        return None
    first = int(np.argmax(known))
    filled = np.where(known, values, np.nan)
    filled[:first] = values[first]
    return filled


def clean_inputs(candles: CandleArrays) -> CleanInputs:
    """Defined behaviour for bad data (both implementations of the model start here):

    - a candle whose high, low or close is missing, non-finite or <= 0 has no usable price: it is
      dropped (its volume with it), and the OI change across it counts at the next usable candle;
    - high and low are widened to contain the close (and swapped if reversed);
    - open interest: in coins if any usable candle has a known `oi_contracts`, else in USD; a
      missing, non-finite or negative value is unknown (NaN): at such a candle only its
      liquidations (and turnover) move the model's OI, nothing else opens or closes, and the rest
      of the change lands on the next known value; leading unknowns take the first known value;
      no known value at all means nothing opens and nothing shrinks;
    - a missing taker-buy share means 0.5 (no side information); shares are clipped to [0, 1];
    - a missing, non-finite or negative quote volume is unknown: no turnover at that candle.
    """
    high, low, close = candles.high, candles.low, candles.close
    usable = np.ones(len(candles), dtype=bool)
    for price in (high, low, close):
        with np.errstate(invalid="ignore"):
            usable &= np.isfinite(price) & (price > 0)
    high, low, close = high[usable], low[usable], close[usable]
    high, low = np.maximum.reduce([high, low, close]), np.minimum.reduce([high, low, close])

    share = candles.taker_buy_share[usable]
    share = np.clip(np.where(np.isfinite(share), share, 0.5), 0.0, 1.0)

    coins = _fill_unknown(candles.oi_contracts[usable])
    if coins is not None:
        oi, unit_price = coins, close
    else:
        usd = _fill_unknown(candles.oi_usd[usable])
        oi = usd if usd is not None else np.zeros(close.size)
        unit_price = np.ones(close.size)
    volume = candles.quote_volume[usable]
    with np.errstate(invalid="ignore"):
        volume = np.where(np.isfinite(volume) & (volume >= 0), volume, np.nan)
    times = candles.open_time_ms[usable]
    steps = np.diff(times)
    steps = steps[np.isfinite(steps) & (steps > 0)]
    candle_ms = float(np.median(steps)) if steps.size else math.nan
    return CleanInputs(high, low, close, share, oi, unit_price, volume, candle_ms)
