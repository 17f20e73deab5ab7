"""How the fake exchange answers each endpoint it serves, from its market state.

Plain functions of the markets, the query and the clock (no server, no locking here: FakeExchange
routes requests to them under its lock). They enforce Binance's documented rules, so a client that
breaks them fails its tests; see tests/fakes/exchange.py for the whole list.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from werkzeug import Response

from tests.fakes.exchange_data import DAY_MS, INTERVALS_MS, MINUTE_MS, OI_PERIODS, Market

PREMIUM_INDEX = "/fapi/v1/premiumIndex"
KLINES = "/fapi/v1/klines"
OPEN_INTEREST = "/futures/data/openInterestHist"
COINGLASS_MAP = "/api/futures/liquidation/aggregated-map"

NowMs = Callable[[], int]  # the fake's clock in epoch milliseconds (FakeExchange.now_ms)


def _market(markets: dict[str, Market], query: dict[str, str]) -> Market | Response:
    symbol = query.get("symbol", "")
    if not symbol:
        return binance_error(-1102, "Mandatory parameter 'symbol' was not sent.")
    coin = symbol[:-4] if symbol.endswith("USDT") else ""
    market = markets.get(coin)
    return market if market is not None else binance_error(-1121, "Invalid symbol.")


def premium_index(markets: dict[str, Market], query: dict[str, str], now_ms: NowMs) -> Response:
    now = now_ms()
    if "symbol" not in query:
        return json_response([_premium_row(c, m, now) for c, m in markets.items()])
    market = _market(markets, query)
    if isinstance(market, Response):
        return market
    return json_response(_premium_row(query["symbol"][:-4], market, now))


def _premium_row(coin: str, market: Market, now: int) -> dict[str, Any]:
    mark = market.price_at(now)
    return {
        "symbol": f"{coin}USDT", "markPrice": f"{mark:.8f}", "indexPrice": f"{mark:.8f}",
        "estimatedSettlePrice": f"{mark:.8f}", "lastFundingRate": "0.00010000",
        "interestRate": "0.00010000", "nextFundingTime": now - now % (8 * 3600_000)
        + 8 * 3600_000, "time": now,
    }  # fmt: skip


def _grid(query: dict[str, str], step: int, default_limit: int, max_limit: int, now_ms: NowMs):
    """Row times on the grid like Binance selects them: from startTime forward, else the
    last `limit` up to endTime (or now)."""
    try:
        limit = int(query.get("limit", default_limit))
        start = int(query["startTime"]) if "startTime" in query else None
        end = int(query["endTime"]) if "endTime" in query else None
    except ValueError:
        return binance_error(-1100, "Illegal characters found in a parameter.")
    if not 1 <= limit <= max_limit:
        return binance_error(-1130, "Data sent for parameter 'limit' is not valid.")
    last = now_ms() - now_ms() % step
    end = min(end if end is not None else last, last)
    if start is not None:
        first = start + (-start % step)
        return list(range(first, min(end, first + (limit - 1) * step) + 1, step))
    end -= end % step
    return list(range(end - (limit - 1) * step, end + 1, step))


def klines(markets: dict[str, Market], query: dict[str, str], now_ms: NowMs) -> Response:
    market = _market(markets, query)
    if isinstance(market, Response):
        return market
    minutes = INTERVALS_MS.get(query.get("interval", ""))
    if minutes is None:
        return binance_error(-1120, "Invalid interval.")
    grid = _grid(query, minutes * MINUTE_MS, 500, 1500, now_ms)
    if isinstance(grid, Response):
        return grid
    return json_response([market.kline(t, minutes) for t in grid])


def open_interest(markets: dict[str, Market], query: dict[str, str], now_ms: NowMs) -> Response:
    market = _market(markets, query)
    if isinstance(market, Response):
        return market
    period = query.get("period", "")
    if period not in OI_PERIODS:
        return binance_error(-1120, "Invalid period.")
    start = query.get("startTime", "")
    if start.isdigit() and int(start) < now_ms() - 30 * DAY_MS:
        return binance_error(-1130, "parameter 'startTime' is invalid.")
    step = INTERVALS_MS[period] * MINUTE_MS
    grid = _grid(query, step, 30, 500, now_ms)
    if isinstance(grid, Response):
        return grid
    rows = []
    for t in grid:
        usd = market.open_interest_usd(t)
        rows.append({
            "symbol": query["symbol"], "sumOpenInterest": f"{usd / market.price_at(t):.8f}",
            "sumOpenInterestValue": f"{usd:.8f}", "timestamp": t,
        })  # fmt: skip
    return json_response(rows)


def coinglass_map(
    maps: dict[str, dict], api_key: str, query: dict[str, str], headers: Any
) -> Response:
    limits = {"API-KEY-MAX-LIMIT": "80", "API-KEY-USE-LIMIT": "1"}
    if headers.get("CG-API-KEY") != api_key:
        return json_response({"code": "401", "msg": "API key missing or invalid."}, 401, limits)
    if query.get("range") not in ("1d", "7d", "30d"):
        return json_response({"code": "400", "msg": "range is invalid"}, 200, limits)
    rows = maps.get(query.get("symbol", "").upper())
    if rows is None:
        return json_response({"code": "400", "msg": "symbol not supported"}, 200, limits)
    body = {"code": "0", "msg": "success", "data": {"data": rows}}
    return json_response(body, 200, limits)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers=headers, content_type="application/json")


def binance_error(code: int, message: str) -> Response:
    return json_response({"code": code, "msg": message}, 400)
