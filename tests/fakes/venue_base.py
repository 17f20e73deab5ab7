"""What the Bybit and OKX fakes share: a loopback server, simulated markets, a request log and
queued faults (the same conventions as tests/fakes/exchange.FakeExchange).

    fake.add_symbol("BTC", 90_131.71, oi_usd=5e9)   # 31 days of ticks (tests/fakes/exchange_data)
    fake.set_price("BTC", 95_000)
    fake.fail(path, status=500, times=1, body=None, html=None)
    fake.count(path); fake.requests(path); fake.total_requests(); fake.reset_counts()

Markets are seeded by the coin's name, like FakeExchange's: the same coin at the same price walks
the same path on every fake, so candles agree across venues (as they nearly do on real ones).
"""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from werkzeug import Request, Response

from tests.fakes.exchange import Fault, RequestLog, _Server
from tests.fakes.exchange_data import DAY_MS, HISTORY_DAYS, TICK_MS, WORKED_PRICE, Market

REAL = Path(__file__).resolve().parent.parent / "data" / "real"


def recorded_body(venue: str, name: str) -> Any:
    """The `body` of a recorded real payload, tests/data/real/<venue>/<name>.json."""
    return json.loads((REAL / venue / f"{name}.json").read_text())["body"]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers=headers, content_type="application/json")


class VenueFake(RequestLog):
    """Base of FakeBybit and FakeOkx: subclasses set `routes()` and `_error_body`."""

    def __init__(self, *, clock: Callable[[], datetime] | None = None, default_symbols=True):
        self.clock = clock or (lambda: datetime.now(UTC))
        super().__init__()
        self._stopping = threading.Event()
        self.markets: dict[str, Market] = {}
        self._server = _Server(self._handle)
        if default_symbols:
            self.add_symbol("BTC", WORKED_PRICE, oi_usd=5e9)
            self.add_symbol("ETH", 3_012.5, oi_usd=2e9)

    def start(self):
        self._stopping.clear()
        self._server.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server.is_running():
            server = self._server.server
            self._server.stop()
            if server is not None:
                server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    def now_ms(self) -> int:
        return int(self.clock().timestamp() * 1000)

    def add_symbol(
        self, coin: str, price: float, *, oi_usd: float = 1e9, oi_growth_pct_per_day: float = 1.0
    ) -> None:
        now = self.now_ms()
        count = HISTORY_DAYS * DAY_MS // TICK_MS
        times = now - TICK_MS * np.arange(count, 0, -1, dtype=np.int64) + TICK_MS
        rng = np.random.default_rng(zlib.crc32(coin.encode()))
        walk = np.cumsum(rng.normal(0, 0.0004, count))
        prices = price * np.exp(walk - walk[-1])
        with self._lock:
            self.markets[coin.upper()] = Market(
                times, prices, oi_usd, oi_growth_pct_per_day, history_end_ms=now
            )

    def set_price(self, coin: str, price: float) -> None:
        with self._lock:
            market = self.markets[coin.upper()]
            at = max(self.now_ms(), int(market.times[-1]) + 1)
            market.times = np.append(market.times, np.int64(at))
            market.prices = np.append(market.prices, float(price))

    def price(self, coin: str) -> float:
        with self._lock:
            return self.markets[coin.upper()].price_at(self.now_ms())

    def fail(
        self,
        path: str,
        status: int | None = None,
        *,
        times: int = 1,
        body: Any = None,
        html: str | None = None,
        retry_after: float | None = None,
        delay: float | None = None,
    ) -> None:
        """The next `times` requests to `path` get this reply (default HTTP 500, or 200 when only
        a body is given); `html` is served as text/html (a CloudFront page). `delay` alone: the
        usual answer, that many seconds late (a slow venue; stopping the server releases it)."""
        if status is None:
            status = 200 if (body is not None or delay) else 500
        fault = Fault(
            status, times, retry_after, body if html is None else html, html is not None, delay
        )
        self._queue_fault(path, fault)

    # ---- HTTP --------------------------------------------------------------------------

    def routes(self) -> dict[str, Callable[[dict[str, str]], Response]]:
        raise NotImplementedError

    def not_found(self) -> Response:
        return json_response({"msg": "not found"}, 404)

    def _handle(self, request: Request) -> Response:
        query, fault = self._arrived(request)
        if fault is not None and fault.delay:
            self._stopping.wait(fault.delay)
            if fault.status == 200 and fault.body is None:
                fault = None  # late, but the usual answer
        if fault is not None:
            headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after else {}
            if fault.garbage:
                return Response(fault.body, fault.status, headers=headers, content_type="text/html")
            body = fault.body if fault.body is not None else {"msg": "fault"}
            return json_response(body, fault.status, headers)
        route = self.routes().get(request.path)
        if route is None:
            return self.not_found()
        with self._lock:
            return route(query)


def grid_between(first: int, last: int, step: int) -> list[int]:
    """Grid times t with first <= t <= last, ascending."""
    start = first + (-first % step)
    return list(range(start, last + 1, step))
