"""A fake Binance USD-M + Coinglass v4 on 127.0.0.1, answering like the documented APIs.

Usable from sync and async tests (it serves from its own threads) and from benchmarks:

    from tests.fakes.exchange import FakeExchange, exchange_fixture  # noqa: F401
    #   (importing exchange_fixture provides the pytest fixture named `exchange`)

    def test_x(exchange: FakeExchange):          # started, with BTC at $90,131.71 and ETH
        cfg = exchange.config("estimate")        # a core.config.Config pointing at the fake
        exchange.set_price("BTC", 95_000)        # the mark price and the klines move with it
        exchange.count(KLINES)                   # requests seen on a path (RecordedRequest list:
        exchange.requests(KLINES)                #   .query, .headers)

    with FakeExchange() as fake: ...             # outside pytest

Markets (tests/fakes/exchange_data.py, with the Coinglass row builders and the worked example;
the answers per endpoint are in tests/fakes/exchange_endpoints.py):
`add_symbol(coin, price, oi_usd=..., oi_growth_pct_per_day=...)` creates 31 days of
15-second price ticks (a seeded random walk ending at `price`); klines of every interval are
aggregated from the ticks, so 1m/5m/1h/1d agree with each other and with the mark price, and a
`set_price` shows up in the current candle's high/low (wick-aware alerts see it).
openInterestHist grows linearly (with a small wave, so it also falls at times); its timestamps
sit on the period grid and mark the end of a period. `sumOpenInterestValue` is USD.

Binance rules enforced, so a client that breaks them fails its tests: klines limit <= 1500,
openInterestHist limit <= 500 and startTime within the last 30 days, valid intervals; unknown
symbols get HTTP 400 `{"code":-1121,"msg":"Invalid symbol."}`.

Coinglass: `set_coinglass_map(coin, rows_by_price)` serves
`{"code":"0","msg":"success","data":{"data":rows_by_price}}` at COINGLASS_MAP, only with the
header `CG-API-KEY: <coinglass_key>` (else HTTP 401 `{"code":"401",...}`); coins without a map
get `{"code":"400","msg":"symbol not supported"}`.

Faults, consumed in order per path: `fail(path, status=500, times=1, retry_after=None,
body=None, garbage=False, delay=None)`; `rate_limit(path, retry_after)`; `upgrade_plan()`.
A delay holds the reply (for client timeouts); stopping the server releases it.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from pytest_httpserver.httpserver import HTTPServerBase
from werkzeug import Request, Response

from bot.config import SCHEMA, Config
from tests.fakes import exchange_universe as universe
from tests.fakes.exchange_data import (  # noqa: F401  (re-exported: tests build payloads from here)
    DAY_MS,
    HISTORY_DAYS,
    INTERVALS_MS,
    MINUTE_MS,
    OI_PERIODS,
    TICK_MS,
    WORKED_LONG_EDGE,
    WORKED_LONG_TOTAL,
    WORKED_PRICE,
    WORKED_SHORT_EDGE,
    WORKED_SHORT_TOTAL,
    Market,
    coinglass_rows,
    worked_example_map,
)

# (the paths are re-exported: tests import them from here)
from tests.fakes.exchange_endpoints import (
    COINGLASS_MAP,
    KLINES,
    OPEN_INTEREST,
    PREMIUM_INDEX,
    coinglass_map,
    json_response,
    klines,
    open_interest,
    premium_index,
)

logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access-log line per request


class RecordingSleep:
    """An injectable `sleep` that returns at once and remembers what it was asked to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class Fault:
    status: int
    times: int = 1
    retry_after: float | None = None
    body: Any = None
    garbage: bool = False
    delay: float | None = None


