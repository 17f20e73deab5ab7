"""The liquidation map as a PNG a trader can read on a phone.

Per-level bars (longs below the price, shorts above), the two cumulative curves on a second axis,
the current price, the zones shaded (key zones labelled with their USD), and a SAMPLE DATA
watermark for sample snapshots.

Thread-safe by construction: it builds its own `Figure` and draws with `FigureCanvasAgg`, never
touching pyplot's global state or rcParams, so callers may run it with `asyncio.to_thread`.
"""

from __future__ import annotations

import io
from datetime import UTC

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from core.kernel import fmt
from core.types import Analysis, Snapshot, SplitMap, Zone

# Okabe-Ito palette: distinguishable with every common colour-vision deficiency.
LONG_COLOUR = "#0072B2"  # blue
SHORT_COLOUR = "#D55E00"  # vermillion
PRICE_COLOUR = "#222222"
SIZE_INCHES, DPI = (12, 9), 100  # 1200 x 900 px
TITLE_SIZE, TEXT_SIZE, TICK_SIZE = 24, 16, 15
EMPTY_SPAN_FRACTION = 0.02  # half the x-range around the price when the map has nothing to show
HEADROOM = 1.4  # bars and curves stay under ~70 % of the height: the top holds the labels


def _money_axis(value: float, _position: float) -> str:
    return fmt.money(value) if value > 0 else "$0"


def _price_axis(value: float, _position: float) -> str:
    return fmt.price(value)


def _bars(prices: np.ndarray, usd: np.ndarray, width: float, colour: str) -> PolyCollection:
    """All bars of one side as one collection: far faster to draw than 2,000 Rectangle artists."""
    left, right = prices - width / 2, prices + width / 2
    zeros = np.zeros_like(prices)
    corners = np.stack(
        [
            np.column_stack(pair)
            for pair in ((left, zeros), (left, usd), (right, usd), (right, zeros))
        ],
        axis=1,
    )
    return PolyCollection(corners, facecolors=colour, edgecolors="none", alpha=0.6)


def _cumulative(p0: float, prices: np.ndarray, usd: np.ndarray, outward_up: bool):
    """The cumulative curve from the price outward: (x, y) starting at (p0, 0)."""
    order = slice(None) if outward_up else slice(None, None, -1)
    x = np.concatenate(([p0], prices[order]))
    y = np.concatenate(([0.0], np.cumsum(usd[order])))
    return x, y


def _x_limits(p0: float, prices: np.ndarray, width: float) -> tuple[float, float]:
    """The map's extent, the price always included, with a little room on both ends."""
    low = min(p0, float(prices.min(initial=p0)))
    high = max(p0, float(prices.max(initial=p0)))
    span = high - low
    if span <= 0:
        half = p0 * EMPTY_SPAN_FRACTION
        return p0 - half, p0 + half
    pad = max(span * 0.03, width)
    return low - pad, high + pad


def _shade_zones(ax, analysis: Analysis, width: float) -> None:
    for zone in analysis.zones:
        colour = SHORT_COLOUR if zone.side == "short" else LONG_COLOUR
        is_key = zone in (analysis.key_short, analysis.key_long)
        ax.axvspan(
            zone.low - width / 2,
            zone.high + width / 2,
            color=colour,
            alpha=0.22 if is_key else 0.1,
            linewidth=0,
            zorder=0,
        )
        if is_key:
            _label_key_zone(ax, zone, colour)


def _label_key_zone(ax, zone: Zone, colour: str) -> None:
    """Label in the side's own top corner (longs left, shorts right) with an arrow to the zone,
    so the two labels never collide however close the zones are to each other."""
    word, corner, align = (
        ("Key short zone", 0.98, "right")
        if zone.side == "short"
        else ("Key long zone", 0.02, "left")
    )
    ax.annotate(
        f"{word}\n{fmt.money(zone.usd)} · {fmt.pct(zone.distance_pct)}",
        xy=((zone.low + zone.high) / 2, 0.74),
        xycoords=("data", "axes fraction"),
        xytext=(corner, 0.86),
        textcoords="axes fraction",
        ha=align,
        va="center",
        fontsize=TEXT_SIZE,
        fontweight="bold",
        color=colour,
        bbox={"boxstyle": "round,pad=0.35", "facecolor": "white", "edgecolor": colour},
        arrowprops={"arrowstyle": "->", "color": colour, "linewidth": 2},
        parse_math=False,
        zorder=5,
    )


