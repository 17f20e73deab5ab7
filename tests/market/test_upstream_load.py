"""However many people watch a symbol, the exchange sees the same requests per refresh."""

from __future__ import annotations

from bot.app import build
from core.types import Caller
from tests.fakes.exchange import FakeExchange
from tests.helpers import ManualClock, RecordingSender


async def requests_for_one_refresh(exchange: FakeExchange, tmp_path, watchers: int) -> int:
    clock = ManualClock()
    cfg = exchange.config("estimate", estimator={"days": 2})
    cfg.set("store", "path", str(tmp_path / f"w{watchers}.db"))
    app = build(cfg, clock=clock)
    app.add_sender(RecordingSender())
    try:
        for n in range(watchers):
            await app.service.handle(Caller("console", f"chat{n}", f"user{n}"), "/watch BTC")
        clock.advance(cfg.get("data", "cache_seconds") + 1)  # the cached map is now stale
        exchange.reset_counts()
        await app.monitor.tick()
        await app.deliverer.deliver_due()
        return exchange.total_requests()
    finally:
        await app.aclose()


async def test_thousand_watchers_cost_the_same_requests_as_one(exchange, tmp_path):
    one = await requests_for_one_refresh(exchange, tmp_path, 1)
    thousand = await requests_for_one_refresh(exchange, tmp_path, 1000)
    assert one > 0
    assert thousand == one
