"""Benchmark: what a refresh of the estimate source costs, downloading the whole window every time
("before") against keeping each symbol's history and downloading only what is new ("after").

Against tests/fakes/exchange.FakeExchange on 127.0.0.1 (started here, its clock driven by the
script): the default 7 days × 5m, 1 and 20 symbols, a first refresh and then `--rounds` later ones
one minute apart (as the bot refreshes watched symbols), the price moving a little each minute.
Symbols are refreshed four at a time, as core.snapshots.SnapshotCache does. Prints requests and
wall time per refresh round, checks that both sources return identical snapshots at every moment,
and prints the memory the kept histories hold.
Then the same 20 symbols on every venue (Binance, Bybit and OKX fakes, the default venues): per
venue, the requests and weight of the first and of a later refresh, against each venue's
published limits (Binance 2,400 weight/min and 1,000 openInterestHist/5 min per IP; Bybit 600
requests/5 s per IP; OKX per endpoint: candles 20/2 s per IP, open-interest history 10/2 s and
taker volume 5/2 s per IP and instrument, mark price 10/2 s per IP and instrument), and how long
each venue's shared limiter made the refresh wait.
Run: `python benchmarks/estimate_refresh.py [--rounds N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from core.market.sources.binance import BinanceClient  # noqa: E402
from core.market.sources.bybit import BybitClient  # noqa: E402
from core.market.sources.estimate import EstimateSource  # noqa: E402
from core.market.sources.history import HistoryStore  # noqa: E402
from core.market.sources.okx import OkxClient  # noqa: E402
from core.market.sources.venues import BinanceVenue  # noqa: E402
from tests.fakes.bybit import FakeBybit  # noqa: E402
from tests.fakes.exchange import KLINES, OPEN_INTEREST, PREMIUM_INDEX, FakeExchange  # noqa: E402
from tests.fakes.okx import CANDLES, MARK_PRICE, TAKER_VOLUME, FakeOkx  # noqa: E402
from tests.fakes.okx import OPEN_INTEREST as OKX_OPEN_INTEREST  # noqa: E402
from tests.helpers import ManualClock  # noqa: E402

COINS = ("BTC", "ETH", "SOL", "XRP", "BNB", "DOGE", "ADA", "AVAX", "LINK", "TON",
         "SUI", "LTC", "DOT", "TRX", "NEAR", "APT", "ARB", "OP", "FIL", "ATOM")  # fmt: skip
PARALLEL = 4  # SnapshotCache's default max_concurrency


def klines_weight(limit: int) -> int:
    """Binance USD-M request weight of /fapi/v1/klines by its `limit`."""
    return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10


async def refresh_all(source: EstimateSource, coins: tuple[str, ...]) -> list:
    gate = asyncio.Semaphore(PARALLEL)

    async def one(coin: str):
        async with gate:
            return await source.snapshot(coin)

    return await asyncio.gather(*(one(c) for c in coins))


async def timed_round(
    fake: FakeExchange, source: EstimateSource, coins: tuple[str, ...]
) -> tuple[int, int, int, float, list]:
    """(requests, openInterestHist requests, klines weight, wall seconds, snapshots) of one
    refresh of `coins`."""
    fake.reset_counts()
    started = time.perf_counter()
    snapshots = await refresh_all(source, coins)
    seconds = time.perf_counter() - started
    weight = sum(klines_weight(int(r.query["limit"])) for r in fake.requests(KLINES))
    return fake.total_requests(), fake.count(OPEN_INTEREST), weight, seconds, snapshots


async def compare(symbols: int, rounds: int) -> None:
    clock = ManualClock()
    coins = COINS[:symbols]
    with FakeExchange(clock=clock) as fake:
        for n, coin in enumerate(coins[2:]):
            fake.add_symbol(coin, 10.0 * (n + 1), oi_usd=5e8)
        sources = {
            mode: EstimateSource(
                BinanceClient(fake.url, clock=clock), clock=clock, incremental=(mode == "after")
            )
            for mode in ("before", "after")
        }
        figures: dict[str, dict[str, list]] = {m: {"first": [], "later": []} for m in sources}
        identical = True
        for round_number in range(rounds + 1):
            if round_number:
                clock.advance(60)
                for n, coin in enumerate(coins):
                    fake.set_price(
                        coin, fake.price(coin) * (1 + 0.001 * ((round_number + n) % 3 - 1))
                    )
            kind = "first" if round_number == 0 else "later"
            answers = {}
            for mode, source in sources.items():
                *counts, answers[mode] = await timed_round(fake, source, coins)
                figures[mode][kind].append(counts)
            identical &= answers["before"] == answers["after"]
        for source in sources.values():
            await source.aclose()
    for mode, kinds in figures.items():
        for kind, rows in kinds.items():
            requests, oi, weight, seconds = (
                sum(column) / len(rows) for column in zip(*rows, strict=True)
            )
            print(
                f"{symbols:>3} symbol(s)  {mode:<6}  {kind:<5} refresh: {requests:6.1f} requests"
                f" ({requests / symbols:3.1f}/symbol; {oi:5.1f} openInterestHist;"
                f" klines weight {weight:5.1f}), {1000 * seconds:7.1f} ms wall"
                f" ({1000 * seconds / symbols:5.1f} ms/symbol)"
            )
    print(f"{symbols:>3} symbol(s)  snapshots identical before/after at every moment: {identical}")


async def history_memory(symbols: int) -> None:
    """Bytes the kept histories hold: traced memory with them minus without them."""
    clock = ManualClock()
    coins = COINS[:symbols]
    with FakeExchange(clock=clock) as fake:
        for n, coin in enumerate(coins[2:]):
            fake.add_symbol(coin, 10.0 * (n + 1), oi_usd=5e8)
        source = EstimateSource(BinanceClient(fake.url, clock=clock), clock=clock)
        tracemalloc.start()
        await refresh_all(source, coins)
        gc.collect()
        with_history = tracemalloc.get_traced_memory()[0]
        source._histories = HistoryStore()  # benchmark only: drop them to see what they held
        gc.collect()
        without = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        await source.aclose()
    per_symbol = (with_history - without) / symbols / 1e6
    print(f"kept history: {per_symbol:.2f} MB per symbol (7 days × 5m: 2,016 klines + OI points)")


def venue_figures(binance: FakeExchange, bybit: FakeBybit, okx: FakeOkx) -> list[str]:
    """One line per venue: requests, weight and the busiest budget's use, for one round."""
    weight = binance.count(PREMIUM_INDEX) + sum(
        klines_weight(int(r.query["limit"])) for r in binance.requests(KLINES)
    )
    per_instrument = {}
    for path in (OKX_OPEN_INTEREST, TAKER_VOLUME, MARK_PRICE):
        counts: dict[str, int] = {}
        for r in okx.requests(path):
            counts[r.query["instId"]] = counts.get(r.query["instId"], 0) + 1
        per_instrument[path] = max(counts.values(), default=0)
    return [
        f"binance {binance.total_requests():4d} requests, weight {weight:5d} of 2400/min"
        f" ({weight / 2400:6.1%}); openInterestHist {binance.count(OPEN_INTEREST):4d}"
        f" of 1000/5 min ({binance.count(OPEN_INTEREST) / 1000:6.1%})",
        f"bybit   {bybit.total_requests():4d} requests of 600/5 s per IP"
        f" ({bybit.total_requests() / 600:6.1%} of one 5-second budget)",
        f"okx     {okx.total_requests():4d} requests: candles {okx.count(CANDLES)} (20/2 s per IP);"
        f" per instrument at most {per_instrument[OKX_OPEN_INTEREST]} open-interest (10/2 s),"
        f" {per_instrument[TAKER_VOLUME]} taker-volume (5/2 s), {per_instrument[MARK_PRICE]}"
        " mark-price (10/2 s)",
    ]


