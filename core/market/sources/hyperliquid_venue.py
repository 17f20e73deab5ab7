"""Hyperliquid as a venue of the aggregate map, labelled "observed" (`[data] venues` opt-in):
the configured wallets' positions through core/market/observed.py, beside the estimated venues.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from core.kernel.clock import Clock, utcnow
from core.kernel.config import Config
from core.kernel.errors import SourceUnavailable
from core.market.observed import ObservedMap, observed_map
from core.market.sources.hyperliquid import HyperliquidClient
from core.types import Candle, WalletReading

LIVE_READS = 300  # wallets a one-shot map reads itself: 600 of the 1,200 weight a minute


class Readings(Protocol):
    """What the observed venue reads from the store (core/store/wallets.py)."""

    def universe_readings(self) -> tuple[list[WalletReading], int]: ...


class ObservedVenue:
    """Hyperliquid as a venue of the aggregate map, labelled "observed": its map is built from
    the wallets' readings and the venue's mark price and open interest (metaAndAssetCtxs, one
    request for every coin, kept 30 s by the client).

    The readings come from the store the bot's wallet job fills (`readings`, attached by the
    wiring). Without one (a one-shot `liqwatch liq`), the configured `wallets` are read on the
    spot, at most LIVE_READS of them, and kept for half of `stale_after`.
    """

    name = "hyperliquid"
    label = "Hyperliquid"
    method = "observed"  # the others are "estimated"

    def __init__(
        self,
        client: HyperliquidClient,
        readings: Readings | None = None,
        *,
        wallets: Sequence[str] = (),
        bucket_pct: float = 0.1,
        stale_after: timedelta = timedelta(minutes=30),
        clock: Callable[[], datetime] = utcnow,
    ):
        self.client = client
        self.readings = readings
        self.wallets = tuple(wallets)
        self._live: tuple[datetime, list[WalletReading]] | None = None
        self.bucket_pct = bucket_pct
        self.stale_after = stale_after
        self._clock = clock

    @classmethod
    def from_config(cls, config: Config, clock: Clock | None = None) -> ObservedVenue:
        section = config.section("sources.hyperliquid")
        return cls(
            HyperliquidClient.from_config(config, clock),
            wallets=[w.strip().lower() for w in section["wallets"]],
            bucket_pct=config.get("estimator", "bucket_pct"),
            stale_after=timedelta(minutes=section["stale_minutes"]),
            clock=clock or utcnow,
        )

    async def observed(self, coin: str) -> ObservedMap:
        """The observed map of `coin` now. UnknownSymbol if Hyperliquid does not list it;
        SourceUnavailable when no wallet was read yet (nothing to observe is not a map)."""
        context = await self.client.asset_context(coin)
        readings, unread = await self._readings()
        if not readings:
            raise SourceUnavailable(
                "no wallet read yet"
                if unread
                else "no wallets to observe (list some in [sources.hyperliquid] wallets)"
            )
        return observed_map(
            context.coin,
            readings,
            context.mark_px,
            context.open_interest,
            self._clock(),
            bucket_pct=self.bucket_pct,
            stale_after=self.stale_after,
            unread=unread,
        )

    async def _readings(self) -> tuple[list[WalletReading], int]:
        if self.readings is not None:
            return self.readings.universe_readings()
        wanted = self.wallets[:LIVE_READS]
        now = self._clock()
        if wanted and (self._live is None or now - self._live[0] > self.stale_after / 2):
            gate = asyncio.Semaphore(8)

            async def one(address: str) -> WalletReading:
                async with gate:
                    return await self.client.clearinghouse_state(address)

            results = await asyncio.gather(*(one(a) for a in wanted), return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException) and not isinstance(result, Exception):
                    raise result
            self._live = (now, [r for r in results if isinstance(r, WalletReading)])
        read = self._live[1] if self._live else []
        return read, len(self.wallets) - len(read)

    async def mark_price(self, coin: str) -> float:
        return await self.client.mark_price(coin)

    async def candles(self, coin: str, since: datetime, interval: str = "1m") -> list[Candle]:
        return await self.client.candles(coin, since, interval)

    async def aclose(self) -> None:
        await self.client.aclose()
