"""The fidelity harness (benchmarks/fidelity.py): exact where the model's assumptions hold, and the
same figures on every run. The accuracy targets live in the benchmark, not here."""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np
import pytest

from benchmarks.fidelity_measure import estimated_map, measure
from tests.sim import WORLDS, simulate


def test_the_calm_world_is_estimated_exactly_bucket_by_bucket():
    # exact up to the rounding of the published numbers (open interest to 8 decimals)
    world = simulate("calm")
    prices, longs, shorts = estimated_map(world)
    true_prices, true_longs, true_shorts = world.true_map
    assert prices.tolist() == true_prices.tolist()
    assert np.allclose(longs, true_longs, rtol=1e-7, atol=0)
    assert np.allclose(shorts, true_shorts, rtol=1e-7, atol=0)

    figures = measure(world)
    assert figures.estimate.ratio == pytest.approx(figures.true.ratio, rel=1e-7)
    assert figures.estimate.short_above == pytest.approx(figures.true.short_above, rel=1e-7)
    assert figures.estimate.long_below == pytest.approx(figures.true.long_below, rel=1e-7)
    assert figures.estimate.key_short == figures.true.key_short
    assert figures.estimate.key_long == figures.true.key_long


def _same(a: dict, b: dict) -> bool:
    """Equal figures, NaN equal to NaN (a map with no key zone on one side)."""
    for key, value in a.items():
        other = b[key]
        if isinstance(value, dict):
            if not _same(value, other):
                return False
        elif isinstance(value, float) and math.isnan(value):
            if not (isinstance(other, float) and math.isnan(other)):
                return False
        elif value != other:
            return False
    return True


@pytest.mark.parametrize("name", list(WORLDS))
def test_each_world_gives_the_same_figures_on_every_run(name):
    first, second = asdict(measure(name)), asdict(measure(name))
    assert _same(first, second)
    assert math.isfinite(first["estimate"]["ratio"]) and math.isfinite(first["naive"]["ratio"])
