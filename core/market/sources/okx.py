"""OKX v5 public market data (USDT-margined perpetual swaps): mark price, candles, open interest
and taker volume.

No key is needed. Users type coins (`BTC`); requests use `instId=BTC-USDT-SWAP`.
Shapes (tests/data/real/okx/, from https://www.okx.com/docs-v5/en/):
- every reply is `{"code": "0", "msg": "", "data": [...]}`; an error is `code != "0"`, often with
  HTTP 200 (51001 instrument does not exist), 429 `{"msg":"Too Many Requests","code":"50011"}`
  without `data`;
- `/api/v5/public/instruments?instType=SWAP`: every swap with `ctVal` (coins per contract for a
  linear swap), `ctType`, `settleCcy`, `state`; read once an hour and used to refuse an unknown
  coin before any per-instrument request;
- `/api/v5/public/mark-price?instType=SWAP&instId=`: `data[0].markPx`;
- `/api/v5/market/history-candles` rows `[ts,o,h,l,c,vol,volCcy,volCcyQuote,confirm]` (newest
  first, at most 300 a page; `after`/`before` are exclusive bounds);
- `/api/v5/rubik/stat/contracts/open-interest-history` rows `[ts, oi, oiCcy, oiUsd]` and
  `/api/v5/rubik/stat/taker-volume-contract` rows `[ts, sellVol, buyVol]` (newest first, at most
  100 a page, `begin`/`end` exclusive; only the latest 1,440 entries: 5 days at 5m).
Open interest and taker volume share the 5-minute grid; a point is kept when both series have it
(`OkxPoint`), so a refresh never stores half of one.
Rate limits (docs, per endpoint): candles 20/2 s per IP, open-interest history 10/2 s and taker
volume 5/2 s per IP and instrument, mark price 10/2 s per IP and instrument, instruments 20/2 s.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.kernel.errors import SourceRejected, SourceUnavailable, UnknownSymbol
from core.kernel.symbols import normalize
from core.market.sources.binance import Kline, OpenInterestPoint
from core.market.sources.history import PageLimits
from core.market.sources.http import JsonReply, gather_or_cancel
from core.market.sources.http import finite_number as _number
from core.market.sources.venues import (
    HttpVenue,
    Rate,
    TakerSplit,
    between,
    venue_config,
)
from core.market.sources.venues import open_time as _open
from core.market.sources.venues import stamp as _stamp
from core.types import Candle

log = logging.getLogger(__name__)

CANDLE_LIMIT = 300
STAT_LIMIT = 100
STAT_KEPT_ROWS = 1440
INSTRUMENTS_SECONDS = 3600.0
BARS = {"1m": "1m", "5m": "5m", "15m": "15m", "30m": "30m", "1h": "1H"}
_DOCS = "OKX v5 docs, per endpoint"
RATES = {
    "candles": Rate(20, 2, source=f"{_DOCS}: history-candles 20/2 s per IP"),
    "open_interest": Rate(10, 2, per_symbol=True, source=f"{_DOCS}: 10/2 s per IP + instId"),
    "taker": Rate(5, 2, per_symbol=True, source=f"{_DOCS}: taker-volume 5/2 s per IP + instId"),
    "mark": Rate(10, 2, per_symbol=True, source=f"{_DOCS}: mark-price 10/2 s per IP + instId"),
    "instruments": Rate(20, 2, source=f"{_DOCS}: instruments 20/2 s per IP + instType"),
    "funding": Rate(10, 2, per_symbol=True, source=f"{_DOCS}: funding-rate 10/2 s per IP + instId"),
}
_RETRY_CODES = {"50011", "50013", "50026", "50001", "50040"}  # rate limit, busy, system error
_UNKNOWN_CODES = {"51001"}  # instrument ID doesn't exist


@dataclass(frozen=True)
class OkxPoint(OpenInterestPoint):
    """Open interest (coins, USD) with the taker volume of the same 5-minute stamp."""

    taker_buy: float = 0.0
    taker_sell: float = 0.0


def inst_id(coin: str) -> str:
    return f"{normalize(coin)}-USDT-SWAP"


class OkxClient(HttpVenue):
    """Async client of OKX's v5 public swap endpoints, as a venue of the estimate."""

    kline_page = CANDLE_LIMIT
    oi_page = STAT_LIMIT

    name = "okx"
    label = vendor = "OKX"
    limits = PageLimits(
        kline_rows=CANDLE_LIMIT, oi_rows=STAT_LIMIT, oi_kept_days=None, oi_kept_rows=STAT_KEPT_ROWS
    )
    taker_split: TakerSplit = "points"

    section = "sources.okx"
    default_base_url = "https://www.okx.com"
    rates = RATES

    def __init__(self, base_url: str | None = None, **kwargs: Any):
        super().__init__(base_url, **kwargs)
        self._instruments: dict[str, dict] = {}
        self._instruments_at: float | None = None
        self._instruments_lock = asyncio.Lock()

    async def contract_value(self, coin: str) -> float:
        """Coins per contract of the coin's USDT swap; UnknownSymbol when OKX lists none."""
        row = (await self._listing()).get(inst_id(coin))
        if row is None:
            raise UnknownSymbol(normalize(coin))
        if row.get("state") not in (None, "live"):
            raise SourceUnavailable(f"{inst_id(coin)} is not trading on OKX right now.")
        value = _number(row.get("ctVal"))
        if value is None or value <= 0:
            raise SourceUnavailable(f"OKX sent no contract value for {inst_id(coin)}.")
        return value

    async def mark_price(self, coin: str) -> float:
        await self.contract_value(coin)  # an unknown coin stops here, with no per-coin request
        data = await self._get("/api/v5/public/mark-price", "mark", coin, {"instType": "SWAP"})
        row = data[0] if data and isinstance(data[0], dict) else {}
        value = _number(row.get("markPx"))
        if value is None or value <= 0:
            raise SourceUnavailable("OKX sent no usable mark price.")
        return value

    async def funding(self, coin: str) -> dict:
        """The `/api/v5/public/funding-rate` row of the coin's swap (fundingRate, fundingTime:
        tests/data/real/okx/funding_rate_docs.json); {} when OKX sends none."""
        data = await self._get("/api/v5/public/funding-rate", "funding", coin, {})
        return data[0] if data and isinstance(data[0], dict) else {}

    async def klines(
        self, coin: str, interval: str, start_ms: int, end_ms: int, rows: int
    ) -> list[Kline]:
        params = {
            "bar": _bar(interval),
            "after": end_ms + 1,  # records older than `after`
            "before": start_ms - 1,  # and newer than `before`
            "limit": max(1, min(rows, CANDLE_LIMIT)),
        }
        data = await self._get("/api/v5/market/history-candles", "candles", coin, params)
        return _parse_candles(data)

    async def open_interest(
        self, coin: str, interval: str, start_ms: int, end_ms: int, rows: int
    ) -> list[OpenInterestPoint]:
        """Points in [start_ms, end_ms] present in both open interest and taker volume."""
        contract = await self.contract_value(coin)
        params = {
            "period": _bar(interval),
            "begin": start_ms - 1,
            "end": end_ms + 1,
            "limit": max(1, min(rows, STAT_LIMIT)),
        }
        oi_rows, taker_rows = await gather_or_cancel(
            self._get(
                "/api/v5/rubik/stat/contracts/open-interest-history", "open_interest", coin, params
            ),
            self._get(
                "/api/v5/rubik/stat/taker-volume-contract", "taker", coin, {**params, "unit": "1"}
            ),
        )
        taker = _parse_taker(taker_rows)
        points = [
            OkxPoint(stamp, coins, usd, *taker[stamp])
            for stamp, coins, usd in _parse_open_interest(oi_rows, contract)
            if stamp in taker
        ]
        return between(points, _stamp, start_ms, end_ms)

    async def candles(self, coin: str, since: datetime, interval: str = "1m") -> list[Candle]:
        return await self.candles_since(coin, since, interval)

    async def aclose(self) -> None:
        await self._http.aclose()

    # ---- plumbing ------------------------------------------------------------------------

    async def _listing(self) -> dict[str, dict]:
        """instId → instrument row of every USDT-margined linear swap, refreshed hourly."""
        async with self._instruments_lock:
            now = self.now_ms() / 1000
            fresh = self._instruments_at is not None and now - self._instruments_at < 3600
            if not fresh:
                data = await self._get("/api/v5/public/instruments", "instruments", "", {})
                self._instruments = {
                    row["instId"]: row
                    for row in data
                    if isinstance(row, dict)
                    and isinstance(row.get("instId"), str)
                    and row.get("ctType") in (None, "linear")
                }
                self._instruments_at = now
            return self._instruments

    async def _get(self, path: str, group: str, coin: str, params: dict[str, Any]) -> list:
        """`data` of a code-"0" reply; retryable codes retried with the fetcher's backoff."""
        query = dict(params)
        if coin:
            query["instId"] = inst_id(coin)
        if path.endswith("/instruments"):
            query["instType"] = "SWAP"
        policy = self._http.retry
        for attempt in range(1, policy.attempts + 1):
            await self.limiter.acquire(group, inst_id(coin) if coin else "")
            reply = await self._http.get_json(path, query)
            code, message = _envelope(reply)
            if code == "0":
                data = reply.body.get("data")
                if not isinstance(data, list):
                    raise SourceUnavailable("OKX sent a reply in an unexpected shape.")
                return data
            if code not in _RETRY_CODES:
                break
            if attempt < policy.attempts:
                await self._sleep(policy.backoff(attempt, 0.5))
        return _refuse(reply, code, message, coin, path)


