"""Hyperliquid's public info API: wallets' positions (with the exchange's own liquidation price),
the perpetuals' open interest and mark prices, candles. No key is needed.

Every read is `POST {base_url}/info` with a JSON body naming its `type` (Hyperliquid docs,
"Info endpoint": https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/info-endpoint).
Shapes, from the recorded replies in tests/data/real/hyperliquid/:
- `{"type": "clearinghouseState", "user": "0x..."}` → `{"assetPositions": [{"position": {"coin",
  "szi" (signed size in coins, string), "entryPx", "liquidationPx" (string, or null for a cross
  position whose account has collateral enough), "leverage": {"type": "cross"|"isolated",
  "value": int}, "positionValue" (|szi| x mark, USD), "marginUsed", ...}, "type": "oneWay"}],
  "marginSummary": {"accountValue", ...}, "time"?}` (the 2023 cassette lacks `time`,
  `cumFunding` and `maxLeverage`: all read optionally);
- `{"type": "metaAndAssetCtxs"}` → `[{"universe": [{"name", "szDecimals", ...}]}, [{"markPx",
  "openInterest" (coins), "funding", ...}]]`: two parallel arrays, the i-th context belongs to the
  i-th coin;
- `{"type": "candleSnapshot", "req": {"coin", "interval", "startTime", "endTime"}}` → oldest-first
  objects `{"t", "T", "o", "h", "l", "c", "v", ...}` (prices as strings);
- a request the venue cannot read gets HTTP 422 with a PLAIN-TEXT body ("Failed to deserialize
  the JSON body into the target type"): not retried. No 429 body was found recorded; a 429 is
  retried by the fetcher with backoff, like every venue's.

Rate limit (docs, "Rate limits and user limits":
https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/rate-limits-and-user-limits):
REST requests share an aggregated weight of 1,200 per minute per IP; clearinghouseState, l2Book
and allMids weigh 2, most other info requests (metaAndAssetCtxs, candleSnapshot) 20, and
candleSnapshot 1 more per 60 candles returned. One limiter per client holds that budget for every
caller (the wallet refresh, the observed map, /wallet).

There is no all-market liquidation stream and no documented leaderboard: the wallets read are a
configured list (`[sources.hyperliquid] wallets`; a vault's address is an account too, e.g. HLP's).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.kernel.clock import utcnow
from core.kernel.config import Config, ConfigPart
from core.kernel.errors import SourceRejected, SourceUnavailable, UnknownSymbol, UsageError
from core.kernel.symbols import normalize
from core.market.sources.binance import Clock
from core.market.sources.http import JsonFetcher, JsonReply, RetryPolicy, Sleep
from core.market.sources.http import finite_number as _number
from core.market.sources.venues import Rate, RateLimiter
from core.types import Candle, WalletPosition, WalletReading

log = logging.getLogger(__name__)

INFO = "/info"
VENDOR = "Hyperliquid"
WEIGHT_PER_MINUTE = 1200  # per IP, all REST requests together (docs, rate limits page)
WEIGHTS = {"clearinghouseState": 2, "metaAndAssetCtxs": 20, "candleSnapshot": 20}
CANDLES_PER_EXTRA_WEIGHT = 60
CANDLE_INTERVALS = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000}
ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def parse_address(text: str) -> str:
    """`0x` + 40 hex digits, returned lower-case; anything else is a UsageError."""
    value = text.strip()
    if not ADDRESS.fullmatch(value):
        shown = value[:12] + ("…" if len(value) > 12 else "")
        raise UsageError(
            f"{shown!r} is not a wallet address: it must be 0x followed by 40 hex digits."
        )
    return value.lower()


def short_address(address: str) -> str:
    """0x5e9e…a13a: how replies name a wallet."""
    return f"{address[:6]}…{address[-4:]}"


def rates(weight_per_minute: float = WEIGHT_PER_MINUTE) -> dict[str, Rate]:
    return {
        "weight": Rate(
            weight_per_minute,
            60,
            source="Hyperliquid docs, Rate limits: 1,200 request weight per minute per IP",
        )
    }


@dataclass(frozen=True)
class AssetContext:
    """One perpetual's state from metaAndAssetCtxs."""

    coin: str
    mark_px: float
    open_interest: float  # coins
    funding: float = 0.0  # hourly rate

    @property
    def open_interest_usd(self) -> float:
        return self.open_interest * self.mark_px


