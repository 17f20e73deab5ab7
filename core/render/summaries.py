"""The scheduled summary message: a section per symbol (price, 24 h change, ratio move, zones,
crossings since the previous summary)."""

from __future__ import annotations

from core.kernel import fmt
from core.kernel.fmt import price as fmt_price
from core.render.report import SAMPLE_LABEL, finite_or_none, reading, zone_text
from core.types import Analysis, Message, Section, Snapshot


def crossed_levels(previous: dict, high: float, low: float) -> list[str]:
    """Key levels the price went through since the previous summary (from its stored levels),
    judged on the high and low since then, so a break that reverted still counts."""
    crossed = []
    above, below = previous.get("key_short"), previous.get("key_long")
    if above and high >= above:
        crossed.append(f"broke above the key short level {fmt_price(above)}")
    if below and low <= below:
        crossed.append(f"fell through the key long level {fmt_price(below)}")
    return crossed


def summary_message(
    schedule_text: str,
    results: list[tuple[str, Snapshot | None, Analysis | None]],
    previous: dict[str, dict],
    image: bytes | None,
    ranges: dict[str, tuple[float, float]] | None = None,
) -> Message:
    """One message: a section per symbol (price, 24 h change, ratio move, zones, crossings)."""
    sections, failed = [], []
    for sym, snapshot, result in results:
        if snapshot is None or result is None:
            failed.append(sym)
            continue
        prev = previous.get(sym, {})
        sections.append(
            summary_section(
                sym,
                snapshot,
                result,
                prev.get("ratio"),
                crossed_levels(prev, *(ranges or {}).get(sym, (snapshot.price,) * 2))
                if prev
                else None,
            )
        )
    lines = [f"No data for {', '.join(failed)} this time."] if failed else []
    sources = sorted({s.source for _, s, _ in results if s is not None})
    sample = any(s is not None and s.sample for _, s, _ in results)
    footer = f"Source: {', '.join(sources) or 'none'} · {schedule_text}"
    if sample:
        footer += " · SAMPLE DATA, not live"
    names = ", ".join(sym for sym, _, _ in results)
    return Message(
        title=f"Summary · {names}",
        lines=tuple(lines),
        sections=tuple(sections),
        footer=footer,
        image=image,
        kind="summary",
    )


def summary_section(
    symbol: str,
    snapshot: Snapshot,
    analysis: Analysis,
    previous_ratio: float | None,
    crossed: list[str] | None,
) -> Section:
    """One symbol of a scheduled summary: price, 24 h change, ratio move, key zones, crossings.

    `crossed` holds ready-made descriptions of the key levels the price went through since the
    previous summary (the service knows them); an empty list says none was crossed; None (the
    first summary) says nothing about crossings.
    """
    name = f"{symbol} · {SAMPLE_LABEL}" if snapshot.sample else symbol
    change = snapshot.context.change_24h_pct if snapshot.context else None
    price_line = f"Price {fmt.price(analysis.price)}"
    if finite_or_none(change) is not None:
        price_line += f" ({fmt.pct(change)} 24h)"
    lines = [price_line]

    ratio_line = f"Ratio {fmt.ratio(analysis.ratio)}"
    if analysis.ratio is None:
        ratio_line += f" ({reading(analysis)})"
    elif finite_or_none(previous_ratio) is not None:
        move = analysis.ratio - previous_ratio  # type: ignore[operator]
        ratio_line += f" (was {fmt.ratio(previous_ratio)}, {move:+.2f})"
    lines.append(ratio_line)

    for label, zone in (
        ("Key short zone", analysis.key_short),
        ("Key long zone", analysis.key_long),
    ):
        if zone is not None:
            lines.append(f"{label} {zone_text(zone)}")
    if crossed:
        lines.append("Crossed since the previous summary: " + ", ".join(crossed))
    elif crossed is not None:
        lines.append("No key level crossed since the previous summary")
    return Section(name=name, lines=tuple(lines))