class _Server(HTTPServerBase):
    """pytest-httpserver's threaded werkzeug server, dispatching to one handler, keeping no log."""

    def __init__(self, handler: Callable[[Request], Response]):
        super().__init__("127.0.0.1", 0, threaded=True)
        self._handler = handler

    def dispatch(self, request: Request) -> Response:
        return self._handler(request)

    def application(self, request: Request) -> Response:
        request.get_data()
        return self.dispatch(request)

    def thread_target(self) -> None:
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.02)  # stop() returns quickly


class RequestLog:
    """What every loopback venue fake keeps under one lock: each request as it arrived, and the
    faults queued for the next requests to a path (`Fault.times` of them each)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._requests: dict[str, list[RecordedRequest]] = defaultdict(list)

    def _queue_fault(self, path: str, fault: Fault) -> None:
        with self._lock:
            self._faults[path].append(fault)

    def _arrived(self, request: Request) -> tuple[dict[str, str], Fault | None]:
        """Log `request`; its query and the fault it is to get, if any."""
        query = {k: v for k, v in request.args.items()}
        with self._lock:
            self._requests[request.path].append(
                RecordedRequest(request.path, query, dict(request.headers))
            )
            return query, self._take_fault(request.path)

    def _take_fault(self, path: str) -> Fault | None:
        queue = self._faults.get(path)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.popleft()
        return fault

    def requests(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests[path])

    def count(self, path: str) -> int:
        with self._lock:
            return len(self._requests[path])

    def total_requests(self) -> int:
        """Requests seen on every path since the last reset."""
        with self._lock:
            return sum(len(seen) for seen in self._requests.values())

    def reset_counts(self) -> None:
        with self._lock:
            self._requests.clear()


class FakeExchange(RequestLog):
    """See the module docstring."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        coinglass_key: str = "cg-test-key",
        default_symbols: bool = True,
    ):
        self.clock = clock or (lambda: datetime.now(UTC))
        self.coinglass_key = coinglass_key
        super().__init__()
        self._stopping = threading.Event()
        self._markets: dict[str, Market] = {}
        self._coinglass: dict[str, dict] = {}
        self._server = _Server(self._handle)
        # the universe endpoints (tests/fakes/exchange_universe.py): listings that are not
        # trading perpetuals ({"coin", "status"/"contractType"...}) and 24 h volume multipliers
        self.listings_extra: list[dict[str, Any]] = []
        self.volume_scale: dict[str, float] = {}
        if default_symbols:
            self.add_symbol("BTC", WORKED_PRICE, oi_usd=8e9)
            self.add_symbol("ETH", 3_012.5, oi_usd=4e9)

    # ---- lifecycle ---------------------------------------------------------------------

    def start(self) -> FakeExchange:
        self._stopping.clear()
        self._server.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases delayed replies
        if self._server.is_running():
            server = self._server.server
            self._server.stop()
            if server is not None:
                server.server_close()

    def __enter__(self) -> FakeExchange:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    binance_url = coinglass_url = url

    def config(self, source: str = "estimate", **sections: dict[str, Any]) -> Config:
        """A Config pointing both sources at this fake, with the fake's Coinglass key and short
        timeouts; `sections` override values, e.g. `estimator={"days": 2}`."""
        values = SCHEMA.defaults()
        values["data"]["source"] = source
        values["data"]["venues"] = [
            "binance"
        ]  # this fake serves Binance only (tests/fakes/okx.py...)
        values["sources.binance"].update(base_url=self.url, timeout_seconds=2.0)
        values["sources.coinglass"].update(
            base_url=self.url, api_key=self.coinglass_key, timeout_seconds=2.0
        )
        cfg = Config(values=values, schema=SCHEMA)
        for section, overrides in sections.items():
            for key, value in overrides.items():
                cfg.set(section.replace("__", "."), key, value)
        return cfg

    # ---- market state ------------------------------------------------------------------

    def now_ms(self) -> int:
        return int(self.clock().timestamp() * 1000)

    def add_symbol(
        self, coin: str, price: float, *, oi_usd: float = 1e9, oi_growth_pct_per_day: float = 1.0
    ) -> None:
        """A listed coin with 31 days of history ending at `price` now."""
        now = self.now_ms()
        count = HISTORY_DAYS * DAY_MS // TICK_MS
        times = now - TICK_MS * np.arange(count, 0, -1, dtype=np.int64) + TICK_MS
        rng = np.random.default_rng(zlib.crc32(coin.encode()))
        walk = np.cumsum(rng.normal(0, 0.0004, count))  # ~3 % a day
        prices = price * np.exp(walk - walk[-1])
        with self._lock:
            self._markets[coin.upper()] = Market(
                times, prices, oi_usd, oi_growth_pct_per_day, history_end_ms=now
            )

    def set_price(self, coin: str, price: float) -> None:
        """The mark price from now on; the current candle's high/low include it."""
        with self._lock:
            market = self._markets[coin.upper()]
            at = max(self.now_ms(), int(market.times[-1]) + 1)
            market.times = np.append(market.times, np.int64(at))
            market.prices = np.append(market.prices, float(price))

    def price(self, coin: str) -> float:
        with self._lock:
            return self._markets[coin.upper()].price_at(self.now_ms())

    def set_coinglass_map(self, coin: str, rows_by_price: dict[str, list[list]]) -> None:
        with self._lock:
            self._coinglass[coin.upper()] = rows_by_price

    # ---- faults and request log --------------------------------------------------------

    def fail(
        self,
        path: str,
        status: int | None = None,
        *,
        times: int = 1,
        retry_after: float | None = None,
        body: Any = None,
        garbage: bool = False,
        delay: float | None = None,
    ) -> None:
        """The next `times` requests to `path` get this fault. Default status: 500, or 200 when
        only a body, garbage or a delay is given."""
        if status is None:
            status = 200 if (body is not None or garbage or delay) else 500
        self._queue_fault(path, Fault(status, times, retry_after, body, garbage, delay))

    def rate_limit(self, path: str, retry_after: float = 1, times: int = 1) -> None:
        body = {"code": -1003, "msg": "Too many requests."} if path != COINGLASS_MAP else None
        self.fail(path, 429, times=times, retry_after=retry_after, body=body)

    def upgrade_plan(self, times: int = 1) -> None:
        self.fail(COINGLASS_MAP, 200, times=times, body={"code": "401", "msg": "Upgrade plan"})

    # ---- HTTP --------------------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        query, fault = self._arrived(request)
        if fault is not None:
            if fault.delay:
                self._stopping.wait(fault.delay)
            if fault.garbage:
                return Response("<html>502 Bad Gateway", fault.status, content_type="text/html")
            if fault.body is not None or fault.status != 200:
                headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after else {}
                body = fault.body if fault.body is not None else {"msg": "fault"}
                return json_response(body, fault.status, headers)
        routes: dict[str, Callable[[], Response]] = {
            PREMIUM_INDEX: lambda: premium_index(self._markets, query, self.now_ms),
            KLINES: lambda: klines(self._markets, query, self.now_ms),
            OPEN_INTEREST: lambda: open_interest(self._markets, query, self.now_ms),
            COINGLASS_MAP: lambda: coinglass_map(
                self._coinglass, self.coinglass_key, query, request.headers
            ),
            universe.EXCHANGE_INFO: lambda: universe.exchange_info(
                self._markets, self.listings_extra, self.now_ms()
            ),
            universe.TICKER_24H: lambda: universe.tickers(
                self._markets, self.listings_extra, self.volume_scale, self.now_ms()
            ),
        }
        route = routes.get(request.path)
        if route is None:
            return json_response({"code": -5000, "msg": "Path not found"}, 404)
        with self._lock:
            return route()


@pytest.fixture(name="exchange")
def exchange_fixture() -> Iterator[FakeExchange]:
    """A started FakeExchange (BTC at $90,131.71, ETH at $3,012.5), stopped after the test."""
    with FakeExchange() as fake:
        yield fake
