"""Chart: a phone-sized PNG with longs left of the price and shorts right of it, for any map."""

from __future__ import annotations

import asyncio
import io
import struct
from datetime import UTC, datetime

import numpy as np
import pytest
from matplotlib import image as mpl_image
from matplotlib.colors import to_rgb

from core.market.analysis import analyze, split_map
from core.render.chart import LONG_COLOUR, SHORT_COLOUR, render_chart
from core.types import Level, Snapshot

AS_OF = datetime(2025, 1, 5, 12, 0, tzinfo=UTC)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def realistic_map(levels: int = 2000, price: float = 90_131.71, sample: bool = False) -> Snapshot:
    """A BTC-like map: ±15 % of levels on a $ grid with noise and a few liquidation walls."""
    rng = np.random.default_rng(7)
    prices = np.round(np.linspace(price * 0.85, price * 1.15, levels))
    usd = rng.gamma(2.0, 1.0, levels) * 1e5
    for centre, height in ((92_500, 40e6), (94_000, 25e6), (88_000, 30e6), (86_500, 15e6)):
        usd += height * np.exp(-(((prices - centre) / 150) ** 2))
    return Snapshot(
        "BTC",
        price,
        tuple(
            Level(p, long_usd=u if p < price else 0.0, short_usd=u if p > price else 0.0)
            for p, u in zip(prices.tolist(), usd.tolist(), strict=True)
        ),
        "replay" if sample else "estimate",
        AS_OF,
        sample=sample,
    )


def small_map(long_usd: float, short_usd: float, sample: bool = False) -> Snapshot:
    levels = [Level(p, long_usd=long_usd) for p in (90.0, 91.0, 92.0)]
    levels += [Level(p, short_usd=short_usd) for p in (108.0, 109.0, 110.0)]
    return Snapshot("ETH", 100.0, tuple(levels), "estimate", AS_OF, sample=sample)


def render(snapshot: Snapshot) -> bytes:
    analysis = analyze(snapshot)
    return render_chart(snapshot, analysis, split_map(snapshot, analysis.window_pct))


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == PNG_SIGNATURE
    width, height = struct.unpack(">II", png[16:24])  # IHDR follows the signature
    return width, height


def pixels(png: bytes) -> np.ndarray:
    return mpl_image.imread(io.BytesIO(png), format="png")[..., :3]


def colour_mask(rgb: np.ndarray, colour: str, tolerance: float = 0.06) -> np.ndarray:
    """Pixels painted in `colour`, above the legend strip at the bottom of the figure."""
    mask = np.abs(rgb - np.array(to_rgb(colour))).max(axis=-1) < tolerance
    mask[int(rgb.shape[0] * 0.9) :, :] = False
    return mask


def test_realistic_map_renders_a_phone_sized_png():
    png = render(realistic_map())
    assert png_size(png) == (1200, 900)
    assert 20_000 < len(png) < 1_000_000


def test_longs_are_drawn_left_of_the_shorts():
    rgb = pixels(render(small_map(long_usd=5e6, short_usd=5e6)))
    long_columns = np.nonzero(colour_mask(rgb, LONG_COLOUR))[1]
    short_columns = np.nonzero(colour_mask(rgb, SHORT_COLOUR))[1]
    assert long_columns.size and short_columns.size
    assert np.median(long_columns) < rgb.shape[1] / 2 < np.median(short_columns)


@pytest.mark.parametrize(
    "long_usd, short_usd, present, absent",
    [(5e6, 0.0, LONG_COLOUR, SHORT_COLOUR), (0.0, 5e6, SHORT_COLOUR, LONG_COLOUR)],
)
def test_a_one_sided_map_draws_only_that_side(long_usd, short_usd, present, absent):
    rgb = pixels(render(small_map(long_usd, short_usd)))
    assert colour_mask(rgb, present).sum() > 100
    assert colour_mask(rgb, absent).sum() == 0


@pytest.mark.parametrize(
    "snapshot",
    [
        Snapshot("SOL", 150.0, (), "estimate", AS_OF),
        Snapshot("SOL", 150.0, (Level(151.0, short_usd=1.0),), "estimate", AS_OF),
        Snapshot("SOL", 150.0, (Level(10.0, long_usd=1e9),), "estimate", AS_OF),
        Snapshot("SOL", 150.0, (Level(149.0, long_usd=float("nan")),), "estimate", AS_OF),
    ],
    ids=["empty", "one-tiny-level", "far-away-level", "only-bad-values"],
)
def test_empty_tiny_and_degenerate_maps_still_render(snapshot):
    assert png_size(render(snapshot)) == (1200, 900)


def test_sample_data_carries_a_watermark():
    def grey_pixels(png: bytes) -> int:
        rgb = pixels(png)
        neutral = (rgb.max(axis=-1) - rgb.min(axis=-1)) < 0.02
        return int((neutral & (rgb.mean(axis=-1) > 0.7) & (rgb.mean(axis=-1) < 0.95)).sum())

    live, sample = render(small_map(5e6, 5e6)), render(small_map(5e6, 5e6, sample=True))
    assert grey_pixels(sample) > grey_pixels(live) + 10_000


def test_same_map_gives_the_same_image_size():
    snapshot = realistic_map(levels=300)
    first, second = render(snapshot), render(snapshot)
    assert abs(len(first) - len(second)) <= len(first) // 100


async def test_concurrent_renders_in_threads_do_not_interfere():
    snapshots = [small_map(5e6, 1e6), small_map(0.0, 5e6), realistic_map(400), small_map(1e6, 0)]
    expected = [render(s) for s in snapshots]
    results = await asyncio.gather(*(asyncio.to_thread(render, s) for s in snapshots))
    assert [pixels(r).shape for r in results] == [(900, 1200, 3)] * 4
    for got, want in zip(results, expected, strict=True):
        assert np.abs(pixels(got) - pixels(want)).max() < 0.01
