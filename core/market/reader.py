"""What the chat and the alert checks read off the market: a symbol's snapshot with its analysis,
and its chart, rendered once per snapshot off the event loop.

The chart renderer is handed in by the wiring (core.render.chart.render_chart): render is a side
room above the market, so the market never imports it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable

from core.kernel import symbols
from core.market.analysis import analyze, split_map
from core.market.snapshots import SnapshotCache
from core.types import Analysis, Snapshot, SplitMap

log = logging.getLogger(__name__)

ChartRenderer = Callable[[Snapshot, Analysis, SplitMap], bytes]
Reading = tuple[
    str, Snapshot | None, Analysis | None
]  # (symbol, snapshot, analysis); None: no data

CHARTS_KEPT = 32


class MarketReader:
    def __init__(
        self, snapshots: SnapshotCache, render_chart: ChartRenderer, window_pct: float = 0.0
    ) -> None:
        self.snapshots = snapshots
        self.window_pct = window_pct
        self._render = render_chart
        self._charts: OrderedDict[tuple, bytes] = OrderedDict()

    @property
    def source_name(self) -> str:
        return self.snapshots.source.name

    async def analysis(
        self, symbol: str, window_pct: float | None = None
    ) -> tuple[Snapshot, Analysis]:
        """The snapshot of `symbol` (as typed: normalised here) and its analysis."""
        snapshot = await self.snapshots.get(symbols.normalize(symbol))
        window = self.window_pct if window_pct is None else window_pct
        return snapshot, analyze(snapshot, window)

    async def readings(self, names: list[str]) -> list[Reading]:
        """Every symbol's snapshot and analysis at once; a failing one is (symbol, None, None)."""
        results = await asyncio.gather(*(self.analysis(s) for s in names), return_exceptions=True)
        out: list[Reading] = []
        for sym, result in zip(names, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("no data for %s: %s", sym, result)
                out.append((sym, None, None))
            else:
                out.append((sym, result[0], result[1]))
        return out

    async def chart(self, snapshot: Snapshot, result: Analysis) -> bytes:
        """The PNG for a snapshot, rendered off the event loop once and then served from memory."""
        key = (snapshot.symbol, snapshot.source, snapshot.as_of, snapshot.price, result.window_pct)
        if key in self._charts:
            self._charts.move_to_end(key)
            return self._charts[key]
        split = split_map(snapshot, result.window_pct)
        image = await asyncio.to_thread(self._render, snapshot, result, split)
        self._charts[key] = image
        while len(self._charts) > CHARTS_KEPT:
            self._charts.popitem(last=False)
        return image
