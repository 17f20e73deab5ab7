"""Fault-injection run: the real `liqwatch run` process against the loopback fakes, killed with
SIGKILL again and again while it delivers, with upstream faults and Telegram storms on top.

    .venv/bin/python benchmarks/faults.py [--kills 50] [--users 30] [--discord 6] [--levels 40]

Set-up: `--users` private Telegram chats and `--discord` Discord channels, each with an `above`
rule at every one of `--levels` BTC levels $100 apart above the price. The fake exchange's price
then climbs one level every ~3 s (and never comes back), so each (chat, level) alert is raised
exactly once and is recognisable in the text the platform receives. Meanwhile (the fakes and
the faults are in benchmarks/fault_world.py):
- kill -9 at a random moment during delivery (right after a send was answered, plus 0-0.6 s),
  `--kills` times, each followed by a restart on the same database;
- upstream faults now and then: HTTP 503s, garbage bodies, replies held past the timeout, on
  the klines and mark-price endpoints;
- the database locked by another process for 2-8 s every 15-30 s (past the busy timeout);
- Telegram 429 storms (every 20-40 s, the next 20 sends answered 429 retry_after 2) and
  permanent refusals (two chats answer "Bad Request: group is deactivated" to every send);
- Discord 429 storms (every 20-40 s, each channel's next 3 posts answered with Discord's recorded
  user-limit 429, its wait shortened to 2 s);
- the disk full (when the run may mount a tmpfs, i.e. as root: the database lives on a 64 MB
  tmpfs, filled to the last byte for 3-8 s every 25-45 s).
At the end one last process drains the outbox; then the figures are computed from the fake's
record and the database:
- raised: alerts in the outbox or the dead letters; expected: rules whose level the price passed;
- delivered: (chat, level) pairs Telegram accepted at least once;
- lost: expected but never delivered (the chats that refused for good are counted apart);
- duplicated: pairs delivered twice or more, and how many of those fall in the documented
  send-then-record window (the first copy was accepted less than WINDOW s before a kill and the
  outbox could not have recorded it);
- false: an alert for a level above every price the exchange had shown by then;
- longest stall: the longest time between an alert being raised and Telegram accepting it.
Prints the figures; exits 0. Not a test (it runs for minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.fault_world import (  # noqa: E402
    BASE_LEVEL,
    DISCORD_BASE,
    LEVEL,
    REFUSING,
    STEP,
    RecordingDiscord,
    RecordingTelegram,
    Run,
    Sent,
    climb,
    db_locks,
    discord_storms,
    disk_full,
    mount_small_disk,
    telegram_storms,
    upstream_faults,
)
from core.store import Store  # noqa: E402
from tests.fakes.discord_api import TOKEN as DISCORD_TOKEN  # noqa: E402
from tests.procs import BotProcess, WatchedExchange, write_config  # noqa: E402

WINDOW = 0.25  # s: a copy accepted this shortly before a kill may be unrecorded (see deliverer)
# discord.py connects to DiscordWebSocket.DEFAULT_GATEWAY, which no config reaches: the bot
# processes of this run (only) get it pointed at the fake by this sitecustomize.
SHIM = """import os
if os.environ.get("LIQWATCH_BENCH_GATEWAY"):
    import discord.gateway, yarl
    url = yarl.URL(os.environ["LIQWATCH_BENCH_GATEWAY"])
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = url
"""


def chat_number(chat_id: str) -> int:
    """Telegram's `700001` or Discord's `channel:990001` as one number."""
    return int(chat_id.rpartition(":")[2])


def seed(db: Path, users: int, channels: int, levels: int) -> tuple[list[int], list[int]]:
    chats = [700_000 + n for n in range(users)]
    discord = [DISCORD_BASE + n for n in range(channels)]
    with Store.open(db) as store:
        for chat in chats:
            key = store.upsert_chat("telegram", str(chat), kind="private", user_id=str(chat))
            for k in range(levels):
                store.add_rule(key, str(chat), "BTC", "above", float(BASE_LEVEL + STEP * k))
        for channel in discord:
            key = store.upsert_chat("discord", f"channel:{channel}", kind="channel")
            for k in range(levels):
                store.add_rule(key, "4242", "BTC", "above", float(BASE_LEVEL + STEP * k))
    return chats, discord


@dataclass
class World:
    config: Path
    tmp: Path
    telegram: RecordingTelegram
    discord: RecordingDiscord


def start_bot(world: World, log_path: Path) -> BotProcess:
    """`liqwatch run` with both tokens from the environment, as in production."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{world.tmp / 'shim'}{os.pathsep}{ROOT}",
        "TELEGRAM_TOKEN": world.telegram.token,
        "DISCORD_TOKEN": DISCORD_TOKEN,
        "LIQWATCH_BENCH_GATEWAY": world.discord.gateway_url,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(world.config)],
            cwd=world.tmp, env=env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    return BotProcess(process, log_path)


