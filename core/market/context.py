"""What explains a map: funding (rate, next funding time) and open interest with its 24 h change.

From Binance USD-M, through the Binance client (payload shapes: tests/data/real/binance/
premium_index_btcusdt.json for `lastFundingRate`/`nextFundingTime`, and
open_interest_hist_btcusdt_5m_with_cmc.json for `sumOpenInterestValue`): `/fapi/v1/premiumIndex`
(weight 1) and `/futures/data/openInterestHist` period 1h, 25 rows (weight 1). Funding also from
the other venues the estimate sums, through their clients' `funding(coin)` row: Bybit's
`/v5/market/tickers` (`fundingRate`, `nextFundingTime`: tests/data/real/bybit/
tickers_docs_inverse.json) and OKX's `/api/v5/public/funding-rate` (`fundingRate`, `fundingTime`
= the next settlement: tests/data/real/okx/funding_rate_docs.json). Kept per symbol for `ttl`
seconds, so a busy chat costs two Binance requests and one per other venue per symbol per five
minutes. Never raises: context is a nice-to-have; a venue that fails is one log line and is left
out of the line, and with nothing known there is no line at all.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Sequence
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
    # (venue label, rate) of every venue whose funding is known, Binance first; () when only
    # Binance was asked (funding_rate says it)
    funding: tuple[tuple[str, float], ...] = ()


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


def _moment(value: Any) -> datetime | None:
    try:
        when = datetime.fromtimestamp(int(value) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    return when if when.year > 2000 else None


def parse_venue_funding(row: Any, time_key: str) -> tuple[float | None, datetime | None]:
    """(rate, next funding) of a Bybit tickers row (`nextFundingTime`) or an OKX funding-rate row
    (`fundingTime`): strings in both (see the module docstring)."""
    if not isinstance(row, dict):
        return None, None
    return _number(row.get("fundingRate")), _moment(row.get(time_key))


# where each venue client's funding row keeps the next funding time
FUNDING_TIME_KEYS = {"bybit": "nextFundingTime", "okx": "fundingTime"}


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
    """Funding and open interest per symbol, cached for `ttl` seconds. `venues`: the other venue
    clients (a `name`, a `label` and `async funding(coin) -> row`: Bybit, OKX) whose funding
    joins Binance's."""

    def __init__(
        self,
        client: Any,
        ttl: float = 300.0,
        clock: Callable[[], datetime] = utcnow,
        venues: Sequence[Any] = (),
    ) -> None:
        self.client = client  # core.market.sources.binance.BinanceClient (market_data)
        self.ttl = timedelta(seconds=ttl)
        self.clock = clock
        self.venues = tuple(v for v in venues if v.name in FUNDING_TIME_KEYS)
        self._kept: dict[str, tuple[datetime, MarketContext]] = {}

    async def get(self, symbol: str) -> MarketContext | None:
        kept = self._kept.get(symbol)
        if kept is not None and self.clock() - kept[0] < self.ttl:
            return kept[1]
        binance, *others = await asyncio.gather(
            self._binance(symbol), *(self._venue_funding(v, symbol) for v in self.venues)
        )
        answered = [
            (v.label, rate, when)
            for v, (rate, when) in zip(self.venues, others, strict=True)
            if rate is not None
        ]
        if binance is None and not answered:
            return kept[1] if kept else None
        rate, when, usd, change = binance or (None, None, None, None)
        funding: tuple[tuple[str, float], ...] = ()
        if answered:  # Binance first, then the others in the estimate's order
            known = [("Binance", rate, when)] if rate is not None else []
            funding = tuple((label, r) for label, r, _ in known + answered)
            when = when or next((w for _, _, w in answered if w is not None), None)
        found = MarketContext(symbol, rate, when, usd, change, funding)
        self._kept[symbol] = (self.clock(), found)
        if len(self._kept) > 500:  # users can ask for any symbol: stay bounded
            self._kept.pop(next(iter(self._kept)))
        return found

    async def _binance(self, symbol: str) -> tuple | None:
        try:
            premium, interest = await asyncio.gather(
                self.client.market_data(PREMIUM_INDEX, symbol=symbol),
                self.client.market_data(
                    OPEN_INTEREST_HIST, {"period": "1h", "limit": 25}, symbol=symbol
                ),
            )
        except LiqwatchError as exc:
            log.info("%s: no Binance funding/open-interest context: %s", symbol, exc)
            return None
        return (*parse_funding(premium), *parse_open_interest(interest))

    async def _venue_funding(self, venue: Any, symbol: str) -> tuple[float | None, datetime | None]:
        try:
            row = await venue.funding(symbol)
        except LiqwatchError as exc:
            log.info("%s: no %s funding: %s", symbol, venue.label, exc)
            return None, None
        except Exception:  # a venue's fault never costs the report its context
            log.warning("%s: %s funding failed", symbol, venue.label, exc_info=True)
            return None, None
        return parse_venue_funding(row, FUNDING_TIME_KEYS[venue.name])
