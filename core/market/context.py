"""What explains a map: funding (rate, next funding time) and open interest with its 24 h change.

From Binance USD-M, through the Binance client (payload shapes: tests/data/real/binance/
premium_index_btcusdt.json for `lastFundingRate`/`nextFundingTime`, and
open_interest_hist_btcusdt_5m_with_cmc.json for `sumOpenInterestValue`): `/fapi/v1/premiumIndex`
(weight 1) and `/futures/data/openInterestHist` period 1h, 25 rows (weight 1). Kept per symbol
for `ttl` seconds, so a busy chat costs two requests per symbol per five minutes. Never raises:
context is a nice-to-have, its absence is one log line and no line in the report.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from core.kernel.clock import utcnow
from core.kernel.errors import LiqwatchError

log = logging.getLogger(__name__)

PREMIUM_INDEX = "/fapi/v1/premiumIndex"
OPEN_INTEREST_HIST = "/futures/data/openInterestHist"


@dataclass(frozen=True)
class MarketContext:
    symbol: str
    funding_rate: float | None  # per funding interval, as a fraction (0.0001 = 0.01 %)
    next_funding: datetime | None
    open_interest_usd: float | None
    open_interest_change_pct: float | None  # over the last 24 h


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def parse_funding(body: Any) -> tuple[float | None, datetime | None]:
    if not isinstance(body, dict):
        return None, None
    rate = _number(body.get("lastFundingRate"))
    try:
        when = datetime.fromtimestamp(int(body["nextFundingTime"]) / 1000, UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        when = None
    return rate, when if when and when.year > 2000 else None


def parse_open_interest(body: Any) -> tuple[float | None, float | None]:
    """(latest USD, % change over the rows: 25 hourly rows = 24 h)."""
    if not isinstance(body, list):
        return None, None
    points = sorted(
        (int(row["timestamp"]), usd)
        for row in body
        if isinstance(row, dict)
        and str(row.get("timestamp", "")).isdigit()
        and (usd := _number(row.get("sumOpenInterestValue"))) is not None
        and usd > 0
    )
    if not points:
        return None, None
    first, last = points[0][1], points[-1][1]
    change = (last / first - 1) * 100 if len(points) >= 24 else None
    return last, change


class ContextReader:
    """Funding and open interest per symbol, cached for `ttl` seconds."""

    def __init__(
        self, client: Any, ttl: float = 300.0, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.client = client  # core.market.sources.binance.BinanceClient (market_data)
        self.ttl = timedelta(seconds=ttl)
        self.clock = clock
        self._kept: dict[str, tuple[datetime, MarketContext]] = {}

    async def get(self, symbol: str) -> MarketContext | None:
        kept = self._kept.get(symbol)
        if kept is not None and self.clock() - kept[0] < self.ttl:
            return kept[1]
        try:
            premium, interest = await asyncio.gather(
                self.client.market_data(PREMIUM_INDEX, symbol=symbol),
                self.client.market_data(
                    OPEN_INTEREST_HIST, {"period": "1h", "limit": 25}, symbol=symbol
                ),
            )
        except LiqwatchError as exc:
            log.info("%s: no funding/open-interest context: %s", symbol, exc)
            return kept[1] if kept else None
        rate, when = parse_funding(premium)
        usd, change = parse_open_interest(interest)
        found = MarketContext(symbol, rate, when, usd, change)
        self._kept[symbol] = (self.clock(), found)
        if len(self._kept) > 500:  # users can ask for any symbol: stay bounded
            self._kept.pop(next(iter(self._kept)))
        return found
