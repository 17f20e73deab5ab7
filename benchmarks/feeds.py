"""Live-liquidation ingest: a synthetic all-market Binance stream over real WebSockets on
loopback, through the real path (VenueConnection → Binance.parse → PrintWriter → SQLite with the
per-minute trigger and the dedupe index), and what it costs.

    .venv/bin/python benchmarks/feeds.py       # 5,000 prints/s over 300 symbols, 1M prints
    .venv/bin/python benchmarks/feeds.py --prints 200000 --rate 0   # as fast as it goes

The venue runs in a child process (its own core), pushing `forceOrder` events as Binance's
`!forceOrder@arr` does (one event per frame). Prints: sustained stored rate, receive-to-stored
latency (p50/p99: from the frame's arrival to the commit of its batch), and the resident memory
of the ingesting process as the count grows (it should stay flat: nothing is kept per print).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.market.streams.binance import Binance  # noqa: E402
from core.market.streams.connection import VenueConnection  # noqa: E402
from core.store import Store  # noqa: E402
from core.store.print_writer import PrintWriter  # noqa: E402

SYMBOLS = [f"C{n:03d}" for n in range(300)]


def _venue(port_out, total: int, rate: float, seed: int) -> None:
    from websockets.asyncio.server import serve

    rng = random.Random(seed)

    async def handler(ws) -> None:
        start = time.monotonic()
        base = int(time.time() * 1000)
        sent = 0
        while sent < total:
            if rate > 0:
                due = int((time.monotonic() - start) * rate) + 1
                batch = min(due - sent, total - sent)
                if batch <= 0:
                    await asyncio.sleep(0.002)
                    continue
            else:
                batch = min(500, total - sent)
            for _ in range(batch):
                sent += 1
                coin = rng.choice(SYMBOLS)
                price = 1 + rng.random() * 100
                qty = 100 + rng.random() * 10_000
                event = {
                    "e": "forceOrder",
                    "E": base + sent,
                    "o": {
                        "s": f"{coin}USDT",
                        "S": "SELL" if sent % 2 else "BUY",
                        "o": "LIMIT",
                        "f": "IOC",
                        "q": f"{qty:.3f}",
                        "p": f"{price * 0.99:.4f}",
                        "ap": f"{price:.4f}",
                        "X": "FILLED",
                        "l": f"{qty:.3f}",
                        "z": f"{qty:.3f}",
                        "T": base + sent,  # distinct times: every print is a new row
                    },
                }
                await ws.send(json.dumps(event))
            if rate <= 0:
                await asyncio.sleep(0)
        await ws.wait_closed()

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0, max_queue=None) as server:
            port_out.put(server.sockets[0].getsockname()[1])
            await asyncio.Future()

    asyncio.run(main())


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


async def ingest(total: int, rate: float) -> None:
    directory = Path(tempfile.mkdtemp(prefix="liqwatch-bench-"))
    db = directory / "feeds.db"
    Store.open(db).close()  # migrated
    queue: multiprocessing.Queue = multiprocessing.Queue()
    child = multiprocessing.Process(target=_venue, args=(queue, total, rate, 1), daemon=True)
    child.start()
    port = queue.get(timeout=30)
    writer = PrintWriter(db)
    writer.start()
    venue = Binance(f"ws://127.0.0.1:{port}")
    connection = VenueConnection(venue, writer)
    connection.symbols = set(SYMBOLS)
    task = asyncio.create_task(connection.run())
    start = time.monotonic()
    memory = [(0, rss_mb())]
    step = max(total // 10, 1)
    next_mark = step
    try:
        while writer.stored + writer.duplicates < total:
            await asyncio.sleep(0.05)
            done = writer.stored + writer.duplicates
            if done >= next_mark:
                memory.append((done, rss_mb()))
                while next_mark <= done:
                    next_mark += step
    finally:
        elapsed = time.monotonic() - start
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        writer.stop()
        child.terminate()
    latencies = sorted(writer.latencies)
    p50 = statistics.median(latencies) * 1000 if latencies else float("nan")
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan")
    print(f"prints stored        {writer.stored:,} (duplicates {writer.duplicates:,})")
    print(f"elapsed              {elapsed:.1f} s")
    print(f"sustained rate       {writer.stored / elapsed:,.0f} prints/s (target {rate or 'max'})")
    average = writer.stored / max(writer.batches, 1)
    print(f"batches              {writer.batches:,} (avg {average:,.0f} prints)")
    print(f"receive → stored     p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    print("resident memory      " + ", ".join(f"{n:,}: {mb:.0f} MB" for n, mb in memory))
    print(f"database             {db.stat().st_size / 1e6:.0f} MB at {db}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prints", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=5000.0, help="prints per second (0: max)")
    args = parser.parse_args()
    asyncio.run(ingest(args.prints, args.rate))


if __name__ == "__main__":
    main()
