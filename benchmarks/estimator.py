"""Benchmark: the vectorised estimator against the plain per-position walk of the same model.

30 days of synthetic 5-minute candles (8,640: a random walk with wicks, open interest drifting up
and down, noisy taker-buy share) through `core.estimator.estimate_map` and through
`core.estimator_reference.reference_map`. Prints both times, the speed ratio and the largest
absolute difference between the two maps. Run: `python benchmarks/estimator.py [--seed N]`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from core.market.estimator import (  # noqa: E402
    CandleArrays,
    EstimatorParams,
    estimate_map,
    estimate_map_tiers,
)
from tests.oracles.estimator_reference import reference_map  # noqa: E402

CANDLES = 30 * 24 * 12  # 30 days of 5-minute candles


def synthetic_candles(count: int, seed: int) -> CandleArrays:
    """BTC-like: $90k start, ~0.15 % per candle, wicks, OI around $8B moving ±0.3 % a candle."""
    rng = np.random.default_rng(seed)
    close = 90_000 * np.exp(np.cumsum(rng.normal(0, 0.0015, count)))
    previous = np.concatenate(([close[0]], close[:-1]))
    high = np.maximum(previous, close) * (1 + rng.exponential(0.0008, count))
    low = np.minimum(previous, close) * (1 - rng.exponential(0.0008, count))
    oi = 8e9 * np.exp(np.cumsum(rng.normal(0.00002, 0.003, count)))
    share = np.clip(rng.normal(0.5, 0.08, count), 0, 1)
    times = 1_700_000_000_000 + np.arange(count) * 300_000.0
    return CandleArrays(times, high, low, close, share, oi)


def largest_difference(fast, slow) -> float:
    """Largest absolute USD difference per bucket, over the union of both maps' buckets."""
    prices = np.union1d(fast[0], slow[0])
    worst = 0.0
    for side in (1, 2):
        a = np.zeros(prices.size)
        b = np.zeros(prices.size)
        a[np.searchsorted(prices, fast[0])] = fast[side]
        b[np.searchsorted(prices, slow[0])] = slow[side]
        worst = max(worst, float(np.abs(a - b).max(initial=0.0)))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=20, help="runs of the vectorised version")
    args = parser.parse_args()

    candles = synthetic_candles(CANDLES, args.seed)
    params = EstimatorParams()

    estimate_map(candles, params)  # warm-up (imports, allocator)
    started = time.perf_counter()
    for _ in range(args.repeat):
        fast = estimate_map(candles, params)
    vectorised = (time.perf_counter() - started) / args.repeat

    started = time.perf_counter()
    for _ in range(args.repeat):
        estimate_map_tiers(candles, params)  # what the estimate source runs: + USD per tier
    with_tiers = (time.perf_counter() - started) / args.repeat

    started = time.perf_counter()
    slow = reference_map(candles, params)
    plain = time.perf_counter() - started

    total = float(fast[1].sum() + fast[2].sum())
    print(
        f"candles:            {len(candles):,} (30 days x 5 min), positions: "
        f"{2 * len(params.leverage) * (len(candles) - 1):,} at most"
    )
    print(f"map:                {fast[0].size} buckets, ${total / 1e9:.3f}B")
    print(f"vectorised (numpy): {vectorised * 1e3:.2f} ms (mean of {args.repeat})")
    print(f"with tier breakdown: {with_tiers * 1e3:.2f} ms (estimate_map_tiers, the source's)")
    print(f"per-position loop:  {plain * 1e3:.0f} ms")
    print(f"speed ratio:        {plain / vectorised:,.0f}x")
    print(f"same buckets:       {np.array_equal(fast[0], slow[0])}")
    print(f"largest difference: ${largest_difference(fast, slow):.3g} per bucket")


if __name__ == "__main__":
    main()
