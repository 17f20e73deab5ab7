"""Shared by the alert engine tests: markets around the worked example's key zones, rules, and a
Ticker that runs successive ticks like the scheduler."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.alerts import MarketView, evaluate, notice
from core.types import Analysis, Notice, Rule, Zone

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
MARGIN_PCT = 0.3

# The key zones of the worked examples: shorts above ~$92k, longs below ~$86k.
SHORT_ZONE = (91_800.0, 92_300.0)
LONG_ZONE = (86_000.0, 86_500.0)
HIGHER_SHORT_ZONE = (95_000.0, 95_400.0)  # what a refreshed map shows once SHORT_ZONE is broken


def make_zone(side: str, bounds: tuple[float, float] | None, usd: float) -> Zone | None:
    if bounds is None:
        return None
    low, high = bounds
    return Zone(side, low, high, (low + high) / 2, usd, 0.0)  # type: ignore[arg-type]


def market(
    price: float,
    high: float | None = None,
    low: float | None = None,
    short: tuple[float, float] | None = SHORT_ZONE,
    long: tuple[float, float] | None = LONG_ZONE,
    ratio: float | None = 1.0,
    symbol: str = "BTC",
    short_usd: float = 412.5e6,
    long_usd: float = 1.563e9,
) -> MarketView:
    key_short = make_zone("short", short, short_usd)
    key_long = make_zone("long", long, long_usd)
    zones = tuple(zone for zone in (key_short, key_long) if zone is not None)
    analysis = Analysis(
        symbol, price, 2.7e9, None, 1.5e9, None, ratio, zones, key_short, key_long,
        key_short, key_long, 0.0,
    )  # fmt: skip
    return MarketView(symbol, price, analysis, high or price, low or price, NOW)


def rule(kind: str, value: float | None = None, rule_id: int = 1, **fields) -> Rule:
    fields = {"chat_key": 10, "user_id": "u1", "symbol": "BTC", **fields}
    return Rule(id=rule_id, kind=kind, value=value, **fields)  # type: ignore[arg-type]


class Ticker:
    """Runs successive ticks like the scheduler: stored states fed back, one minute apart."""

    def __init__(self, *rules: Rule):
        self.rules = list(rules)
        self.states: dict[int, str] = {}
        self.now = NOW
        self.last_changed: dict[int, str] = {}

    def tick(self, *views: MarketView, **market_args) -> list[Notice]:
        """One tick; its events with the sentences their kinds wrote (`.text`)."""
        self.now += timedelta(minutes=1)
        markets = {view.symbol: view for view in views}
        if market_args:
            markets["BTC"] = market(**market_args)
        events, changed = evaluate(self.rules, self.states, markets, self.now, MARGIN_PCT)
        self.states.update(changed)
        self.last_changed = changed
        return [notice(event) for event in events]
