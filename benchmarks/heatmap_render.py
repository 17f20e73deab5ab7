"""Benchmark: what a heatmap costs. Recording a week of maps (one every 10 min, 400 buckets each)
into a real SQLite store, reading them back, gridding and rendering 24 h / 3 d / 7 d PNGs, and
the history's size per symbol for the default 14-day retention.
Run: `python benchmarks/heatmap_render.py [--repeat 5]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from core.render.heatmap import heat_grid, render_heatmap  # noqa: E402
from core.store import Store  # noqa: E402
from core.types import Level, Snapshot  # noqa: E402
from tests.render.heatmap_frames import END, day_of_frames  # noqa: E402


def as_snapshot(frame, levels: int = 400) -> Snapshot:
    prices = np.linspace(frame.price * 0.8, frame.price * 1.2, levels)
    usd = np.interp(prices, frame.prices, frame.long_usd + frame.short_usd)
    return Snapshot(
        frame.symbol,
        frame.price,
        tuple(
            Level(
                float(p),
                long_usd=float(u) if p < frame.price else 0.0,
                short_usd=float(u) if p > frame.price else 0.0,
            )
            for p, u in zip(prices, usd, strict=True)
        ),  # fmt: skip
        "estimate",
        frame.taken_at,
    )


def main(repeat: int) -> None:
    frames = day_of_frames(hours=24 * 7)
    with tempfile.TemporaryDirectory() as tmp:
        with Store.open(Path(tmp) / "bench.db", clock=lambda: END) as store:
            started = time.perf_counter()
            for frame in frames:
                store.record_map(as_snapshot(frame))
            recorded = time.perf_counter() - started
            rows, size = store.map_history_size()
            each = size / rows
            print(f"record: {rows} maps in {recorded:.2f} s ({recorded / rows * 1000:.2f} ms each)")
            print(f"{each:,.0f} bytes per map; 14 days at one map per 10 min:")
            print(
                f"  {each * 2016 / 1e6:.1f} MB per symbol, {each * 2016 * 30 / 1e6:.0f} MB for 30"
            )
            for hours in (24, 72, 168):
                reads, grids, renders = [], [], []
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    got = store.map_frames("BTC", END - timedelta(hours=hours), END)
                    t1 = time.perf_counter()
                    grid = heat_grid(got, END - timedelta(hours=hours), END)
                    t2 = time.perf_counter()
                    png = render_heatmap(grid)
                    t3 = time.perf_counter()
                    reads.append(t1 - t0), grids.append(t2 - t1), renders.append(t3 - t2)
                ms = [statistics.median(t) * 1000 for t in (reads, grids, renders)]
                print(
                    f"{hours:>3} h heatmap: {len(got):>4} maps, read {ms[0]:.0f} ms, grid "
                    f"{ms[1]:.0f} ms, render {ms[2]:.0f} ms (total {sum(ms):.0f} ms, "
                    f"{len(png) / 1024:.0f} KB PNG)"
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    main(parser.parse_args().repeat)