def accepted(world: World) -> int:
    return len(world.telegram.sent) + len(world.discord.sent)


async def kill_loop(
    bots: list[BotProcess], world: World, run: Run, kills: int, rng: random.Random
) -> None:
    for n in range(kills):
        bot = start_bot(world, world.tmp / f"bot{n}.log")
        bots.append(bot)
        seen = accepted(world)
        deadline = time.monotonic() + 20
        while accepted(world) == seen and time.monotonic() < deadline and bot.running:
            await asyncio.sleep(0.02)  # wait for delivery to be under way
        await asyncio.sleep(rng.uniform(0, 0.6))
        await asyncio.to_thread(bot.kill)
        run.kills.append(time.time())
        print(f"  kill {n + 1}/{kills}: {accepted(world)} alerts accepted so far", flush=True)


def outbox_state(db: Path) -> tuple[list[dict], list[dict]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    rows = conn.execute(
        "SELECT o.id, o.payload, o.created_at, o.sent_at, c.chat_id, c.active FROM outbox o"
        " JOIN chats c ON c.key = o.chat_key WHERE o.kind = 'alert'"
    ).fetchall()
    dead = conn.execute(
        "SELECT d.payload, d.reason, c.chat_id FROM dead_letters d JOIN chats c"
        " ON c.key = d.chat_key WHERE d.kind = 'alert'"
    ).fetchall()
    conn.close()
    return [dict(r) for r in rows], [dict(r) for r in dead]


def levels_of(payload: str) -> set[int]:
    return {int(m.replace(",", "")) for m in LEVEL.findall(payload)}


async def drain(world: World, db: Path) -> BotProcess:
    """One last process, run until every alert of a reachable chat is sent and two ticks
    passed quietly (at most three minutes)."""
    bot = start_bot(world, world.tmp / "final.log")
    started = quiet_since = time.monotonic()
    last = accepted(world)
    while time.monotonic() - started < 180:
        await asyncio.sleep(1)
        if accepted(world) != last:
            quiet_since, last = time.monotonic(), accepted(world)
        rows, _ = outbox_state(db)
        done = all(r["sent_at"] or not r["active"] for r in rows)
        if done and time.monotonic() - quiet_since > 12:
            break
    bot.process.terminate()
    await asyncio.to_thread(bot.process.wait, 30)  # the loop serves the fakes meanwhile
    return bot


async def main(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="liqwatch-faults-"))
    disk = tmp / "disk"
    small_disk = mount_small_disk(disk)
    db = disk / "liqwatch.db"
    (tmp / "shim").mkdir()
    (tmp / "shim" / "sitecustomize.py").write_text(SHIM)
    exchange = WatchedExchange().start()
    telegram = RecordingTelegram()
    await telegram.start()
    discord = RecordingDiscord()
    await discord.server.start_server()
    chats, channels = seed(db, args.users, args.discord, args.levels)
    refusing = chats[:2]
    for chat in refusing:
        telegram.fail_next(
            "sendMessage", count=10**6, status=400, description=REFUSING, chat_id=chat
        )
    config = write_config(tmp, exchange, telegram.api_base_url, db)
    with open(config, "a", encoding="utf-8") as out:
        out.write(f'\n[discord]\napi_base_url = "{discord.api}"\n')
    world = World(config, tmp, telegram, discord)
    run = Run()
    stop = asyncio.Event()
    started = time.time()
    print(
        f"fault run in {tmp}: {args.users} Telegram chats + {args.discord} Discord channels"
        f" x {args.levels} levels, {args.kills} kills;"
        f" full disk {'on a 64 MB tmpfs' if small_disk else 'skipped (cannot mount a tmpfs)'}"
    )
    background = [
        asyncio.create_task(climb(exchange, run, args.levels, stop)),
        asyncio.create_task(upstream_faults(exchange, run, stop)),
        asyncio.create_task(telegram_storms(telegram, run, stop)),
        asyncio.create_task(discord_storms(discord, channels, run, stop)),
        asyncio.create_task(db_locks(db, run, stop)),
    ]
    if small_disk:
        background.append(asyncio.create_task(disk_full(disk, run, stop)))
    bots: list[BotProcess] = []
    try:
        await kill_loop(bots, world, run, args.kills, rng)
        await background[0]  # the climb reaches the top level
        stop.set()
        for task in background[1:]:
            task.cancel()
        (disk / "filler").unlink(missing_ok=True)
        exchange._faults.clear()  # the world recovers (the refusing chats still refuse)
        telegram._faults = [f for f in telegram._faults if f.status == 400]
        discord._replays.clear()
        final = await drain(world, db)
    finally:
        stop.set()
        for task in background:
            task.cancel()
        for bot in bots:
            if bot.running:
                await asyncio.to_thread(bot.kill)
        await telegram.stop()
        await discord.server.close()
        exchange.stop()
    report(args, run, world, db, chats + channels, refusing, started, final)
    if small_disk:
        subprocess.run(["umount", str(disk)], check=False)


