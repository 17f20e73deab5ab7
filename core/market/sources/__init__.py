"""Liquidation-map sources, one module each, picked by name from registry.SOURCES:

- `estimate` (default, no key): Binance, Bybit and OKX klines + open interest through
  core.market.estimator, summed (`[data] venues`; venue_registry.py);
- `coinglass` (paid key): Coinglass's aggregated map, split by Binance's mark price;
- `replay`: snapshots from a JSON file (offline demos and tests).
"""

from __future__ import annotations

from core.market.sources.binance import BinanceClient
from core.market.sources.coinglass import CoinglassSource
from core.market.sources.estimate import EstimateSource
from core.market.sources.port import Source
from core.market.sources.registry import SOURCES, make_source

__all__ = ["SOURCES", "BinanceClient", "CoinglassSource", "EstimateSource", "Source", "make_source"]