def _envelope(reply: JsonReply) -> tuple[str | None, str]:
    body = reply.body if isinstance(reply.body, dict) else {}
    code = str(body["code"]) if "code" in body else None
    if code == "0" and not reply.ok:
        code = None
    return code, str(body.get("msg") or f"HTTP {reply.status}")


def _refuse(reply: JsonReply, code: str | None, message: str, coin: str, path: str) -> Any:
    if code in _UNKNOWN_CODES and coin:
        raise UnknownSymbol(normalize(coin))
    if code == "50011" or code == "50040":
        raise SourceUnavailable("OKX is rate limiting us; try again in a minute.")
    if code in _RETRY_CODES:
        raise SourceUnavailable(f"OKX is not answering ({message}); try again soon.")
    if code is None and reply.ok:
        raise SourceUnavailable("OKX sent a reply in an unexpected shape.")
    log.warning(
        "OKX %s refused %s: %s (code %s)", path, inst_id(coin) if coin else "-", message, code
    )
    raise SourceRejected(f"OKX refused the request: {message[:200]}")


def _bar(interval: str) -> str:
    try:
        return BARS[interval]
    except KeyError:
        raise SourceRejected(
            f"OKX does not serve the interval {interval!r}; use one of {', '.join(BARS)}."
        ) from None


