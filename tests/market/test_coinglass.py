"""Coinglass source over the loopback fake: the worked example, and every documented error."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from core.kernel import fmt
from core.kernel.errors import SourceRejected, SourceUnavailable, UnknownSymbol
from core.market.sources import make_source
from core.market.sources.binance import BinanceClient
from core.market.sources.coinglass import CoinglassSource, levels_from_map
from core.market.sources.http import RetryPolicy
from tests.fakes.exchange import (  # noqa: F401  (exchange_fixture: the `exchange` fixture)
    COINGLASS_MAP,
    KLINES,
    WORKED_PRICE,
    FakeExchange,
    RecordingSleep,
    coinglass_rows,
    exchange_fixture,
)

FIXED_NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def source(fake: FakeExchange, sleep: RecordingSleep | None = None, **kwargs) -> CoinglassSource:
    sleep = sleep or RecordingSleep()
    kwargs.setdefault("retry", RetryPolicy(attempts=3))
    return CoinglassSource(
        fake.coinglass_key,
        fake.url,
        binance=BinanceClient(fake.url, sleep=sleep),
        sleep=sleep,
        clock=lambda: FIXED_NOW,
        **kwargs,
    )


def worked_example_rows() -> dict[str, list[list]]:
    """The market note's map: shorts $2.705B up to $94,681, longs $1.563B down to $86,137."""
    shorts = {90_400: 120e6, 91_200: 285e6, 92_000: 400e6, 93_012: 700e6, 93_800: 500e6}
    shorts[94_681] = 2_705_000_000 - sum(shorts.values())  # the edge takes the rest: 700M
    longs = {89_900: 63e6, 89_000: 250e6, 88_100: 300e6, 87_200: 450e6}
    longs[86_137] = 1_563_000_000 - sum(longs.values())  # 500M
    return coinglass_rows({**shorts, **longs})


async def test_worked_example_gives_the_market_notes_totals_on_the_right_sides(exchange):
    exchange.set_coinglass_map("BTC", worked_example_rows())
    cg = source(exchange)
    snapshot = await cg.snapshot("btc")
    await cg.aclose()
    assert (snapshot.symbol, snapshot.price, snapshot.source) == ("BTC", WORKED_PRICE, "coinglass")
    shorts = [lv for lv in snapshot.levels if lv.short_usd]
    longs = [lv for lv in snapshot.levels if lv.long_usd]
    assert sum(lv.short_usd for lv in shorts) == 2_705_000_000
    assert sum(lv.long_usd for lv in longs) == 1_563_000_000
    assert all(lv.price > WORKED_PRICE and not lv.long_usd for lv in shorts)
    assert all(lv.price < WORKED_PRICE and not lv.short_usd for lv in longs)
    assert max(lv.price for lv in shorts) == 94_681 and min(lv.price for lv in longs) == 86_137
    assert fmt.money_precise(sum(lv.short_usd for lv in shorts)) == "$2.705B"
    assert fmt.ratio(2_705_000_000 / sum(lv.long_usd for lv in longs)) == "1.73×"
    assert snapshot.as_of == FIXED_NOW
    assert snapshot.context is not None and snapshot.context.low_7d <= WORKED_PRICE


async def test_rows_of_one_price_are_summed_and_the_key_is_sent_as_a_header(exchange):
    exchange.set_coinglass_map(
        "BTC", {"95000": [[95000, 100.0, 25, None], [95000, 250.0, 100, None]]}
    )
    cg = source(exchange)
    snapshot = await cg.snapshot("BTC")
    await cg.aclose()
    assert [(lv.price, lv.short_usd) for lv in snapshot.levels] == [(95_000, 350.0)]
    request = exchange.requests(COINGLASS_MAP)[0]
    assert request.query == {"symbol": "BTC", "range": "1d"}
    assert request.headers["Cg-Api-Key"] == exchange.coinglass_key


async def test_bad_values_in_the_payload_are_dropped_not_crashed_on(exchange):
    exchange.set_coinglass_map(
        "BTC",
        {
            "95000": [[95000, float("nan"), 25, None], [95000, 40.0, 50, None]],
            "96000": [[96000, -5e6, 25, None], [96000, "lots", 10, None], [96000, None]],
            "not-a-price": [[0, 1e9, 5, None]],
            "89000": [[89000, float("inf"), 5, None], "junk", [89000], [89000, "70.5"]],
        },
    )
    cg = source(exchange)
    snapshot = await cg.snapshot("BTC")
    await cg.aclose()
    assert [(lv.price, lv.long_usd, lv.short_usd) for lv in snapshot.levels] == [
        (89_000, 70.5, 0.0),
        (95_000, 0.0, 40.0),
    ]


async def test_lower_plan_gets_a_clear_upgrade_plan_error(exchange):
    exchange.set_coinglass_map("BTC", worked_example_rows())
    exchange.upgrade_plan()
    cg = source(exchange)
    with pytest.raises(SourceRejected) as failure:
        await cg.snapshot("BTC")
    await cg.aclose()
    expected = "Coinglass says: Upgrade plan — the liquidation map needs the Professional plan"
    assert str(failure.value) == expected
    assert exchange.count(COINGLASS_MAP) == 1  # a plan problem is not retried


