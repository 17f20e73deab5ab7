"""Neutral messages built from an Analysis: the /liq report, its JSON, watchlist and summary lines.

Plain text only (adapters escape and format). Every number goes through core.fmt. Sample data says
so in the title and in the footer of every report, so a screenshot can never pass it off as live.

Reading thresholds (`reading`): the ratio is shorts above / longs below.
  ratio >= DOMINANCE_RATIO (1.25)      → shorts dominate above: squeeze risk up
  ratio <= 1 / DOMINANCE_RATIO (0.8)   → longs dominate below: flush risk down
  otherwise                            → balanced
A side with no liquidations has no ratio; the reading says which side is empty, in words.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from core.kernel import fmt
from core.render.tiers import tier_line
from core.types import Analysis, Button, Message, Section, Snapshot, VenueShare, Zone

DOMINANCE_RATIO = 1.25
SAMPLE_LABEL = "SAMPLE DATA"
ESTIMATE_NOTE = "estimates, not exact positions"


def _utc(moment: datetime) -> datetime:
    """Aware UTC; a naive time is taken to be UTC already (core keeps UTC inside)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def reading(analysis: Analysis) -> str:
    """The map's pull in a few words (thresholds in the module docstring)."""
    has_shorts = analysis.short_above_usd > 0
    has_longs = analysis.long_below_usd > 0
    where = _where(analysis)
    if not has_shorts and not has_longs:
        return f"no liquidations on either side {where}"
    if not has_shorts:
        return f"no shorts above the price {where}: only long fuel below"
    if not has_longs:
        return f"no longs below the price {where}: only short fuel above"
    if analysis.ratio is None:
        return "no finite ratio for this map"
    if analysis.ratio >= DOMINANCE_RATIO:
        return "shorts dominate above: squeeze risk up"
    if analysis.ratio <= 1 / DOMINANCE_RATIO:
        return "longs dominate below: flush risk down"
    return "balanced: neither side dominates"


def _where(analysis: Analysis) -> str:
    """`in this map`, or `within ±2%` when a window cuts the map."""
    return f"within ±{analysis.window_pct:g}%" if analysis.window_pct else "in this map"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def imbalance_line(analysis: Analysis) -> str | None:
    """`Shorts above are 1.73× the longs below`, said from the bigger side; None without a ratio."""
    if analysis.ratio is None:
        return None
    if analysis.ratio >= 1:
        return f"Shorts above are {fmt.ratio(analysis.ratio)} the longs below"
    return (
        f"Longs below are {fmt.ratio(1 / analysis.ratio)} the shorts above "
        f"(ratio {fmt.ratio(analysis.ratio)})"
    )


def headline_lines(analysis: Analysis) -> list[str]:
    """The worked example's sentences: what breaking up / falling to each edge liquidates."""
    lines = []
    if analysis.short_edge is not None:
        up = analysis.short_edge_pct
        lines.append(
            f"Breaking {fmt.price(analysis.short_edge)} ({fmt.pct(up)}) liquidates "
            f"{fmt.money_precise(analysis.short_above_usd)} of shorts"
        )
    else:
        lines.append(f"No shorts above the price {_where(analysis)}")
    if analysis.long_edge is not None:
        down = analysis.long_edge_pct
        lines.append(
            f"Falling to {fmt.price(analysis.long_edge)} ({fmt.pct(down)}) liquidates "
            f"{fmt.money_precise(analysis.long_below_usd)} of longs"
        )
    else:
        lines.append(f"No longs below the price {_where(analysis)}")
    imbalance = imbalance_line(analysis)
    if imbalance:
        lines.append(imbalance)
    return lines


def zone_text(zone: Zone) -> str:
    """`$94,100–$94,700 (peak $94,500): $1.12B, +4.40%` (a single level shows one price)."""
    where = fmt.price(zone.low)
    if zone.high != zone.low:
        where = f"{where}–{fmt.price(zone.high)} (peak {fmt.price(zone.peak)})"
    return f"{where}: {fmt.money(zone.usd)}, {fmt.pct(zone.distance_pct)}"


def _zone_lines(analysis: Analysis) -> list[str]:
    lines = []
    for side, word, key, where in (
        ("short", "Shorts", analysis.key_short, "above"),
        ("long", "Longs", analysis.key_long, "below"),
    ):
        side_zones = sorted(
            (z for z in analysis.zones if z.side == side), key=lambda z: abs(z.distance_pct)
        )
        if not side_zones:
            lines.append(f"{word}: no zone {where} the price")
        for zone in side_zones:
            marker = " · key level" if zone == key else ""
            lines.append(f"{word} {zone_text(zone)}{marker}")
    return lines


