"""How long one alert tick takes: 100,000 rules over 50 symbols (the issue's target: < 100 ms).

Run: `python benchmarks/alerts.py [--rules N] [--symbols N] [--ticks N]`. Prints figures, asserts
nothing. States are fed back tick after tick as JSON strings, the way the store holds them, so
the figures include parsing and serialising. Prices walk randomly (seeded) with 1-minute wicks and
the key zones drift by a bucket now and then, as refreshed maps do.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.alerts.engine import MarketView, evaluate  # noqa: E402
from core.alerts.state import parse_state  # noqa: E402
from core.types import Analysis, Rule, Zone  # noqa: E402

KIND_SHARES = (("breakout", 0.30), ("near", 0.15), ("ratio", 0.10), ("above", 0.25), ("below", 0.2))


def zone(side: str, low: float, high: float, usd: float, price: float) -> Zone:
    edge = low if side == "short" else high
    return Zone(side, low, high, (low + high) / 2, usd, (edge - price) / price * 100)


class Market:
    """One symbol's random walk and its liquidation map's key zones."""

    def __init__(self, symbol: str, price: float, rng: random.Random):
        self.symbol, self.price, self.rng = symbol, price, rng
        self.bucket = price * 0.001
        self.short_low = price * (1 + rng.uniform(0.01, 0.04))
        self.long_high = price * (1 - rng.uniform(0.01, 0.04))
        self.ratio = rng.uniform(0.5, 2.5)

    def view(self, now: datetime) -> MarketView:
        rng = self.rng
        previous = self.price
        self.price *= 1 + rng.gauss(0, 0.001)
        high = max(previous, self.price) * (1 + abs(rng.gauss(0, 0.0005)))
        low = min(previous, self.price) * (1 - abs(rng.gauss(0, 0.0005)))
        self.ratio = max(0.1, self.ratio * (1 + rng.gauss(0, 0.03)))
        if rng.random() < 0.2:  # a refreshed map moves a zone by one bucket
            self.short_low += rng.choice((-1, 1)) * self.bucket
        if rng.random() < 0.2:
            self.long_high += rng.choice((-1, 1)) * self.bucket
        # zones follow the price so that they stay on their side, as a rebuilt map's would
        if self.short_low <= self.price:
            self.short_low = self.price * 1.02
        if self.long_high >= self.price:
            self.long_high = self.price * 0.98
        short = zone("short", self.short_low, self.short_low + 5 * self.bucket, 4e8, self.price)
        long = zone("long", self.long_high - 5 * self.bucket, self.long_high, 3e8, self.price)
        analysis = Analysis(
            self.symbol, self.price, 2e9, None, 1.2e9, None, self.ratio,
            (short, long), short, long, short, long, 0.0,
        )  # fmt: skip
        return MarketView(self.symbol, self.price, analysis, high, low, now)


def build_rules(count: int, markets: list[Market], rng: random.Random) -> list[Rule]:
    kinds = [kind for kind, _ in KIND_SHARES]
    weights = [share for _, share in KIND_SHARES]
    rules = []
    for rule_id in range(1, count + 1):
        market = rng.choice(markets)
        kind = rng.choices(kinds, weights)[0]
        value: float | None = None
        if kind == "near":
            value = rng.choice((0.5, 1.0, 1.5, 2.0, 3.0))
        elif kind == "ratio":
            value = rng.choice((1.5, 2.0, 2.5, 3.0))
        elif kind == "above":
            value = round(market.price * (1 + rng.uniform(0.002, 0.08)), 2)
        elif kind == "below":
            value = round(market.price * (1 - rng.uniform(0.002, 0.08)), 2)
        rules.append(Rule(rule_id, rule_id // 3, f"u{rule_id // 3}", market.symbol, kind, value))
    return rules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=100_000)
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--ticks", type=int, default=15)
    args = parser.parse_args()

    rng = random.Random(7)
    markets = [Market(f"C{n}", rng.uniform(0.05, 90_000), rng) for n in range(args.symbols)]
    rules = build_rules(args.rules, markets, rng)
    states: dict[int, str] = {}
    now = datetime(2025, 1, 1, tzinfo=UTC)

    def tick() -> tuple[float, int, int]:
        nonlocal now
        now += timedelta(minutes=1)
        views = {market.symbol: market.view(now) for market in markets}
        started = time.perf_counter()
        events, changed = evaluate(rules, states, views, now)
        elapsed = time.perf_counter() - started
        states.update(changed)
        return elapsed, len(events), len(changed)

    first, first_events, first_changed = tick()  # every rule is new: all fresh, all baselines
    print(f"{args.rules:,} rules over {args.symbols} symbols, {args.ticks} ticks after the first")
    print(f"first tick (all rules new): {first * 1000:.1f} ms, {first_events} events, "
          f"{first_changed:,} states written")  # fmt: skip

    parse_state.cache_clear()  # a restarted process: every stored state string parsed again
    cold, cold_events, cold_changed = tick()
    print(f"tick after a restart (cold parse cache): {cold * 1000:.1f} ms, {cold_events} events, "
          f"{cold_changed:,} states written")  # fmt: skip

    times, event_counts, changed_counts = [], [], []
    for _ in range(args.ticks):
        elapsed, events, changed = tick()
        times.append(elapsed)
        event_counts.append(events)
        changed_counts.append(changed)
    print(f"steady tick: median {statistics.median(times) * 1000:.1f} ms, "
          f"min {min(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms")  # fmt: skip
    print(f"events per tick: median {statistics.median(event_counts):.0f}, "
          f"max {max(event_counts)}; states written per tick: median "
          f"{statistics.median(changed_counts):,.0f}")  # fmt: skip

    tracemalloc.start()
    tick()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak memory allocated during one tick (tracemalloc): {peak / 1e6:.1f} MB")
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"whole process peak RSS (100k rules, states, caches, interpreter): {max_rss:.0f} MB")


if __name__ == "__main__":
    main()
