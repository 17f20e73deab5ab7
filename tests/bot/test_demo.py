"""`liqwatch demo` as a new user runs it: `/watch BTC`, and a breakout alert arrives within about
a minute, on its own: a real process reading a real pipe, and the same demo in this process on a
fast wall clock for the minute."""

from __future__ import annotations

import asyncio
import io
import os
import selectors
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import time_machine

import bot.app
from bot.__main__ import DEMO_GREETING, cmd_chat, demo_config
from bot.app import App

ROOT = Path(__file__).resolve().parents[2]


def read_until(process: subprocess.Popen, needle: str, timeout: float) -> str:
    """Everything the process printed until `needle` appeared (or the timeout passed)."""
    seen = ""
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while needle not in seen and time.monotonic() < deadline:
        if selector.select(timeout=deadline - time.monotonic()):
            chunk = os.read(process.stdout.fileno(), 65536).decode()
            if not chunk:
                break
            seen += chunk
    return seen


def test_demo_in_a_real_process_answers_watch_and_quits_cleanly(tmp_path):
    """The process and its pipes; the breakout's minute is the test below (the demo's clock run
    fast), which spared this one 36 s of waiting for the price path."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "demo"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        greeting = read_until(process, "/watch BTC", 20)
        assert "SAMPLE DATA" in greeting
        process.stdin.write(b"/watch BTC\n")
        process.stdin.flush()
        output = read_until(process, "Breakout alerts on", 20)
        assert "Watching BTC" in output, output
        process.stdin.write(b"/quit\n")
        process.stdin.flush()
        assert process.wait(timeout=15) == 0
        assert b"Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


async def test_demo_watch_gives_a_breakout_alert_within_a_minute_of_its_clock(monkeypatch):
    """The same demo (its config, `cmd_chat` and the real scheduler) in this process, its wall
    clock run fast with time-machine: one second every 20 ms, the scheduler woken after each
    step (the event loop's own clock is not moved). The minute is the demo's own."""
    apps: list[App] = []
    real_build = bot.app.build

    def build_and_keep(cfg, **kwargs) -> App:
        apps.append(real_build(cfg, **kwargs))
        return apps[-1]

    read_end, write_end = os.pipe()
    typed = os.fdopen(write_end, "w")
    screen = io.StringIO()  # sys.stdout: what the console printed
    monkeypatch.setattr(bot.app, "build", build_and_keep)
    monkeypatch.setattr(sys, "stdin", os.fdopen(read_end, "r"))
    monkeypatch.setattr(sys, "stdout", screen)
    with time_machine.travel(datetime.now(UTC), tick=True) as traveller:
        chat = asyncio.create_task(cmd_chat(demo_config(), DEMO_GREETING, 5.0))

        async def run_until(needle: str, limit: timedelta) -> timedelta:
            started = datetime.now(UTC)
            while needle not in screen.getvalue() and datetime.now(UTC) - started < limit:
                await asyncio.sleep(0.02)  # the pace of the fast clock, not a wait for an event
                traveller.shift(timedelta(seconds=1))
                if apps and apps[0].jobs.scheduler.running:
                    apps[0].jobs.scheduler.wakeup()
            return datetime.now(UTC) - started

        try:
            await run_until("/watch BTC", timedelta(seconds=20))
            assert "SAMPLE DATA" in screen.getvalue()
            typed.write("/watch BTC\n")
            typed.flush()
            waited = await run_until("BTC breakout", timedelta(seconds=75))
            typed.write("/quit\n")
            typed.flush()
            assert await asyncio.wait_for(chat, 15) == 0
        finally:
            typed.close()  # the console's reader thread sees the end of its input
            if not chat.done():
                chat.cancel()
    output = screen.getvalue()
    assert "Watching BTC" in output
    assert "BTC breakout" in output, output
    assert waited < timedelta(seconds=75)
