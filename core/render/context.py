"""Funding and open interest in one line of a report's Context (`/liq`).

The context is duck-typed (core.market.context.MarketContext: funding_rate, next_funding,
open_interest_usd, open_interest_change_pct): render never imports the market.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from core.kernel import fmt
from core.types import Message, Section


def context_line(context: Any, now: datetime) -> str | None:
    """`Funding +0.0100% · next in 3h 12m · OI $8.21B (+2.3% 24h)`; with several venues
    `Funding Binance +0.0100% · Bybit +0.0095% · OKX +0.0120% · next in 3h 12m · OI ...` (only
    the venues that answered); None when nothing is known."""
    parts = []
    rates = getattr(context, "funding", ())
    funding = ""
    if rates and (len(rates) > 1 or rates[0][0] != "Binance"):
        funding = "Funding " + " · ".join(f"{label} {rate * 100:+.4f}%" for label, rate in rates)
    elif context.funding_rate is not None:
        funding = f"Funding {context.funding_rate * 100:+.4f}%"
    if funding:
        if context.next_funding is not None and context.next_funding > now:
            funding += f" · next in {fmt.duration(context.next_funding - now)}"
        parts.append(funding)
    if context.open_interest_usd is not None:
        oi = f"OI {fmt.money(context.open_interest_usd)}"
        if context.open_interest_change_pct is not None:
            oi += f" ({context.open_interest_change_pct:+.1f}% 24h)"
        parts.append(oi)
    return " · ".join(parts) or None


def with_context_line(message: Message, line: str | None) -> Message:
    """The message with `line` last in its Context section (made if the report had none)."""
    if not line:
        return message
    sections = list(message.sections)
    for n, section in enumerate(sections):
        if section.name == "Context":
            sections[n] = dataclasses.replace(section, lines=(*section.lines, line))
            break
    else:
        sections.append(Section("Context", (line,)))
    return dataclasses.replace(message, sections=tuple(sections))


def with_summary_context(message: Message, contexts: list[Any]) -> Message:
    """A summary's Context: `Funding: BTC +0.0100% · ETH -0.0050%` and `OI 24h: BTC +2.3% ·
    ETH -1.1%`, one line each, only for the symbols whose figures are known."""
    funding = [
        f"{c.symbol} {c.funding_rate * 100:+.4f}%" for c in contexts if c.funding_rate is not None
    ]
    interest = [
        f"{c.symbol} {c.open_interest_change_pct:+.1f}%"
        for c in contexts
        if c.open_interest_change_pct is not None
    ]
    for name, parts in (("Funding", funding), ("OI 24h", interest)):
        if parts:
            message = with_context_line(message, f"{name}: " + " · ".join(parts))
    return message
