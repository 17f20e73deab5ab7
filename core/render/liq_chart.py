"""Realised liquidations per minute as a PNG: shorts liquidated above the axis, longs below, one
bar per minute (all venues stacked), and the gaps shaded so an empty stretch is not read as calm.

Thread-safe like core/render/chart.py (own Figure, Agg canvas): callers use asyncio.to_thread.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import DateFormatter, date2num
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from core.kernel import fmt
from core.render.chart import LONG_COLOUR, SHORT_COLOUR
from core.types import LiqGap, LiqMinute

SIZE_INCHES, DPI = (12, 6), 100


def render_liqs_chart(
    symbol: str,
    minutes: Sequence[LiqMinute],
    since: datetime,
    until: datetime,
    gaps: Sequence[LiqGap] = (),
    labels: Mapping[str, str] | None = None,
) -> bytes:
    longs: dict[datetime, float] = {}
    shorts: dict[datetime, float] = {}
    for m in minutes:
        target = longs if m.side == "long" else shorts
        target[m.minute] = target.get(m.minute, 0.0) + m.usd
    fig = Figure(figsize=SIZE_INCHES, dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    width = 0.9 / 1440  # of a day: matplotlib's date unit
    ax.bar(
        date2num(list(shorts)),
        list(shorts.values()),
        width=width,
        color=SHORT_COLOUR,
        align="edge",
        label="shorts liquidated",
    )
    ax.bar(
        date2num(list(longs)),
        [-v for v in longs.values()],
        width=width,
        color=LONG_COLOUR,
        align="edge",
        label="longs liquidated",
    )
    ax.axhline(0, color="#222222", linewidth=0.8)
    for gap in gaps:
        end = gap.end or until
        ax.axvspan(max(gap.start, since), min(end, until), color="#999999", alpha=0.25, lw=0)
    ax.set_xlim(since, until)
    ax.xaxis.set_major_formatter(DateFormatter("%H:%M", tz=UTC))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt.money(abs(v)) if v else "$0"))
    ax.tick_params(labelsize=13)
    ax.set_title(f"{symbol} realised liquidations per minute (UTC)", fontsize=18)
    if longs or shorts:
        ax.legend(loc="upper left", fontsize=12)
    else:
        ax.text(
            0.5,
            0.5,
            "no liquidations recorded",
            transform=ax.transAxes,
            ha="center",
            fontsize=16,
            color="#666666",
        )
    if gaps:
        ax.text(
            0.99,
            0.02,
            "grey: no data from a venue",
            transform=ax.transAxes,
            ha="right",
            fontsize=11,
            color="#666666",
        )
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