def report(args, run, world, db, chats, refusing, started, final) -> None:
    rows, dead = outbox_state(db)
    top = max(p for _, p in run.price_max)
    expected = {(c, BASE_LEVEL + STEP * k) for c in chats for k in range(args.levels)
                if BASE_LEVEL + STEP * k <= top}  # fmt: skip
    raised: dict[tuple[int, int], datetime] = {}
    for row in rows:
        for level in levels_of(row["payload"]):
            raised[(chat_number(row["chat_id"]), level)] = datetime.fromisoformat(row["created_at"])
    for row in dead:
        for level in levels_of(row["payload"]):
            raised.setdefault((chat_number(row["chat_id"]), level), datetime.max)
    copies: dict[tuple[int, int], list[Sent]] = {}
    sends = sorted(world.telegram.sent + world.discord.sent, key=lambda sent: sent.at)
    for sent in sends:
        copies.setdefault((sent.chat, sent.level), []).append(sent)
    delivered = set(copies)
    refused = {pair for pair in expected if pair[0] in refusing}
    lost = sorted((expected - refused) - delivered)
    duplicated = {pair: sends for pair, sends in copies.items() if len(sends) > 1}
    # A duplicate message: an accepted message all of whose (chat, level) pairs an earlier one
    # had delivered. Charged to the first kill after its first copy; "in the window" when that
    # kill came within WINDOW s of the first copy (accepted, then killed before the record).
    first_copy: dict[tuple[int, int], Sent] = {}
    by_message: dict[int, list[Sent]] = {}
    for sent in sends:
        by_message.setdefault(sent.message, []).append(sent)
    repeats: list[tuple[Sent, float | None]] = []
    for serial in sorted(by_message):
        carried = by_message[serial]
        pairs = [(sent.chat, sent.level) for sent in carried]
        if all(pair in first_copy for pair in pairs):
            original = max(first_copy[pair].at for pair in pairs)
            kill = next((k for k in run.kills if k >= original), None)
            repeats.append((carried[0], kill if kill is not None and kill - original <= WINDOW
                            else None))  # fmt: skip
        for sent, pair in zip(carried, pairs, strict=True):
            first_copy.setdefault(pair, sent)
    in_window = sum(1 for _, kill in repeats if kill is not None)
    per_kill: dict[float, int] = {}
    for _, kill in repeats:
        if kill is not None:
            per_kill[kill] = per_kill.get(kill, 0) + 1
    for sent, kill in repeats[:12]:
        platform = "discord" if sent.chat >= DISCORD_BASE else "telegram"
        lines = len(by_message[sent.message])
        when = f"{kill - first_copy[(sent.chat, sent.level)].at:.2f} s before kill" if kill else "-"
        fault = run.store_fault_at(kill) if kill else ""
        print(f"  repeated: {platform} chat {sent.chat}, {lines} line(s), first copy {when}"
              f"{', store: ' + fault if fault else ''}")  # fmt: skip
    false = [s for s in sends if s.level > max(p for t, p in run.price_max if t <= s.at)]
    stalls = []
    for pair, sends in copies.items():
        created = raised.get(pair)
        if created is not None and created != datetime.max:
            stalls.append(sends[0].at - created.timestamp())
    timed = [(pair, sends[0].at) for pair, sends in copies.items()
             if raised.get(pair) not in (None, datetime.max)]  # fmt: skip
    longest = sorted(((at - raised[p].timestamp(), p, at) for p, at in timed), reverse=True)[:3]
    for stall, (chat, level), at in longest:
        since = at - stall
        kills = sum(1 for k in run.kills if since <= k <= at)
        down = sum(max(0.0, min(b, at) - max(a, since)) for a, b, _ in run.store_down)
        print(f"  stall {stall:5.1f} s: chat {chat} level {level}, raised at"
              f" +{since - started:.0f} s; {kills} kill(s) and {down:.0f} s of store faults"
              " in between")  # fmt: skip
    print()
    print(f"run time                 {time.time() - started:8.0f} s")
    print(f"kills (SIGKILL)          {len(run.kills):8d}")
    upstream = sum(v for k, v in run.faults.items() if k in ("5xx", "garbage", "slow"))
    print(f"upstream faults          {upstream:8d}"
          f"  ({', '.join(f'{k} {v}' for k, v in sorted(run.faults.items()))})")  # fmt: skip
    print(f"telegram 429s answered   {world.telegram.count_429:8d}")
    print(f"discord 429s answered    {world.discord.count_429:8d}"
          f"  (repeats Discord dropped by nonce: {world.discord.repeats_dropped})")  # fmt: skip
    print(f"alerts expected          {len(expected):8d}")
    print(f"alerts raised            {len(raised):8d}")
    print(f"delivered                {len(delivered):8d}")
    print(f"refused for good         {len(refused):8d}  (2 chats answering '{REFUSING}')")
    print(f"lost                     {len(lost):8d}  {lost[:5] if lost else ''}")
    print(f"duplicated messages      {len(repeats):8d}  ({in_window} in the send-then-record"
          f" window; most for one kill: {max(per_kill.values(), default=0)},"
          f" kills with any: {len(per_kill)})")  # fmt: skip
    print(f"  (alert lines repeated  {len(duplicated):8d}: one message names every level its"
          " chat crossed in that tick)")  # fmt: skip
    print(f"false alerts             {len(false):8d}")
    print(f"longest stall            {max(stalls, default=0):8.1f} s  (raised → accepted, "
          "restarts included)")  # fmt: skip
    print(f"stalls measured          {len(stalls):8d}")
    print(f"median stall             {sorted(stalls)[len(stalls) // 2] if stalls else 0:8.1f} s")
    print(f"final process exit code  {final.process.returncode}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--discord", type=int, default=6)
    parser.add_argument("--levels", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    asyncio.run(main(parser.parse_args()))
