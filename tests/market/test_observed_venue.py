"""Hyperliquid beside Binance in the aggregate: the observed venue's share, its note, its label."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.market.analysis import analyze
from core.market.sources import EstimateSource
from core.market.sources.binance import BinanceClient
from core.market.sources.hyperliquid import HyperliquidClient
from core.market.sources.hyperliquid_venue import ObservedVenue
from core.market.sources.venues import BinanceVenue
from core.render.report import report_json, venue_lines
from core.types import WalletPosition, WalletReading
from tests.fakes.exchange import exchange_fixture  # noqa: F401
from tests.fakes.hyperliquid import FakeHyperliquid

ADDRESS = "0x" + "ab" * 20


class Readings:
    def __init__(self, readings):
        self._readings = readings

    def universe_readings(self):
        return self._readings, 0


@pytest.fixture
def hl(exchange):
    with FakeHyperliquid() as fake:
        yield fake


async def test_hyperliquid_is_one_more_venue_labelled_observed(exchange, hl):
    now = datetime.now(UTC)
    price = exchange.price("BTC")
    hl.set_coin("BTC", mark=price, open_interest=1_000)
    positions = (
        WalletPosition("BTC", -50.0, price, price * 1.05, 20, "cross", 50 * price),
        WalletPosition("BTC", 40.0, price, price * 0.95, 20, "cross", 40 * price),
        WalletPosition("BTC", 10.0, price, None, 20, "cross", 10 * price),
    )
    observed = ObservedVenue(
        HyperliquidClient(hl.url), Readings([WalletReading(ADDRESS, now, positions)])
    )
    source = EstimateSource(venues=[BinanceVenue(BinanceClient(exchange.url)), observed], days=2)
    try:
        snap = await source.snapshot("BTC")
    finally:
        await source.aclose()
    [binance, hyper] = snap.venues
    assert (hyper.name, hyper.method, hyper.status) == ("hyperliquid", "observed", "ok")
    assert hyper.short_usd == pytest.approx(50 * price)
    assert hyper.long_usd == pytest.approx(40 * price)
    assert binance.method == "estimated"
    assert "Hyperliquid observed: 5.0% of OI in 1 wallet," in snap.note
    assert "1 position without a liquidation price apart" in snap.note
    analysis = analyze(snap)
    [split] = venue_lines(snap, analysis)
    assert split.startswith("Binance ") and split.endswith("% (observed)"), split
    assert report_json(snap, analysis)["venues"]["hyperliquid"]["method"] == "observed"


async def test_hyperliquid_without_readings_is_named_unavailable_and_binance_still_answers(
    exchange, hl
):
    hl.set_coin("BTC", mark=90_000, open_interest=10_000)
    observed = ObservedVenue(HyperliquidClient(hl.url), Readings([]))
    source = EstimateSource(venues=[BinanceVenue(BinanceClient(exchange.url)), observed], days=2)
    try:
        snap = await source.snapshot("BTC")
    finally:
        await source.aclose()
    hyper = snap.venues[-1]
    assert hyper.status == "unavailable" and "no wallets to observe" in hyper.error
    lines = venue_lines(snap, analyze(snap))
    assert any(line.startswith("Hyperliquid unavailable: ") for line in lines)
