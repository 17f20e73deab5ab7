"""Every recorded Binance and Coinglass reply (tests/data/real/binance, coinglass) through the real
client over loopback HTTP: what the bot concludes from each, and how often it knocks again.

Where the bot's belief and the payload disagreed, the payload won: Coinglass's "Endpoint not
found" (HTTP 404, a docs URL naming coinglass.com) was read as an unknown coin; "API key missing."
as code "400" and "Too Many Requests" as code "400" lost their meaning; Binance's 418 ban was
retried (a ban grows when knocked on), its 451/403 location block read as a refused request.
"""

from __future__ import annotations

import pytest

from core.kernel.errors import SourceRejected, SourceUnavailable, UnknownSymbol
from core.market.sources.binance import BinanceClient
from core.market.sources.coinglass import CoinglassSource
from core.market.sources.http import RetryPolicy
from tests.fakes.corpus import ReplayServer, load, replay_fixture  # noqa: F401
from tests.fakes.exchange import RecordingSleep, exchange_fixture  # noqa: F401

ATTEMPTS = 3

BINANCE_ERRORS = [
    # (file, error, words in the message, requests made)
    ("error_1021_timestamp_outside_recvwindow", SourceRejected, "recvWindow", 1),
    ("error_403_cloudfront_html", SourceRejected, "location", 1),
    ("error_418_ip_banned_fapi", SourceUnavailable, "banned", 1),
    ("error_418_ip_banned_spot", SourceUnavailable, "banned", 1),
    ("error_429_too_many_requests", SourceUnavailable, "rate limiting", ATTEMPTS),
    ("error_451_restricted_location", SourceRejected, "location", 1),
    ("error_502_awselb_html_fstream", SourceUnavailable, "not answering", ATTEMPTS),
    ("error_502_nginx_html", SourceUnavailable, "not answering", ATTEMPTS),
    ("error_503_1001_internal_error", SourceUnavailable, "not answering", ATTEMPTS),
    ("error_503_1008_server_overloaded", SourceUnavailable, "not answering", ATTEMPTS),
    ("error_invalid_symbol", UnknownSymbol, "BTC", 1),
    ("error_invalid_symbol_status", SourceUnavailable, "not trading", 1),
    # Replies of other endpoints where a mark price is expected: not a price, and said so.
    ("premium_index_all_2020", SourceUnavailable, "no usable mark price", 1),
    ("exchange_info_trimmed", SourceUnavailable, "no usable mark price", 1),
    ("ticker_24hr_btcusdt", SourceUnavailable, "no usable mark price", 1),
]


def binance(url: str) -> BinanceClient:
    return BinanceClient(url, retry=RetryPolicy(attempts=ATTEMPTS), sleep=RecordingSleep())


@pytest.mark.parametrize(("name", "error", "words", "requests"), BINANCE_ERRORS)
async def test_binance_replies_become_the_right_error_after_the_right_number_of_requests(
    replay: ReplayServer, name, error, words, requests
):
    replay.serve(load("binance", name))
    client = binance(replay.url)
    with pytest.raises(error) as raised:
        await client.mark_price("BTC")
    assert words in str(raised.value)
    assert type(raised.value) is error  # an UnknownSymbol is not "unavailable", and back
    assert replay.hits == requests
    if "418" in name:  # banned: nothing more reaches Binance until the ban ends
        with pytest.raises(SourceUnavailable, match="banned"):
            await client.mark_price("ETH")
        assert replay.hits == 1
    await client.aclose()


@pytest.mark.parametrize(
    ("name", "price"),
    [
        ("premium_index_btcusdt", 26780.82240476),
        ("premium_index_btcusdt_official_doc", 11793.63104562),
    ],
)
async def test_binance_mark_prices_as_recorded(replay: ReplayServer, name, price):
    replay.serve(load("binance", name))
    client = binance(replay.url)
    assert await client.mark_price("BTC") == pytest.approx(price)
    await client.aclose()