def parse_position(raw: Any) -> WalletPosition | None:
    """One `assetPositions[].position`; None when it is not a usable open position."""
    if not isinstance(raw, Mapping):
        return None
    coin, size = raw.get("coin"), _number(raw.get("szi"))
    if not isinstance(coin, str) or not coin or not size:
        return None
    leverage = raw.get("leverage") if isinstance(raw.get("leverage"), Mapping) else {}
    margin_type = "isolated" if leverage.get("type") == "isolated" else "cross"
    liquidation = _number(raw.get("liquidationPx"))
    value = _number(raw.get("positionValue"))
    entry = _number(raw.get("entryPx")) or 0.0
    if value is None or value < 0:
        value = abs(size) * entry
    return WalletPosition(
        coin=coin,
        size=size,
        entry_px=entry,
        liquidation_px=liquidation if liquidation is not None and liquidation > 0 else None,
        leverage=int(_number(leverage.get("value")) or 1),
        margin_type=margin_type,
        position_usd=value,
    )


def parse_clearinghouse(body: Any, address: str, read_at: datetime) -> WalletReading:
    """A clearinghouseState reply as a WalletReading (a `null` reply: a wallet with nothing)."""
    if body is None:
        return WalletReading(address, read_at)
    if not isinstance(body, Mapping) or not isinstance(body.get("assetPositions", []), list):
        raise SourceUnavailable(f"{VENDOR} sent a wallet state liqwatch cannot read.")
    positions = []
    for entry in body.get("assetPositions", []):
        position = parse_position(entry.get("position") if isinstance(entry, Mapping) else None)
        if position is not None:
            positions.append(position)
    summary = body.get("marginSummary") if isinstance(body.get("marginSummary"), Mapping) else {}
    return WalletReading(
        address, read_at, tuple(positions), _number(summary.get("accountValue")) or 0.0
    )


def parse_asset_contexts(body: Any) -> dict[str, AssetContext]:
    """metaAndAssetCtxs: the universe zipped with its contexts by index."""
    if not (isinstance(body, list) and len(body) == 2 and isinstance(body[0], Mapping)):
        raise SourceUnavailable(f"{VENDOR} sent market data liqwatch cannot read.")
    universe, contexts = body[0].get("universe"), body[1]
    if not isinstance(universe, list) or not isinstance(contexts, list):
        raise SourceUnavailable(f"{VENDOR} sent market data liqwatch cannot read.")
    if len(universe) != len(contexts):
        raise SourceUnavailable(f"{VENDOR} sent {len(universe)} coins but {len(contexts)} prices.")
    found = {}
    for meta, ctx in zip(universe, contexts, strict=True):
        if not isinstance(meta, Mapping) or not isinstance(ctx, Mapping):
            continue
        name, mark = meta.get("name"), _number(ctx.get("markPx"))
        if not isinstance(name, str) or mark is None or mark <= 0:
            continue
        found[name.upper()] = AssetContext(
            name, mark, _number(ctx.get("openInterest")) or 0.0, _number(ctx.get("funding")) or 0.0
        )
    return found


