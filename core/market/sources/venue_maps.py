"""What the estimate does with each venue's rows, without HTTP: candles aligned with open interest
(and the taker split each venue has or borrows), maps split at the price and summed on one grid,
and the sentences that say which venue is missing and where Bybit's taker split came from.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence

import numpy as np

from core.kernel.errors import LiqwatchError, SourceUnavailable, UnknownSymbol
from core.market.estimator import CandleArrays
from core.market.sources.binance import Kline, OpenInterestPoint
from core.market.sources.venues import Venue
from core.types import Level

log = logging.getLogger(__name__)

_FIELDS = {f.name for f in dataclasses.fields(CandleArrays)}


def taker_shares(klines: Sequence[Kline]) -> dict[int, float]:
    """open time → taker-buy share of each kline that has quote volume (Binance's, for Bybit)."""
    return {
        k.open_time_ms: k.taker_buy_quote / k.quote_volume for k in klines if k.quote_volume > 0
    }


def align_candles(
    klines: Sequence[Kline],
    open_interest: Sequence[OpenInterestPoint],
    step_ms: int,
    *,
    taker_split: str = "klines",
    borrowed_shares: Mapping[int, float] | None = None,
) -> CandleArrays:
    """Pair each kline with the open interest sampled at its close (timestamp = open + step).

    Why the close: the estimator opens new positions at the candle's close with the OI change
    the candle produced, so candle b must carry OI(end of b). Klines without a sample at their
    close (the unfinished last candle, a gap in the venue's history) are left out.
    Open interest in USD is the venue's own figure, else the coins valued at the candle's close
    (Bybit). The taker-buy share comes from the kline ("klines"), from the point at its close
    ("points": OKX's taker volume), or from `borrowed_shares` by open time, else 0.5 ("none").
    """
    oi_at = {p.timestamp_ms: p for p in open_interest}
    rows = [
        (k, oi_at[k.open_time_ms + step_ms]) for k in klines if k.open_time_ms + step_ms in oi_at
    ]
    extra: dict[str, np.ndarray] = {}
    if not rows:
        arrays = {f: np.empty(0) for f in _FIELDS}
        return CandleArrays(**arrays)
    if taker_split == "klines":
        quote = np.array([k.quote_volume for k, _ in rows])
        taker = np.array([k.taker_buy_quote for k, _ in rows])
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(quote > 0, taker / np.where(quote > 0, quote, 1.0), 0.5)
    elif taker_split == "points":
        share = np.array([_point_share(p) for _, p in rows])
    else:
        shares = borrowed_shares or {}
        share = np.array([shares.get(k.open_time_ms, 0.5) for k, _ in rows])
    if "oi_contracts" in _FIELDS:  # part of the model once it counts contracts
        extra["oi_contracts"] = np.array([p.contracts for _, p in rows])
    if "quote_volume" in _FIELDS:
        extra["quote_volume"] = np.array([k.quote_volume for k, _ in rows])
    return CandleArrays(
        open_time_ms=np.array([k.open_time_ms for k, _ in rows], dtype=float),
        high=np.array([k.high for k, _ in rows]),
        low=np.array([k.low for k, _ in rows]),
        close=np.array([k.close for k, _ in rows]),
        taker_buy_share=share,
        oi_usd=np.array([p.usd if p.usd > 0 else p.contracts * k.close for k, p in rows]),
        **extra,
    )


def _point_share(point: OpenInterestPoint) -> float:
    buy, sell = getattr(point, "taker_buy", 0.0), getattr(point, "taker_sell", 0.0)
    return buy / (buy + sell) if buy + sell > 0 else 0.5


def levels_by_side(
    prices: np.ndarray, long_usd: np.ndarray, short_usd: np.ndarray, mark: float
) -> tuple[Level, ...]:
    """Levels with longs kept only below the mark price and shorts only above it.

    The model buckets around its last close; the mark price a moment later can sit inside a
    bucket, and a long above the price (or a short below) would already be liquidated.
    """
    levels = []
    for price, long_part, short_part in zip(prices, long_usd, short_usd, strict=True):
        longs = float(long_part) if price < mark else 0.0
        shorts = float(short_part) if price > mark else 0.0
        if longs > 0 or shorts > 0:
            levels.append(Level(float(price), long_usd=longs, short_usd=shorts))
    return tuple(levels)


def sum_levels(parts: Sequence[tuple[Level, ...]]) -> tuple[Level, ...]:
    """Levels of several maps on one grid, added price by price."""
    total: dict[float, list[float]] = {}
    for levels in parts:
        for level in levels:
            entry = total.setdefault(level.price, [0.0, 0.0])
            entry[0] += level.long_usd
            entry[1] += level.short_usd
    return tuple(Level(p, long_usd=lo, short_usd=sh) for p, (lo, sh) in sorted(total.items()))


TierRows = tuple[tuple[float, tuple[float, ...]], ...]  # Snapshot.tiers


def tiers_by_side(
    prices: np.ndarray, long_tiers: np.ndarray, short_tiers: np.ndarray, mark: float
) -> dict[float, np.ndarray]:
    """price → USD per leverage tier of the side kept there (longs below the mark, shorts above:
    as levels_by_side); levels with nothing on the kept side are left out."""
    rows = {}
    for price, longs, shorts in zip(prices.tolist(), long_tiers, short_tiers, strict=True):
        part = longs if price < mark else shorts if price > mark else None
        if part is not None and part.sum() > 0:
            rows[price] = part
    return rows


def sum_tiers(parts: Sequence[Mapping[float, np.ndarray]]) -> TierRows:
    """Several venues' tier rows added price by price (as sum_levels), ascending price."""
    total: dict[float, np.ndarray] = {}
    for rows in parts:
        for price, part in rows.items():
            total[price] = total[price] + part if price in total else part
    return tuple((p, tuple(float(x) for x in row)) for p, row in sorted(total.items()))


def reason(error: Exception) -> str:
    if isinstance(error, UnknownSymbol):
        return f"does not list {error.symbol}"
    if isinstance(error, LiqwatchError):
        return str(error)
    return "internal error"


def all_failed(coin: str, venues: Sequence[Venue], failures: Mapping[str, Exception]) -> Exception:
    """The error when no venue answered: the venue's own when there is one venue, UnknownSymbol
    when none lists the coin, else a SourceUnavailable naming each venue's reason."""
    errors = list(failures.values())
    for error in errors:
        if not isinstance(error, LiqwatchError):
            log.error("estimate for %s failed", coin, exc_info=error)
    if len(errors) == 1:
        return errors[0]
    if errors and all(isinstance(e, UnknownSymbol) for e in errors):
        return UnknownSymbol(coin)
    labels = {v.name: v.label for v in venues}
    said = "; ".join(f"{labels[n]}: {reason(e)}" for n, e in failures.items())
    return SourceUnavailable(f"No venue answered for {coin} ({said})")


def borrowed_note(venue: Venue, klines: Sequence[Kline], borrowed: Mapping[int, float]) -> str:
    if not borrowed:
        return f"{venue.label} taker split: 0.5 (no Binance candles)"
    matched = sum(1 for k in klines if k.open_time_ms in borrowed)
    if matched >= len(klines) - 1:  # the newest candle may be one Binance has not opened yet
        return f"{venue.label} taker split: Binance's same candles"
    return (
        f"{venue.label} taker split: Binance's same candles ({matched} of {len(klines)}), else 0.5"
    )
