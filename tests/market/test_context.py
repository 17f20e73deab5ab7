"""Funding and open interest beside the map: read from Binance's real shapes, cached, one line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.app import build
from core.market.context import (
    OPEN_INTEREST_HIST,
    PREMIUM_INDEX,
    ContextReader,
    MarketContext,
    parse_funding,
    parse_open_interest,
)
from core.market.sources.binance import BinanceClient
from core.render.context import context_line
from core.types import Caller
from tests.helpers import RecordingSender

REAL = "tests/data/real/binance"


def real(name: str):
    with open(f"{REAL}/{name}.json") as f:
        return json.load(f)["body"]


def test_funding_is_read_from_the_recorded_premium_index():
    rate, when = parse_funding(real("premium_index_btcusdt"))
    assert rate == 0.00001226
    assert when == datetime.fromtimestamp(1687248000, UTC)


def test_open_interest_change_needs_a_day_of_rows():
    rows = real("open_interest_hist_btcusdt_5m_with_cmc")
    usd, change = parse_open_interest(rows)
    assert usd == 8785091375.3791 and change is None  # two rows are not 24 h
    day = [dict(rows[0], timestamp=1_700_000_000_000 + h * 3_600_000,
                sumOpenInterestValue=str(8e9 * (1 + h / 240))) for h in range(25)]  # fmt: skip
    usd, change = parse_open_interest(day)
    assert round(change, 1) == 10.0


def test_one_line_with_rate_next_funding_and_oi():
    now = datetime(2025, 1, 5, 12, 0, tzinfo=UTC)
    ctx = MarketContext("BTC", 0.0001, now + timedelta(hours=3, minutes=12), 8.21e9, 2.34)
    assert context_line(ctx, now) == "Funding +0.0100% · next in 3h 12m · OI $8.21B (+2.3% 24h)"
    assert context_line(MarketContext("BTC", None, None, None, None), now) is None


async def test_context_is_fetched_once_per_five_minutes(exchange):
    clock = [datetime.now(UTC)]
    client = BinanceClient.from_config(exchange.config())
    try:
        reader = ContextReader(client, clock=lambda: clock[0])
        first = await reader.get("BTC")
        assert first.funding_rate == 0.0001 and first.open_interest_usd > 0
        assert first.open_interest_change_pct is not None
        await reader.get("BTC")
        assert exchange.count(PREMIUM_INDEX) == exchange.count(OPEN_INTEREST_HIST) == 1
        clock[0] += timedelta(minutes=6)
        await reader.get("BTC")
        assert exchange.count(PREMIUM_INDEX) == 2
        exchange.fail(PREMIUM_INDEX, 400, body={"code": -1121, "msg": "Invalid symbol."})
        assert await reader.get("NOPE") is None  # no context, no crash
    finally:
        await client.aclose()


async def test_liq_shows_funding_and_oi_in_its_context(exchange, tmp_path):
    cfg = exchange.config(
        "estimate", estimator={"days": 1, "interval": "15m"}, store={"path": str(tmp_path / "db")}
    )
    app = build(cfg)
    try:
        [report] = await app.service.handle(Caller("console", "c", "u"), "/liq BTC")
        context = next(s for s in report.sections if s.name == "Context")
        assert any(line.startswith("Funding +0.0100% · next in ") for line in context.lines)
        assert "OI $" in context.lines[-1]
    finally:
        await app.aclose()


async def test_a_summary_gets_funding_and_oi_in_two_lines(exchange, tmp_path):
    cfg = exchange.config(
        "estimate", estimator={"days": 1, "interval": "15m"}, store={"path": str(tmp_path / "db")}
    )
    app = build(cfg)
    sender = RecordingSender()
    app.add_sender(sender)
    try:
        await app.service.handle(Caller("console", "c", "u"), "/summary BTC ETH every 4h")
        [summary] = app.store.summaries()
        assert await app.monitor.run_summary(summary["id"])
        await app.deliverer.deliver_due()
        [(_, message)] = sender.sent
        context = next(s for s in message.sections if s.name == "Context")
        assert "Funding: BTC +0.0100% · ETH +0.0100%" in context.lines
        assert any(line.startswith("OI 24h: BTC ") for line in context.lines)
    finally:
        await app.aclose()
