"""Plain values shared by every part of liqwatch: snapshots, zones, analyses and chat messages.

Nothing here imports a chat library or does I/O. Prices and USD amounts are floats (display maths);
times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


# ---- chat messages: what the service returns and the adapters render ------------------------


@dataclass(frozen=True)
class Button:
    """An action a user can press. `action` is a short verb the service understands."""

    label: str
    action: str  # "refresh" | "chart" | "alert_breakout" | "snooze" | "mute_symbol" | ...
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    """A named group of lines (an embed field on Discord, a paragraph elsewhere)."""

    name: str
    lines: tuple[str, ...]
    mono: bool = False  # a table whose columns must line up: shown in a fixed-width font


MessageKind = Literal["reply", "report", "alert", "summary", "error", "help"]


@dataclass(frozen=True)
class Message:
    """A platform-neutral chat message. All text is plain: adapters escape and format it."""

    title: str
    lines: tuple[str, ...] = ()
    sections: tuple[Section, ...] = ()
    footer: str = ""  # source and data age
    image: bytes | None = None  # PNG
    buttons: tuple[Button, ...] = ()
    kind: MessageKind = "reply"

    def text(self) -> str:
        """Plain-text rendering (the console, logs, and the fallback of every adapter)."""
        parts = [self.title] if self.title else []
        parts.extend(self.lines)
        for section in self.sections:
            parts.append("")
            parts.append(f"{section.name}:")
            parts.extend(f"  {line}" for line in section.lines)
        if self.footer:
            parts.append("")
            parts.append(self.footer)
        return "\n".join(parts)


@dataclass(frozen=True)
class Caller:
    """Who sent a command, from where, with which rights (decided by the adapter)."""

    platform: str  # "console" | "telegram" | "discord"
    chat_id: str
    user_id: str
    chat_kind: Literal["private", "group", "channel"] = "private"
    can_manage_chat: bool = True  # chat admin (Telegram) / Manage Server (Discord)
    is_bot_admin: bool = False  # listed in the platform's `admins`
    thread_id: str | None = None  # Telegram forum topic
    fallback_chat_id: str | None = None  # Discord: channel to use when the user's DMs are closed


@dataclass(frozen=True)
class ChatRef:
    """Where a queued message goes."""

    platform: str
    chat_id: str
    thread_id: str | None = None
    user_id: str | None = None
    fallback_chat_id: str | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)


# ---- alert rules ------------------------------------------------------------------------------

RuleKind = str  # a name in core.alerts.kinds.KINDS: "breakout", "near", "ratio", "above", ...


@dataclass(frozen=True)
class Rule:
    """An alert rule a user holds. `value`: near → PCT, ratio → R, above/below → price."""

    id: int
    chat_key: int  # the store's primary key of the chat the alert goes to
    user_id: str
    symbol: str
    kind: RuleKind
    value: float | None = None
    created_at: datetime | None = None
    snoozed_until: datetime | None = None
    paused: bool = False  # e.g. Discord: neither DM nor channel reachable


Bounds = tuple[float, float]  # (low, high) of a zone, or of a single level (X, X)


@dataclass(frozen=True)
class AlertEvent:
    """One alert to deliver, as facts: who gets it, what crossed what. No words: the alert kind
    (core.alerts.kinds) says it in a sentence, render turns sentences into messages."""

    rule_id: int
    chat_key: int
    user_id: str
    symbol: str
    kind: str
    price: float  # the price at the tick (its close)
    level: float | None  # the level that fired (a zone's far edge, a price, a ratio)
    fired_at: datetime
    upward: bool = True  # crossing upward / the short side above the price
    zone: Bounds | None = None  # the zone concerned (breakout, near)
    zone_usd: float | None = None  # its size when known
    extreme: float | None = None  # the wick high (upward) or low that reached the level
    threshold: float | None = None  # the rule's own value (near %, ratio R)
    measured: float | None = None  # what the market showed (the ratio now)
    first_look: bool = False  # fired on the rule's very first evaluation


@dataclass(frozen=True)
class Notice:
    """An AlertEvent with the sentence a trader reads (made by its kind's `text`)."""

    event: AlertEvent
    text: str

    @property
    def rule_id(self) -> int:
        return self.event.rule_id

    @property
    def chat_key(self) -> int:
        return self.event.chat_key

    @property
    def symbol(self) -> str:
        return self.event.symbol

    @property
    def kind(self) -> str:
        return self.event.kind

    @property
    def fired_at(self) -> datetime:
        return self.event.fired_at

    @property
    def level(self) -> float | None:
        return self.event.level

    @property
    def price(self) -> float:
        return self.event.price


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
