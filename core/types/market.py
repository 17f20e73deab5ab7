"""Market values: maps, zones, analyses, realised liquidations, observed wallets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # only SplitMap's annotations: the alert engine's process needs no numpy
    import numpy as np

Side = Literal["long", "short"]


@dataclass(frozen=True)
class Level:
    """One price level of a liquidation map: USD that would be liquidated at `price`."""

    price: float
    long_usd: float = 0.0
    short_usd: float = 0.0


@dataclass(frozen=True)
class PriceContext:
    """Where the price has been: the 7-day range and the 24 h change (from exchange klines)."""

    high_7d: float
    low_7d: float
    change_24h_pct: float | None = None


VenueStatus = Literal["ok", "unavailable"]


@dataclass(frozen=True)
class VenueShare:
    """One venue's part of an aggregated map: its own levels (split at the snapshot's price) and
    their totals, or why it is missing (`status` "unavailable", `error` a short sentence)."""

    name: str  # "binance" | "bybit" | "okx"
    label: str  # "Binance": how a trader writes it
    status: VenueStatus = "ok"
    long_usd: float = 0.0  # longs below the price, the whole map
    short_usd: float = 0.0  # shorts above the price, the whole map
    levels: tuple[Level, ...] = ()
    error: str = ""
    method: Literal["estimated", "observed"] = "estimated"  # observed: Hyperliquid's wallets


@dataclass(frozen=True)
class Snapshot:
    """A liquidation map at one moment: the neutral output of every source.

    `levels` are sorted by ascending price. Long USD counts only below `price` and short USD only
    above it (analysis enforces that); a source that cannot tell the side (Coinglass) puts the same
    figure in the field that matches the level's side of the price.
    """

    symbol: str  # the coin as users type it, upper case: "BTC"
    price: float  # current (mark) price
    levels: tuple[Level, ...]
    source: str  # "coinglass" | "estimate" | "replay"
    as_of: datetime  # when the data was valid (UTC)
    context: PriceContext | None = None
    sample: bool = False  # built from bundled sample data: every report must say so
    note: str = ""  # e.g. the sample's label
    venues: tuple[VenueShare, ...] = ()  # per-venue breakdown of an aggregated map (estimate)
    # which leverage tiers make up each level (estimate only; () when unknown): (price, USD per
    # tier of the side kept at that price, in `tier_leverage` order), ascending price
    tiers: tuple[tuple[float, tuple[float, ...]], ...] = ()
    tier_leverage: tuple[float, ...] = ()  # the tiers' leverage (5.0, 10.0, 25.0, ...)


@dataclass(frozen=True)
class Candle:
    """One OHLC candle, used for wick-aware alerts and price context."""

    open_time: datetime
    open: float
    high: float
    low: float
    close: float


# ---- realised liquidations (core/market/streams → core/store/liquidations) --------------------


@dataclass(frozen=True)
class LiqPrint:
    """One realised liquidation from a venue's stream. `side` is the side that was liquidated:
    "long" = a long position was force-closed (by a sell order), whatever the venue calls it."""

    venue: str  # "binance" | "bybit" | "okx"
    symbol: str  # the coin as liqwatch names it: "BTC"
    side: Side
    price: float
    qty: float  # base coin
    usd: float
    at: datetime  # the venue's time of the liquidation (UTC)


@dataclass(frozen=True)
class LiqMinute:
    """One minute of one symbol's realised liquidations on one venue and side (stored aggregate)."""

    minute: datetime  # start of the minute (UTC)
    venue: str
    side: Side
    usd: float
    count: int
    largest_usd: float
    largest_price: float
    low: float  # lowest and highest print price in the minute
    high: float


@dataclass(frozen=True)
class LiqGap:
    """A stretch with no data from one venue's stream (`end` None: still going)."""

    venue: str
    start: datetime
    end: datetime | None
    reason: str = ""


@dataclass(frozen=True)
class LiqWindow:
    """A symbol's realised liquidations minute by minute (oldest first) up to `until`: what the
    cascade alert reads at a tick."""

    until: datetime
    minutes: tuple[LiqMinute, ...] = ()


@dataclass(frozen=True)
class Zone:
    """A cluster of neighbouring levels on one side that stands out; ranked by `usd`."""

    side: Side
    low: float
    high: float
    peak: float  # the level nearest the zone's notional-weighted centre (analysis rule 5)
    usd: float  # total USD of the zone
    distance_pct: float  # signed % from the current price to the zone's nearest edge


