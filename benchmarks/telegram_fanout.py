"""Fan-out of alerts to many private chats through the real Telegram Sender (PTB + AIORateLimiter).

The fake Bot API on 127.0.0.1 enforces a global rate (a token bucket of one second's worth,
answering 429 past it), as Telegram does. The Sender is configured a little under that rate
(--margin), as it is in production under Telegram's ~30 messages/second.

    python benchmarks/telegram_fanout.py                      # 10,000 chats at 30 msg/s (~6 min)
    python benchmarks/telegram_fanout.py --rate 300 --count 3000

Prints the achieved rate as a share of the configured rate, the 429s the server answered and the
messages lost. Aim: >= 95 %, 0 x 429, 0 lost.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.telegram_adapter.render import CallbackCodec  # noqa: E402
from bot.telegram_adapter.sender import TelegramSender, build_bot  # noqa: E402
from core.model import Button, ChatRef, Message  # noqa: E402
from tests.fakes.telegram_api import FakeTelegramAPI  # noqa: E402

ALERT = Message(
    "🔔 BTC breakout",
    lines=("BTC broke above the key short zone $91,800–$92,300 ($412.5M of shorts): now $92,450",),
    footer="Source: estimate · 12 s old",
    buttons=(Button("Snooze 1h", "snooze", ("7",)), Button("Mute BTC", "mute_symbol", ("BTC",))),
    kind="alert",
)


async def fan_out(count: int, rate: float, margin: float, workers: int, retries: int) -> None:
    fake = FakeTelegramAPI(global_rate=rate)
    await fake.start()
    settings = {"token": fake.token, "api_base_url": fake.api_base_url}
    bot = build_bot(settings, messages_per_second=rate * margin, max_retries=retries)
    await bot.initialize()
    sender = TelegramSender(bot, CallbackCodec())
    chats = iter(range(1, count + 1))  # positive ids: private chats
    failures: list[BaseException] = []

    async def worker() -> None:
        # A bounded pool, as a delivery loop has: the limiter paces, the pool bounds memory.
        for chat in chats:
            try:
                await sender.send(ChatRef("telegram", str(chat)), ALERT)
            except Exception as error:  # counted as lost below
                failures.append(error)

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(workers)))
    elapsed = time.monotonic() - started
    await bot.shutdown()
    await fake.stop()

    delivered = {c.params["chat_id"] for c in fake.calls_to("sendMessage")}
    duplicates = len(fake.calls_to("sendMessage")) - len(delivered)
    achieved = len(delivered) / elapsed
    # Both buckets start full (one second's burst): the steady rate is read after the first 20 %.
    arrivals = sorted(c.at for c in fake.calls_to("sendMessage"))
    skip = len(arrivals) // 5
    span = arrivals[-1] - arrivals[skip] if len(arrivals) > 2 else 0.0
    steady = (len(arrivals) - 1 - skip) / span if span > 0 else 0.0
    print(f"messages        {count:,} to {count:,} private chats")
    print(f"server limit    {rate:g} msg/s (sender set to {rate * margin:g} msg/s)")
    print(f"elapsed         {elapsed:.1f} s")
    print(f"achieved        {achieved:.1f} msg/s = {achieved / rate:.1%} of the server limit")
    print(f"steady state    {steady:.1f} msg/s = {steady / rate:.1%} (last 80 % of messages)")
    print(f"429 answers     {fake.count_429}")
    print(f"lost            {count - len(delivered)} (errors: {len(failures)})")
    print(f"duplicates      {duplicates}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="messages (one chat each)")
    parser.add_argument("--rate", type=float, default=30.0, help="server's global msg/s")
    parser.add_argument("--margin", type=float, default=0.97, help="sender rate / server rate")
    parser.add_argument("--workers", type=int, default=64, help="concurrent sends")
    parser.add_argument("--retries", type=int, default=3, help="AIORateLimiter max_retries")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(fan_out(args.count, args.rate, args.margin, args.workers, args.retries))


if __name__ == "__main__":
    main()
