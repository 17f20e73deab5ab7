"""The heatmap: a phone-readable time x price picture of how the map evolved."""

from __future__ import annotations

import io
from datetime import timedelta

import numpy as np
from matplotlib import image as mpl_image

from core.render.heatmap import heat_grid, plain_step, render_heatmap
from tests.render.heatmap_frames import END, day_of_frames

DAY = timedelta(hours=24)


def pixels(png: bytes) -> np.ndarray:
    return mpl_image.imread(io.BytesIO(png), format="png")


def test_the_picture_is_the_size_telegram_shows_so_it_is_never_scaled_down():
    png = render_heatmap(heat_grid(day_of_frames(), END - DAY, END))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    height, width = pixels(png).shape[:2]
    assert (width, height) == (1280, 720)


def test_a_standing_cluster_is_bright_and_empty_prices_stay_dark():
    grid = heat_grid(day_of_frames(), END - DAY, END)
    centres = grid.price_centres
    cluster_row = int(np.abs(centres - 88_000).argmin())
    empty_row = int(np.abs(centres - 98_500).argmin())
    assert grid.notional[-1, cluster_row] > 20e6
    assert grid.notional[-1, empty_row] == 0
    column = pixels(render_heatmap(grid))[:, int(0.9 * 1280), :3].sum(axis=1)
    plot = column[int(0.2 * 720) : int(0.8 * 720)]
    assert plot.max() > 1.8  # inferno's bright end where USD piles up
    assert np.median(plot) < 0.8  # most prices hold little: the picture is not a wash
    assert column[int(0.2 * 720)] < 0.3  # above the map's reach: the dark background


def test_a_zone_the_price_swept_through_fades_instead_of_vanishing():
    grid = heat_grid(day_of_frames(), END - DAY, END)
    row = int(np.abs(grid.price_centres - 92_400).argmin())
    swept_at = next(j for j in range(1, len(grid.times)) if grid.notional[j, row] == 0
                    and grid.notional[j - 1, row] > 1e6)  # fmt: skip
    trail = grid.faded[swept_at:, row]
    assert trail[0] > 1e6  # the liquidated USD shows where it was
    assert np.all(np.diff(trail[: min(10, len(trail))]) <= 0)  # ...and only fades from there
    later = min(len(trail) - 1, int(len(grid.times) * 0.1))
    assert trail[later] <= trail[0] * 0.55  # half gone after a tenth of the window


def test_buckets_are_plain_round_prices():
    grid = heat_grid(day_of_frames(), END - DAY, END)
    step = grid.price_edges[1] - grid.price_edges[0]
    assert step in (100.0, 200.0, 500.0)
    assert plain_step(109.8) == 200.0 and plain_step(0.0031) == 0.005 and plain_step(100) == 100


def test_json_has_one_row_of_notional_per_time_and_one_value_per_price():
    data = heat_grid(day_of_frames(), END - DAY, END).as_json()
    assert len(data["notional"]) == len(data["times"]) == 144
    assert {len(row) for row in data["notional"]} == {len(data["prices"])}
    assert data["prices"] == sorted(data["prices"])


def test_a_week_of_maps_is_capped_at_360_columns():
    grid = heat_grid(day_of_frames(hours=24 * 7), END - 7 * DAY, END)
    assert len(grid.times) == 360 and grid.maps == 1008
    assert not np.isnan(grid.price_line[-1])


def test_a_gap_in_the_history_stays_empty_rather_than_stretching_an_old_map():
    frames = day_of_frames()
    kept = frames[:40] + frames[80:]  # the bot was down for ~7 h
    grid = heat_grid(kept, END - DAY, END)
    down_from, back_at = frames[39].taken_at + timedelta(minutes=30), frames[80].taken_at
    gap = [j for j, t in enumerate(grid.times) if down_from < t < back_at]
    assert len(gap) > 30 and all(np.isnan(grid.price_line[j]) for j in gap)
    assert all(grid.notional[j].sum() == 0 for j in gap)
    render_heatmap(grid)  # draws with the hole


def test_a_single_map_still_draws():
    frames = day_of_frames()[-1:]
    png = render_heatmap(heat_grid(frames, END - DAY, END))
    assert pixels(png).shape[:2] == (720, 1280)
