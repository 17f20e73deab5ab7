"""Coinglass API v4 aggregated liquidation map (paid key), split by Binance's mark price.

`GET /api/futures/liquidation/aggregated-map?symbol=BTC&range=1d`, header `CG-API-KEY`. The
payload has no side and no current price: `{"data": {"<price>": [[price, usd, lev, null], ...]}}`,
so the USD per price key is summed and every level below the mark price counts as longs, above as
shorts. Coinglass answers errors both as HTTP statuses and as a string `code` in a 200 envelope;
both are read. The key is a header only: it never appears in a message or a log line.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from datetime import datetime
from typing import Any

from core.kernel.clock import utcnow
from core.kernel.config import Config, ConfigPart
from core.kernel.errors import SourceError, SourceRejected, SourceUnavailable, UnknownSymbol
from core.kernel.symbols import normalize
from core.market.sources.binance import BinanceClient, Clock
from core.market.sources.http import (
    DEFAULT_MAX_BODY_BYTES,
    JsonFetcher,
    RetryPolicy,
    Sleep,
    gather_or_cancel,
)
from core.types import Candle, Level, PriceContext, Snapshot

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://open-api-v4.coinglass.com"
MAP_PATH = "/api/futures/liquidation/aggregated-map"
RANGES = ("1d", "7d", "30d")
PLAN_MESSAGE = "Coinglass says: Upgrade plan — the liquidation map needs the Professional plan"
MISSING_KEY_MESSAGE = (
    "The coinglass source needs an API key: set COINGLASS_API_KEY or [sources.coinglass] api_key."
)


def levels_from_map(rows_by_price: Any, price: float) -> tuple[Level, ...]:
    """Sum `[1]` of each row per price key; below `price` → long_usd, above → short_usd.

    NaN, infinite, negative and non-numeric values are dropped, as is a level exactly at `price`
    (it is on neither side).
    """
    if not isinstance(rows_by_price, dict):
        return ()
    totals: dict[float, float] = {}
    for key, rows in rows_by_price.items():
        level_price = _finite(key)
        if level_price is None or level_price <= 0 or not isinstance(rows, list):
            continue
        usd = sum(v for v in (_row_usd(r) for r in rows) if v is not None)
        if usd > 0:
            totals[level_price] = totals.get(level_price, 0.0) + usd
    return tuple(
        Level(p, long_usd=usd) if p < price else Level(p, short_usd=usd)
        for p, usd in sorted(totals.items())
        if p != price
    )


class CoinglassSource:
    """The `coinglass` source. Raises SourceRejected at construction when no key is set."""

    name = "coinglass"

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        binance: BinanceClient | None = None,
        map_range: str = "1d",
        timeout_seconds: float = 10.0,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        deadline_seconds: float | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ):
        if not api_key or not api_key.strip():
            raise SourceRejected(MISSING_KEY_MESSAGE)
        if map_range not in RANGES:
            raise SourceRejected(f"Coinglass range must be one of {', '.join(RANGES)}.")
        self._clock = clock or utcnow
        self._range = map_range
        self._http = JsonFetcher(
            base_url,
            vendor="Coinglass",
            timeout_seconds=timeout_seconds,
            headers={"CG-API-KEY": api_key.strip(), "accept": "application/json"},
            retry=retry,
            sleep=sleep,
            deadline_seconds=deadline_seconds,
            max_body_bytes=max_body_bytes,
        )
        self.binance = binance or BinanceClient(clock=clock, retry=retry, sleep=sleep)

    @classmethod
    def from_config(cls, config: Config, clock: Clock | None = None) -> CoinglassSource:
        section = config.section("sources.coinglass")
        return cls(
            section["api_key"],
            section["base_url"],
            binance=BinanceClient.from_config(config, clock),
            map_range=section["range"],
            timeout_seconds=section["timeout_seconds"],
            clock=clock,
            deadline_seconds=section["deadline_seconds"],
            max_body_bytes=section["max_body_bytes"],
        )

    async def snapshot(self, symbol: str) -> Snapshot:
        coin = normalize(symbol)
        # Price first: it is cheap, and Binance's -1121 names an unknown coin precisely.
        price = await self.binance.mark_price(coin)
        rows, context = await gather_or_cancel(self._map(coin), self._context(coin))
        return Snapshot(
            symbol=coin,
            price=price,
            levels=levels_from_map(rows, price),
            source=self.name,
            as_of=self._clock(),
            context=context,
        )

    async def candles(self, symbol: str, since: datetime, interval: str = "1m") -> list[Candle]:
        return await self.binance.candles(symbol, since, interval)

    async def aclose(self) -> None:
        await asyncio.gather(self._http.aclose(), self.binance.aclose())

    async def _context(self, coin: str) -> PriceContext | None:
        try:
            return await self.binance.context(coin)
        except SourceError as exc:  # the map is still worth showing without the 7-day range
            log.info("no price context for %s: %s", coin, exc)
            return None

    async def _map(self, coin: str) -> dict[str, Any]:
        reply = await self._http.get_json(MAP_PATH, {"symbol": coin, "range": self._range})
        body = reply.body if isinstance(reply.body, dict) else {}
        code = str(body.get("code", reply.status)) if body else str(reply.status)
        message = str(body.get("msg") or "").strip()
        if reply.ok and code == "0":
            data = body.get("data")
            rows = data.get("data") if isinstance(data, dict) else None
            if not isinstance(rows, dict) or not rows:
                raise SourceRejected(f"Coinglass has no liquidation map for {coin}.")
            return rows
        if code == "0":  # an HTTP error status around a "success" envelope: trust the status
            code = str(reply.status)
        raise _coinglass_error(code, message, coin)


_SYMBOL_WORDS = re.compile(r"\b(symbol|coin|pair)s?\b")  # "coinglass.com" is not a coin
KEY_HINT = "check the API key (COINGLASS_API_KEY or [sources.coinglass] api_key)"


def _coinglass_error(code: str, message: str, coin: str) -> Exception:
    """A clear error for a non-"0" code, read from the code AND the message: Coinglass answers
    nearly everything with HTTP 200 and code "400"/"401" whatever the cause (see
    tests/data/real/coinglass: "API key missing." comes as "401" and as "400", the rate limit as
    "400" "Too Many Requests", an unknown endpoint as "404" with a documentation URL)."""
    said = f"Coinglass says: {message[:200]}" if message else f"Coinglass error {code}"
    lowered = message.lower()
    if "endpoint" in lowered or ("404" == code and "http" in lowered):
        # Our request, not the coin: the API moved or base_url is wrong. The operator must act.
        error: Exception = SourceRejected(
            f"{said} — liqwatch asked for an endpoint Coinglass does not have; check"
            " [sources.coinglass] base_url or update liqwatch."
        )
    elif code == "429" or "too many" in lowered or "rate limit" in lowered:
        error = SourceUnavailable(f"{said} — the plan's requests per minute are used up.")
    elif "plan" in lowered or "upgrade" in lowered:
        error = SourceRejected(PLAN_MESSAGE)
    elif "api key" in lowered or "apikey" in lowered or code in ("401", "403"):
        error = SourceRejected(f"{said} — {KEY_HINT}.")
    elif code in ("400", "404", "422") and _SYMBOL_WORDS.search(lowered):
        error = UnknownSymbol(coin)
    elif code in ("408", "500", "502", "503", "504") or "server error" in lowered:
        error = SourceUnavailable(f"{said} — try again soon.")
    else:
        error = SourceRejected(f"{said} (code {code}).")
    level = logging.INFO if isinstance(error, UnknownSymbol) else logging.WARNING
    log.log(level, "Coinglass map for %s failed: code %s, %s", coin, code, message[:200])
    return error


def _finite(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _row_usd(row: Any) -> float | None:
    """Element [1] of a row if it is a finite, non-negative number."""
    if not isinstance(row, list | tuple) or len(row) < 2:
        return None
    usd = _finite(row[1])
    return usd if usd is not None and usd >= 0 else None


RANGES = ("1d", "7d", "30d")


def _check(values, bad) -> None:
    if values["sources.coinglass"]["range"] not in RANGES:
        raise bad("sources.coinglass", "range", f"must be one of {', '.join(RANGES)}")


CONFIG = ConfigPart(
    {
        "sources.coinglass": {
            "base_url": "https://open-api-v4.coinglass.com",
            "api_key": "",
            "range": "1d",
            "timeout_seconds": 10.0,  # per read
            "deadline_seconds": 20.0,  # per request, whole reply included
            "max_body_bytes": DEFAULT_MAX_BODY_BYTES,  # larger replies are refused unread
        }
    },
    check=_check,
    env={"COINGLASS_API_KEY": ("sources.coinglass", "api_key")},
    secrets=(("sources.coinglass", "api_key"),),
)