@pytest.mark.parametrize(
    "name", ["klines_btcusdt_1d", "klines_btcusdt_5m_elixir_doc", "klines_ltcusdt_5m"]
)
async def test_binance_recorded_klines_parse_row_for_row(replay: ReplayServer, name):
    record = load("binance", name)
    replay.serve(record)
    client = binance(replay.url)
    klines = await client.klines("BTC", "5m")
    await client.aclose()
    rows = record["body"]
    assert [k.open_time_ms for k in klines] == sorted(r[0] for r in rows)
    first = min(rows, key=lambda r: r[0])
    assert (klines[0].open, klines[0].close) == (float(first[1]), float(first[4]))
    assert klines[0].taker_buy_quote == float(first[10])


@pytest.mark.parametrize(
    "name", ["open_interest_hist_btcusdt_5m_2020", "open_interest_hist_btcusdt_5m_with_cmc"]
)
async def test_binance_recorded_open_interest_parses_with_unknown_fields(replay, name):
    record = load("binance", name)
    replay.serve(record)
    client = binance(replay.url)
    points = await client.open_interest_hist("BTC", "5m")
    await client.aclose()
    rows = sorted(record["body"], key=lambda r: r["timestamp"])
    assert [(p.timestamp_ms, p.usd) for p in points] == [
        (r["timestamp"], float(r["sumOpenInterestValue"])) for r in rows
    ]


KEY = "COINGLASS_API_KEY"
COINGLASS = [
    # (file, error, words in the message, requests made)
    ("error_api_key_missing", SourceRejected, KEY, 1),
    ("error_api_key_missing_old_header_400", SourceRejected, KEY, 1),
    ("error_invalid_api_key", SourceRejected, KEY, 1),
    ("error_endpoint_not_found_404", SourceRejected, "endpoint", 1),
    ("error_interval_not_available_for_plan", SourceRejected, "plan", 1),
    ("error_plan_upgrade_to_professional", SourceRejected, "plan", 1),
    ("error_plan_upgrade_to_standard", SourceRejected, "plan", 1),
    ("error_upgrade_plan_401", SourceRejected, "plan", 1),
    ("error_missing_required_param", SourceRejected, "range", 1),
    ("error_rate_limit_too_many_requests", SourceUnavailable, "requests per minute", 1),
    ("error_server_error_500", SourceUnavailable, "try again", 1),
    # A success envelope around something that is not a map: no map, not a crash.
    ("exchange_assets_success_with_msg", SourceRejected, "no liquidation map", 1),
    ("liquidation_coin_list_success", SourceRejected, "no liquidation map", 1),
]


def coinglass(replay: ReplayServer, exchange) -> CoinglassSource:
    sleep = RecordingSleep()
    retry = RetryPolicy(attempts=ATTEMPTS)
    return CoinglassSource(
        "cg-key",
        replay.url,
        binance=BinanceClient(exchange.url, sleep=sleep, retry=retry),
        sleep=sleep,
        retry=retry,
    )


@pytest.mark.parametrize(("name", "error", "words", "requests"), COINGLASS)
async def test_coinglass_replies_are_classified_on_code_and_message(
    replay: ReplayServer, exchange, name, error, words, requests
):
    replay.serve(load("coinglass", name))
    source = coinglass(replay, exchange)
    with pytest.raises(error) as raised:
        await source.snapshot("BTC")
    await source.aclose()
    assert type(raised.value) is error, raised.value  # never "Unknown symbol: BTC"
    assert words in str(raised.value)
    assert "cg-key" not in str(raised.value)
    assert replay.hits == requests


@pytest.mark.parametrize(
    "name", ["liquidation_aggregated_map_doc_example", "liquidation_pair_map_doc_example"]
)
async def test_coinglass_recorded_maps_become_levels(replay: ReplayServer, exchange, name):
    replay.serve(load("coinglass", name))
    source = coinglass(replay, exchange)
    snapshot = await source.snapshot("BTC")
    await source.aclose()
    # The doc's one level at $48,935 lies below BTC's mark price: longs.
    assert [(lv.price, lv.long_usd, lv.short_usd) for lv in snapshot.levels] == [
        (48935.0, 1579370.77, 0.0)
    ]
