"""Plain values shared by every part of liqwatch: snapshots, zones, analyses and chat messages.

Nothing here imports a chat library or does I/O. Prices and USD amounts are floats (display maths);
times are timezone-aware UTC datetimes. One module per family: market (maps, zones, analyses,
realised liquidations, observed wallets), chat (messages, buttons, callers, chat refs) and alerts
(rules, events, notices); import them from here.
"""

from core.types.alerts import (  # noqa: F401
    AlertEvent,
    Bounds,
    Notice,
    Rule,
    RuleKind,
)
from core.types.chat import (  # noqa: F401
    Button,
    Caller,
    ChatRef,
    Message,
    MessageKind,
    Section,
)
from core.types.market import (  # noqa: F401
    Analysis,
    Candle,
    Level,
    LiqGap,
    LiqMinute,
    LiqPrint,
    LiqWindow,
    MapFrame,
    ObservedCoverage,
    PriceContext,
    Side,
    Snapshot,
    SplitMap,
    VenueShare,
    VenueStatus,
    WalletPosition,
    WalletReading,
    Zone,
)

__all__ = [
    "AlertEvent",
    "Analysis",
    "Bounds",
    "Button",
    "Caller",
    "Candle",
    "ChatRef",
    "Level",
    "LiqGap",
    "LiqMinute",
    "LiqPrint",
    "LiqWindow",
    "MapFrame",
    "Message",
    "MessageKind",
    "Notice",
    "ObservedCoverage",
    "PriceContext",
    "Rule",
    "RuleKind",
    "Section",
    "Side",
    "Snapshot",
    "SplitMap",
    "VenueShare",
    "VenueStatus",
    "WalletPosition",
    "WalletReading",
    "Zone",
]
