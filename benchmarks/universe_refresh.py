"""Benchmark: the screener's request budget. Discovering the universe (once a day) and keeping
its 30 maps fresh (every `[screener] refresh_minutes`), against Binance's 2,400 weight/minute.

Against tests/fakes/exchange.FakeExchange on 127.0.0.1 with 30 listed perpetuals, the default
estimator (7 days × 5m), the script driving both clocks. Weights are Binance's documented ones:
exchangeInfo 1, ticker/24hr without a symbol 40, premiumIndex with a symbol 1, klines by limit
(<100: 1, <500: 2, <=1000: 5, else 10), openInterestHist 0 (its own cap: 1,000 requests / 5 min).
Run: `python benchmarks/universe_refresh.py [--minutes 10] [--rounds 6]`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from core.market.screener import Screener  # noqa: E402
from core.market.snapshots import SnapshotCache  # noqa: E402
from core.market.sources import make_source  # noqa: E402
from core.market.sources.binance import BinanceClient  # noqa: E402
from tests.fakes.exchange import KLINES, OPEN_INTEREST, PREMIUM_INDEX, FakeExchange  # noqa: E402
from tests.fakes.exchange_universe import EXCHANGE_INFO, TICKER_24H  # noqa: E402
from tests.helpers import ManualClock  # noqa: E402

COINS = (
    "SOL",
    "XRP",
    "BNB",
    "DOGE",
    "ADA",
    "AVAX",
    "LINK",
    "TON",
    "SUI",
    "LTC",
    "DOT",
    "TRX",
    "NEAR",
    "APT",
    "ARB",
    "OP",
    "FIL",
    "ATOM",
    "INJ",
    "SEI",
    "TIA",
    "WIF",
    "PEPE",
    "ENA",
    "WLD",
    "AAVE",
    "UNI",
    "ETC",
)  # fmt: skip  (+ BTC, ETH: 30)


def klines_weight(limit: int) -> int:
    return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10


def tally(fake: FakeExchange) -> dict[str, int]:
    kl = fake.requests(KLINES)
    counts = {
        "exchangeInfo": fake.count(EXCHANGE_INFO),
        "ticker/24hr": fake.count(TICKER_24H),
        "premiumIndex": fake.count(PREMIUM_INDEX),
        "klines": len(kl),
        "openInterestHist": fake.count(OPEN_INTEREST),
    }
    counts["weight"] = (
        counts["exchangeInfo"] + 40 * counts["ticker/24hr"] + counts["premiumIndex"]
        + sum(klines_weight(int(r.query.get("limit", 500))) for r in kl)
    )  # fmt: skip
    counts["requests"] = sum(v for k, v in counts.items() if k != "weight")
    return counts


def line(name: str, counts: dict[str, int], seconds: float) -> str:
    parts = ", ".join(f"{k} {v}" for k, v in counts.items() if k not in ("weight", "requests"))
    return (
        f"{name:<28} {counts['requests']:>4} requests, weight {counts['weight']:>4}"
        f"  ({parts}; {seconds:.1f} s)"
    )


async def main(minutes: float, rounds: int) -> None:
    clock = ManualClock()
    with FakeExchange(clock=clock) as fake:
        for n, coin in enumerate(COINS):
            fake.add_symbol(coin, 10.0 + n, oi_usd=5e8)
        fake.volume_scale.update({c: 100 - n for n, c in enumerate(("BTC", "ETH", *COINS))})
        cfg = fake.config("estimate")
        source = make_source(cfg, clock=clock)
        client = BinanceClient.from_config(cfg, clock=clock)
        cache = SnapshotCache(source, ttl_seconds=60, clock=clock)
        screener = Screener(cache, client, size=30, clock=clock)
        try:
            fake.reset_counts()
            started = time.perf_counter()
            universe = await screener.universe()
            print(f"universe: {len(universe)} symbols, {', '.join(universe[:8])}, ...")
            print(line("discovery (once a day)", tally(fake), time.perf_counter() - started))
            fake.reset_counts()
            started = time.perf_counter()
            fresh = await screener.refresh()
            first = tally(fake)
            print(line(f"first refresh ({fresh} maps)", first, time.perf_counter() - started))
            steady = []
            for _ in range(rounds):
                clock.advance(minutes * 60)
                for coin in ("BTC", "ETH", *COINS):
                    fake.set_price(coin, fake.price(coin) * 1.001)
                fake.reset_counts()
                started = time.perf_counter()
                await screener.refresh()
                steady.append(tally(fake))
                print(
                    line(
                        f"refresh after {minutes:g} min", steady[-1], time.perf_counter() - started
                    )
                )
            per_round = max(s["weight"] for s in steady)
            print(
                f"\nbudget: the first refresh uses {first['weight']} of Binance's 2,400 weight "
                f"per minute ({first['weight'] / 24:.0f} %), spread over the cache's 4 parallel "
                f"fetches;\na steady refresh every {minutes:g} min uses {per_round} weight "
                f"= {per_round / minutes:.1f} weight/min ({per_round / minutes / 24:.2f} % of the "
                f"budget); discovery adds 41 weight a day; openInterestHist "
                f"{max(s['openInterestHist'] for s in steady)} requests per refresh "
                f"(cap 1,000 / 5 min)."
            )
        finally:
            await client.aclose()
            await source.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.minutes, args.rounds))