def range_position_pct(price: float, low: float, high: float) -> float | None:
    """Where `price` sits between `low` (0 %) and `high` (100 %); None for an empty range."""
    if not all(math.isfinite(v) for v in (price, low, high)) or high <= low:
        return None
    return (price - low) / (high - low) * 100


def _context_lines(snapshot: Snapshot) -> list[str]:
    context = snapshot.context
    if context is None:
        return []
    lines = [f"7-day high {fmt.price(context.high_7d)} · low {fmt.price(context.low_7d)}"]
    position = range_position_pct(snapshot.price, context.low_7d, context.high_7d)
    if position is not None:
        if position > 100:
            lines.append("Price is above the 7-day high")
        elif position < 0:
            lines.append("Price is below the 7-day low")
        else:
            lines.append(f"Price sits at {position:.0f}% of the 7-day range (0% = low)")
    if finite_or_none(context.change_24h_pct) is not None:
        lines.append(f"24h change {fmt.pct(context.change_24h_pct)}")
    return lines


def venue_totals(snapshot: Snapshot, analysis: Analysis) -> list[tuple[VenueShare, float, float]]:
    """(venue, longs below, shorts above) of each venue that answered, cut at the analysis's
    window like the totals: their sums are the report's totals."""
    price, window = analysis.price, analysis.window_pct
    low = price * (1 - window / 100) if window > 0 else -math.inf
    high = price * (1 + window / 100) if window > 0 else math.inf
    totals = []
    for venue in snapshot.venues:
        if venue.status != "ok":
            continue
        longs = sum(
            lv.long_usd for lv in venue.levels if low <= lv.price < price and lv.long_usd >= 0.01
        )
        shorts = sum(
            lv.short_usd for lv in venue.levels if price < lv.price <= high and lv.short_usd >= 0.01
        )
        totals.append((venue, longs, shorts))
    return totals


def _whole_percents(parts: list[float]) -> list[int]:
    """Shares in whole percent that add up to 100 (largest remainders round up)."""
    total = sum(parts)
    exact = [part / total * 100 for part in parts]
    whole = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(parts)), key=lambda i: exact[i] - whole[i], reverse=True)
    for i in by_remainder[: 100 - sum(whole)]:
        whole[i] += 1
    return whole


def venue_lines(snapshot: Snapshot, analysis: Analysis) -> list[str]:
    """`Binance 48% · Bybit 31% · OKX 21%` (each venue's share of the map's total), then one
    `OKX unavailable: …` per venue left out. Nothing for a one-venue map that answered."""
    if not snapshot.venues or (len(snapshot.venues) == 1 and snapshot.venues[0].status == "ok"):
        return []
    lines = []
    totals = venue_totals(snapshot, analysis)
    sizes = [longs + shorts for _, longs, shorts in totals]
    if sum(sizes) > 0:
        shares = _whole_percents(sizes)
        split = (
            f"{venue.label} {share}%" + (" (observed)" if venue.method == "observed" else "")
            for (venue, _, _), share in zip(totals, shares, strict=True)
        )
        lines.append(" · ".join(split))
    for venue in snapshot.venues:
        if venue.status != "ok":
            lines.append(f"{venue.label} unavailable: {venue.error or 'no answer'}")
    return lines


def footer(snapshot: Snapshot, now: datetime) -> str:
    """`Source: coinglass · 2025-01-05 12:00 UTC (3 min old) · estimates, not exact positions`."""
    as_of = _utc(snapshot.as_of)
    parts = [
        f"Source: {snapshot.source}",
        f"{as_of:%Y-%m-%d %H:%M} UTC ({fmt.age(as_of, _utc(now))})",
        ESTIMATE_NOTE,
    ]
    if snapshot.sample:
        note = snapshot.note
        if not note:
            label = SAMPLE_LABEL
        elif SAMPLE_LABEL.lower() in note.lower():
            label = note  # the sample's own label already says so
        else:
            label = f"{SAMPLE_LABEL}: {note}"
        parts.insert(0, label)
    elif snapshot.note:
        parts.append(snapshot.note)  # e.g. where a venue's taker split came from
    return " · ".join(parts)


def report_buttons(symbol: str) -> tuple[Button, ...]:
    return (
        Button("Refresh", "refresh", (symbol,)),
        Button("Chart", "chart", (symbol,)),
        Button("Alert me on breakout", "alert_breakout", (symbol,)),
    )


