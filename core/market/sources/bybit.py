"""Bybit v5 public market data (linear USDT perpetuals): mark price, klines, open interest.

No key is needed. Users type coins (`BTC`); requests use `category=linear&symbol=BTCUSDT`.
Shapes (tests/data/real/bybit/, from https://bybit-exchange.github.io/docs/v5/market/...):
- every reply is `{"retCode": 0, "retMsg": "OK", "result": {...}, "time": ...}`; an error is a
  non-zero `retCode`, usually with HTTP 200 (10001 params error / symbol invalid, 10006 too many
  visits, 10016 system error, 10000 server timeout); an IP block is an HTTP 403 CloudFront page;
- `/v5/market/kline` rows `[start, open, high, low, close, volume, turnover]` (strings, newest
  first, at most 1,000 a page; `volume` in coins, `turnover` in USDT); there is no taker-buy split;
- `/v5/market/open-interest` `result.list[]` of `{"openInterest", "timestamp"}` (strings, newest
  first, at most 200 a page; coins for linear), paged with `cursor` = `result.nextPageCursor`
  (URL-encoded; "" on the last page);
- `/v5/market/tickers` `result.list[0].markPrice`.
Rate limit: 600 requests per 5 seconds per IP for every HTTP endpoint (docs, "Rate Limit Rules");
one limiter per client holds that budget for every symbol.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from core.kernel.errors import SourceRejected, SourceUnavailable, UnknownSymbol
from core.kernel.symbols import normalize, pair
from core.market.sources.binance import Kline, OpenInterestPoint
from core.market.sources.history import PageLimits
from core.market.sources.http import JsonReply
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

KLINE_LIMIT = 1000
OPEN_INTEREST_LIMIT = 200
KLINE_INTERVALS = {"1m": "1", "5m": "5", "15m": "15", "30m": "30", "1h": "60"}
OI_INTERVALS = {"5m": "5min", "15m": "15min", "30m": "30min", "1h": "1h"}
RATES = {"ip": Rate(600, 5, source="Bybit v5 docs, Rate Limit Rules: 600 requests/5 s per IP")}
_RETRY_CODES = {10000, 10006, 10016}  # server timeout, too many visits, system error
_MAX_CURSOR_PAGES = 20  # a cursor that never ends is a fault, not a reason to loop forever


class BybitClient(HttpVenue):
    """Async client of Bybit's v5 public linear endpoints, as a venue of the estimate."""

    kline_page = KLINE_LIMIT
    oi_page = OPEN_INTEREST_LIMIT

    name = "bybit"
    label = vendor = "Bybit"
    limits = PageLimits(kline_rows=KLINE_LIMIT, oi_rows=OPEN_INTEREST_LIMIT, oi_kept_days=None)
    taker_split: TakerSplit = "none"

    section = "sources.bybit"
    default_base_url = "https://api.bybit.com"
    rates = RATES

    async def mark_price(self, coin: str) -> float:
        result = await self._get("/v5/market/tickers", coin, {})
        rows = result.get("list") if isinstance(result, dict) else None
        if not rows:
            raise UnknownSymbol(normalize(coin))
        value = _number(rows[0].get("markPrice") if isinstance(rows[0], dict) else None)
        if value is None or value <= 0:
            raise SourceUnavailable("Bybit sent no usable mark price.")
        return value

    async def funding(self, coin: str) -> dict:
        """The coin's `/v5/market/tickers` row (fundingRate, nextFundingTime:
        tests/data/real/bybit/tickers_docs_inverse.json); {} when Bybit sends none."""
        result = await self._get("/v5/market/tickers", coin, {})
        rows = result.get("list") if isinstance(result, dict) else None
        return rows[0] if rows and isinstance(rows[0], dict) else {}

    async def klines(
        self, coin: str, interval: str, start_ms: int, end_ms: int, rows: int
    ) -> list[Kline]:
        params = {
            "interval": _interval(KLINE_INTERVALS, interval),
            "start": start_ms,
            "end": end_ms,
            "limit": max(1, min(rows, KLINE_LIMIT)),
        }
        result = await self._get("/v5/market/kline", coin, params)
        return _parse_klines(result)

    async def open_interest(
        self, coin: str, interval: str, start_ms: int, end_ms: int, rows: int
    ) -> list[OpenInterestPoint]:
        """Points in [start_ms, end_ms], following `nextPageCursor` to the last page."""
        params: dict[str, Any] = {
            "intervalTime": _interval(OI_INTERVALS, interval),
            "startTime": start_ms,
            "endTime": end_ms,
            "limit": max(1, min(rows, OPEN_INTEREST_LIMIT)),
        }
        points: list[OpenInterestPoint] = []
        for _ in range(_MAX_CURSOR_PAGES):
            result = await self._get("/v5/market/open-interest", coin, params)
            page = _parse_open_interest(result)
            points.extend(page)
            cursor = result.get("nextPageCursor") if isinstance(result, dict) else ""
            if not cursor or not page:
                break
            params = {**params, "cursor": cursor}  # verbatim: httpx encodes it once more
        return between(points, _stamp, start_ms, end_ms)

    async def candles(self, coin: str, since: datetime, interval: str = "1m") -> list[Candle]:
        return await self.candles_since(coin, since, interval)

    async def aclose(self) -> None:
        await self._http.aclose()

    # ---- plumbing ------------------------------------------------------------------------

    async def _get(self, path: str, coin: str, params: dict[str, Any]) -> Any:
        """The `result` of a retCode-0 reply. Retryable retCodes (HTTP 200) are retried with the
        fetcher's backoff; the rest map to UnknownSymbol / SourceRejected."""
        query = {"category": "linear", "symbol": pair(coin), **params}
        policy = self._http.retry
        for attempt in range(1, policy.attempts + 1):
            await self.limiter.acquire("ip")
            reply = await self._http.get_json(path, query)
            code, message = _envelope(reply)
            if code == 0:
                return reply.body.get("result")
            if code not in _RETRY_CODES:
                break
            if attempt < policy.attempts:
                await self._sleep(policy.backoff(attempt, 0.5))
        return _refuse(reply, code, message, coin, path)


