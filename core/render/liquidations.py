"""Realised liquidations in words: /liqs (totals per venue with coverage, the largest prints, the
gaps), its JSON, the /liq line, and the batched feed message a channel gets.

Coverage is said next to every venue's figure, because the venues do not publish the same thing:
Binance pushes at most one liquidation per symbol per second ("sampled": a lower bound), Bybit
every one ("full"), OKX "doesn't represent the total number of liquidations" ("partial"). A
period with a gap in a venue's stream says so ("no Bybit data 12:03–12:05").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from core.kernel import fmt
from core.types import LiqGap, LiqMinute, LiqPrint, Message, Section

COVERAGE_WORDS = {
    "full": "every liquidation",
    "sampled": "sampled: at most 1 per second per symbol, a lower bound",
    "partial": "partial by the venue's own statement",
}
SIDE_WORDS = {"long": "longs", "short": "shorts"}


@dataclass(frozen=True)
class LiqsReport:
    """What /liqs shows, gathered by the chat service or the CLI from the store."""

    symbol: str
    window: timedelta
    until: datetime
    minutes: tuple[LiqMinute, ...]
    largest: tuple[LiqPrint, ...]
    gaps: tuple[LiqGap, ...]
    venues: Mapping[str, tuple[str, str]]  # name → (label, coverage), the configured venues
    followed: bool = True  # the symbol is one the streams follow
    running: bool = True  # the streams run in this process (the CLI only reads the store)
    totals: dict[str, dict[str, float]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        totals: dict[str, dict[str, float]] = {
            name: {"long": 0.0, "short": 0.0} for name in self.venues
        }
        for minute in self.minutes:
            totals.setdefault(minute.venue, {"long": 0.0, "short": 0.0})[minute.side] += minute.usd
        object.__setattr__(self, "totals", totals)

    def side_total(self, side: str) -> float:
        return sum(t[side] for t in self.totals.values())


def _clock(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%H:%M")


def window_words(window: timedelta) -> str:
    hours = window.total_seconds() / 3600
    return f"{hours:g}h" if hours >= 1 else f"{window.total_seconds() / 60:g}m"


def gap_line(gap: LiqGap, labels: Mapping[str, str], now: datetime) -> str:
    label = labels.get(gap.venue, gap.venue)
    if gap.end is None:
        return f"no {label} data since {_clock(gap.start)} UTC"
    return f"no {label} data {_clock(gap.start)}–{_clock(gap.end)} UTC"


def print_line(p: LiqPrint, labels: Mapping[str, str]) -> str:
    return (
        f"{_clock(p.at)} {labels.get(p.venue, p.venue)}: {fmt.money(p.usd)} "
        f"{p.side} liquidated at {fmt.price(p.price)}"
    )


def liqs_message(report: LiqsReport, image: bytes | None = None) -> Message:
    labels = {name: label for name, (label, _) in report.venues.items()}
    longs, shorts = report.side_total("long"), report.side_total("short")
    title = f"{report.symbol} liquidations, last {window_words(report.window)}"
    lines = [f"Longs liquidated: {fmt.money(longs)} · Shorts liquidated: {fmt.money(shorts)}"]
    if longs or shorts:
        lead = "longs" if longs >= shorts else "shorts"
        share = max(longs, shorts) / (longs + shorts) * 100
        lines.append(f"{share:.0f}% of it {lead}.")
    else:
        lines.append("No liquidations recorded in this window.")
    if not report.running:
        lines.append("Read from the store: what the bot's live feeds recorded.")
    if not report.followed:
        lines.append(
            f"{report.symbol} is not followed yet: /watch it, set an alert or a /feed, "
            "and its liquidations are recorded from then on."
        )
    venue_rows = []
    for name, (label, coverage) in report.venues.items():
        t = report.totals.get(name, {"long": 0.0, "short": 0.0})
        venue_rows.append(
            f"{label}: longs {fmt.money(t['long'])}, shorts {fmt.money(t['short'])} "
            f"({COVERAGE_WORDS.get(coverage, coverage)})"
        )
    sections = [Section("By venue", tuple(venue_rows))]
    if report.largest:
        sections.append(
            Section("Largest prints", tuple(print_line(p, labels) for p in report.largest))
        )
    if report.gaps:
        sections.append(
            Section("Gaps", tuple(gap_line(g, labels, report.until) for g in report.gaps))
        )
    return Message(
        title=title,
        lines=tuple(lines),
        sections=tuple(sections),
        footer=f"Realised liquidations from the venues' streams, to {_clock(report.until)} UTC.",
        image=image,
        kind="report",
    )


def liqs_json(report: LiqsReport) -> dict[str, Any]:
    return {
        "symbol": report.symbol,
        "window_minutes": int(report.window.total_seconds() // 60),
        "until": report.until.astimezone(UTC).isoformat(),
        "long_liquidated_usd": round(report.side_total("long"), 2),
        "short_liquidated_usd": round(report.side_total("short"), 2),
        "venues": {
            name: {
                "long_liquidated_usd": round(report.totals.get(name, {}).get("long", 0.0), 2),
                "short_liquidated_usd": round(report.totals.get(name, {}).get("short", 0.0), 2),
                "coverage": coverage,
            }
            for name, (_, coverage) in report.venues.items()
        },
        "largest": [
            {
                "venue": p.venue,
                "side": p.side,
                "price": p.price,
                "qty": p.qty,
                "usd": round(p.usd, 2),
                "time": p.at.astimezone(UTC).isoformat(),
            }
            for p in report.largest
        ],
        "gaps": [
            {
                "venue": g.venue,
                "start": g.start.astimezone(UTC).isoformat(),
                "end": None if g.end is None else g.end.astimezone(UTC).isoformat(),
            }
            for g in report.gaps
        ],
        "followed": report.followed,
    }


def last_hour_line(longs: float, shorts: float, gaps: Sequence[LiqGap] = ()) -> str:
    """The /liq report's line when the feeds run."""
    line = (
        f"Realised, last hour: {fmt.money(longs)} longs and {fmt.money(shorts)} shorts "
        "liquidated (/liqs for detail)"
    )
    return line + (" — with gaps" if gaps else "")


