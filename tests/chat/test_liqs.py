"""/liqs, /feed and /accuracy as a chat sees them, over the whole app (a scripted replay) with
realised prints written to its store as the streams' writer would."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np

from core.types import Caller, LiqPrint, MapFrame
from tests.service_helpers import ME, make_app_fixture, say  # noqa: F401

GROUP_MEMBER = Caller("console", "-100", "u2", chat_kind="group", can_manage_chat=False)
GROUP_ADMIN = replace(GROUP_MEMBER, user_id="u3", can_manage_chat=True)


def prints(clock, *rows):
    """rows: (venue, side, usd, price, seconds ago)."""
    now = clock()
    return [
        LiqPrint(v, "BTC", s, p, usd / p, usd, now - timedelta(seconds=ago))
        for v, s, usd, p, ago in rows
    ]


def following(app, *symbols):
    live = app.service.service.ctx.live
    live.symbols = set(symbols)
    return live


async def test_liqs_shows_sides_venues_with_coverage_largest_prints_gaps_and_a_chart(make_app):
    app, clock, _ = make_app()
    following(app, "BTC")
    app.store.add_prints(
        prints(
            clock,
            ("binance", "long", 3e6, 50_000, 600),
            ("bybit", "long", 5e6, 49_900, 300),
            ("okx", "short", 1e6, 50_400, 120),
            ("bybit", "long", 2e6, 49_800, 2 * 3600),  # outside the last hour
        )
    )
    app.store.gap_started("bybit", clock() - timedelta(minutes=20), "ConnectionClosed")
    app.store.gap_ended("bybit", clock() - timedelta(minutes=18))
    text, (message,) = await say(app, "/liqs BTC")
    assert "BTC liquidations, last 1h" in text
    assert "Longs liquidated: $8.0M · Shorts liquidated: $1.0M" in text
    assert "Binance: longs $3.0M, shorts $0 (sampled" in text
    assert "Bybit: longs $5.0M" in text and "(every liquidation)" in text
    assert "OKX: longs $0, shorts $1.0M (partial" in text
    assert "Bybit: $5.0M long liquidated at $49,900" in text  # the largest print first
    assert "no Bybit data" in text
    assert message.image and message.image.startswith(b"\x89PNG")
    text, _ = await say(app, "/liqs BTC 4h")
    assert "last 4h" in text and "Longs liquidated: $10.0M" in text


async def test_liqs_says_when_a_symbol_is_not_followed_and_refuses_bad_windows(make_app):
    app, _, _ = make_app()
    following(app)
    text, _ = await say(app, "/liqs BTC")
    assert "not followed yet" in text
    text, _ = await say(app, "/liqs BTC 3d")
    assert "Duration must be between 5m and 1d" in text
    text, _ = await say(app, "/liqs")
    assert "Usage: /liqs SYMBOL" in text


async def test_feed_is_for_admins_in_groups_and_posts_batches_from_now_on(make_app):
    app, clock, sender = make_app()
    following(app, "BTC")
    app.store.add_prints(prints(clock, ("bybit", "long", 9e6, 50_000, 5)))  # before the feed
    text, _ = await say(app, "/feed BTC min 1M", GROUP_MEMBER)
    assert "administrators" in text and app.store.liq_feeds() == []
    text, _ = await say(app, "/feed BTC min 1M", GROUP_ADMIN)
    assert "Liquidation feed on" in text and "$1.0M or more" in text
    app.store.add_prints(
        prints(clock, ("bybit", "long", 2e6, 50_000, 1), ("okx", "short", 5e5, 50_100, 0))
    )
    poster = app.live.poster
    assert poster.post_due() == 1 and poster.post_due() == 0  # once per print
    await app.deliverer.deliver_due()
    (batch,) = [m for _, m in sender.sent]
    assert "BTC long liquidated $2.0M" in batch.text() and "$500" not in batch.text()
    text, _ = await say(app, "/feed", GROUP_MEMBER)
    assert "BTC: prints of $1.0M or more" in text
    text, _ = await say(app, "/feed off", GROUP_ADMIN)
    assert "off" in text and app.store.liq_feeds() == []


async def test_feed_refuses_nonsense(make_app):
    app, _, _ = make_app()
    for line, words in (
        ("/feed BTC min 5", "between"),
        ("/feed BTC min lots", "not a number"),
        ("/feed min 1M", "at least one symbol"),
        ("/feed BTC min 1M ETH", "amount last"),
    ):
        text, _ = await say(app, line)
        assert words in text, (line, text)
    assert app.store.liq_feeds() == []


def frame(clock, minutes_ago, price=50_000.0):
    prices = np.arange(45_000.0, 55_001.0, 100.0)
    long_usd = np.where(prices < price, 1e5, 0.0)
    short_usd = np.where(prices > price, 1e5, 0.0)
    long_usd[prices == 49_500] = 5e7  # one heavy zone below: half the map's notional
    return MapFrame(
        "BTC",
        "estimate",
        clock() - timedelta(minutes=minutes_ago),
        price,
        prices,
        long_usd,
        short_usd,
    )


async def test_accuracy_prints_the_map_beside_the_random_baseline(make_app, monkeypatch):
    app, clock, _ = make_app()
    frames = [frame(clock, m) for m in (60, 40, 20)]
    monkeypatch.setattr(app.store, "map_frames", lambda *a, **k: frames)
    app.store.add_prints(
        prints(
            clock,
            *[("bybit", "long", 1e6, 49_500 + d, 50 * 60 - d) for d in range(0, 40, 4)],
            ("binance", "short", 1e6, 52_000, 30 * 60),
        )
    )
    text, (message,) = await say(app, "/accuracy BTC 1d")
    assert "BTC map accuracy, last 1 days" in text
    assert "baseline" in text and "Bybit: 100.0%" in text
    assert "Binance: 0.0%" in text
    assert message.image and message.image.startswith(b"\x89PNG")
