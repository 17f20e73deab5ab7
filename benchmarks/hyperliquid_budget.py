"""Hyperliquid's request weight under the wallet job and the observed map, against the fake.

Run: `python benchmarks/hyperliquid_budget.py [--wallets N] [--watched N] [--symbols N]
[--minutes N]`. Simulates N minutes on a virtual clock: the wallet job every refresh_seconds
(watched wallets every run, configured ones round-robin) and an observed map of every symbol each
minute (metaAndAssetCtxs, kept 30 s by the client). Prints the weight spent per minute against
the venue's 1,200, how long a full pass over the configured wallets takes and the oldest reading
the observed map sees. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.alerts.wallet_watch import WalletWatcher  # noqa: E402
from core.market.sources.http import RetryPolicy  # noqa: E402
from core.market.sources.hyperliquid import (  # noqa: E402
    WEIGHT_PER_MINUTE,
    HyperliquidClient,
    rates,  # noqa: E402
)
from core.market.sources.hyperliquid_venue import ObservedVenue  # noqa: E402
from core.market.sources.venues import RateLimiter  # noqa: E402
from core.store import Store  # noqa: E402
from tests.fakes.hyperliquid import FakeHyperliquid, position  # noqa: E402

START = datetime(2026, 3, 1, tzinfo=UTC)


async def main(args: argparse.Namespace) -> None:
    now = [0.0]

    def clock() -> datetime:
        return START + timedelta(seconds=now[0])

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    coins = ["BTC", "ETH", "SOL"] + [f"C{n}" for n in range(max(0, args.symbols - 3))]
    wallets = [f"0x{n:040x}" for n in range(1, args.wallets + 1)]
    watched = [f"0x{n:040x}" for n in range(10**6, 10**6 + args.watched)]
    with FakeHyperliquid() as hl, tempfile.TemporaryDirectory() as tmp:
        for coin in coins:
            hl.set_coin(coin, mark=100.0, open_interest=1e6)
        for n, address in enumerate(wallets + watched):
            coin = coins[n % len(coins)]
            hl.set_wallet(address, [position(coin, 10, entry=100, liq=90, mark=100)])
        limiter = RateLimiter(rates(), clock=lambda: now[0], sleep=sleep)
        client = HyperliquidClient(
            hl.url, clock=clock, limiter=limiter, sleep=sleep, monotonic=lambda: now[0],
            retry=RetryPolicy(attempts=1),
        )  # fmt: skip
        store = Store.open(Path(tmp) / "db.sqlite", clock=clock)
        store.set_wallet_universe(wallets)
        for n, address in enumerate(watched):
            chat = store.upsert_chat("console", f"c{n}", kind="private", user_id=f"u{n}")
            store.set_wallet_watch(chat, address, 5)
        job = WalletWatcher(client, store, clock=clock)
        venue = ObservedVenue(client, store, clock=clock)
        per_minute, first_full, oldest = [], None, timedelta(0)
        for minute in range(args.minutes):
            start_weight = limiter.spent["weight"]
            minute_end = (minute + 1) * 60.0
            while now[0] < minute_end:
                await job.run()
                for coin in coins:
                    observed = await venue.observed(coin)
                    if observed.coverage.oldest_read_at is not None:
                        oldest = max(oldest, clock() - observed.coverage.oldest_read_at)
                if first_full is None and store.universe_readings()[1] == 0:
                    first_full = now[0]
                now[0] = max(now[0], (now[0] // job.refresh_seconds + 1) * job.refresh_seconds)
            per_minute.append(limiter.spent["weight"] - start_weight)
        await client.aclose()
        store.close()
    print(
        f"{args.wallets} configured + {args.watched} watched wallets, {len(coins)} symbols, "
        f"{args.minutes} min, {job.reads_per_run} reads a run"
    )
    print(f"weight per minute: max {max(per_minute)}, mean {sum(per_minute) / len(per_minute):.0f}"
          f" of {WEIGHT_PER_MINUTE}")  # fmt: skip
    shown = f"{first_full / 60:.1f} min" if first_full is not None else "not within the run"
    print(f"every configured wallet read once after: {shown}")
    print(f"oldest reading the observed map used: {oldest.total_seconds() / 60:.1f} min")
    print(f"requests: {hl.count('clearinghouseState')} clearinghouseState, "
          f"{hl.count('metaAndAssetCtxs')} metaAndAssetCtxs")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wallets", type=int, default=1000)
    parser.add_argument("--watched", type=int, default=20)
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--minutes", type=int, default=10)
    asyncio.run(main(parser.parse_args()))
