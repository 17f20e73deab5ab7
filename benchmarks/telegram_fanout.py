"""Telegram on loopback: alert fan-out through the real Sender, and the /liq round trip.

Fan-out: many private chats through the real Telegram Sender (PTB + AIORateLimiter). The fake Bot
API on 127.0.0.1 enforces a global rate (a token bucket of one second's worth, answering 429 past
it), as Telegram does. The Sender is configured a little under that rate (--margin), as it is in
production under Telegram's ~30 messages/second. Prints the achieved rate as a share of the
configured rate, the 429s the server answered and the messages lost. Aim: >= 95 %, 0 x 429, 0 lost.

/liq round trip: the whole bot as `liqwatch run` builds it (TelegramAdapter + the real service on
the loopback exchange, free estimate source). A user sends `/liq BTC` (pushed into the getUpdates
long poll); the time until the fake Bot API has received the sendPhoto answer. The first request
fetches and renders (cold); the next --liq-count are served from the snapshot cache and the
service's chart cache, one user each, paced under the bot's own 29 msg/s limiter. Aim: p50 < 20 ms.

    python benchmarks/telegram_fanout.py                      # both; 10,000 chats at 30 msg/s
    python benchmarks/telegram_fanout.py --rate 300 --count 3000 --liq-count 300
    python benchmarks/telegram_fanout.py --only liq
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import build  # noqa: E402
from bot.telegram_adapter import TelegramAdapter  # noqa: E402
from bot.telegram_adapter.render import CallbackCodec  # noqa: E402
from bot.telegram_adapter.sender import TelegramSender, build_bot  # noqa: E402
from core.types import Button, ChatRef, Message  # noqa: E402
from tests.fakes.exchange import FakeExchange  # noqa: E402
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


async def liq_round_trip(count: int, interval: float) -> None:
    fake = FakeTelegramAPI()
    await fake.start()
    with FakeExchange() as exchange, tempfile.TemporaryDirectory() as scratch:
        cfg = exchange.config("estimate", estimator={"days": 2})
        cfg.set("data", "cache_seconds", 3600.0)  # measure the cache, not a refetch mid-run
        cfg.set("store", "path", str(Path(scratch) / "bench.db"))
        cfg.set("telegram", "token", fake.token)
        cfg.set("telegram", "api_base_url", fake.api_base_url)
        app = build(cfg)
        adapter = TelegramAdapter(
            app.service,
            cfg.section("telegram"),
            commands_per_minute=cfg.get("alerts", "commands_per_minute"),
        )
        await adapter.start()
        app.add_sender(adapter.sender)

        async def one(user: int) -> float:
            seen = len(fake.calls_to("sendPhoto"))
            started = time.monotonic()
            await fake.push(fake.message(user, user, "/liq BTC"))
            calls = await fake.wait_for("sendPhoto", seen + 1, timeout=60)
            return calls[seen].at - started

        try:
            cold = await one(1)
            warm = []
            for n in range(count):
                warm.append(await one(1000 + n))  # one user each: the per-user limit stays out
                await asyncio.sleep(interval)  # a steady trickle under the bot's 29 msg/s
        finally:
            await adapter.stop()
            await app.aclose()
            await fake.stop()
    ms = sorted(1000 * t for t in warm)
    cuts = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else ms * 99
    print(f"/liq BTC        {count} requests from the cache, one every {interval * 1000:g} ms")
    print(f"cold (first)    {1000 * cold:.1f} ms (fetch, estimate, chart render)")
    print(f"p50             {cuts[49]:.1f} ms")
    print(f"p95             {cuts[94]:.1f} ms")
    print(f"max             {ms[-1]:.1f} ms")
    print(f"photo size      {len(fake.calls_to('sendPhoto')[-1].files['photo']):,} bytes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("fanout", "liq"), help="run one part only")
    parser.add_argument("--count", type=int, default=10_000, help="messages (one chat each)")
    parser.add_argument("--rate", type=float, default=30.0, help="server's global msg/s")
    parser.add_argument("--margin", type=float, default=0.97, help="sender rate / server rate")
    parser.add_argument("--workers", type=int, default=64, help="concurrent sends")
    parser.add_argument("--retries", type=int, default=3, help="AIORateLimiter max_retries")
    parser.add_argument("--liq-count", type=int, default=200, help="/liq requests from cache")
    parser.add_argument("--liq-interval", type=float, default=0.05, help="seconds between them")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.only != "liq":
        asyncio.run(fan_out(args.count, args.rate, args.margin, args.workers, args.retries))
    if args.only is None:
        print()
    if args.only != "fanout":
        asyncio.run(liq_round_trip(args.liq_count, args.liq_interval))


if __name__ == "__main__":
    main()
