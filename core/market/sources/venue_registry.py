"""The venues by name: `[data] venues = ["binance", "bybit", "okx"]` picks which the estimate sums.

Each entry builds the venue's client from the config and names the maintenance-margin rate its
map uses (Binance keeps `[estimator] maintenance_margin`; the others have their own key in their
`[sources.<venue>]` section). A new venue is one module (client + CONFIG) and one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.kernel.clock import Clock
from core.kernel.config import Config, ConfigPart
from core.market.sources import binance, bybit, hyperliquid, okx
from core.market.sources.hyperliquid_venue import ObservedVenue
from core.market.sources.venues import BinanceVenue, Venue


@dataclass(frozen=True)
class VenueSpec:
    name: str
    label: str
    factory: Callable[[Config, Clock | None], Venue]
    config: ConfigPart
    margin_key: tuple[str, str]  # (section, key) of its maintenance-margin rate


VENUES: dict[str, VenueSpec] = {
    spec.name: spec
    for spec in (
        VenueSpec(
            "binance",
            "Binance",
            lambda cfg, clock: BinanceVenue(binance.BinanceClient.from_config(cfg, clock)),
            binance.CONFIG,
            ("estimator", "maintenance_margin"),
        ),
        VenueSpec(
            "bybit",
            "Bybit",
            bybit.BybitClient.from_config,
            bybit.CONFIG,
            ("sources.bybit", "maintenance_margin"),
        ),
        VenueSpec(
            "okx",
            "OKX",
            okx.OkxClient.from_config,
            okx.CONFIG,
            ("sources.okx", "maintenance_margin"),
        ),
        VenueSpec(  # observed, opt-in: the configured wallets' own liquidation prices
            "hyperliquid",
            "Hyperliquid",
            ObservedVenue.from_config,  # type: ignore[arg-type]
            hyperliquid.CONFIG,
            ("estimator", "maintenance_margin"),  # unused: the exchange computed the prices
        ),
    )
}
DEFAULT_VENUES = ["binance", "bybit", "okx"]


def venue_label(name: str) -> str:
    spec = VENUES.get(name)
    return spec.label if spec else name
