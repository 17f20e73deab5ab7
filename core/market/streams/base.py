"""What every venue's liquidation stream is to the connection that runs it.

A venue module knows its protocol only: the URL, what to send to subscribe and to keep the
connection alive, and how a frame reads (`parse` → prints in liqwatch's terms, or a control fact:
subscribed, pong, "reconnect now"). The connection (connection.py) does the rest, the same way for
every venue: reconnects, backoff, pings on a timer, resubscribing, gaps, malformed frames.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from core.types import LiqPrint, Side

Coverage = Literal["full", "sampled", "partial"]


class Malformed(ValueError):
    """A frame that is not what the venue's protocol says (logged once, dropped)."""


@dataclass
class Parsed:
    """What one frame meant."""

    prints: list[LiqPrint] = field(default_factory=list)
    subscribed: bool = False  # a subscription was confirmed: data flows from here on
    rejected: str = ""  # a subscription the venue refused (its words)
    reconnect: str = ""  # the venue asks us to reconnect (e.g. OKX 64008), with why
    control: bool = False  # a pong, an ack or a notice: nothing to store


class Venue:
    """Base of the venue protocols; subclasses set the class attributes and `parse`."""

    name: str = ""
    label: str = ""
    coverage: Coverage = "full"
    path: str = ""  # appended to the configured ws_url
    per_symbol: bool = False  # subscribes topic by topic (Bybit); else one all-market stream
    needs_ack: bool = False  # data counts as flowing only after the venue confirms
    ping_seconds: float | None = None  # send `ping_frame()` this often (None: protocol pings)
    idle_seconds: float | None = None  # nothing at all received for this long: reconnect

    def __init__(self, ws_url: str):
        self.url = ws_url.rstrip("/") + self.path

    async def prepare(self) -> None:
        """Before each connection (e.g. OKX's contract sizes); may raise to retry later."""

    async def aclose(self) -> None:
        """Release what prepare() opened."""

    async def maintain(self) -> None:
        """Called with every keepalive ping on a live connection (e.g. OKX: new contracts)."""

    def ping_frame(self) -> str | None:
        return None

    def subscribe_frames(self, symbols: Collection[str]) -> list[str]:
        return []

    def unsubscribe_frames(self, symbols: Collection[str]) -> list[str]:
        return []

    def limit_symbols(self, symbols: list[str]) -> list[str]:
        """The symbols one connection can carry (all, unless the venue caps subscriptions)."""
        return symbols

    def parse(self, frame: str | bytes) -> Parsed:
        raise NotImplementedError


# ---- helpers the venue modules share -------------------------------------------------------


def load_json(frame: str | bytes) -> Any:
    try:
        return json.loads(frame)
    except (ValueError, TypeError, RecursionError) as exc:
        raise Malformed(f"not JSON: {str(frame)[:80]!r}") from exc


def positive(value: object, what: str) -> float:
    """A venue's number (often a string) that must be finite and > 0."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise Malformed(f"{what} is not a number: {str(value)[:30]!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise Malformed(f"{what} must be positive: {str(value)[:30]!r}")
    return number


def when(value: object) -> datetime:
    """Epoch milliseconds (number or string) → UTC datetime."""
    stamp = positive(value, "time")
    if stamp > 1e14:  # microseconds or garbage: no venue sends those here
        raise Malformed(f"time out of range: {value!r}")
    return datetime.fromtimestamp(stamp / 1000, UTC)


def field_of(mapping: object, key: str) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise Malformed(f"missing {key!r}")
    return mapping[key]


QUOTES = ("USDT", "USDC")


def coin_of_pair(pair: str) -> str | None:
    """`BTCUSDT` / `BTCUSDC` → `BTC` (liqwatch's symbol); dated or other pairs → None."""
    if not isinstance(pair, str) or not pair.isalnum() or not pair.isupper():
        return None
    for quote in QUOTES:
        if pair.endswith(quote) and len(pair) > len(quote):
            return pair[: -len(quote)]
    return None


def make_print(
    venue: str, coin: str, side: Side, price: float, qty: float, at: datetime
) -> LiqPrint:
    return LiqPrint(venue, coin, side, price, qty, price * qty, at)