async def test_wrong_key_names_the_setting_and_never_shows_the_key(exchange, caplog):
    exchange.set_coinglass_map("BTC", worked_example_rows())
    sleep = RecordingSleep()
    wrong = "cg-wrong-key-7731"
    cg = CoinglassSource(wrong, exchange.url, binance=BinanceClient(exchange.url), sleep=sleep)
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceRejected) as failure:
        await cg.snapshot("BTC")
    await cg.aclose()
    assert "COINGLASS_API_KEY" in str(failure.value)
    assert wrong not in str(failure.value) and wrong not in caplog.text


def test_no_key_is_refused_at_construction_naming_both_ways_to_set_it(exchange):
    with pytest.raises(SourceRejected) as failure:
        CoinglassSource("", exchange.url)
    assert "COINGLASS_API_KEY" in str(failure.value)
    assert "[sources.coinglass] api_key" in str(failure.value)
    config = exchange.config("coinglass")
    config.set("sources.coinglass", "api_key", "")
    with pytest.raises(SourceRejected, match="COINGLASS_API_KEY"):
        make_source(config)


async def test_http_429_is_retried_after_the_wait_coinglass_asks_for(exchange):
    exchange.set_coinglass_map("BTC", worked_example_rows())
    exchange.rate_limit(COINGLASS_MAP, retry_after=11)
    sleep = RecordingSleep()
    cg = source(exchange, sleep)
    snapshot = await cg.snapshot("BTC")
    await cg.aclose()
    assert sleep.waits == [11.0]
    assert sum(lv.short_usd for lv in snapshot.levels) == 2_705_000_000


async def test_rate_limit_code_in_the_envelope_is_a_temporary_error(exchange):
    exchange.set_coinglass_map("BTC", worked_example_rows())
    exchange.fail(COINGLASS_MAP, body={"code": "429", "msg": "Too Many Requests"})
    cg = source(exchange)
    with pytest.raises(SourceUnavailable, match="requests per minute"):
        await cg.snapshot("BTC")
    await cg.aclose()


async def test_server_error_then_success_gives_the_map(exchange):
    exchange.set_coinglass_map("BTC", worked_example_rows())
    exchange.fail(COINGLASS_MAP, 502, times=2)
    cg = source(exchange)
    snapshot = await cg.snapshot("BTC")
    await cg.aclose()
    assert sum(lv.long_usd for lv in snapshot.levels) == 1_563_000_000
    assert exchange.count(COINGLASS_MAP) == 3


async def test_timeout_is_a_temporary_error(exchange):
    exchange.set_coinglass_map("BTC", worked_example_rows())
    exchange.fail(COINGLASS_MAP, delay=10, times=3)
    cg = source(exchange, timeout_seconds=0.1, retry=RetryPolicy(attempts=2))
    with pytest.raises(SourceUnavailable, match="Coinglass.*timed out"):
        await cg.snapshot("BTC")
    await cg.aclose()


async def test_garbage_instead_of_json_is_a_temporary_error(exchange):
    exchange.set_coinglass_map("BTC", worked_example_rows())
    exchange.fail(COINGLASS_MAP, garbage=True)
    cg = source(exchange)
    with pytest.raises(SourceUnavailable, match="not JSON"):
        await cg.snapshot("BTC")
    await cg.aclose()


async def test_unknown_symbols_from_binance_or_coinglass_are_unknown_symbols(exchange):
    exchange.add_symbol("SOL", 140.0)  # listed on Binance, no Coinglass map
    cg = source(exchange)
    with pytest.raises(UnknownSymbol, match="DOGGO"):
        await cg.snapshot("DOGGO")
    assert exchange.count(COINGLASS_MAP) == 0  # the price check already knew
    with pytest.raises(UnknownSymbol, match="SOL"):
        await cg.snapshot("SOL")
    await cg.aclose()


async def test_other_codes_quote_coinglass(exchange):
    exchange.set_coinglass_map("BTC", worked_example_rows())
    exchange.fail(COINGLASS_MAP, body={"code": "422", "msg": "range not acceptable"})
    cg = source(exchange)
    with pytest.raises(SourceRejected, match="Coinglass says: range not acceptable"):
        await cg.snapshot("BTC")
    await cg.aclose()


async def test_map_without_the_7_day_context_when_klines_fail(exchange):
    exchange.set_coinglass_map("BTC", worked_example_rows())
    exchange.fail(KLINES, 500, times=10)
    cg = source(exchange)
    snapshot = await cg.snapshot("BTC")
    await cg.aclose()
    assert snapshot.context is None and len(snapshot.levels) == 11


def test_a_level_exactly_at_the_price_is_on_neither_side():
    levels = levels_from_map({"100": [[100, 5.0]], "99": [[99, 1.0]], "101": [[101, 2.0]]}, 100.0)
    assert [(lv.price, lv.long_usd, lv.short_usd) for lv in levels] == [
        (99, 1.0, 0.0),
        (101, 0.0, 2.0),
    ]
