"""The liquidation heatmap: how a map evolved, time across and price up, colour = USD per bucket.

`heat_grid` resamples the recorded maps (core.types.MapFrame, from the store's map history) onto a
time × price grid: one column per recorded refresh (or per slice of time when there are more
maps than columns), USD summed into equal price buckets. Where the price line swept through a
bucket and the map's USD there dropped, those liquidations happened: the dropped USD is kept as
a grey trail that halves every tenth of the window, so swept zones visibly fade instead of
vanishing. `render_heatmap` draws it at 1280 × 720, the size Telegram shows a photo at, with
fonts sized for a phone. Thread-safe (own Figure, no pyplot): callers use asyncio.to_thread.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from core.kernel import fmt
from core.types import MapFrame

SIZE_INCHES, DPI = (12.8, 7.2), 100  # 1280 x 720 px: Telegram's displayed photo size
TITLE_SIZE, TEXT_SIZE, TICK_SIZE = 22, 16, 15
MAX_COLUMNS = 360
PRICE_ROWS = 160  # at most: the plain bucket width gives 80–160 rows
FADE_FRACTION = 0.1  # the swept trail halves every tenth of the window
BACKGROUND = "#0b0f19"
PRICE_COLOUR = "#4fe3ff"
FADED_COLOUR = "#9aa4b2"
HEAT_CMAP = "inferno"
MIN_PAD_PCT, MAX_PAD_PCT = 2.0, 15.0
BAND_SHARE = 0.9  # the price range holds this share of the newest map's USD (within the caps)
GAMMA = 0.8  # colour ~ USD^0.8: big clusters stand out, mid-sized ones stay visible


@dataclass(frozen=True, eq=False)
class HeatGrid:
    """The heatmap's numbers: `notional[t, p]` USD in price bucket p at column t."""

    symbol: str
    source: str
    start: datetime
    end: datetime
    times: tuple[datetime, ...]  # each column's end
    price_edges: np.ndarray  # PRICE_ROWS + 1 ascending edges
    notional: np.ndarray  # (columns, rows)
    faded: np.ndarray  # (columns, rows): swept USD, fading
    price_line: np.ndarray  # (columns,) the price of each column's map; NaN: no map
    maps: int  # recorded maps used

    @property
    def price_centres(self) -> np.ndarray:
        return (self.price_edges[:-1] + self.price_edges[1:]) / 2

    def as_json(self) -> dict:
        """`{"times": [...], "prices": [...], "notional": [[...]]}` (the CLI's --json)."""
        return {
            "symbol": self.symbol,
            "source": self.source,
            "times": [t.isoformat() for t in self.times],
            "prices": [round(float(p), 8) for p in self.price_centres],
            "price_line": [None if np.isnan(p) else float(p) for p in self.price_line],
            "notional": [[round(float(v), 2) for v in row] for row in self.notional],
        }


def _price_range(frames: list[MapFrame]) -> tuple[float, float]:
    """The price path plus the band around it holding 90 % of the newest map's USD (2–15 %)."""
    prices = np.array([f.price for f in frames])
    low, high = float(prices.min()), float(prices.max())
    newest = frames[-1]
    usd = newest.long_usd + newest.short_usd
    pad = MIN_PAD_PCT
    if usd.sum() > 0:
        distance = np.abs(newest.prices / newest.price - 1) * 100
        order = np.argsort(distance)
        covered = np.cumsum(usd[order]) / usd.sum()
        pad = float(distance[order][min(np.searchsorted(covered, BAND_SHARE), len(order) - 1)])
    pad = min(max(pad, MIN_PAD_PCT), MAX_PAD_PCT) / 100
    return low * (1 - pad), high * (1 + pad)


def plain_step(raw: float) -> float:
    """The bucket width: `raw` rounded up to 1, 2 or 5 × 10^k ($100 buckets, not $109.82)."""
    if not raw > 0:
        return 1.0
    power = 10 ** np.floor(np.log10(raw))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= raw * 0.999))


def heat_grid(
    frames: list[MapFrame], start: datetime, end: datetime, rows: int = PRICE_ROWS
) -> HeatGrid:
    """Resample `frames` (oldest first, non-empty) onto the grid of [start, end]."""
    if not frames:
        raise ValueError("no maps to draw")
    span = (end - start).total_seconds()
    spacing = np.median(np.diff([f.taken_at.timestamp() for f in frames])) if len(frames) > 1 else 0
    columns = int(min(MAX_COLUMNS, max(1, round(span / spacing) if spacing > 0 else len(frames))))
    width = span / columns
    reach = max(2.5 * float(spacing), width)  # a column shows a map at most this old
    low, high = _price_range(frames)
    step = plain_step((high - low) / rows)
    first = np.floor(low / step) * step
    edges = first + step * np.arange(int(np.ceil((high - first) / step)) + 1)
    notional = np.zeros((columns, len(edges) - 1))
    price_line = np.full(columns, np.nan)
    stamps = np.array([f.taken_at.timestamp() for f in frames])
    ends = [start + timedelta(seconds=width * (j + 1)) for j in range(columns)]
    for j, column_end in enumerate(ends):
        t = column_end.timestamp()
        index = int(np.searchsorted(stamps, t, side="right")) - 1
        if index < 0 or t - stamps[index] > reach:
            continue
        frame = frames[index]
        notional[j], _ = np.histogram(
            frame.prices, bins=edges, weights=frame.long_usd + frame.short_usd
        )
        price_line[j] = frame.price
    faded = _swept_trail(notional, price_line, edges, columns)
    return HeatGrid(
        frames[0].symbol,
        frames[-1].source,
        start,
        end,
        tuple(ends),
        edges,
        notional,
        faded,
        price_line,
        len(frames),
    )