# ---- the channel feed -------------------------------------------------------------------------

FEED_MAX_LINES = 20  # one message stays short on a phone, far below every platform's size limit


def feed_message(prints: Sequence[LiqPrint], labels: Mapping[str, str], min_usd: float) -> Message:
    """One batch of a chat's feed: the prints, largest first when more than fit."""
    longs = sum(p.usd for p in prints if p.side == "long")
    shorts = sum(p.usd for p in prints if p.side == "short")
    shown = sorted(prints, key=lambda p: p.at)
    if len(shown) > FEED_MAX_LINES:
        keep = set(map(id, sorted(prints, key=lambda p: -p.usd)[:FEED_MAX_LINES]))
        shown = [p for p in shown if id(p) in keep]
    lines = [
        f"{'🔴' if p.side == 'long' else '🟢'} {p.symbol} {p.side} liquidated "
        f"{fmt.money(p.usd)} at {fmt.price(p.price)} · {labels.get(p.venue, p.venue)} "
        f"{p.at.astimezone(UTC):%H:%M:%S}"
        for p in shown
    ]
    if len(prints) > len(shown):
        rest = len(prints) - len(shown)
        lines.append(f"+{rest} more at or above {fmt.money(min_usd)}")
    symbols = sorted({p.symbol for p in prints})
    title = (
        f"Liquidations {', '.join(symbols[:4])}{'…' if len(symbols) > 4 else ''}: "
        f"{fmt.money(longs)} longs · {fmt.money(shorts)} shorts"
    )
    # "summary": a feed is a channel's stream, not an alert a /mute should hold back
    return Message(title=title, lines=tuple(lines), kind="summary")
