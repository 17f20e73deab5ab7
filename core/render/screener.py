"""The screener's words: one aligned table (`/top`, `liqwatch top`) and its JSON rows.

Rows are duck-typed (core.market.screener.ScreenRow: symbol, price, ratio, long_below_usd,
short_above_usd, nearest_zone_pct, as_of): render sits beside the market and never imports it.
The table is 36 characters wide, so it fits a phone's chat bubble without wrapping.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from core.kernel import fmt
from core.types import Button, Message, Section

TITLES = {
    "ratio": "most short-heavy maps first (shorts above / longs below)",
    "longs": "most long USD below the price first",
    "shorts": "most short USD above the price first",
    "near": "nearest a key zone first",
}
HEADER = f"{'#':>2} {'SYMBOL':<8}{'RATIO':>6} {'LONG↓':>7} {'SHORT↑':>7} {'ZONE':>6}"


def _zone(pct: float | None) -> str:
    return "—" if pct is None else f"{pct:+.1f}%"


def table_line(n: int, row: Any) -> str:
    return (
        f"{n:>2} {row.symbol[:8]:<8}{fmt.ratio(row.ratio):>6} {fmt.money(row.long_below_usd):>7}"
        f" {fmt.money(row.short_above_usd):>7} {_zone(row.nearest_zone_pct):>6}"
    )


def screener_message(rows: Sequence[Any], by: str, now: datetime, universe: int) -> Message:
    if not rows:
        return Message(
            title="Screener",
            lines=("No maps for the universe right now: the data source is not answering.",),
            kind="error",
        )
    oldest = min(row.as_of for row in rows)
    lines = (f"Top {len(rows)} of {universe} symbols: {TITLES.get(by, by)}.",)
    if any(getattr(row, "sample", False) for row in rows):
        lines += ("SAMPLE DATA: replayed from a file, not the live market.",)
    table = Section("Ranking", (HEADER, *(table_line(n, r) for n, r in enumerate(rows, 1))), True)
    return Message(
        title=f"Screener · by {by}",
        lines=lines,
        sections=(table,),
        footer=f"Oldest map {fmt.age(oldest, now)} · ZONE: % to the nearer key zone · estimates",
        buttons=tuple(Button(f"{r.symbol} map", "refresh", (r.symbol,)) for r in rows[:3]),
        kind="report",
    )


def screener_rows_json(rows: Sequence[Any]) -> list[dict[str, Any]]:
    """`[{"symbol", "price", "ratio", "long_below_usd", "short_above_usd", "nearest_zone_pct"}]`."""
    return [
        {
            "symbol": row.symbol,
            "price": row.price,
            "ratio": row.ratio,
            "long_below_usd": round(row.long_below_usd, 2),
            "short_above_usd": round(row.short_above_usd, 2),
            "nearest_zone_pct": (
                None if row.nearest_zone_pct is None else round(row.nearest_zone_pct, 4)
            ),
        }
        for row in rows
    ]
