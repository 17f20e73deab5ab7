"""Liquidation-map sources and the factory that picks one from the config.

- `estimate` (default, no key): Binance klines + open interest through core.estimator;
- `coinglass` (paid key): Coinglass's aggregated map, split by Binance's mark price;
- `replay`: snapshots from a JSON file (offline demos and tests).
"""

from __future__ import annotations

from ..config import Config
from ..errors import ConfigError
from ..ports import Source
from .binance import BinanceClient, Clock
from .coinglass import CoinglassSource
from .estimate import EstimateSource

__all__ = ["BinanceClient", "CoinglassSource", "EstimateSource", "make_source"]


def make_source(config: Config, clock: Clock | None = None) -> Source:
    """The source named by `[data] source`. Raises SourceRejected when coinglass has no key."""
    kind = config.get("data", "source")
    if kind == "estimate":
        return EstimateSource.from_config(config, clock)
    if kind == "coinglass":
        return CoinglassSource.from_config(config, clock)
    if kind == "replay":
        from .replay import SAMPLE_PATH, ReplaySource  # imported only when chosen

        # No path: the bundled sample, wherever liqwatch is installed.
        return ReplaySource(config.get("sources.replay", "path") or SAMPLE_PATH, clock)
    raise ConfigError(f"[data] source must be estimate, coinglass or replay, not {kind!r}")
