"""Which leverage tiers make up a map's key zones: one line of /liq's Key zones (the estimate only:
Snapshot.tiers holds USD per tier and level; Coinglass and replay maps have none, so no line)."""

from __future__ import annotations

from core.types import Analysis, Snapshot


def tier_run(tiers: tuple[float, ...], usd: list[float], total: float) -> tuple[int, int] | None:
    """(first, last) index of the shortest run of neighbouring tiers (by leverage) holding at
    least half of `total`, the biggest such run when several tie; None when none does."""
    for length in range(1, len(tiers) + 1):
        runs = [(sum(usd[i : i + length]), i) for i in range(len(tiers) - length + 1)]
        held, first = max(runs, key=lambda run: (run[0], -run[1]))
        if total > 0 and held >= total / 2:
            return first, first + length - 1
    return None


def tier_line(snapshot: Snapshot, analysis: Analysis) -> str | None:
    """`Key short zone: mostly 25×–50× (62%) · key long zone: mostly 10× (55%)`: the tiers that
    make up each key zone (estimate only: None when the snapshot has no tier breakdown)."""
    if not snapshot.tiers or not snapshot.tier_leverage:
        return None
    order = sorted(range(len(snapshot.tier_leverage)), key=lambda i: snapshot.tier_leverage[i])
    leverage = tuple(snapshot.tier_leverage[i] for i in order)
    parts = []
    for word, zone in (("short", analysis.key_short), ("long", analysis.key_long)):
        if zone is None or zone.usd <= 0:
            continue
        usd = [0.0] * len(order)
        for price, row in snapshot.tiers:
            if zone.low <= price <= zone.high and len(row) == len(order):
                usd = [u + row[i] for u, i in zip(usd, order, strict=True)]
        run = tier_run(leverage, usd, zone.usd)
        if run is None:
            continue
        first, last = run
        held = sum(usd[first : last + 1]) / zone.usd * 100
        names = f"{leverage[first]:g}×" + (f"–{leverage[last]:g}×" if last > first else "")
        parts.append(f"key {word} zone: mostly {names} ({min(held, 100):.0f}%)")
    if not parts:
        return None
    line = " · ".join(parts)
    return line[0].upper() + line[1:]