@dataclass(frozen=True)
class Analysis:
    """The numbers a trader reads off a map. `ratio` is None when it has no finite value."""

    symbol: str
    price: float
    short_above_usd: float
    short_edge: float | None  # furthest short level in the window (None: no shorts above)
    long_below_usd: float
    long_edge: float | None  # furthest long level in the window (None: no longs below)
    ratio: float | None  # short_above_usd / long_below_usd
    zones: tuple[Zone, ...]  # all zones, biggest first
    key_short: Zone | None  # biggest zone above
    key_long: Zone | None  # biggest zone below
    nearest_short: Zone | None
    nearest_long: Zone | None
    window_pct: float  # 0 = the whole map

    @property
    def short_edge_pct(self) -> float | None:
        """Signed % from the price to the furthest short level (None: no shorts above)."""
        return _distance_pct(self.price, self.short_edge)

    @property
    def long_edge_pct(self) -> float | None:
        """Signed % from the price to the furthest long level (None: no longs below)."""
        return _distance_pct(self.price, self.long_edge)


def _distance_pct(price: float, edge: float | None) -> float | None:
    if edge is None or not price:
        return None
    return (edge - price) / price * 100


@dataclass(frozen=True, eq=False)
class SplitMap:
    """A cleaned map split at the price: each side's non-empty levels inside the window.

    Arrays are sorted by ascending price; USD arrays hold only positive finite values.
    """

    price: float
    short_prices: np.ndarray
    short_usd: np.ndarray
    long_prices: np.ndarray
    long_usd: np.ndarray
    bucket_width: float
    window_low: float | None  # None: no cut below (window_pct 0)
    window_high: float | None


@dataclass(frozen=True, eq=False)
class MapFrame:
    """One recorded map of the map history (core/store/map_history.py): the levels' prices and
    USD as arrays (ascending price), the price and the source, at `taken_at` (UTC)."""

    symbol: str
    source: str
    taken_at: datetime
    price: float
    prices: np.ndarray
    long_usd: np.ndarray
    short_usd: np.ndarray


# ---- Hyperliquid wallets (core/market/sources/hyperliquid → core/store/wallets) ---------------


@dataclass(frozen=True)
class WalletPosition:
    """One open perpetual position of a Hyperliquid wallet, as `clearinghouseState` gives it."""

    coin: str  # "BTC"
    size: float  # signed, in coins: > 0 long, < 0 short (the venue's `szi`)
    entry_px: float
    liquidation_px: float | None  # None: cross margin with collateral enough for no price
    leverage: int
    margin_type: Literal["cross", "isolated"]
    position_usd: float  # |size| x the mark price when read (`positionValue`)

    @property
    def side(self) -> Side:
        return "long" if self.size > 0 else "short"

    @property
    def mark_px(self) -> float:
        """The mark price at the reading, implied by `positionValue` / |size|."""
        return self.position_usd / abs(self.size) if self.size else 0.0

    @property
    def distance_pct(self) -> float | None:
        """How far the mark price (at the reading) is from the liquidation price, in % of the
        mark: 0 or less means it is there. None with no liquidation price."""
        mark = self.mark_px
        if self.liquidation_px is None or mark <= 0:
            return None
        gap = mark - self.liquidation_px if self.size > 0 else self.liquidation_px - mark
        return gap / mark * 100


@dataclass(frozen=True)
class WalletReading:
    """A wallet's open positions at one moment (one `clearinghouseState` read)."""

    address: str  # "0x" + 40 lower-case hex digits
    read_at: datetime  # UTC
    positions: tuple[WalletPosition, ...] = ()
    account_usd: float = 0.0  # marginSummary.accountValue


@dataclass(frozen=True)
class ObservedCoverage:
    """How much of a venue's open interest an observed map (wallets' own positions) shows."""

    coin: str
    open_interest_usd: float  # the venue's, one side (every long has a short)
    long_usd: float  # observed open longs (at the mark price now), with or without a liq. price
    short_usd: float
    no_liq_count: int = 0  # positions with no liquidation price (cross, ample collateral)
    no_liq_usd: float = 0.0  # ...their notional, counted apart: not on the map
    past_liq_count: int = 0  # readings whose liquidation price the mark has crossed since: left out
    wallets: int = 0  # fresh readings used
    wallets_stale: int = 0  # readings too old to use
    wallets_unread: int = 0  # configured wallets never read yet
    oldest_read_at: datetime | None = None
    newest_read_at: datetime | None = None

    @property
    def share(self) -> float:
        """Observed notional over open interest, both sides: (longs + shorts) / (2 x OI)."""
        if self.open_interest_usd <= 0:
            return 0.0
        return (self.long_usd + self.short_usd) / (2 * self.open_interest_usd)
