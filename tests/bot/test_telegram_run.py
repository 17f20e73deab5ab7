"""`liqwatch run` with TELEGRAM_TOKEN, as a real process: the Telegram adapter and the scheduler on
one event loop, against the fake Bot API and the loopback exchange started in the test process.
It serves, stops cleanly on SIGTERM (exit 0, no traceback) and never prints the token; a start
that cannot work ends in one line on stderr and exit code 1.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import pytest

from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram_api import FakeTelegramAPI

USER = 5001
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def fake():
    api = FakeTelegramAPI()
    await api.start()
    yield api
    await api.stop()


def write_config(path: Path, exchange: FakeExchange, fake: FakeTelegramAPI) -> Path:
    path.write_text(
        f"""
[data]
source = "estimate"
venues = ["binance"]
[sources.binance]
base_url = "{exchange.url}"
timeout_seconds = 5
[estimator]
days = 2
[store]
path = "{path.parent / "run.db"}"
[telegram]
api_base_url = "{fake.api_base_url}"
[log]
level = "DEBUG"
"""
    )
    return path


async def start_run(config: Path, token: str) -> asyncio.subprocess.Process:
    """`python -m bot run --config FILE`, the token in the environment, as an operator runs it."""
    env = {**os.environ, "TELEGRAM_TOKEN": token, "MPLBACKEND": "Agg"}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--config",
        str(config),
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_run_serves_telegram_and_stops_cleanly_on_sigterm(fake, exchange, tmp_path):
    process = await start_run(write_config(tmp_path / "config.toml", exchange, fake), fake.token)
    try:
        await fake.push(fake.message(USER, USER, "/liq BTC"))  # waits for the first poll
        (photo,) = await fake.wait_for("sendPhoto", timeout=30)
        assert photo.params["caption"].startswith("<b>BTC")
        assert fake.calls_to("setMyCommands")
        await fake.wait_received("getUpdates", len(fake.calls_to("getUpdates")) + 1)
        process.send_signal(signal.SIGTERM)  # with a long poll pending
        _, stderr = await asyncio.wait_for(process.communicate(), 15)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = stderr.decode()
    assert process.returncode == 0, log
    assert "Traceback" not in log and "Task was destroyed" not in log
    assert fake.token not in log and fake.token.split(":")[1] not in log
    assert "shutting down" in log


async def test_run_with_a_rejected_token_says_so_in_one_line_without_the_token(
    fake, exchange, tmp_path
):
    wrong = "999:WRONG-token-0123456789abcdef"
    process = await start_run(write_config(tmp_path / "config.toml", exchange, fake), wrong)
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    log = stderr.decode()
    assert process.returncode == 1, log
    assert "liqwatch: [telegram] token was rejected" in log
    assert "Traceback" not in log and wrong not in log and "WRONG-token" not in log


async def test_run_without_a_reachable_bot_api_says_so_in_one_line(fake, exchange, tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    config = write_config(tmp_path / "config.toml", exchange, fake)
    config.write_text(config.read_text().replace(f":{fake.port}/", f":{closed}/"))
    process = await start_run(config, fake.token)
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    log = stderr.decode()
    assert process.returncode == 1, log
    assert f"liqwatch: telegram: cannot start the bot via http://127.0.0.1:{closed}/bot" in log
    assert "Traceback" not in log and fake.token not in log