def _parse_candles(data: list) -> list[Kline]:
    klines = []
    for row in data:
        try:
            start = int(row[0])
            values = [_number(row[i]) for i in (1, 2, 3, 4, 6, 7)]
        except (TypeError, ValueError, IndexError, KeyError):
            raise SourceUnavailable("OKX sent a malformed candle.") from None
        if any(v is None for v in values):
            raise SourceUnavailable("OKX sent a candle with a missing or non-numeric value.")
        o, h, low, c, coins, quote = values  # type: ignore[misc]
        klines.append(Kline(start, o, h, low, c, coins, quote, 0.0))  # taker split: the points
    klines.sort(key=_open)
    return klines


def _parse_open_interest(data: list, contract: float) -> list[tuple[int, float, float]]:
    """(stamp, coins, usd) per row; coins from `oiCcy`, else contracts × ctVal."""
    points = []
    for row in data:
        try:
            stamp = int(row[0])
        except (TypeError, ValueError, IndexError):
            continue
        contracts = _number(row[1]) if len(row) > 1 else None
        coins = _number(row[2]) if len(row) > 2 else None
        usd = _number(row[3]) if len(row) > 3 else None
        if coins is None and contracts is not None:
            coins = contracts * contract
        if coins is None or coins < 0:
            continue  # a gap the estimator skips
        points.append((stamp, coins, usd if usd is not None and usd >= 0 else 0.0))
    return points


def _parse_taker(data: list) -> dict[int, tuple[float, float]]:
    """stamp → (buy, sell): the rows are [ts, sellVol, buyVol], sell first."""
    taker = {}
    for row in data:
        try:
            stamp, sell, buy = int(row[0]), _number(row[1]), _number(row[2])
        except (TypeError, ValueError, IndexError):
            continue
        if sell is not None and buy is not None and sell >= 0 and buy >= 0:
            taker[stamp] = (buy, sell)
    return taker


# Maintenance margin: BTC-USDT-SWAP's first position tier (GET /api/v5/public/position-tiers:
# mmr 0.004).
CONFIG = venue_config(
    "sources.okx",
    "https://www.okx.com",
    maintenance_margin=0.004,
    ws_url="wss://ws.okx.com:8443",
)
