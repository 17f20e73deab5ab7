"""The fake exchange's universe endpoints: `/fapi/v1/exchangeInfo` and `/fapi/v1/ticker/24hr`.

Shapes follow the recorded real payloads: tests/data/real/binance/exchange_info_trimmed.json
(each symbol a copy of the recorded BTCUSDT entry with its names replaced: contractType,
quoteAsset, status as Binance sends them) and ticker_24hr_btcusdt.json (strings for prices and
volumes; without `symbol` the body is a list of every pair). Extra listings that are not
perpetuals or not trading can be added to check that the screener leaves them out.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from werkzeug import Response

from tests.fakes.exchange_data import DAY_MS, Market

EXCHANGE_INFO = "/fapi/v1/exchangeInfo"
TICKER_24H = "/fapi/v1/ticker/24hr"
_REAL = Path(__file__).parent.parent / "data" / "real" / "binance"
_INFO = json.loads((_REAL / "exchange_info_trimmed.json").read_text())["body"]
_TICKER = json.loads((_REAL / "ticker_24hr_btcusdt.json").read_text())["body"]
_BTC_ENTRY = next(s for s in _INFO["symbols"] if s["symbol"] == "BTCUSDT")


def _entry(coin: str, **changes: Any) -> dict[str, Any]:
    entry = copy.deepcopy(_BTC_ENTRY)
    entry.update(symbol=f"{coin}USDT", pair=f"{coin}USDT", baseAsset=coin, **changes)
    return entry


def exchange_info(markets: dict[str, Market], extra: list[dict[str, Any]], now: int) -> Response:
    body = copy.deepcopy({k: v for k, v in _INFO.items() if k != "symbols"})
    body["serverTime"] = now
    body["symbols"] = [_entry(coin) for coin in markets] + [_entry(**e) for e in extra]
    return Response(json.dumps(body), 200, content_type="application/json")


def _ticker(coin: str, market: Market, now: int, volume_scale: float) -> dict[str, Any]:
    last, first = market.price_at(now), market.price_at(now - DAY_MS)
    row = dict(_TICKER)
    row.update(
        symbol=f"{coin}USDT",
        lastPrice=f"{last:.8f}",
        openPrice=f"{first:.8f}",
        priceChange=f"{last - first:.8f}",
        priceChangePercent=f"{(last / first - 1) * 100:.3f}",
        quoteVolume=f"{market.quote_volume_per_minute * 1440 * volume_scale:.2f}",
        openTime=now - DAY_MS,
        closeTime=now,
    )
    return row


def tickers(
    markets: dict[str, Market], extra: list[dict[str, Any]], volumes: dict[str, float], now: int
) -> Response:
    rows = [_ticker(c, m, now, volumes.get(c, 1.0)) for c, m in markets.items()]
    for listing in extra:  # listed but not a trading perpetual: a ticker all the same
        row = dict(_TICKER, symbol=f"{listing['coin']}USDT", quoteVolume="99999999999999.0")
        rows.append(row)
    return Response(json.dumps(rows), 200, content_type="application/json")
