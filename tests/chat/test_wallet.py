"""/wallet through the whole app against the fake Hyperliquid: private chats only, validated
addresses, an alert within PCT % of a liquidation price and one more at half of it, nothing kept
after /wallet off."""

from __future__ import annotations

import logging

import pytest

from bot.app import build
from core.types import Caller
from tests.fakes.hyperliquid import FakeHyperliquid, position
from tests.helpers import ManualClock, RecordingSender, app_config, write_replay
from tests.service_helpers import HOVER, ME, say

ADDRESS = "0x5e9ee1089755c3435139848e47e6635505d5a13a"
OTHER = "0x" + "ab" * 20
GROUP = Caller(platform="console", chat_id="g1", user_id="u1", chat_kind="group")


@pytest.fixture
def hl():
    with FakeHyperliquid() as fake:
        fake.set_coin("BTC", mark=90_000, open_interest=1_000)
        yield fake


@pytest.fixture
async def make_app(tmp_path, hl):
    apps = []

    def make(wallets=(), reads_per_minute=240):
        clock = ManualClock()
        cfg = app_config(tmp_path, write_replay(tmp_path / "replay.json", HOVER, 60))
        cfg.override(
            {
                ("sources.hyperliquid", "base_url"): hl.url,
                ("sources.hyperliquid", "timeout_seconds"): 2.0,
                ("sources.hyperliquid", "wallets"): list(wallets),
                ("sources.hyperliquid", "wallet_reads_per_minute"): reads_per_minute,
            }
        )
        app = build(cfg, clock=clock)
        sender = RecordingSender()
        app.add_sender(sender)
        apps.append(app)
        return app, clock, sender

    yield make
    for app in apps:
        await app.aclose()


def btc_long(mark: float, liq: float = 80_000, size: float = 0.5):
    return position("BTC", size, entry=88_000, liq=liq, mark=mark)


def watcher(app):
    return app.service.service.ctx.wallets


async def check(app, hl, mark: float) -> list[str]:
    """The market moves to `mark`; one wallet run, one delivery pass: what was sent."""
    hl.set_wallet(ADDRESS, [btc_long(mark)])
    sender = app.senders["console"]
    before = len(sender.sent)
    await watcher(app).run()
    await app.deliverer.deliver_due()
    return sender.texts()[before:]


async def test_watching_a_wallet_reads_it_at_once_and_lists_each_position_s_distance(make_app, hl):
    hl.set_wallet(
        ADDRESS, [btc_long(90_000), position("ETH", 2.0, entry=3_000, liq=None, mark=3_000)]
    )
    app, _, _ = make_app()
    text, [reply] = await say(app, f"/wallet {ADDRESS.upper().replace('0X', '0x')} 3")
    assert reply.kind == "reply", text
    assert reply.title == "👛 Watching 0x5e9e…a13a"
    assert "within 3% of its liquidation price, and again at 1.5%" in text
    assert "BTC long 0.5 BTC ($45.0K), 20x cross: liquidation $80,000, 11.1% away" in text
    assert "ETH long 2 ETH ($6.0K), 20x cross: no liquidation price" in text
    text, _ = await say(app, "/wallet")
    assert "0x5e9e…a13a" in text and "11.1% away" in text


async def test_wallet_is_refused_in_a_group_and_stores_nothing(make_app, hl):
    app, _, _ = make_app()
    text, [reply] = await say(app, f"/wallet {ADDRESS}", caller=GROUP)
    assert reply.kind == "error" and "only in a private chat" in text
    assert app.store.wallet_watches() == [] and hl.requests == []


@pytest.mark.parametrize(
    "line, said",
    [
        ("/wallet 0x123", "not a wallet address"),
        (f"/wallet {ADDRESS}0", "not a wallet address"),
        ("/wallet BTC", "not a wallet address"),
        (f"/wallet {ADDRESS} 0.1", "between 0.5 and 50"),
        (f"/wallet {ADDRESS} five", "not a number"),
        (f"/wallet {ADDRESS} 5 more", "Usage: /wallet 0x…"),
    ],
)
async def test_a_bad_address_or_distance_gets_a_short_answer_and_changes_nothing(
    make_app, hl, line, said
):
    app, _, _ = make_app()
    text, [reply] = await say(app, line)
    assert reply.kind == "error" and said in text, text
    assert app.store.wallet_watches() == [] and hl.requests == []


