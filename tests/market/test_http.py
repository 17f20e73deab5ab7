"""The JSON fetcher over loopback: retries, backoff, Retry-After, timeouts, garbage, 4xx bodies."""

from __future__ import annotations

import logging

import pytest

from core.kernel.errors import SourceUnavailable
from core.market.sources.http import JsonFetcher, RetryPolicy, retry_after_seconds
from tests.fakes.exchange import (  # noqa: F401  (exchange_fixture: the `exchange` fixture)
    PREMIUM_INDEX,
    FakeExchange,
    RecordingSleep,
    exchange_fixture,
)

BTC = {"symbol": "BTCUSDT"}


def fetcher(fake: FakeExchange, sleep: RecordingSleep, **kwargs) -> JsonFetcher:
    kwargs.setdefault("retry", RetryPolicy(attempts=3, backoff_seconds=0.5))
    return JsonFetcher(fake.url, vendor="Binance", sleep=sleep, jitter=lambda: 0.0, **kwargs)


async def test_server_errors_are_retried_with_growing_backoff_until_success(exchange):
    sleep = RecordingSleep()
    exchange.fail(PREMIUM_INDEX, 503, times=2)
    client = fetcher(exchange, sleep)
    reply = await client.get_json(PREMIUM_INDEX, BTC)
    await client.aclose()
    assert reply.ok and float(reply.body["markPrice"]) == pytest.approx(exchange.price("BTC"))
    assert exchange.count(PREMIUM_INDEX) == 3
    assert len(sleep.waits) == 2 and sleep.waits[1] > sleep.waits[0] > 0


async def test_rate_limit_waits_exactly_what_retry_after_says(exchange):
    sleep = RecordingSleep()
    exchange.rate_limit(PREMIUM_INDEX, retry_after=7)
    client = fetcher(exchange, sleep)
    reply = await client.get_json(PREMIUM_INDEX, BTC)
    await client.aclose()
    assert reply.ok
    assert sleep.waits == [7.0]


async def test_a_ban_longer_than_the_cap_fails_at_once_without_waiting(exchange):
    sleep = RecordingSleep()
    exchange.fail(PREMIUM_INDEX, 418, retry_after=3600)
    client = fetcher(exchange, sleep, retry=RetryPolicy(retry_after_max_seconds=30))
    with pytest.raises(SourceUnavailable, match="3600 s"):
        await client.get_json(PREMIUM_INDEX, BTC)
    await client.aclose()
    assert sleep.waits == [] and exchange.count(PREMIUM_INDEX) == 1


async def test_rate_limit_that_never_ends_says_so(exchange):
    sleep = RecordingSleep()
    exchange.rate_limit(PREMIUM_INDEX, retry_after=1, times=10)
    client = fetcher(exchange, sleep)
    with pytest.raises(SourceUnavailable, match="rate limiting"):
        await client.get_json(PREMIUM_INDEX, BTC)
    await client.aclose()
    assert exchange.count(PREMIUM_INDEX) == 3


async def test_persistent_server_errors_give_up_after_the_bounded_attempts_logging_once(
    exchange, caplog
):
    sleep = RecordingSleep()
    exchange.fail(PREMIUM_INDEX, 500, times=10)
    client = fetcher(exchange, sleep, retry=RetryPolicy(attempts=4))
    with caplog.at_level(logging.DEBUG, logger="core.sources.http"):
        with pytest.raises(SourceUnavailable, match="Binance is not answering"):
            await client.get_json(PREMIUM_INDEX, BTC)
    await client.aclose()
    assert exchange.count(PREMIUM_INDEX) == 4
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1


async def test_a_slow_server_times_out_and_is_retried(exchange):
    sleep = RecordingSleep()
    exchange.fail(PREMIUM_INDEX, delay=10, times=1)  # the first reply never comes in time
    client = fetcher(exchange, sleep, timeout_seconds=0.2)
    reply = await client.get_json(PREMIUM_INDEX, BTC)
    await client.aclose()
    assert reply.ok and exchange.count(PREMIUM_INDEX) == 2


async def test_a_server_that_always_times_out_is_unavailable(exchange):
    exchange.fail(PREMIUM_INDEX, delay=10, times=5)
    client = fetcher(exchange, RecordingSleep(), timeout_seconds=0.1, retry=RetryPolicy(2))
    with pytest.raises(SourceUnavailable, match="timed out"):
        await client.get_json(PREMIUM_INDEX, BTC)
    await client.aclose()


async def test_garbage_instead_of_json_is_unavailable_not_a_crash(exchange):
    exchange.fail(PREMIUM_INDEX, garbage=True)
    client = fetcher(exchange, RecordingSleep())
    with pytest.raises(SourceUnavailable, match="not JSON"):
        await client.get_json(PREMIUM_INDEX, BTC)
    await client.aclose()


async def test_client_errors_hand_the_parsed_body_to_the_caller(exchange):
    client = fetcher(exchange, RecordingSleep())
    reply = await client.get_json(PREMIUM_INDEX, {"symbol": "NOPEUSDT"})
    await client.aclose()
    assert reply.status == 400 and not reply.ok
    assert reply.body == {"code": -1121, "msg": "Invalid symbol."}
    assert exchange.count(PREMIUM_INDEX) == 1  # a 4xx is an answer, not a fault to retry


async def test_a_closed_port_is_unavailable_after_retries():
    with FakeExchange(default_symbols=False) as fake:
        url = fake.url
    sleep = RecordingSleep()
    client = JsonFetcher(url, vendor="Binance", sleep=sleep, retry=RetryPolicy(attempts=2))
    with pytest.raises(SourceUnavailable, match="connection failed"):
        await client.get_json(PREMIUM_INDEX, BTC)
    await client.aclose()
    assert len(sleep.waits) == 1


async def test_headers_never_reach_logs_or_errors(exchange, caplog):
    secret = "cg-secret-4f9a"
    exchange.fail(PREMIUM_INDEX, 500, times=10)
    client = JsonFetcher(
        exchange.url,
        vendor="Coinglass",
        headers={"CG-API-KEY": secret},
        sleep=RecordingSleep(),
    )
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(SourceUnavailable) as failure:
            await client.get_json(PREMIUM_INDEX, BTC)
    await client.aclose()
    assert exchange.requests(PREMIUM_INDEX)[0].headers.get("Cg-Api-Key") == secret
    assert secret not in caplog.text and secret not in str(failure.value)


def test_backoff_doubles_with_jitter_and_stays_capped():
    policy = RetryPolicy(backoff_seconds=1, backoff_max_seconds=5)
    assert [policy.backoff(n, 0.0) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert policy.backoff(2, 0.999) == pytest.approx(2.0, rel=1e-3)
    assert policy.backoff(10, 0.999) <= 5


@pytest.mark.parametrize(
    ("header", "seconds"), [("7", 7.0), (" 1.5 ", 1.5), ("soon", None), ("-3", None), (None, None)]
)
def test_retry_after_reads_seconds_and_ignores_anything_else(header, seconds):
    assert retry_after_seconds(header) == seconds
