"""Benchmark: how close the free estimate is to the truth, on simulated markets of known positions.

Every world of tests/sim (calm, turnover, trend, leverage_mix, cascade, gap, three_venues) runs
through the estimator (per venue, summed) and through a naive volume-only baseline; both are read
by core.market.analysis.analyze and compared with the true map's reading (see
benchmarks/fidelity_measure.py for exactly what each map is). Prints per world the imbalance ratio
(shorts above / longs below) true, estimated and naive, the totals, the ratio error (relative, %)
and the key-zone peak error (% of price: the larger of key short and key long), then the medians,
the worst world and the targets:

    ratio error median <= 10 %, worst <= 20 %; key-zone peak within 0.5 % of price;
    exact in calm; better than the naive baseline in every world.

Run: `python benchmarks/fidelity.py [--world NAME ...] [--json] [--chart docs/fidelity.png]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from benchmarks.fidelity_measure import (  # noqa: E402
    WorldFigures,
    estimated_map,
    key_zone_moves,
    measure,
    naive_map,
)
from tests.sim import WORLDS, simulate  # noqa: E402

TARGET_MEDIAN, TARGET_WORST, TARGET_KEY, CALM_EXACT = 10.0, 20.0, 0.5, 1e-6


def money(usd: float) -> str:
    return f"${usd / 1e9:.2f}B" if abs(usd) >= 1e9 else f"${usd / 1e6:.0f}M"


def table(results: list[WorldFigures]) -> list[str]:
    head = (
        f"{'world':<13} {'true':>5} {'est':>5} {'naive':>6} | {'true above/below':>16} "
        f"{'est above/below':>16} | {'ratio err':>9} {'naive':>6} | {'key err':>7} {'naive':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        t, e, n = r.true, r.estimate, r.naive
        lines.append(
            f"{r.world:<13} {t.ratio:>5.2f} {e.ratio:>5.2f} {n.ratio:>6.2f} | "
            f"{money(t.short_above) + '/' + money(t.long_below):>16} "
            f"{money(e.short_above) + '/' + money(e.long_below):>16} | "
            f"{e.ratio_error_pct:>8.1f}% {n.ratio_error_pct:>5.1f}% | "
            f"{e.key_error_pct:>6.2f}% {n.key_error_pct:>5.2f}%"
        )
    return lines


def summary(results: list[WorldFigures]) -> dict:
    ratio = [r.estimate.ratio_error_pct for r in results]
    key = [r.estimate.key_error_pct for r in results]
    worst = max(results, key=lambda r: r.estimate.ratio_error_pct)
    worst_key = max(results, key=lambda r: r.estimate.key_error_pct)
    calm = next((r for r in results if r.world == "calm"), None)
    beaten = [
        r.world
        for r in results
        if r.estimate.ratio_error_pct >= r.naive.ratio_error_pct
        or r.estimate.key_error_pct > r.naive.key_error_pct
    ]
    return {
        "ratio_error_median_pct": statistics.median(ratio),
        "ratio_error_worst_pct": worst.estimate.ratio_error_pct,
        "worst_world": worst.world,
        "key_error_median_pct": statistics.median(key),
        "key_error_worst_pct": worst_key.estimate.key_error_pct,
        "worst_key_world": worst_key.world,
        "naive_ratio_error_median_pct": statistics.median(r.naive.ratio_error_pct for r in results),
        "naive_key_error_median_pct": statistics.median(r.naive.key_error_pct for r in results),
        "calm_ratio_error_pct": calm.estimate.ratio_error_pct if calm else None,
        "not_better_than_naive": beaten,
    }


def verdict(s: dict) -> list[str]:
    def mark(ok: bool) -> str:
        return "met" if ok else "MISSED"

    calm = s["calm_ratio_error_pct"]
    beaten = s["not_better_than_naive"]
    return [
        f"ratio error median {s['ratio_error_median_pct']:.1f}% (target <= {TARGET_MEDIAN:g}%: "
        f"{mark(s['ratio_error_median_pct'] <= TARGET_MEDIAN)}), worst "
        f"{s['ratio_error_worst_pct']:.1f}% in {s['worst_world']} (target <= {TARGET_WORST:g}%: "
        f"{mark(s['ratio_error_worst_pct'] <= TARGET_WORST)})",
        f"key-zone peak error median {s['key_error_median_pct']:.2f}%, worst "
        f"{s['key_error_worst_pct']:.2f}% in {s['worst_key_world']} (target <= {TARGET_KEY:g}% "
        f"of price: {mark(s['key_error_worst_pct'] <= TARGET_KEY)})",
        "calm exact: "
        + ("not run" if calm is None else f"{calm:.1e}% ({mark(calm <= CALM_EXACT)})"),
        f"naive baseline: ratio error median {s['naive_ratio_error_median_pct']:.1f}%, key error "
        f"median {s['naive_key_error_median_pct']:.2f}%; estimate better in every world: "
        + mark(not beaten)
        + (f" (not in {', '.join(beaten)})" if beaten else ""),
    ]


def stability(names: list[str]) -> list[str]:
    """Key-zone moves between hourly refreshes over the last day, per world."""
    lines = [
        "key-zone moves between hourly refreshes, last day (mean % of price; jumps > 0.5 %)",
        f"{'world':<13} {'centre':>7} {'arg-max':>8} {'edges':>7} | {'jumps: centre':>13} "
        f"{'arg-max':>8}",
    ]
    totals = [0, 0]
    for name in names:
        m = key_zone_moves(name)
        totals[0] += m.centre_jumps
        totals[1] += m.argmax_jumps
        lines.append(
            f"{name:<13} {m.centre_pct:>6.3f}% {m.argmax_pct:>7.3f}% {m.edge_pct:>6.3f}% | "
            f"{m.centre_jumps:>13} {m.argmax_jumps:>8}"
        )
    lines.append(f"{'all':<13} {'':>7} {'':>8} {'':>7} | {totals[0]:>13} {totals[1]:>8}")
    return lines


def _sided(liq_map, price: float):
    """(prices, USD) keeping longs below the price and shorts above it, as the bot reads a map."""
    import numpy as np

    prices, longs, shorts = (np.asarray(a, dtype=float) for a in liq_map)
    return prices, np.where(prices < price, longs, 0.0) + np.where(prices > price, shorts, 0.0)


def chart(name: str, path: Path) -> None:
    """True vs estimated map of one world in 0.5 %-of-price bins (longs below, shorts above), over
    the range that holds the true and the estimated maps; the naive map scaled to the true total
    (its volume-sized USD would dwarf both), key-zone peaks marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from benchmarks.fidelity_measure import read_map

    world = simulate(name)
    price = world.price
    maps = {"true": world.true_map, "estimate": estimated_map(world), "naive": naive_map(world)}
    spread = max(
        float(np.max(np.abs(p[u > 0] / price - 1), initial=0.05))
        for p, u in (_sided(maps[k], price) for k in ("true", "estimate"))
    )
    width = price * 0.005
    edges = np.arange(price * (1 - spread) - width, price * (1 + spread) + 2 * width, width)
    centres = (edges[:-1] + edges[1:]) / 2
    true_total = float(_sided(maps["true"], price)[1].sum())
    styles = {
        "true": {"color": "#999999", "alpha": 0.6},
        "estimate": {"color": "#1f77b4", "lw": 1.6},
        "naive": {"color": "#d62728", "lw": 1},
    }
    fig, ax = plt.subplots(figsize=(10, 4.8), dpi=110)
    for label, liq_map in maps.items():
        prices, usd = _sided(liq_map, price)
        binned, _ = np.histogram(prices, bins=edges, weights=usd)
        if label == "naive":
            binned = binned * (true_total / max(float(usd.sum()), 1e-9))
            label = "naive (volume, no OI; scaled to the true total)"
        if label == "true":
            ax.bar(centres, binned / 1e6, width=width, label=label, **styles[label])
        else:
            ax.step(centres, binned / 1e6, where="mid", label=label, **styles[label.split()[0]])
    for label, liq_map in (("true", maps["true"]), ("estimate", maps["estimate"])):
        reading = read_map(world, liq_map, label)
        for zone in (reading.key_short, reading.key_long):
            if zone is not None:
                ax.axvline(zone.peak, color=styles[label]["color"], lw=0.8, ls=":")
    ax.axvline(price, color="black", lw=0.8, ls="--")
    ax.set_title(f"{name}: true vs estimated liquidation map (dotted: key-zone peaks)")
    ax.set_xlabel("price (USD); longs below the dashed price, shorts above")
    ax.set_ylabel("USD per 0.5 % of price (millions)")
    ax.legend(loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", action="append", choices=list(WORLDS), help="default: all")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--chart", type=Path, help="write the worst world's chart (PNG) here")
    parser.add_argument(
        "--days",
        type=float,
        help="estimate from the last N days only (the bot's [estimator] days); default: all 30",
    )
    parser.add_argument(
        "--stability", action="store_true", help="also measure key-zone moves across refreshes"
    )
    args = parser.parse_args()

    results = [measure(name, days=args.days) for name in (args.world or list(WORLDS))]
    s = summary(results)
    if args.json:
        print(json.dumps({"worlds": [asdict(r) for r in results], "summary": s}, indent=2))
    else:
        print("\n".join(table(results)))
        print()
        print("\n".join(verdict(s)))
    if args.stability and not args.json:
        print()
        print("\n".join(stability(args.world or list(WORLDS))))
    if args.chart:
        chart(s["worst_world"], args.chart)
        if not args.json:
            print(f"chart of the worst world ({s['worst_world']}): {args.chart}")


if __name__ == "__main__":
    main()