def _envelope(reply: JsonReply) -> tuple[int | None, str]:
    body = reply.body if isinstance(reply.body, dict) else {}
    try:
        code = int(body.get("retCode")) if "retCode" in body else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        code = None
    if code == 0 and not reply.ok:
        code = None
    return code, str(body.get("retMsg") or f"HTTP {reply.status}")


def _refuse(reply: JsonReply, code: int | None, message: str, coin: str, path: str) -> Any:
    if code is None and reply.status == 403:
        log.warning("Bybit %s: HTTP 403 (an IP rate limit or a region block)", path)
        raise SourceUnavailable(
            "Bybit refused access (HTTP 403: an IP rate limit or a region block)."
        )
    if code == 10006:
        raise SourceUnavailable("Bybit is rate limiting us; try again in a minute.")
    if code in _RETRY_CODES:
        raise SourceUnavailable(f"Bybit is not answering ({message}); try again soon.")
    if code == 10001 and "symbol" in message.lower():
        raise UnknownSymbol(normalize(coin))
    if code is None and reply.ok:
        raise SourceUnavailable("Bybit sent a reply in an unexpected shape.")
    log.warning("Bybit %s refused %s: %s (retCode %s)", path, pair(coin), message, code)
    raise SourceRejected(f"Bybit refused the request: {message[:200]}")


def _interval(table: dict[str, str], interval: str) -> str:
    try:
        return table[interval]
    except KeyError:
        raise SourceRejected(
            f"Bybit does not serve the interval {interval!r}; use one of {', '.join(table)}."
        ) from None


def _parse_klines(result: Any) -> list[Kline]:
    rows = result.get("list") if isinstance(result, dict) else None
    if not isinstance(rows, list):
        raise SourceUnavailable("Bybit sent klines in an unexpected shape.")
    klines = []
    for row in rows:
        try:
            start = int(row[0])
            values = [_number(row[i]) for i in (1, 2, 3, 4, 5, 6)]
        except (TypeError, ValueError, IndexError, KeyError):
            raise SourceUnavailable("Bybit sent a malformed kline.") from None
        if any(v is None for v in values):
            raise SourceUnavailable("Bybit sent a kline with a missing or non-numeric value.")
        o, h, low, c, volume, turnover = values  # type: ignore[misc]
        klines.append(Kline(start, o, h, low, c, volume, turnover, 0.0))  # no taker split
    klines.sort(key=_open)
    return klines


def _parse_open_interest(result: Any) -> list[OpenInterestPoint]:
    rows = result.get("list") if isinstance(result, dict) else None
    if not isinstance(rows, list):
        raise SourceUnavailable("Bybit sent open interest in an unexpected shape.")
    points = []
    for row in rows:
        if not isinstance(row, dict):
            raise SourceUnavailable("Bybit sent a malformed open-interest row.")
        coins = _number(row.get("openInterest"))
        try:
            stamp = int(row.get("timestamp"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if coins is None or coins < 0:
            continue  # one bad point is a gap the estimator skips
        points.append(OpenInterestPoint(stamp, coins, 0.0))  # coins; no USD value published
    points.sort(key=_stamp)
    return points


# Maintenance margin: BTCUSDT's first risk-limit tier (Bybit help centre, "Maintenance Margin
# (USDT Contract)": 0.5 % up to 2,000,000 USDT of position value).
CONFIG = venue_config(
    "sources.bybit",
    "https://api.bybit.com",
    maintenance_margin=0.005,
    ws_url="wss://stream.bybit.com",
)
