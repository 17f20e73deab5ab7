"""What taking turns on the wire costs: outbox delivery rate to Telegram by `[delivery] in_flight`
and the Bot API's round-trip time.

The real Deliverer and Telegram Sender (PTB + AIORateLimiter at 29 msg/s) deliver one alert to each
of --chats private chats queued in a SQLite outbox, against the loopback fake Bot API answering
each send after --rtt milliseconds and enforcing Telegram's ~30 msg/s (429 past it). Prints, per
(in_flight, RTT): messages per second, the most sends the fake saw in flight at once (the most a
kill -9 could repeat), and the 429s. Not a test.

    .venv/bin/python benchmarks/delivery_wire.py [--chats 300] [--rtt 0 25 50 100]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.telegram_adapter.render import CallbackCodec  # noqa: E402
from bot.telegram_adapter.sender import TelegramSender, build_bot  # noqa: E402
from core.delivery.deliverer import Deliverer  # noqa: E402
from core.store import Store  # noqa: E402
from core.types import Message  # noqa: E402
from tests.fakes.telegram_api import FakeTelegramAPI  # noqa: E402

ALERT = Message("🔔 BTC broke above $94,681", lines=("Shorts above: $2.705B",), kind="alert")


async def one(chats: int, in_flight: int, rtt_ms: float) -> tuple[float, int, int]:
    fake = FakeTelegramAPI(global_rate=30)
    fake.send_latency = rtt_ms / 1000
    await fake.start()
    sender = TelegramSender(
        build_bot({"token": fake.token, "api_base_url": fake.api_base_url}), CallbackCodec()
    )
    await sender.bot.initialize()
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "wire.db") as store:
        for n in range(chats):
            store.enqueue(store.upsert_chat("telegram", str(10_000 + n)), ALERT)
        deliverer = Deliverer(store, {"telegram": sender}, in_flight=in_flight, batch_size=chats)
        started = time.monotonic()
        sent = 0
        while sent < chats:
            sent += (await deliverer.deliver_due()).sent
        took = time.monotonic() - started
    await sender.bot.shutdown()
    await fake.stop()
    return chats / took, fake.most_sends_in_flight, fake.count_429


async def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.ERROR)
    print(f"{args.chats} alerts to {args.chats} private chats; Telegram limit 30 msg/s")
    print(f"{'in_flight':>9} {'RTT ms':>7} {'msg/s':>7} {'most in flight':>15} {'429s':>5}")
    for rtt in args.rtt:
        for in_flight in args.in_flight:
            rate, most, limited = await one(args.chats, in_flight, rtt)
            print(f"{in_flight:>9} {rtt:>7g} {rate:>7.1f} {most:>15} {limited:>5}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chats", type=int, default=300)
    parser.add_argument("--rtt", type=float, nargs="+", default=[0, 25, 50, 100])
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 4])
    asyncio.run(main(parser.parse_args()))