def render_chart(snapshot: Snapshot, analysis: Analysis, split: SplitMap) -> bytes:
    """A 1200x900 PNG of the map (same window as `analysis`). Handles empty and one-sided maps."""
    p0 = split.price
    all_prices = np.concatenate((split.long_prices, split.short_prices))
    x_low, x_high = _x_limits(p0, all_prices, split.bucket_width)
    # A bar is one bucket wide, but never thinner than a pixel nor a blob on a tiny map.
    width = min(max(split.bucket_width * 0.85, (x_high - x_low) / 1100), (x_high - x_low) / 40)

    fig = Figure(figsize=SIZE_INCHES, dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.12, right=0.87, top=0.84, bottom=0.12)
    ax = fig.add_subplot()
    curves = ax.twinx()

    ax.add_collection(_bars(split.long_prices, split.long_usd, width, LONG_COLOUR))
    ax.add_collection(_bars(split.short_prices, split.short_usd, width, SHORT_COLOUR))
    tallest = max(float(split.long_usd.max(initial=0)), float(split.short_usd.max(initial=0)))
    ax.set_ylim(0, tallest * HEADROOM if tallest > 0 else 1)
    ax.set_xlim(x_low, x_high)

    for prices, usd, up, colour in (
        (split.short_prices, split.short_usd, True, SHORT_COLOUR),
        (split.long_prices, split.long_usd, False, LONG_COLOUR),
    ):
        if len(prices):
            x, y = _cumulative(p0, prices, usd, up)
            curves.plot(x, y, drawstyle="steps-post", color=colour, linewidth=3)
    biggest_total = max(analysis.short_above_usd, analysis.long_below_usd)
    curves.set_ylim(0, biggest_total * HEADROOM if biggest_total > 0 else 1)

    _shade_zones(ax, analysis, width)
    ax.axvline(p0, color=PRICE_COLOUR, linestyle="--", linewidth=2, zorder=4)
    ax.annotate(
        f"Price {fmt.price_precise(p0)}",
        xy=(p0, 0.985),
        xycoords=("data", "axes fraction"),
        ha="center",
        va="top",
        fontsize=TEXT_SIZE,
        fontweight="bold",
        bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": PRICE_COLOUR},
        parse_math=False,
        zorder=6,
    )
    if not all_prices.size:
        ax.text(
            0.5, 0.45, "No liquidation levels in this map", transform=ax.transAxes,
            ha="center", va="center", fontsize=TEXT_SIZE + 4, color="#555555", parse_math=False,
        )  # fmt: skip

    for axis, label in ((ax, "USD per level"), (curves, "Cumulative USD")):
        axis.yaxis.set_major_formatter(FuncFormatter(_money_axis))
        axis.yaxis.set_major_locator(MaxNLocator(6))
        axis.tick_params(labelsize=TICK_SIZE)
        axis.set_ylabel(label, fontsize=TEXT_SIZE)
    if not all_prices.size:  # no money to scale: ticks would only repeat "$0"
        ax.set_yticks([])
        curves.set_yticks([])
    ax.xaxis.set_major_formatter(FuncFormatter(_price_axis))
    ax.xaxis.set_major_locator(MaxNLocator(6))
    ax.grid(axis="y", alpha=0.25)

    _titles(fig, snapshot, analysis)
    fig.legend(
        handles=[
            Patch(color=LONG_COLOUR, alpha=0.6, label="Longs per level (below)"),
            Patch(color=SHORT_COLOUR, alpha=0.6, label="Shorts per level (above)"),
            Line2D([], [], color=LONG_COLOUR, linewidth=3, label="Cumulative longs"),
            Line2D([], [], color=SHORT_COLOUR, linewidth=3, label="Cumulative shorts"),
        ],
        loc="lower center",
        ncol=4,
        fontsize=TEXT_SIZE - 2,
        frameon=False,
        bbox_to_anchor=(0.5, 0.0),
    )
    if snapshot.sample:
        fig.text(
            0.5, 0.5, "SAMPLE DATA", ha="center", va="center", rotation=25,
            fontsize=110, fontweight="bold", color="#888888", alpha=0.22, zorder=10,
        )  # fmt: skip

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _titles(fig: Figure, snapshot: Snapshot, analysis: Analysis) -> None:
    as_of = snapshot.as_of
    as_of = as_of.replace(tzinfo=UTC) if as_of.tzinfo is None else as_of.astimezone(UTC)
    fig.text(
        0.5, 0.965, f"{snapshot.symbol} {fmt.price_precise(analysis.price)} · liquidation map",
        ha="center", va="top", fontsize=TITLE_SIZE, fontweight="bold", parse_math=False,
    )  # fmt: skip
    window = f" · window ±{analysis.window_pct:g}%" if analysis.window_pct > 0 else ""
    fig.text(
        0.5, 0.905,
        f"Shorts above {fmt.money(analysis.short_above_usd)} · longs below "
        f"{fmt.money(analysis.long_below_usd)} · ratio {fmt.ratio(analysis.ratio)}{window}\n"
        f"Source: {snapshot.source} · {as_of:%Y-%m-%d %H:%M} UTC · estimates",
        ha="center", va="top", fontsize=TEXT_SIZE - 1, color="#333333", linespacing=1.4,
        parse_math=False,
    )  # fmt: skip
