"""Recorded-map stand-ins for heatmap tests: a day of BTC maps where clusters build up around the
price and the ones the price walks through get liquidated (they leave the next map)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from core.types import MapFrame

END = datetime(2025, 1, 5, 12, 0, tzinfo=UTC)
CLUSTERS = ((92_500.0, 40e6), (94_000.0, 25e6), (88_000.0, 30e6), (86_500.0, 15e6))


def day_of_frames(
    hours: float = 24, every_minutes: float = 10, end: datetime = END, symbol: str = "BTC"
) -> list[MapFrame]:
    count = int(hours * 60 / every_minutes)
    rng = np.random.default_rng(3)
    # the price drifts from 90k up through the 92.5k cluster in the second half
    path = 90_000 + np.cumsum(rng.normal(0, 60, count))
    path += np.linspace(0, 3_200, count) ** 1.0 * (np.arange(count) > count / 2)
    grid = np.arange(84_000.0, 97_000.0, 100.0)
    frames = []
    for i in range(count):
        price = float(path[i])
        growth = 0.4 + 0.6 * i / count
        usd = rng.gamma(2.0, 1.0, grid.size) * 2e5
        for centre, height in CLUSTERS:
            usd += height * growth * np.exp(-(((grid - centre) / 250) ** 2))
        # what the price walked through since the start is liquidated: gone from the map
        usd[(grid >= path[: i + 1].min() - 50) & (grid <= path[: i + 1].max() + 50)] = 0.0
        long_usd = np.where(grid < price, usd, 0.0)
        short_usd = np.where(grid > price, usd, 0.0)
        taken = end - timedelta(minutes=every_minutes * (count - 1 - i))
        frames.append(MapFrame(symbol, "estimate", taken, price, grid, long_usd, short_usd))
    return frames
