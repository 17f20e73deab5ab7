"""The liquidation-map sources by name: `[data] source = "<name>"` picks one.

Each entry is the source's module-level factory and its config part; a new source is one new
module (its client, its `CONFIG`, a `from_config`) plus one line in SOURCES. The names users see
(the config check, `--source` choices, the help) all come from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.kernel.clock import Clock
from core.kernel.config import Config, ConfigPart
from core.kernel.errors import ConfigError
from core.market.sources import binance, bybit, coinglass, estimate, okx, replay
from core.market.sources.port import Source
from core.market.sources.venue_registry import DEFAULT_VENUES, VENUES


@dataclass(frozen=True)
class SourceSpec:
    name: str
    factory: Callable[[Config, Clock | None], Source]
    config: ConfigPart
    summary: str  # one line for --help and the README


SOURCES: dict[str, SourceSpec] = {
    spec.name: spec
    for spec in (
        SourceSpec(
            "estimate",
            estimate.EstimateSource.from_config,
            estimate.CONFIG,
            "free: Binance, Bybit and OKX klines + open interest through the estimator (default)",
        ),
        SourceSpec(
            "coinglass",
            coinglass.CoinglassSource.from_config,
            coinglass.CONFIG,
            "paid key: Coinglass's aggregated map, split by Binance's mark price",
        ),
        SourceSpec("replay", replay.from_config, replay.CONFIG, "snapshots from a JSON file"),
    )
}


def _check(values, bad) -> None:
    data = values["data"]
    if data["source"] not in SOURCES:
        raise bad("data", "source", f"must be one of {', '.join(SOURCES)}, not {data['source']!r}")
    if not 0 <= data["window_pct"] <= 100:
        raise bad("data", "window_pct", "must be between 0 and 100")
    if data["cache_seconds"] < 0:
        raise bad("data", "cache_seconds", "must not be negative")
    venues = data["venues"]
    if not venues or any(name not in VENUES for name in venues) or len(set(venues)) < len(venues):
        raise bad(
            "data", "venues", f"must list some of {', '.join(VENUES)} once each, not {venues!r}"
        )


DATA_CONFIG = ConfigPart(
    {
        "data": {
            "source": "estimate",
            "window_pct": 0.0,
            "cache_seconds": 60.0,
            "venues": list(DEFAULT_VENUES),
        }
    },
    check=_check,
)
# Every part the market contributes: the choice of source, the venue clients, each source.
CONFIG_PARTS: tuple[ConfigPart, ...] = (
    DATA_CONFIG,
    binance.CONFIG,
    bybit.CONFIG,
    okx.CONFIG,
    *(spec.config for spec in SOURCES.values()),
)


def make_source(config: Config, clock: Clock | None = None) -> Source:
    """The source named by `[data] source`. Raises SourceRejected when coinglass has no key."""
    name = config.get("data", "source")
    spec = SOURCES.get(name)
    if spec is None:
        raise ConfigError(f"[data] source must be one of {', '.join(SOURCES)}, not {name!r}")
    return spec.factory(config, clock)
