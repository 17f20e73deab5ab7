"""Rebuild core/data/sample.json, the replay sample, byte for byte.

    python core/data/make_sample.py            # writes core/data/sample.json
    python core/data/make_sample.py --check    # exit 1 (and a short diff) if the file differs

What is data and what is derived
--------------------------------
Data (held below as literal tables, because no formula reproduces them):

* BTC level amounts, in thousands of USD: our reading of the published market note's
  Coinglass liquidation map. They are irregular figures (we found no common scale, smooth
  profile or formula behind them), so they are the note's data, not the output of a model.
* ETH level amounts: invented by hand in the shape of BTC's map (a baseline with a few
  clusters at similar distances from the price) but not a function of BTC's amounts: ETH has
  $5 levels and other level counts, its clusters sit at other distances, and no constant or
  interpolated scale of BTC's amounts gives them. So they are held as data too.
* Spot prices, the map's two edge prices for BTC (the note's $86,137 and $94,681), the level
  steps ($100, $5), the 7-day context and the scripted BTC price path (hand-written: breaks
  out through the key short cluster around 35 s, then drifts back, and loops).

Derived (computed here, so they cannot drift from the data):

* Level prices: from the price outward, one step-grid level per amount of that side, and the
  farthest amount of each side sits on the map's edge price.
* Which column an amount goes in: long below the price, short above it.
* ETH's edge prices: ETH's map reaches as far as BTC's, in percent to 0.01 % (-4.43 %, +5.05 %).
* The path's first price is the spot price.
* The description: price, totals, edges and the shorts/longs ratio are computed from BTC's
  levels ($2.705B of shorts, $1.563B of longs, 1.73x), and asserted against the note's figures.
* The layout: 2-space JSON, one level row per line, the path's prices on one line.

Standard library only; imports nothing from core/ or bot/.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import sys
from pathlib import Path

OUT = Path(__file__).resolve().with_name("sample.json")

# ---- data ----------------------------------------------------------------------------------

BTC_PRICE = 90131.71
BTC_LOW_EDGE, BTC_HIGH_EDGE, BTC_STEP = 86137, 94681, 100
# Longs, thousands of USD, ascending prices: 86137 (edge), then 86200, 86300, ... 90100.
BTC_LONGS_K = (
    38404, 58657, 30092, 13721, 20657, 19737, 19125, 15784, 18536, 18544,
    18307, 43508, 77647, 77304, 48725, 22129, 21710, 17965, 17047, 15415,
    13269, 13190, 17233, 15880, 66347, 110108, 126242, 126569, 104049, 63056,
    15941, 14200, 17651, 22165, 19169, 35408, 67396, 41090, 19723, 21314,
    19986,
)  # fmt: skip
# Shorts, thousands of USD, ascending prices: 90200, 90300, ... 94600, then 94681 (edge).
BTC_SHORTS_K = (
    23662, 34659, 33369, 25524, 63929, 105630, 66337, 33754, 23038, 22027,
    34479, 28264, 33346, 21623, 28459, 32718, 108395, 184585, 216479, 203050,
    170400, 113216, 36073, 27469, 24931, 28100, 22038, 25009, 28343, 29236,
    25185, 25151, 73542, 130032, 127413, 70500, 34507, 30172, 31495, 24457,
    36897, 34852, 23455, 54480, 94403, 60317,
)  # fmt: skip
BTC_CONTEXT = {"high_7d": 93012.0, "low_7d": 85214.0, "change_24h_pct": 1.12}
BTC_PATH_STEP_SECONDS = 5
BTC_PATH_AFTER_START = (
    90385, 90712, 91046, 91402, 91788, 92105, 92368, 92512, 92297,
    92041, 91872, 91760, 91530, 91240, 90910, 90620, 90380,
)  # fmt: skip

ETH_PRICE = 3512.84
ETH_STEP = 5
# Longs, thousands of USD, ascending prices: the low edge, then 3365, 3370, ... 3510.
ETH_LONGS_K = (
    10435, 9587, 11455, 24269, 41244, 25842, 14784, 14035, 13810, 10345,
    12352, 10694, 44472, 70990, 85150, 89700, 75599, 48516, 14035, 10163,
    10906, 12928, 30818, 52649, 31763, 9482, 12794, 13214, 12156, 10063,
    11950,
)  # fmt: skip
# Shorts, thousands of USD, ascending prices: 3515, 3520, ... 3685, then the high edge.
ETH_SHORTS_K = (
    7348, 8721, 7940, 17063, 27030, 14648, 6339, 10037, 7443, 7331,
    10746, 8390, 10032, 32640, 55574, 60786, 55556, 34397, 8627, 9605,
    9292, 6567, 9681, 8932, 7631, 18531, 35432, 33671, 21616, 10222,
    9483, 10412, 8052, 9873, 8275, 10477,
)  # fmt: skip
ETH_CONTEXT = {"high_7d": 3655.1, "low_7d": 3298.4, "change_24h_pct": -1.84}

# The note's figures, which the BTC tables must reproduce.
NOTE = {"shorts_usd": 2_705_000_000, "longs_usd": 1_563_000_000, "ratio": 1.73}

LABEL = "SAMPLE DATA built from a published market note, not live"

# ---- derived -------------------------------------------------------------------------------


def levels(
    price: float, step: int, low_edge: float, high_edge: float,
    longs_k: tuple[int, ...], shorts_k: tuple[int, ...],
) -> list[list[float]]:  # fmt: skip
    """[[price, long_usd, short_usd], ...] ascending: the step-grid levels nearest the price
    (one per amount, the farthest replaced by the edge), longs below the price, shorts above."""
    below = math.ceil(price / step) - 1  # the grid level just below the price, in steps
    long_prices = [(below - k) * step for k in range(len(longs_k) - 1)][::-1]
    short_prices = [(below + 1 + k) * step for k in range(len(shorts_k) - 1)]
    assert low_edge < long_prices[0] and short_prices[-1] < high_edge
    rows = [[p, a * 1000, 0] for p, a in zip([low_edge, *long_prices], longs_k, strict=True)]
    rows += [[p, 0, a * 1000] for p, a in zip([*short_prices, high_edge], shorts_k, strict=True)]
    return rows


def edge(price: float, reach: float) -> float:
    """ETH's edge price at BTC's reach (a fraction, kept to 0.01 %) from its price."""
    return round(price * (1 + round(reach, 4)), 2)


def side_totals(rows: list[list[float]]) -> tuple[int, int]:
    return sum(r[1] for r in rows), sum(r[2] for r in rows)


# Data, not derived: an illustrative split of the sample's levels between the default venues,
# so the demo's /liq shows the split line the estimate prints (the note gives no venues).
SAMPLE_VENUES = {"binance": 0.48, "bybit": 0.31, "okx": 0.21}


def build() -> dict:
    btc = levels(BTC_PRICE, BTC_STEP, BTC_LOW_EDGE, BTC_HIGH_EDGE, BTC_LONGS_K, BTC_SHORTS_K)
    longs, shorts = side_totals(btc)
    ratio = round(shorts / longs, 2)
    assert (shorts, longs, ratio) == (NOTE["shorts_usd"], NOTE["longs_usd"], NOTE["ratio"])

    eth_low = edge(ETH_PRICE, BTC_LOW_EDGE / BTC_PRICE - 1)
    eth_high = edge(ETH_PRICE, BTC_HIGH_EDGE / BTC_PRICE - 1)
    eth = levels(ETH_PRICE, ETH_STEP, eth_low, eth_high, ETH_LONGS_K, ETH_SHORTS_K)

    description = (
        "BTC: the figures of a market note built on a Coinglass liquidation map "
        f"(price ${BTC_PRICE:,.2f}; ${shorts / 1e9:.3f}B of shorts up to ${BTC_HIGH_EDGE:,}; "
        f"${longs / 1e9:.3f}B of longs down to ${BTC_LOW_EDGE:,}; ratio {ratio:.2f}x) "
        f"on ${BTC_STEP} levels. ETH: invented figures of the same shape, scaled. "
        "The venue split (the /liq split line) is illustrative, not measured. "
        "For demos and tests."
    )
    return {
        "format": "liqwatch-replay/1",
        "meta": {"sample": True, "label": LABEL, "description": description},
        "symbols": {
            "BTC": {
                "price": BTC_PRICE,
                "as_of": "now",
                "context": BTC_CONTEXT,
                "path": {
                    "step_seconds": BTC_PATH_STEP_SECONDS,
                    "then": "loop",
                    "prices": [BTC_PRICE, *BTC_PATH_AFTER_START],
                },
                "levels": btc,
                "venues": SAMPLE_VENUES,
            },
            "ETH": {
                "price": ETH_PRICE,
                "as_of": "now",
                "context": ETH_CONTEXT,
                "levels": eth,
                "venues": SAMPLE_VENUES,
            },
        },
    }


def render(value: object, indent: int = 0) -> str:
    """JSON with 2-space indents, except that a list of scalars stays on one line and a list
    of lists puts one inner list per line."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k)}: {render(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and value and isinstance(value[0], list):
        return "[\n" + ",\n".join(inner + json.dumps(row) for row in value) + f"\n{pad}]"
    return json.dumps(value)


def text() -> str:
    return render(build()) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    wanted = text().encode("utf-8")
    if not args.check:
        OUT.write_bytes(wanted)
        return 0
    if not OUT.exists():
        print(f"{OUT} is missing")
        return 1
    actual = OUT.read_bytes()
    if actual == wanted:
        print(f"{OUT.name} is up to date")
        return 0
    on_disk = actual.decode("utf-8", "replace").splitlines()
    generated = wanted.decode("utf-8").splitlines()
    diff = list(difflib.unified_diff(on_disk, generated, "on disk", "generated", lineterm="", n=0))
    changed = sum(1 for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---"))
    print(f"{OUT.name} differs from what {Path(__file__).name} writes: {changed} lines")
    print("\n".join(diff[:20]) + ("\n..." if len(diff) > 20 else ""))
    return 1


if __name__ == "__main__":
    sys.exit(main())