async def test_alerts_within_pct_then_at_half_of_it_and_never_twice_for_one_approach(make_app, hl):
    app, _, _ = make_app()
    hl.set_wallet(ADDRESS, [btc_long(90_000)])
    await say(app, f"/wallet {ADDRESS}")  # default 5 %
    assert await check(app, hl, 90_000) == []  # 11 % away
    [first] = await check(app, hl, 84_000)  # 4.8 % away
    assert first.startswith("⚠️ BTC long 4.8% from liquidation")
    assert "BTC long 4.8% from liquidation" in first and "crossed your 5% line" in first
    assert await check(app, hl, 83_900) == []  # still inside, same stage: quiet
    [second] = await check(app, hl, 82_000)  # 2.4 % away
    assert "🚨 BTC long 2.4% from liquidation" in second and "2.5% line" in second
    assert await check(app, hl, 81_900) == []
    assert await check(app, hl, 90_000) == []  # margin added / price back: re-armed
    [again] = await check(app, hl, 84_100)
    assert "4.9% from liquidation" in again


async def test_wallet_off_stops_the_alerts_and_deletes_the_reading(make_app, hl):
    app, _, _ = make_app()
    hl.set_wallet(ADDRESS, [btc_long(90_000)])
    await say(app, f"/wallet {ADDRESS}")
    assert app.store.wallet_reading(ADDRESS) is not None
    text, _ = await say(app, "/wallet off")
    assert "Stopped watching 0x5e9e…a13a" in text
    assert app.store.wallet_reading(ADDRESS) is None and app.store.wallet_watches() == []
    assert await check(app, hl, 82_000) == []
    text, _ = await say(app, "/wallet off")
    assert "No wallet watched" in text


async def test_a_configured_wallet_keeps_its_reading_after_a_chat_stops_watching_it(make_app, hl):
    app, _, _ = make_app(wallets=[ADDRESS])
    await say(app, f"/wallet {ADDRESS}")
    await say(app, "/wallet off")
    assert app.store.wallet_reading(ADDRESS) is not None  # the observed map still reads it


async def test_the_refresh_reads_watched_wallets_every_run_and_the_rest_round_robin(make_app, hl):
    universe = [f"0x{n:040x}" for n in range(1, 6)]
    app, clock, _ = make_app(wallets=universe, reads_per_minute=3)  # 3 reads a 60 s run
    hl.set_wallet(ADDRESS, [btc_long(90_000)])
    await say(app, f"/wallet {ADDRESS}")
    hl.requests.clear()
    seen = []
    for _ in range(3):
        clock.advance(60)
        await watcher(app).run()
        users = [r["user"] for r in hl.requests]
        hl.requests.clear()
        assert ADDRESS in users and len(users) == 3  # read concurrently: in any order
        seen.append([u for u in users if u != ADDRESS])
    assert sorted(seen[0] + seen[1]) == universe[:4]  # never-read first, in a fixed order
    assert seen[2] == [universe[4], universe[0]] or seen[2] == [universe[0], universe[4]]
    readings, unread = app.store.universe_readings()
    assert len(readings) == 5 and unread == 0


async def test_a_wallet_hyperliquid_cannot_answer_for_is_still_watched_and_retried(make_app, hl):
    app, _, _ = make_app()
    hl.rate_limit(times=10, retry_after=0)  # 429s that outlast the retries
    text, [reply] = await say(app, f"/wallet {ADDRESS}")
    assert reply.title == "👛 Watching 0x5e9e…a13a"
    assert "Could not read the wallet yet (Hyperliquid is rate limiting us" in text
    hl._faults.clear()
    hl.set_wallet(ADDRESS, [btc_long(84_000)])
    run = await watcher(app).run()
    assert (run.read, run.alerts) == (1, 1)


async def test_help_lists_wallet(make_app, hl):
    app, _, _ = make_app()
    text, _ = await say(app, "/help")
    assert "/wallet 0x… [PCT] | off" in text


def test_me_is_a_private_chat():
    assert ME.chat_kind == "private"


async def test_a_position_already_inside_the_line_is_said_in_the_reply_not_alerted_again(
    make_app, hl
):
    app, _, _ = make_app()
    hl.set_wallet(ADDRESS, [btc_long(84_000)])  # 4.8 % away
    text, _ = await say(app, f"/wallet {ADDRESS}")
    assert "4.8% away ⚠️ inside your 5% line" in text
    assert await check(app, hl, 84_000) == []  # told in the reply
    [closer] = await check(app, hl, 82_000)
    assert "2.4% from liquidation" in closer


async def test_an_outage_stops_the_run_and_is_logged_once_not_at_every_run(make_app, hl, caplog):
    caplog.set_level(logging.INFO, logger="core.alerts.wallet_watch")
    universe = [f"0x{n:040x}" for n in range(1, 41)]
    app, _, _ = make_app(wallets=universe)
    hl.rate_limit(times=10_000, retry_after=0)
    for _ in range(3):
        run = await watcher(app).run()
        assert run.read == 0
    assert hl.count("clearinghouseState") <= 3 * 8 * 3  # at most the reads already under way
    warnings = [r for r in caplog.records if "wallet refresh" in r.getMessage()]
    assert len(warnings) == 1 and "rate limiting" in warnings[0].getMessage()
    hl._faults.clear()
    assert (await watcher(app).run()).read == 40
    assert "every read answers again" in caplog.text
