"""The whole configuration schema, assembled from the parts their owners contribute.

from bot.config import load
cfg = load("config.toml")          # or load(None, env={}, use_cwd=False) for the defaults
"""

from __future__ import annotations

import os

from core.chat import service
from core.delivery.deliverer import CONFIG as DELIVERY_CONFIG
from core.delivery.summaries import SUMMARIES_TABLE
from core.kernel import config as kernel_config
from core.kernel.config import Config, Schema
from core.market.screener import CONFIG as SCREENER_CONFIG
from core.market.sources.hyperliquid import CONFIG as HYPERLIQUID_CONFIG
from core.market.sources.registry import CONFIG_PARTS as MARKET_PARTS
from core.market.sources.registry import SOURCES
from core.market.streams import CONFIG as FEEDS_CONFIG
from core.store import CONFIG as STORE_CONFIG
from core.store.map_history import CONFIG as HISTORY_CONFIG

from .logs import CONFIG as LOG_CONFIG
from .platforms import PLATFORMS

SCHEMA = Schema(
    parts=(
        *MARKET_PARTS,
        HYPERLIQUID_CONFIG,
        STORE_CONFIG,
        DELIVERY_CONFIG,
        HISTORY_CONFIG,
        SCREENER_CONFIG,
        FEEDS_CONFIG,
        service.CONFIG,
        *(platform.config for platform in PLATFORMS.values()),
        LOG_CONFIG,
    ),
    tables={"summaries": SUMMARIES_TABLE},
)
SOURCE_NAMES = tuple(SOURCES)

__all__ = ["SCHEMA", "SOURCE_NAMES", "Config", "load"]


def load(
    path: str | os.PathLike | None = None,
    env: dict[str, str] | None = None,
    use_cwd: bool = True,
) -> Config:
    """Read `path` (or ./config.toml if present and `use_cwd`, else the built-in defaults),
    then the secret environment variables."""
    return kernel_config.load(SCHEMA, path, env, use_cwd)
