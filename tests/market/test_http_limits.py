"""Every upstream request has a total deadline and a body-size cap (core/market/sources/http.py)."""

from __future__ import annotations

import time

import pytest

from core.kernel.errors import SourceUnavailable
from core.market.sources.http import JsonFetcher, RetryPolicy
from tests.fakes.corpus import ReplayServer, load, replay_fixture  # noqa: F401
from tests.fakes.exchange import RecordingSleep


def fetcher(url: str, **kwargs) -> JsonFetcher:
    kwargs.setdefault("retry", RetryPolicy(attempts=1))
    return JsonFetcher(url, vendor="Binance", sleep=RecordingSleep(), **kwargs)


async def test_a_server_trickling_a_byte_at_a_time_cannot_hold_a_fetch_open(replay: ReplayServer):
    # Each byte comes well within the per-read timeout; only a total deadline ends it.
    replay.trickle = (50, 0.1)
    client = fetcher(replay.url, timeout_seconds=5.0, deadline_seconds=0.5)
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match="timed out"):
        await client.get_json("/fapi/v1/premiumIndex")
    elapsed = time.monotonic() - started
    await client.aclose()
    assert elapsed < 2.0


async def test_a_body_over_the_cap_is_refused_from_its_content_length(replay: ReplayServer):
    replay.serve(load("binance", "klines_ltcusdt_5m"))
    client = fetcher(replay.url, max_body_bytes=200)
    with pytest.raises(SourceUnavailable, match="larger than"):
        await client.get_json("/fapi/v1/klines")
    await client.aclose()


async def test_a_streamed_body_over_the_cap_is_refused_while_reading(replay: ReplayServer):
    replay.trickle = (5000, 0.0)  # chunked, no Content-Length
    client = fetcher(replay.url, max_body_bytes=1000)
    with pytest.raises(SourceUnavailable, match="larger than"):
        await client.get_json("/fapi/v1/klines")
    await client.aclose()


async def test_a_body_under_the_cap_is_read_whole(replay: ReplayServer):
    record = load("binance", "klines_ltcusdt_5m")
    replay.serve(record)
    client = fetcher(replay.url)
    reply = await client.get_json("/fapi/v1/klines")
    await client.aclose()
    assert reply.body == record["body"]