class HyperliquidClient:
    """Async client of Hyperliquid's /info reads; one weight limiter for everything it sends.

    metaAndAssetCtxs (weight 20, every coin at once) is kept `contexts_ttl_seconds`, so a burst of
    /liq or a refresh of many symbols spends it once.
    """

    name = "hyperliquid"
    label = vendor = VENDOR

    def __init__(
        self,
        base_url: str = "https://api.hyperliquid.xyz",
        *,
        timeout_seconds: float = 10.0,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        limiter: RateLimiter | None = None,
        weight_per_minute: float = WEIGHT_PER_MINUTE,
        contexts_ttl_seconds: float = 30.0,
        monotonic=time.monotonic,
    ):
        self._clock = clock or utcnow
        self._http = JsonFetcher(
            base_url, vendor=VENDOR, timeout_seconds=timeout_seconds, retry=retry, sleep=sleep
        )
        self.limiter = limiter or RateLimiter(rates(weight_per_minute), sleep=sleep)
        self.contexts_ttl_seconds = contexts_ttl_seconds
        self._monotonic = monotonic
        self._contexts: tuple[float, dict[str, AssetContext]] | None = None
        self._contexts_lock = asyncio.Lock()

    @classmethod
    def from_config(
        cls, config: Config, clock: Clock | None = None, **kwargs: Any
    ) -> HyperliquidClient:
        section = config.section("sources.hyperliquid")
        return cls(
            section["base_url"],
            timeout_seconds=section["timeout_seconds"],
            weight_per_minute=section["weight_per_minute"],
            clock=clock,
            **kwargs,
        )

    async def info(self, body: dict[str, Any], weight: float) -> Any:
        """One /info read, after its weight is taken from the budget."""
        await self.limiter.acquire("weight", cost=weight)
        reply = await self._http.post_json(INFO, body)
        return _body(reply, body.get("type", "?"))

    async def clearinghouse_state(self, address: str) -> WalletReading:
        """A wallet's open perpetual positions now (weight 2)."""
        user = parse_address(address)
        read_at = self._clock()
        body = await self.info({"type": "clearinghouseState", "user": user}, 2)
        return parse_clearinghouse(body, user, read_at)

    async def asset_contexts(self) -> dict[str, AssetContext]:
        """Every perpetual's mark price and open interest, by upper-case coin (weight 20)."""
        async with self._contexts_lock:  # concurrent asks share one request
            cached = self._contexts
            if cached is not None and self._monotonic() - cached[0] < self.contexts_ttl_seconds:
                return cached[1]
            body = await self.info({"type": "metaAndAssetCtxs"}, WEIGHTS["metaAndAssetCtxs"])
            contexts = parse_asset_contexts(body)
            self._contexts = (self._monotonic(), contexts)
            return contexts

    async def asset_context(self, coin: str) -> AssetContext:
        name = normalize(coin)
        context = (await self.asset_contexts()).get(name)
        if context is None:
            raise UnknownSymbol(name)
        return context

    async def mark_price(self, coin: str) -> float:
        return (await self.asset_context(coin)).mark_px

    async def candles(self, coin: str, since: datetime, interval: str = "1m") -> list[Candle]:
        """Candles from the one holding `since` up to now (oldest first)."""
        step = CANDLE_INTERVALS.get(interval)
        if step is None:
            raise ValueError(f"unsupported interval {interval!r}")
        context = await self.asset_context(coin)
        start = int(since.timestamp() * 1000) // step * step
        end = int(self._clock().timestamp() * 1000)
        expected = max(1, (end - start) // step + 1)
        weight = WEIGHTS["candleSnapshot"] + expected // CANDLES_PER_EXTRA_WEIGHT
        req = {"coin": context.coin, "interval": interval, "startTime": start, "endTime": end}
        body = await self.info({"type": "candleSnapshot", "req": req}, weight)
        return _parse_candles(body)

    async def aclose(self) -> None:
        await self._http.aclose()


def _body(reply: JsonReply, what: str) -> Any:
    if reply.ok:
        return reply.body
    # 422: the venue could not read the request (its body is plain text): fix the request.
    log.warning("%s /info %s: HTTP %d", VENDOR, what, reply.status)
    raise SourceRejected(f"{VENDOR} refused the {what} request (HTTP {reply.status}).")


def _parse_candles(body: Any) -> list[Candle]:
    if not isinstance(body, list):
        raise SourceUnavailable(f"{VENDOR} sent candles liqwatch cannot read.")
    candles = []
    for row in body:
        if not isinstance(row, Mapping) or not isinstance(row.get("t"), int):
            continue
        values = [_number(row.get(k)) for k in ("o", "h", "l", "c")]
        if any(v is None for v in values):
            continue
        opened = datetime.fromtimestamp(row["t"] / 1000, UTC)
        candles.append(Candle(opened, *values))  # type: ignore[arg-type]
    return sorted(candles, key=lambda c: c.open_time)


def _check(values, bad) -> None:
    section = values["sources.hyperliquid"]
    for n, wallet in enumerate(section["wallets"], 1):
        if not isinstance(wallet, str) or not ADDRESS.fullmatch(wallet.strip()):
            raise bad("sources.hyperliquid", "wallets", f"entry {n} is not 0x + 40 hex digits")
    if not 0 < section["weight_per_minute"] <= WEIGHT_PER_MINUTE:
        raise bad("sources.hyperliquid", "weight_per_minute", "must be above 0 and at most 1200")
    reads = section["wallet_reads_per_minute"]
    if not 0 < reads * WEIGHTS["clearinghouseState"] <= section["weight_per_minute"]:
        raise bad(
            "sources.hyperliquid",
            "wallet_reads_per_minute",
            "must be above 0 and cost (2 each) at most weight_per_minute",
        )
    if not 10 <= section["refresh_seconds"] <= 3600:
        raise bad("sources.hyperliquid", "refresh_seconds", "must be between 10 and 3600")
    if not 1 <= section["stale_minutes"] <= 24 * 60:
        raise bad("sources.hyperliquid", "stale_minutes", "must be between 1 and 1440")


CONFIG = ConfigPart(
    {
        "sources.hyperliquid": {
            "base_url": "https://api.hyperliquid.xyz",
            "timeout_seconds": 10.0,
            # the wallets whose positions make the observed map (0x + 40 hex each)
            "wallets": [],
            "weight_per_minute": float(WEIGHT_PER_MINUTE),  # the IP's budget liqwatch may use
            # wallet reads (weight 2 each) per minute: 240 = 480 of the 1,200, the rest left to
            # market data and anything else on the same IP
            "wallet_reads_per_minute": 240,
            "refresh_seconds": 60.0,  # how often the round-robin refresh and /wallet checks run
            "stale_minutes": 30.0,  # readings older than this are left out of the observed map
        }
    },
    check=_check,
)
