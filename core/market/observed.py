"""The observed map: where the read wallets' own positions would be liquidated, not an estimate.

Hyperliquid publishes every wallet's positions with the exchange's own `liquidationPx`. Each
position of a fresh reading goes to the bucket of its liquidation price, by side, with its
notional valued at the mark price now (|size| x mark: readings of different ages stay on one
scale). Buckets are the estimate's (`plain_bucket_width` of `[estimator] bucket_pct`), so the
observed map adds to the estimated ones price by price.

Counted apart, never on the map:
- positions with no liquidation price (cross margin with collateral enough that no price
  liquidates them): their number and notional;
- positions whose liquidation price the mark has already crossed since the reading (a long
  liquidated below, a short above): the reading is older than what happened;
- readings older than `stale_after`, and configured wallets not read yet.

Coverage is the observed open notional (both sides, with or without a liquidation price) over
the venue's open interest from metaAndAssetCtxs, which counts each contract once (one side):
(longs + shorts) / (2 x OI). It says how much of the real book the map shows; the map is exact
for what it shows and silent about the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from core.market.estimator import bucket_levels, plain_bucket_width
from core.types import Level, ObservedCoverage, WalletReading


@dataclass(frozen=True)
class ObservedMap:
    coin: str
    price: float  # the venue's mark price now
    levels: tuple[Level, ...]  # longs below the price, shorts above, ascending
    coverage: ObservedCoverage

    @property
    def long_usd(self) -> float:
        return sum(level.long_usd for level in self.levels)

    @property
    def short_usd(self) -> float:
        return sum(level.short_usd for level in self.levels)

    def note(self, now: datetime) -> str:
        """One line for a snapshot's note: `Hyperliquid observed: 12% of OI in 40 wallets,
        readings up to 3 min old, 5 positions without a liquidation price apart`."""
        cov = self.coverage
        share = cov.share * 100
        shown = f"{share:.1f}%" if share < 10 else f"{share:.0f}%"
        wallets = f"{cov.wallets} wallet" + ("" if cov.wallets == 1 else "s")
        parts = [f"{shown} of OI in {wallets}"]
        if cov.oldest_read_at is not None:
            minutes = max(0.0, (now - cov.oldest_read_at).total_seconds() / 60)
            parts.append(f"readings up to {minutes:.0f} min old")
        if cov.no_liq_count:
            n = cov.no_liq_count
            parts.append(f"{n} position{'' if n == 1 else 's'} without a liquidation price apart")
        return "Hyperliquid observed: " + ", ".join(parts)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(prices, long USD, short USD): the shape the estimate's venue maps have."""
        return (
            np.array([lv.price for lv in self.levels], dtype=float),
            np.array([lv.long_usd for lv in self.levels], dtype=float),
            np.array([lv.short_usd for lv in self.levels], dtype=float),
        )


def observed_map(
    coin: str,
    readings: Iterable[WalletReading],
    mark_px: float,
    open_interest_coins: float,
    now: datetime,
    *,
    bucket_pct: float = 0.1,
    stale_after: timedelta = timedelta(minutes=30),
    unread: int = 0,
) -> ObservedMap:
    """The map of `coin` from the wallets' readings (see the module docstring).

    `coin` is matched against the venue's own names case-insensitively; `unread` is how many
    configured wallets have no reading yet (reported, nothing else).
    """
    name = coin.upper()
    prices: list[float] = []
    longs: list[float] = []
    shorts: list[float] = []
    long_usd = short_usd = no_liq_usd = 0.0
    no_liq = past_liq = fresh = stale = 0
    oldest: datetime | None = None
    newest: datetime | None = None
    for reading in readings:
        if now - reading.read_at > stale_after:
            stale += 1
            continue
        fresh += 1
        oldest = reading.read_at if oldest is None else min(oldest, reading.read_at)
        newest = reading.read_at if newest is None else max(newest, reading.read_at)
        for position in reading.positions:
            if position.coin.upper() != name:
                continue
            notional = abs(position.size) * mark_px
            is_long = position.size > 0
            if is_long:
                long_usd += notional
            else:
                short_usd += notional
            liq = position.liquidation_px
            if liq is None:
                no_liq += 1
                no_liq_usd += notional
                continue
            if (is_long and liq >= mark_px) or (not is_long and liq <= mark_px):
                past_liq += 1
                continue
            prices.append(liq)
            longs.append(notional if is_long else 0.0)
            shorts.append(0.0 if is_long else notional)
    levels: tuple[Level, ...] = ()
    if prices:
        width = plain_bucket_width(mark_px, bucket_pct)
        bucket_prices, bucket_longs, bucket_shorts = bucket_levels(
            np.array(prices), np.array(longs), np.array(shorts), width
        )
        levels = tuple(
            Level(float(p), long_usd=float(lo), short_usd=float(sh))
            for p, lo, sh in zip(bucket_prices, bucket_longs, bucket_shorts, strict=True)
        )
    coverage = ObservedCoverage(
        coin=name,
        open_interest_usd=open_interest_coins * mark_px,
        long_usd=long_usd,
        short_usd=short_usd,
        no_liq_count=no_liq,
        no_liq_usd=no_liq_usd,
        past_liq_count=past_liq,
        wallets=fresh,
        wallets_stale=stale,
        wallets_unread=unread,
        oldest_read_at=oldest,
        newest_read_at=newest,
    )
    return ObservedMap(name, mark_px, levels, coverage)
