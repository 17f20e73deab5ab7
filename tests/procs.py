"""Real `liqwatch run` processes for end-to-end tests, against the loopback fakes.

    exchange = WatchedExchange().start()          # FakeExchange that can be waited on
    telegram = FakeTelegramAPI(); await telegram.start()
    config = write_config(tmp_path, exchange, telegram.api_base_url, db_path)
    bot = BotProcess.start(config, telegram.token, tmp_path / "a.log")
    ...
    bot.kill()                                    # SIGKILL, like `kill -9`
    assert "Traceback" not in bot.stderr()

Waiting is always on something a fake recorded (a request, an API call), with a timeout.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug import Request, Response

from tests.fakes.exchange import KLINES, FakeExchange, RecordedRequest
from tests.fakes.telegram_api import FakeTelegramAPI

ROOT = Path(__file__).resolve().parent.parent
# Alert ticks of the test processes: the 5 s of the config's floor made each wait for "one more
# tick" cost seconds; with the 1 s delivery pass this keeps every ordering the tests rely on.
TEST_TICK_SECONDS = 1.0


class WatchedExchange(FakeExchange):
    """A FakeExchange whose requests can be awaited (it serves from threads, tests run a loop)."""

    def __init__(self, **kwargs: Any) -> None:
        self._seen = threading.Condition()
        super().__init__(**kwargs)

    def _handle(self, request: Request) -> Response:
        try:
            return super()._handle(request)
        finally:
            with self._seen:
                self._seen.notify_all()

    async def wait_requests(
        self,
        path: str,
        count: int,
        where: Callable[[RecordedRequest], bool] | None = None,
        timeout: float = 10.0,
    ) -> list[RecordedRequest]:
        """Wait until `count` requests to `path` (matching `where`) were answered."""

        def matching() -> list[RecordedRequest]:
            return [r for r in self.requests(path) if where is None or where(r)]

        def block() -> bool:
            with self._seen:
                return self._seen.wait_for(lambda: len(matching()) >= count, timeout)

        if not await asyncio.to_thread(block):
            raise TimeoutError(f"{len(matching())} of {count} requests to {path} in {timeout}s")
        return matching()

    def alert_checks(self, coin: str = "BTC") -> int:
        """Alert ticks so far: each tick asks for the 1-minute candles of every watched symbol."""
        return len([r for r in self.requests(KLINES) if _is_tick_of(r, coin)])

    async def wait_alert_checks(self, count: int, coin: str = "BTC", timeout: float = 15) -> None:
        """Wait until `count` alert ticks in all have asked for `coin`'s 1-minute candles."""
        await self.wait_requests(KLINES, count, lambda r: _is_tick_of(r, coin), timeout=timeout)


def _is_tick_of(request: RecordedRequest, coin: str) -> bool:
    return request.query.get("interval") == "1m" and request.query.get("symbol") == f"{coin}USDT"


def write_config(
    directory: Path,
    exchange: FakeExchange,
    telegram_api_base_url: str,
    db_path: Path,
    feeds: str | None = None,
) -> Path:
    """A TOML config for `liqwatch run`: estimate source on the fake exchange, fastest alert ticks.

    cache_seconds = 1 so that each 5-second tick sees the fake's current price. The re-arm margin
    is wide (1 %) so that a rule re-arms only when a test moves the price back on purpose: the
    alert engine re-arms on the low of the 1-minute candle that also holds the prices from before
    the alert, and the fake's random walk may dip 0.3 % within a minute. The Telegram token comes
    from the environment, as in production. The live liquidation feeds are off (their default
    venues are real hosts) unless `feeds` gives the `[feeds]` section's lines, pointed at fakes.
    """
    path = directory / "liqwatch.toml"
    path.write_text(
        f"""
[data]
source = "estimate"
cache_seconds = 1
venues = ["binance"]  # the fake serves Binance only

[sources.binance]
base_url = "{exchange.url}"
timeout_seconds = 5

[estimator]
days = 1

[store]
path = "{db_path}"

[alerts]
check_seconds = 5
rearm_margin_pct = 1.0

[telegram]
api_base_url = "{telegram_api_base_url}"

[feeds]
{feeds if feeds is not None else "enabled = false"}

[log]
level = "INFO"
""",
        encoding="utf-8",
    )
    return path


class BotProcess:
    """One `python -m bot run` child; its stderr goes to a file (a full pipe would block it)."""

    def __init__(self, process: subprocess.Popen, log_path: Path):
        self.process = process
        self.log_path = log_path

    @classmethod
    def start(
        cls, config: Path, token: str, log_path: Path, check_seconds: float | None = None
    ) -> BotProcess:
        """`check_seconds`: alert ticks this often instead of the config's (whose floor is 5 s),
        through `run`'s hidden --check-seconds; tests pass TEST_TICK_SECONDS."""
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "TELEGRAM_TOKEN": token,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", "--config", str(config)]
                + (["--check-seconds", str(check_seconds)] if check_seconds else []),
                cwd=config.parent,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return cls(process, log_path)

    def kill(self) -> None:
        """SIGKILL, as `kill -9` would: no handler, no cleanup, no last commit."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stderr(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    @property
    def running(self) -> bool:
        return self.process.poll() is None


# The fixtures of the real-process tests: importing `market_fixture` and `telegram_fixture`
# gives a test module `market` (the watched exchange) and `telegram` (the fake Bot API).


@pytest.fixture(name="market")
def market_fixture() -> Iterator[WatchedExchange]:
    with WatchedExchange() as fake:
        yield fake


@pytest.fixture(name="telegram")
async def telegram_fixture() -> AsyncIterator[FakeTelegramAPI]:
    fake = FakeTelegramAPI()
    await fake.start()
    yield fake
    await fake.stop()
