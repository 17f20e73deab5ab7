"""The port every liquidation-map source implements (one module per source, see registry.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from core.types import Candle, Snapshot


class Source(Protocol):
    """A liquidation-map source. Raises UnknownSymbol, SourceUnavailable or SourceRejected."""

    name: str

    async def snapshot(self, symbol: str) -> Snapshot: ...

    async def candles(self, symbol: str, since: datetime, interval: str = "1m") -> list[Candle]:
        """Candles from the one holding `since` up to now: alerts read their high/low."""
        ...

    async def aclose(self) -> None: ...
