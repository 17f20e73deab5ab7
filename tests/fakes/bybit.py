"""A fake Bybit v5 (linear) on 127.0.0.1, answering like the recorded real payloads.

Shapes follow tests/data/real/bybit/ (Bybit's docs at https://bybit-exchange.github.io/docs/v5/):
- envelope `{"retCode":0,"retMsg":"OK","result":{...},"retExtInfo":{},"time":...}`
  (kline_docs_inverse.json, open_interest_docs_inverse_1d.json);
- `/v5/market/kline`: `result.list` rows `[start, open, high, low, close, volume, turnover]`, all
  strings, newest first; limit 1..1000 (default 200) (kline_docs_inverse.json notes);
- `/v5/market/open-interest`: `result.list[]` `{"openInterest","timestamp"}` strings, newest
  first, coins for linear; limit 1..200 (default 50); `nextPageCursor` URL-encoded
  `lastid%3D...%26lasttime%3D...`, "" on the last page (open_interest_docs_inverse_1d.json,
  open_interest_docs_inverse_5min_pre2026-06.json); intervalTime 5min|15min|30min|1h|4h|1d;
- `/v5/market/tickers`: `result.list[0]` with `markPrice`, `fundingRate` (a decimal fraction per
  interval, string), `nextFundingTime` (ms string, the next 8 h boundary here) and
  `fundingIntervalHour` "8" (tickers_docs_inverse.json); `funding_rate` sets the rate;
- an unknown symbol: HTTP 200 retCode 10001 "params error: symbol invalid" with
  `result: {"category": "", "list": []}` (error_10001_params_error_symbol_invalid.json).
Faults: `rate_limit(path)` serves retCode 10006 with HTTP 200 (error_10006_too_many_visits.json),
`system_error(path)` retCode 10016 (error_10016_system_error.json), `block(path)` the CloudFront
HTTP 403 page (error_403_cloudfront_template_full.json), plus `fail(...)` from VenueFake.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, quote, unquote

import pytest
from werkzeug import Response

from tests.fakes.exchange_data import MINUTE_MS, Market
from tests.fakes.venue_base import VenueFake, grid_between, json_response, recorded_body

KLINE = "/v5/market/kline"
OPEN_INTEREST = "/v5/market/open-interest"
TICKERS = "/v5/market/tickers"
KLINE_MINUTES = {"1": 1, "3": 3, "5": 5, "15": 15, "30": 30, "60": 60, "240": 240, "D": 1440}
FUNDING_MS = 8 * 60 * MINUTE_MS  # funding every 8 h, at 00:00, 08:00 and 16:00 UTC
OI_MINUTES = {"5min": 5, "15min": 15, "30min": 30, "1h": 60, "4h": 240, "1d": 1440}


class FakeBybit(VenueFake):
    """See the module docstring."""

    funding_rate = 0.0001  # what /v5/market/tickers says, for every symbol

    def routes(self) -> dict[str, Callable[[dict[str, str]], Response]]:
        return {KLINE: self._kline, OPEN_INTEREST: self._open_interest, TICKERS: self._tickers}

    def not_found(self) -> Response:
        return self._error(10001, "Illegal category", 404)

    def rate_limit(self, path: str, times: int = 1) -> None:
        self.fail(
            path, 200, times=times, body=recorded_body("bybit", "error_10006_too_many_visits")
        )

    def system_error(self, path: str, times: int = 1) -> None:
        self.fail(path, 200, times=times, body=recorded_body("bybit", "error_10016_system_error"))

    def block(self, path: str, times: int = 1) -> None:
        html = recorded_body("bybit", "error_403_cloudfront_template_full")
        self.fail(path, 403, times=times, html=html)

    # ---- endpoints ---------------------------------------------------------------------

    def _ok(self, result: dict) -> Response:
        body = {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {},
                "time": self.now_ms()}  # fmt: skip
        return json_response(body)

    def _error(self, code: int, message: str, status: int = 200) -> Response:
        body = {"retCode": code, "retMsg": message, "result": {"category": "", "list": []},
                "retExtInfo": {}, "time": self.now_ms()}  # fmt: skip
        return json_response(body, status)

    def _market(self, query: dict[str, str]) -> Market | Response:
        if query.get("category", "linear") != "linear":
            return self._error(10001, "Illegal category")
        symbol = query.get("symbol", "")
        market = self.markets.get(symbol[:-4]) if symbol.endswith("USDT") else None
        return market if market is not None else self._error(10001, "params error: symbol invalid")

    def _tickers(self, query: dict[str, str]) -> Response:
        market = self._market(query)
        if isinstance(market, Response):
            return market
        now = self.now_ms()
        mark = market.price_at(now)
        next_funding = now - now % FUNDING_MS + FUNDING_MS
        row = {"symbol": query["symbol"], "lastPrice": f"{mark:.2f}", "markPrice": f"{mark:.2f}",
               "indexPrice": f"{mark:.2f}", "fundingRate": f"{self.funding_rate:.10f}".rstrip("0"),
               "nextFundingTime": str(next_funding), "fundingIntervalHour": "8"}  # fmt: skip
        return self._ok({"category": "linear", "list": [row]})

    def _limit(self, query: dict[str, str], default: int, most: int) -> int | Response:
        try:
            limit = int(query.get("limit", default))
        except ValueError:
            return self._error(10001, "params error: limit invalid")
        if not 1 <= limit <= most:
            return self._error(10001, f"params error: limit must be between 1 and {most}")
        return limit

    def _kline(self, query: dict[str, str]) -> Response:
        market = self._market(query)
        if isinstance(market, Response):
            return market
        minutes = KLINE_MINUTES.get(query.get("interval", ""))
        if minutes is None:
            return self._error(10001, "params error: interval invalid")
        limit = self._limit(query, 200, 1000)
        if isinstance(limit, Response):
            return limit
        step = minutes * MINUTE_MS
        now = self.now_ms()
        end = min(int(query.get("end", now)), now)
        start = int(query.get("start", end - (limit - 1) * step))
        times = grid_between(start, end, step)[-limit:]  # the newest `limit` of the range
        rows = []
        for t in reversed(times):  # newest first
            k = market.kline(t, minutes)
            rows.append([str(t), k[1], k[2], k[3], k[4], k[5], k[7]])
        return self._ok({"symbol": query["symbol"], "category": "linear", "list": rows})

    def _open_interest(self, query: dict[str, str]) -> Response:
        market = self._market(query)
        if isinstance(market, Response):
            return market
        minutes = OI_MINUTES.get(query.get("intervalTime", ""))
        if minutes is None:
            return self._error(10001, "params error: intervalTime invalid")
        limit = self._limit(query, 50, 200)
        if isinstance(limit, Response):
            return limit
        step = minutes * MINUTE_MS
        now = self.now_ms()
        end = min(int(query.get("endTime", now)), now)
        start = int(query.get("startTime", 0)) or end - 30 * 24 * 60 * MINUTE_MS
        cursor = query.get("cursor", "")
        if cursor:  # our own cursor: lasttime is the oldest stamp already served, in seconds
            fields = parse_qs(unquote(cursor))
            end = min(end, int(fields["lasttime"][0]) * 1000 - step)
        times = grid_between(start, end, step)
        page, older = times[-limit:], times[:-limit]
        rows = [{"openInterest": f"{market.open_interest_usd(t) / market.price_at(t):.8f}",
                 "timestamp": str(t)} for t in reversed(page)]  # fmt: skip
        next_cursor = ""
        if older and page:
            next_cursor = quote(f"lastid={len(older)}&lasttime={page[0] // 1000}", safe="")
        result = {"symbol": query["symbol"], "category": "linear", "list": rows,
                  "nextPageCursor": next_cursor}  # fmt: skip
        return self._ok(result)


@pytest.fixture(name="bybit")
def bybit_fixture() -> Iterator[FakeBybit]:
    """A started FakeBybit (BTC at $90,131.71, ETH at $3,012.5), stopped after the test."""
    with FakeBybit() as fake:
        yield fake
