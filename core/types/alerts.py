"""Alert values: the rules users hold and the events (facts) and notices (with words) they give."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
