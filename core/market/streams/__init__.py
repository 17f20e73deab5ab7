"""Live liquidation streams: Binance, Bybit and OKX over WebSockets (the `websockets` library:
asyncio-native, maintained, answers protocol pings itself), normalised to `LiqPrint`s.

`[feeds]` turns them on and picks the venues; each venue's WebSocket URL is `[sources.<venue>]
ws_url` (the venue clients' sections), else the venue's public URL.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from core.kernel.config import Config, ConfigPart
from core.market.streams.base import Coverage, Venue
from core.market.streams.binance import Binance
from core.market.streams.bybit import Bybit
from core.market.streams.connection import Sink, VenueConnection
from core.market.streams.okx import Okx
from core.market.streams.supervisor import LiveFeeds, VenueState

__all__ = [
    "CONFIG",
    "VENUES",
    "Coverage",
    "LiveFeeds",
    "Sink",
    "Venue",
    "VenueConnection",
    "VenueState",
    "live_feeds",
    "make_venues",
]

DEFAULT_WS = {
    "binance": "wss://fstream.binance.com",
    "bybit": "wss://stream.bybit.com",
    "okx": "wss://ws.okx.com:8443",
}
VENUES = tuple(DEFAULT_WS)
COVERAGE: dict[str, Coverage] = {"binance": "sampled", "bybit": "full", "okx": "partial"}
LABELS = {"binance": "Binance", "bybit": "Bybit", "okx": "OKX"}


def _check(values, bad) -> None:
    feeds = values["feeds"]
    unknown = [v for v in feeds["venues"] if v not in DEFAULT_WS]
    if unknown or not isinstance(feeds["venues"], list):
        raise bad("feeds", "venues", f"must list some of {', '.join(VENUES)}, not {unknown}")
    if not 1 <= feeds["retention_days"] <= 3650:
        raise bad("feeds", "retention_days", "must be between 1 and 3650")
    if not 1 <= feeds["batch_seconds"] <= 300:
        raise bad("feeds", "batch_seconds", "must be between 1 and 300")
    for venue in VENUES:
        url = values.get(f"sources.{venue}", {}).get("ws_url", "")
        if url and not url.startswith(("ws://", "wss://")):
            raise bad(f"sources.{venue}", "ws_url", "must start with ws:// or wss://")


CONFIG = ConfigPart(
    {
        "feeds": {
            "enabled": True,
            "venues": list(VENUES),
            "retention_days": 30,
            "symbols": [],  # followed always, besides the symbols chats use
            "batch_seconds": 5.0,  # a chat feed posts at most one message this often
            "replay_path": "",  # a sample file (the demo): replay its prints instead of venues
        }
    },
    check=_check,
)


def _setting(config: Config, venue: str, key: str, default: str) -> str:
    """`[sources.<venue>] <key>` (the venue clients' sections carry `ws_url`), else `default`."""
    return config.values.get(f"sources.{venue}", {}).get(key) or default


def make_venues(config: Config) -> list[Venue]:
    venues: list[Venue] = []
    for name in config.get("feeds", "venues"):
        url = _setting(config, name, "ws_url", DEFAULT_WS[name])
        if name == "binance":
            venues.append(Binance(url))
        elif name == "bybit":
            venues.append(Bybit(url))
        elif name == "okx":
            rest = _setting(config, name, "base_url", "https://www.okx.com")  # contract sizes
            venues.append(Okx(url, rest))
    return venues


def live_feeds(config: Config, sink: Sink, symbols_in_use: Callable[[], Collection[str]]):
    """The configured LiveFeeds (not started), or None when `[feeds] enabled` is false."""
    if not config.get("feeds", "enabled"):
        return None
    from core.kernel import symbols

    extra = {symbols.normalize(s) for s in config.get("feeds", "symbols")}
    return LiveFeeds(make_venues(config), sink, symbols_in_use, extra_symbols=extra)
