"""`liqwatch demo` as a new user runs it: `/watch BTC`, and a breakout alert arrives within about
a minute, on its own, in a real process reading a real pipe."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

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


def test_demo_watch_gives_a_breakout_alert_within_a_minute(tmp_path):
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
        started = time.monotonic()
        process.stdin.write(b"/watch BTC\n")
        process.stdin.flush()
        output = read_until(process, "breakout", 75)
        waited = time.monotonic() - started
        assert "Watching BTC" in output
        assert "BTC breakout" in output, output
        assert waited < 75
        process.stdin.write(b"/quit\n")
        process.stdin.flush()
        assert process.wait(timeout=15) == 0
        assert b"Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