async def every_venue(symbols: int, rounds: int) -> None:
    """20 symbols on the three default venues: what each venue is asked per refresh round."""
    clock = ManualClock()
    coins = COINS[:symbols]
    with (
        FakeExchange(clock=clock) as binance,
        FakeBybit(clock=clock) as bybit,
        FakeOkx(clock=clock) as okx,
    ):
        for fake in (binance, bybit, okx):
            for n, coin in enumerate(coins[2:]):
                fake.add_symbol(coin, 10.0 * (n + 1), oi_usd=5e8)
        venues = [
            BinanceVenue(BinanceClient(binance.url, clock=clock)),
            BybitClient(bybit.url, clock=clock),
            OkxClient(okx.url, clock=clock),
        ]
        source = EstimateSource(venues=venues, clock=clock)
        fakes = (binance, bybit, okx)
        for round_number in range(rounds + 1):
            if round_number:
                clock.advance(60)
            for fake in fakes:
                fake.reset_counts()
            waited = {v.name: v.limiter.waited_seconds for v in venues}
            started = time.perf_counter()
            snapshots = await refresh_all(source, coins)
            seconds = time.perf_counter() - started
            if round_number in (0, rounds):
                kind = "first" if round_number == 0 else "later"
                unavailable = sum(s.status != "ok" for snap in snapshots for s in snap.venues)
                print(
                    f"{symbols} symbols x 3 venues, {kind} refresh: {1000 * seconds:7.1f} ms wall,"
                    f" venue answers missing: {unavailable}"
                )
                for line in venue_figures(*fakes):
                    print(f"    {line}")
                waits = {v.name: v.limiter.waited_seconds - waited[v.name] for v in venues}
                print("    limiter waits, summed over requests waiting together: " + ", ".join(
                    f"{name} {wait:.1f} s" for name, wait in waits.items()
                ))  # fmt: skip
        await source.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="later refreshes, 1 minute apart")
    args = parser.parse_args()
    for symbols in (1, 20):
        asyncio.run(compare(symbols, args.rounds))
    asyncio.run(history_memory(20))
    asyncio.run(every_venue(20, args.rounds))


if __name__ == "__main__":
    main()