def report_message(
    snapshot: Snapshot,
    analysis: Analysis,
    now: datetime,
    image: bytes | None = None,
    realised: str | None = None,
) -> Message:
    """The /liq report: headline sums to each edge, ratio, reading, key zones, context, source."""
    title = f"{snapshot.symbol} {fmt.price_precise(analysis.price)} · liquidation map"
    if snapshot.sample:
        title = f"{title} · {SAMPLE_LABEL}"
    lines = headline_lines(analysis)
    lines.append(_sentence(reading(analysis)))
    lines.extend(venue_lines(snapshot, analysis))
    if analysis.window_pct > 0:
        lines.append(f"Window: ±{analysis.window_pct:g}% of the price")
    if realised:  # the last hour's realised liquidations, when the live feeds run
        lines.append(realised)
    zone_lines = _zone_lines(analysis)
    tiers = tier_line(snapshot, analysis)
    if tiers:
        zone_lines.append(tiers)
    sections = [Section("Key zones", tuple(zone_lines))]
    context = _context_lines(snapshot)
    if context:
        sections.append(Section("Context", tuple(context)))
    return Message(
        title=title,
        lines=tuple(lines),
        sections=tuple(sections),
        footer=footer(snapshot, now),
        image=image,
        buttons=report_buttons(snapshot.symbol),
        kind="report",
    )


def _zone_json(zone: Zone) -> dict[str, Any]:
    return {
        "side": zone.side,
        "low": zone.low,
        "high": zone.high,
        "peak": zone.peak,
        "usd": zone.usd,
        "distance_pct": zone.distance_pct,
    }


def report_json(snapshot: Snapshot, analysis: Analysis) -> dict[str, Any]:
    """The CLI's --json object (JSON-safe: no NaN or inf, missing values as null)."""
    context = snapshot.context
    context_json = None
    if context is not None:
        context_json = {
            "high_7d": finite_or_none(context.high_7d),
            "low_7d": finite_or_none(context.low_7d),
            "change_24h_pct": finite_or_none(context.change_24h_pct),
            "position_pct": range_position_pct(analysis.price, context.low_7d, context.high_7d),
        }
    return {
        "symbol": snapshot.symbol,
        "price": analysis.price,
        "source": snapshot.source,
        "as_of": _utc(snapshot.as_of).isoformat(),
        "short_above_usd": analysis.short_above_usd,
        "short_edge": analysis.short_edge,
        "short_edge_distance_pct": analysis.short_edge_pct,
        "long_below_usd": analysis.long_below_usd,
        "long_edge": analysis.long_edge,
        "long_edge_distance_pct": analysis.long_edge_pct,
        "ratio": finite_or_none(analysis.ratio),
        "reading": reading(analysis),
        "zones": [_zone_json(zone) for zone in analysis.zones],
        "key_short": _zone_json(analysis.key_short) if analysis.key_short else None,
        "key_long": _zone_json(analysis.key_long) if analysis.key_long else None,
        "window_pct": analysis.window_pct,
        "sample": snapshot.sample,
        "note": snapshot.note,
        "context": context_json,
        "venues": _venues_json(snapshot, analysis),
    }


def _venues_json(snapshot: Snapshot, analysis: Analysis) -> dict[str, Any]:
    """Per venue: its longs below and shorts above (null when it did not answer), its status and
    why it is missing. The answered venues' figures add up to the top-level totals."""
    answered = {
        venue.name: (longs, shorts) for venue, longs, shorts in venue_totals(snapshot, analysis)
    }
    out: dict[str, Any] = {}
    for venue in snapshot.venues:
        longs, shorts = answered.get(venue.name, (None, None))
        entry: dict[str, Any] = {
            "long_below_usd": longs,
            "short_above_usd": shorts,
            "status": venue.status,
            "method": venue.method,  # "estimated" | "observed" (Hyperliquid's wallets)
        }
        if venue.status != "ok":
            entry["error"] = venue.error
        out[venue.name] = entry
    return out


INTERNAL_ERROR = "Something went wrong on our side. Nothing was changed; please try again shortly."


def error_message(text: str) -> Message:
    """A uniform one-line error reply."""
    return Message(title=text, kind="error")


def _nearest_text(zone: Zone | None, where: str) -> str:
    if zone is None:
        return f"no zone {where}"
    edge = zone.low if zone.side == "short" else zone.high
    return f"{where} {fmt.price(edge)} ({fmt.pct(zone.distance_pct)})"


def watchlist_line(symbol: str, analysis: Analysis) -> str:
    """`BTC $90,132 · ratio 1.73× · above $94,100 (+4.40%) · below $87,200 (-3.25%)`."""
    return " · ".join(
        (
            f"{symbol} {fmt.price(analysis.price)}",
            f"ratio {fmt.ratio(analysis.ratio)}" if analysis.ratio is not None else "no ratio",
            _nearest_text(analysis.nearest_short, "above"),
            _nearest_text(analysis.nearest_long, "below"),
        )
    )
