"""The accuracy report in words, JSON and a chart: the map's hit share of realised notional in
its top zones beside the random baseline of equal width, per venue and for all, never one
without the other, and a plain sentence saying whether the map beat the baseline."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from core.kernel import fmt
from core.render.chart import LONG_COLOUR
from core.types import Message, Section

BASELINE_COLOUR = "#999999"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def verdict(score: Any) -> str:
    beats = score.beats_baseline
    if beats is None:
        return "not enough scored prints to say"
    if beats:
        return "the map beat the random baseline"
    if score.hit_share is not None and score.hit_share > score.baseline_mean:
        return "the map was above the baseline, but within its spread: no clear edge"
    return "the map did NOT beat the random baseline"


def score_line(score: Any, label: str) -> str:
    if score.hit_share is None:
        return f"{label}: no scored prints ({score.unscored} without a map near in time)"
    return (
        f"{label}: {_pct(score.hit_share)} of {fmt.money(score.notional)} in the top zones "
        f"(prints {_pct(score.hit_rate)}, 95% {_pct(score.wilson_low)}–{_pct(score.wilson_high)}) "
        f"vs baseline {_pct(score.baseline_mean)} ± {_pct(score.baseline_std)}; "
        f"{score.prints} prints, zones {_pct(score.width_share)} of the window"
    )


def accuracy_message(acc: Any, labels: Mapping[str, str], image: bytes | None = None) -> Message:
    days = (acc.until - acc.since).total_seconds() / 86400
    overall = acc.scores[-1]
    lines = [
        "Share of realised liquidation notional inside the map's top zones (the buckets holding "
        "half its notional), against the same width placed at random.",
        f"All venues: {verdict(overall)}.",
    ]
    if acc.dominant_total:
        lines.append(
            f"Dominant side: the map's heavier side was the one liquidated more over the next "
            f"4h in {acc.dominant_matches} of {acc.dominant_total} hours "
            f"({acc.dominant_matches / acc.dominant_total * 100:.0f}%)."
        )
    rows = tuple(
        score_line(s, labels.get(s.name, "All venues" if s.name == "all" else s.name))
        for s in acc.scores
    )
    return Message(
        title=f"{acc.symbol} map accuracy, last {days:g} days",
        lines=tuple(lines),
        sections=(Section("By venue", rows),),
        footer=f"{acc.maps} maps kept; Binance is sampled, OKX partial. Past hits are no promise.",
        image=image,
        kind="report",
    )


def accuracy_json(acc: Any) -> dict[str, Any]:
    return {
        "symbol": acc.symbol,
        "since": acc.since.isoformat(),
        "until": acc.until.isoformat(),
        "maps": acc.maps,
        "scores": {
            s.name: {
                "prints": s.prints,
                "unscored": s.unscored,
                "notional_usd": round(s.notional, 2),
                "hit_share": s.hit_share,
                "hit_rate": s.hit_rate,
                "wilson_95": [s.wilson_low, s.wilson_high],
                "baseline_mean": s.baseline_mean,
                "baseline_std": s.baseline_std,
                "zone_width_share": s.width_share,
                "beats_baseline": s.beats_baseline,
            }
            for s in acc.scores
        },
        "dominant_side": {"matches": acc.dominant_matches, "hours": acc.dominant_total},
    }


def render_accuracy_chart(acc: Any, labels: Mapping[str, str]) -> bytes:
    scores = [s for s in acc.scores if s.hit_share is not None]
    names = [labels.get(s.name, "All" if s.name == "all" else s.name) for s in scores]
    fig = Figure(figsize=(10, 6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    x = range(len(scores))
    ax.bar(
        [i - 0.2 for i in x],
        [s.hit_share * 100 for s in scores],
        0.4,
        color=LONG_COLOUR,
        label="map's top zones",
    )
    ax.bar(
        [i + 0.2 for i in x],
        [s.baseline_mean * 100 for s in scores],
        0.4,
        yerr=[2 * s.baseline_std * 100 for s in scores],
        color=BASELINE_COLOUR,
        capsize=6,
        label="random zones, same width (±2σ)",
    )
    ax.set_xticks(list(x), names, fontsize=13)
    ax.set_ylabel("share of realised notional, %", fontsize=13)
    ax.set_title(f"{acc.symbol}: map vs random baseline", fontsize=17)
    ax.legend(fontsize=11)
    if not scores:
        ax.text(0.5, 0.5, "no scored prints", transform=ax.transAxes, ha="center", fontsize=16)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
