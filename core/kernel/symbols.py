"""What users type (`btc`, `BTC`, `BTCUSDT`, `$eth`) and what exchanges want (`BTCUSDT`)."""

from __future__ import annotations

import re

from core.kernel.errors import UsageError

QUOTE = "USDT"
_SYMBOL = re.compile(r"^[A-Z0-9]{1,20}$")


def normalize(text: str) -> str:
    """The coin as liqwatch names it: `btc` → `BTC`, `BTCUSDT` → `BTC`, `1000PEPEUSDT` → `1000PEPE`.

    Raises UsageError for text that cannot be a symbol (too long, punctuation, HTML...).
    Whether the exchange lists it is for the source to say (UnknownSymbol).
    """
    cleaned = text.strip().upper().lstrip("$#")
    if cleaned.endswith(".P"):  # TradingView's perpetual suffix
        cleaned = cleaned[:-2]
    for separator in ("/", "-", "_", ":"):  # BTC/USDT, BTC-USDT, BTC_USDT, BINANCE:BTCUSDT
        head, _, tail = cleaned.rpartition(separator)
        if head and tail == QUOTE:
            cleaned = head + tail
        elif separator == ":" and head:
            cleaned = tail
    if cleaned.endswith("USDT.P"):
        cleaned = cleaned[:-2]
    if not _SYMBOL.match(cleaned):
        shown = text.strip()[:20]
        raise UsageError(f"'{shown}' is not a symbol. Use a coin like BTC, ETH or SOL.")
    if cleaned.endswith(QUOTE) and len(cleaned) > len(QUOTE):
        cleaned = cleaned[: -len(QUOTE)]
    return cleaned


def pair(symbol: str) -> str:
    """The Binance USD-M perpetual for a coin: `BTC` → `BTCUSDT`."""
    return normalize(symbol) + QUOTE
