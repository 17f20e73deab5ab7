"""The platform-neutral service behind every command: reports, and the command groups.

It runs commands against the market and the store and returns neutral Messages; it computes, it
never formats for a platform. Authorisation is the adapter's job: it passes the caller's rights in
`Caller`. What users type reaches it through core.chat.dispatch, the one grammar and error policy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from core.chat.alert_commands import AlertCommands
from core.chat.base import ChatContext, ServiceSettings
from core.chat.chat_settings import ChatSettings
from core.chat.commands import COMMANDS
from core.chat.liqs import last_hour
from core.chat.watch import Watchlists
from core.delivery.summaries import SummaryPlanner
from core.kernel.clock import utcnow
from core.kernel.config import ConfigPart
from core.market.reader import MarketReader
from core.render.context import context_line, with_context_line
from core.render.liquidations import last_hour_line
from core.render.report import report_message
from core.store import Store
from core.types import Message, Section

log = logging.getLogger(__name__)

__all__ = ["CONFIG", "Service", "ServiceSettings"]


class Service:
    """Reports and help here; watchlists, alert rules and chat-wide settings in their groups."""

    def __init__(
        self,
        market: MarketReader,
        store: Store,
        settings: ServiceSettings = ServiceSettings(),  # noqa: B008  (frozen: safe to share)
        clock: Callable[[], datetime] = utcnow,
    ):
        self.ctx = ChatContext(market, store, settings, clock, SummaryPlanner(store))
        self.market = market
        self.store = store
        self.summaries = self.ctx.summaries
        self.watchlists = Watchlists(self.ctx)
        self.alerts = AlertCommands(self.ctx)
        self.chats = ChatSettings(self.ctx)

    async def report(
        self, symbol: str, window_pct: float | None = None, chart: bool = True
    ) -> Message:
        """The /liq report with buttons Refresh / Chart / Alert me on breakout."""
        snapshot, result = await self.market.analysis(symbol, window_pct)
        image = await self.market.chart(snapshot, result) if chart else None
        realised = last_hour(self.ctx, snapshot.symbol)  # when the live feeds run
        line = last_hour_line(*realised) if realised else None
        message = report_message(snapshot, result, self.ctx.clock(), image, realised=line)
        if self.ctx.context is None:
            return message
        context = await self.ctx.context.get(snapshot.symbol)  # funding, open interest
        line = context_line(context, self.ctx.clock()) if context else None
        return with_context_line(message, line)

    def help(self) -> Message:
        lines = (
            "Liquidation maps: where leveraged longs and shorts would be force-closed, "
            "the imbalance between them, and alerts when price gets there.",
        )
        rows = tuple(f"{spec.usage} — {spec.description}. e.g. {spec.example}" for spec in COMMANDS)
        source = self.market.source_name
        return Message(
            title="liqwatch",
            lines=lines,
            sections=(Section("Commands", rows),),
            footer=f"Data: {source}. Every figure is an estimate; not financial advice.",
            kind="help",
        )

    def known_symbols(self, prefix: str = "") -> list[str]:
        return self.market.snapshots.known_symbols(prefix, sorted(self.ctx.store.needed_symbols()))


def _check(values, bad) -> None:
    if values["alerts"]["check_seconds"] < 5:
        raise bad("alerts", "check_seconds", "must be at least 5")
    if not 1 <= values["alerts"]["symbol_budget_seconds"] <= 300:
        raise bad("alerts", "symbol_budget_seconds", "must be between 1 and 300")
    if not 0 <= values["alerts"]["rearm_margin_pct"] <= 20:
        raise bad("alerts", "rearm_margin_pct", "must be between 0 and 20")


CONFIG = ConfigPart(
    {
        "alerts": {
            "check_seconds": 60.0,
            "rearm_margin_pct": 0.3,
            # a symbol slower than this sits the tick out (core/alerts/monitor.py)
            "symbol_budget_seconds": 20.0,
            "max_symbols_per_user": 20,
            "max_rules_per_user": 50,
            "commands_per_minute": 20,
        }
    },
    check=_check,
)
