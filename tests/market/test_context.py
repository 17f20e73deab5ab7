"""Funding and open interest beside the map: read from Binance's real shapes, cached, one line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import build
from core.market.context import (
    FUNDING_TIME_KEYS,
    OPEN_INTEREST_HIST,
    PREMIUM_INDEX,
    ContextReader,
    MarketContext,
    parse_funding,
    parse_open_interest,
    parse_venue_funding,
)
from core.market.sources.binance import BinanceClient
from core.market.sources.bybit import BybitClient
from core.market.sources.okx import OkxClient
from core.render.context import context_line
from core.types import Caller
from tests.fakes.bybit import TICKERS as BYBIT_TICKERS
from tests.fakes.bybit import FakeBybit
from tests.fakes.okx import FUNDING_RATE as OKX_FUNDING
from tests.fakes.okx import FakeOkx
from tests.helpers import RecordingSender

REAL = "tests/data/real/binance"


async def _no_wait(_seconds: float) -> None:
    return None


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


# ---- funding from Bybit and OKX beside Binance's -----------------------------------------------


def real_body(venue: str, name: str):
    with open(f"tests/data/real/{venue}/{name}.json") as f:
        return json.load(f)["body"]


def test_bybit_and_okx_funding_are_read_from_their_recorded_shapes():
    [ticker] = real_body("bybit", "tickers_docs_inverse")["result"]["list"]
    assert parse_venue_funding(ticker, FUNDING_TIME_KEYS["bybit"]) == (
        0.0001,
        datetime.fromtimestamp(1760371200, UTC),
    )
    [row] = real_body("okx", "funding_rate_docs")["data"]
    rate, when = parse_venue_funding(row, FUNDING_TIME_KEYS["okx"])
    assert rate == 0.0000182221218054  # the coming settlement's, at fundingTime
    assert when == datetime.fromtimestamp(1743609600, UTC)
    assert parse_venue_funding({"fundingRate": "", "fundingTime": "0"}, "fundingTime") == (
        None,
        None,
    )


def test_one_line_names_each_venue_that_answered():
    now = datetime(2025, 1, 5, 12, 0, tzinfo=UTC)
    rates = (("Binance", 0.0001), ("Bybit", 0.000095), ("OKX", 0.00012))
    ctx = MarketContext("BTC", 0.0001, now + timedelta(hours=3, minutes=12), None, None, rates)
    assert context_line(ctx, now) == (
        "Funding Binance +0.0100% · Bybit +0.0095% · OKX +0.0120% · next in 3h 12m"
    )


@pytest.fixture
def venues(exchange):
    with FakeBybit(clock=exchange.clock) as bybit, FakeOkx(clock=exchange.clock) as okx:
        bybit.funding_rate, okx.funding_rate = 0.000095, 0.00012
        yield exchange, bybit, okx


async def test_funding_of_three_venues_and_a_failed_one_left_out(venues):
    exchange, bybit, okx = venues
    client = BinanceClient.from_config(exchange.config())
    others = [BybitClient(bybit.url, sleep=_no_wait), OkxClient(okx.url, sleep=_no_wait)]
    try:
        reader = ContextReader(client, venues=others)
        found = await reader.get("BTC")
        assert found.funding == (("Binance", 0.0001), ("Bybit", 0.000095), ("OKX", 0.00012))
        assert bybit.count(BYBIT_TICKERS) == okx.count(OKX_FUNDING) == 1
        line = context_line(found, datetime.now(UTC))
        assert line.startswith("Funding Binance +0.0100% · Bybit +0.0095% · OKX +0.0120% · next in")
        assert "OI $" in line
        okx.fail(OKX_FUNDING, 503, times=10)
        bybit.fail(BYBIT_TICKERS, 200, times=10, body={"retCode": 10016, "retMsg": "down"})
        reader = ContextReader(client, venues=others)  # nothing kept: asks again
        alone = await reader.get("ETH")
        assert alone.funding == () and alone.funding_rate == 0.0001  # Binance only, no error
        assert context_line(alone, datetime.now(UTC)).startswith("Funding +0.0100% · next in")
    finally:
        await client.aclose()
        for other in others:
            await other.aclose()


async def test_binance_down_still_shows_the_other_venues_funding(venues):
    exchange, bybit, okx = venues
    exchange.fail(PREMIUM_INDEX, 400, times=10, body={"code": -1121, "msg": "Invalid symbol."})
    client = BinanceClient.from_config(exchange.config())
    others = [BybitClient(bybit.url, sleep=_no_wait), OkxClient(okx.url, sleep=_no_wait)]
    try:
        found = await ContextReader(client, venues=others).get("BTC")
        assert found.funding == (("Bybit", 0.000095), ("OKX", 0.00012))
        assert found.next_funding is not None and found.open_interest_usd is None
        assert context_line(found, datetime.now(UTC)).startswith(
            "Funding Bybit +0.0095% · OKX +0.0120% · next in "
        )
    finally:
        await client.aclose()
        for other in others:
            await other.aclose()


async def test_liq_over_three_venues_shows_their_funding(venues, tmp_path):
    exchange, bybit, okx = venues
    cfg = exchange.config(
        "estimate",
        data={"venues": ["binance", "bybit", "okx"]},
        estimator={"days": 1, "interval": "15m"},
        store={"path": str(tmp_path / "db")},
        sources__bybit={"base_url": bybit.url, "timeout_seconds": 2.0},
        sources__okx={"base_url": okx.url, "timeout_seconds": 2.0},
    )
    app = build(cfg)
    try:
        [report] = await app.service.handle(Caller("console", "c", "u"), "/liq BTC")
    finally:
        await app.aclose()
    context = next(s for s in report.sections if s.name == "Context")
    assert context.lines[-1].startswith(
        "Funding Binance +0.0100% · Bybit +0.0095% · OKX +0.0120% · next in "
    )