def _swept_trail(
    notional: np.ndarray, price_line: np.ndarray, edges: np.ndarray, columns: int
) -> np.ndarray:
    """USD that disappeared from buckets the price passed through, decaying column by column."""
    decay = 0.5 ** (1 / max(columns * FADE_FRACTION, 1))
    faded = np.zeros_like(notional)
    previous = None  # the last column that had a map
    for j in range(columns):
        if j:
            faded[j] = faded[j - 1] * decay
        if np.isnan(price_line[j]):
            continue
        if previous is not None:
            lo = min(price_line[previous], price_line[j])
            hi = max(price_line[previous], price_line[j])
            # one bucket of slack each way: the wicks between two maps reach past both prices
            step = edges[1] - edges[0]
            touched = (edges[1:] >= lo - step) & (edges[:-1] <= hi + step)
            dropped = np.clip(notional[previous] - notional[j], 0, None) * touched
            faded[j] = np.maximum(faded[j], dropped)
        previous = j
    return faded


def _money(value: float, _position: float = 0) -> str:
    return fmt.money(value) if value > 0 else "$0"


def render_heatmap(grid: HeatGrid, title_note: str = "", sample: bool = False) -> bytes:
    """A 1280 x 720 PNG: heat per bucket, the faded swept trail, the price line, a USD legend."""
    fig = Figure(figsize=SIZE_INCHES, dpi=DPI, facecolor=BACKGROUND)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.1, right=0.97, top=0.85, bottom=0.17)
    ax = fig.add_subplot(facecolor=BACKGROUND)
    extent = (
        mdates.date2num(grid.start),
        mdates.date2num(grid.end),
        grid.price_edges[0],
        grid.price_edges[-1],
    )
    positive = grid.notional[grid.notional > 0]
    top = float(np.percentile(positive, 99.5)) if positive.size else 1.0
    ghost = np.ma.masked_less_equal(grid.faded.T, top * 0.02)
    ax.imshow(
        ghost, origin="lower", aspect="auto", extent=extent, interpolation="nearest",
        cmap="Greys_r", norm=PowerNorm(GAMMA, vmin=0, vmax=top), alpha=0.7, zorder=1,
    )  # fmt: skip
    heat = np.ma.masked_less_equal(grid.notional.T, top * 0.01)
    image = ax.imshow(
        heat, origin="lower", aspect="auto", extent=extent, interpolation="nearest",
        cmap=HEAT_CMAP, norm=PowerNorm(GAMMA, vmin=0, vmax=top), zorder=2,
    )  # fmt: skip
    times = mdates.date2num(list(grid.times))
    ax.plot(times, grid.price_line, color="black", linewidth=5, zorder=3)
    ax.plot(times, grid.price_line, color=PRICE_COLOUR, linewidth=2.5, zorder=4)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    hours = (grid.end - grid.start).total_seconds() / 3600
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=4, maxticks=7, tz=UTC))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M" if hours <= 36 else "%d %b", tz=UTC))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: fmt.price(v)))
    ax.yaxis.set_major_locator(MaxNLocator(6))
    for spine in ax.spines.values():
        spine.set_color("#444c5c")
    ax.tick_params(colors="white", labelsize=TICK_SIZE)

    bar = fig.colorbar(image, ax=ax, orientation="horizontal", fraction=0.05, pad=0.09, aspect=60)
    bar.ax.xaxis.set_major_formatter(FuncFormatter(_money))
    bar.ax.xaxis.set_major_locator(MaxNLocator(6))
    bar.ax.tick_params(colors="white", labelsize=TICK_SIZE - 1)
    bucket = fmt.price(float(grid.price_edges[1] - grid.price_edges[0]))
    bar.set_label(f"USD to be liquidated per {bucket} bucket", color="white", fontsize=TEXT_SIZE)
    bar.outline.set_edgecolor("#444c5c")

    ax.legend(
        handles=[
            Line2D([], [], color=PRICE_COLOUR, linewidth=3, label="Price"),
            Patch(color=FADED_COLOUR, alpha=0.7, label="Liquidated (fading)"),
        ],
        loc="upper left", fontsize=TEXT_SIZE - 2, facecolor=BACKGROUND, edgecolor="#444c5c",
        labelcolor="white", framealpha=0.85,
    )  # fmt: skip
    span = f"{hours:g} h" if hours < 48 else f"{hours / 24:g} d"
    fig.text(
        0.5, 0.965, f"{grid.symbol} · liquidation heatmap · last {span}", ha="center", va="top",
        fontsize=TITLE_SIZE, fontweight="bold", color="white", parse_math=False,
    )  # fmt: skip
    last = next((p for p in grid.price_line[::-1] if not np.isnan(p)), None)
    subtitle = (
        f"Source: {grid.source} · {grid.maps} maps · now {fmt.price(last)} · "
        f"{grid.end.astimezone(UTC):%Y-%m-%d %H:%M} UTC · estimates"
    )
    if title_note:
        subtitle += f" · {title_note}"
    fig.text(
        0.5, 0.905, subtitle, ha="center", va="top", fontsize=TEXT_SIZE - 1,
        color="#c9d1d9", parse_math=False,
    )  # fmt: skip
    if sample:
        fig.text(
            0.5, 0.5, "SAMPLE DATA", ha="center", va="center", rotation=20, fontsize=100,
            fontweight="bold", color="#ffffff", alpha=0.15, zorder=10,
        )  # fmt: skip
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor=BACKGROUND)
    return buffer.getvalue()
