"""Whole conversations through the service, the monitor and the outbox, on a scripted replay."""

from __future__ import annotations

import asyncio
import logging

import pytest

from core.types import Caller
from tests.service_helpers import HOVER, ME, make_app_fixture, minute, say  # noqa: F401  (fixture)


async def test_liq_reports_imbalance_zones_and_chart(make_app):
    app, _, _ = make_app()
    text, messages = await say(app, "/liq btc")
    report = messages[0]
    assert report.kind == "report"
    assert "$51,000" in text and "$48,800" in text  # the two key clusters
    assert "×" in text
    assert report.image and report.image.startswith(b"\x89PNG")
    assert [b.action for b in report.buttons] == ["refresh", "chart", "alert_breakout"]


async def test_watch_gives_a_breakout_alert_once_while_price_hovers(make_app):
    app, clock, sender = make_app()
    text, _ = await say(app, "/watch BTC")
    assert "Watching BTC" in text and "Breakout alerts on" in text
    await minute(app, clock, 0)  # baseline at $50,000
    for _ in range(len(HOVER) - 1):  # up through $51,200, then hovering around it
        await minute(app, clock)
    alerts = [m for _, m in sender.sent if m.kind == "alert"]
    assert len(alerts) == 1, sender.texts()
    assert "BTC" in alerts[0].text()
    assert {b.action for b in alerts[0].buttons} >= {"snooze", "mute_symbol"}


async def test_thousand_watchers_cost_one_fetch_per_refresh(make_app):
    app, clock, _ = make_app()
    calls = []
    original = app.source.snapshot

    async def counting(symbol):
        calls.append(symbol)
        return await original(symbol)

    app.source.snapshot = counting
    for n in range(1000):
        await app.service.handle(Caller("console", f"c{n}", f"u{n}"), "/watch BTC")
    calls.clear()
    await minute(app, clock)
    assert calls == ["BTC"]


async def test_failing_source_fires_nothing_and_keeps_state(make_app):
    app, clock, sender = make_app(prices=[50_000, 51_300])
    await say(app, "/alert BTC above 51000")
    await minute(app, clock, 0)

    async def broken(symbol):
        from core.kernel.errors import SourceUnavailable

        raise SourceUnavailable("Binance timed out")

    original = app.source.snapshot
    app.source.snapshot = broken
    await minute(app, clock)
    assert sender.sent == []
    app.source.snapshot = original
    await minute(app, clock)
    assert len(sender.sent) == 1 and "51,000" in sender.texts()[0]


@pytest.mark.parametrize(
    "command, expected",
    [
        ("/liq", "Usage"),
        ("/liq NOTACOIN", "Unknown symbol"),
        ("/liq BTC 500", "between"),
        ("/alert BTC above 95,5", "use a dot for decimals"),
        ("/alert BTC near 1,5", "use a dot for decimals"),
        ("/alert BTC ratio 1.01", "at least 1.05"),
        ("/liq <b>BTC</b>", "not a symbol"),
        ("/watch", "Usage"),
        ("/watch BTC FOOBAR", "Unknown symbol"),
        ("/alert BTC", "Usage"),
        ("/alert BTC near", "needs a value"),
        ("/alert BTC near -3", "between"),
        ("/alert BTC above 1e400", "between"),
        ("/alert BTC above nan", "between"),
        ("/alert BTC sideways 3", "Unknown alert kind"),
        ("/alert BTC breakout now", "no value"),
        ("/delalert", "Usage"),
        ("/delalert 999", "no alert #999"),
        ("/delalert abc", "not an alert id"),
        ("/delalert 1.9", "not an alert id"),
        ("/delalert 2x", "not an alert id"),
        ("/mute forever", "not a duration"),
        ("/mute 400d", "between"),
        ("/mute 99999h", "between 1m and 30d"),
        ("/summary BTC every 7h", "every 15m"),
        ("/summary BTC daily 25:00", "time of day"),
        ("/summary BTC daily 08:00 Mars/Olympus", "Unknown time zone"),
        ("/summary BTC", "schedule"),
        ("/frobnicate", "Unknown command"),
        ("/liq " + "A" * 10_000, "too long"),
    ],
)
async def test_bad_input_gets_one_line_and_changes_nothing(make_app, command, expected):
    app, _, _ = make_app()
    await say(app, "/watch ETH")
    before = (app.store.watchlist(1, "u1"), app.store.rules_for(1, "u1"), app.store.summaries())
    text, messages = await say(app, command)
    assert len(messages) == 1 and messages[0].kind == "error"
    assert expected.lower() in text.lower()
    assert len(text) < 300
    after = (app.store.watchlist(1, "u1"), app.store.rules_for(1, "u1"), app.store.summaries())
    assert after == before


async def test_alert_lifecycle_list_and_delete(make_app):
    app, _, _ = make_app()
    text, _ = await say(app, "/alert btc near 1.5")
    assert "Alert set" in text and "#1" in text
    await say(app, "/alert BTC ratio 2")
    text, _ = await say(app, "/alerts")
    assert "#1 BTC within 1.5%" in text and "#2 BTC ratio beyond 2×" in text
    text, _ = await say(app, "/delalert 1")
    assert "deleted" in text
    text, _ = await say(app, "/alerts")
    assert "#1" not in text and "#2" in text


async def test_caps_are_enforced_with_a_clear_reply(make_app):
    app, _, _ = make_app(max_rules_per_user=3)
    for price in (1, 2, 3):
        await say(app, f"/alert BTC above {price}")
    text, messages = await say(app, "/alert BTC above 4")
    assert messages[0].kind == "error" and "most allowed" in text
    assert len(app.store.rules_for(1, "u1")) == 3


async def test_buttons_refresh_snooze_and_mute(make_app):
    app, clock, sender = make_app(prices=[50_000, 51_300, 50_000, 51_300])
    report = (await app.service.handle(ME, "/liq BTC"))[0]
    (refresh,) = [b for b in report.buttons if b.action == "refresh"]
    again = await app.service.press(ME, refresh.action, refresh.args)
    assert again[0].kind == "report" and again[0].image is None
    (alert_button,) = [b for b in report.buttons if b.action == "alert_breakout"]
    text = (await app.service.press(ME, alert_button.action, alert_button.args))[0].text()
    assert "Alert set" in text
    mute = await app.service.press(ME, "mute_symbol", ("BTC",))
    assert "BTC muted" in mute[0].text()
    expired = await app.service.press(ME, "snooze", ("424242",))
    assert expired[0].kind == "error"


async def test_a_fast_move_inside_one_minute_alerts_once_not_every_tick(make_app):
    # Checks every 20 s: the 1-minute candle that was open at the last check still holds the
    # low from before the alert; it must not re-arm the rule and fire it again.
    app, clock, sender = make_app(prices=[50_000, 50_000, 51_300, 51_300, 51_300, 51_300], step=20)
    await say(app, "/alert BTC above 51000")
    await minute(app, clock, 0)
    for _ in range(5):
        await minute(app, clock, 20)
    alerts = [m for _, m in sender.sent if m.kind == "alert"]
    assert len(alerts) == 1, sender.texts()


async def test_a_breakout_out_of_a_zone_the_price_walked_through_names_the_zone_size(make_app):
    # At $51,100 the map counts only the cluster's part above the price, so the zone being
    # walked through ($51,000–51,200, three levels of $150M shorts) is no longer listed; the
    # alert on the way out still says how big it was.
    from core.kernel import fmt

    app, clock, sender = make_app(prices=[50_000, 51_100, 51_300])
    await say(app, "/watch BTC")
    await minute(app, clock, 0)
    await minute(app, clock)
    await minute(app, clock)
    [alert] = [m for _, m in sender.sent if m.kind == "alert"]
    assert "$51,000–$51,200" in alert.text()
    assert f"({fmt.money(3 * 150e6)} of shorts)" in alert.text()


async def test_a_long_map_cache_never_feeds_the_alert_check_an_old_price(make_app):
    app, clock, sender = make_app(prices=[50_000, 50_600, 50_600, 50_600, 50_600])
    app.snapshots.ttl = 300  # maps cached for five minutes, checks every minute
    await say(app, "/alert BTC above 50500")
    await minute(app, clock, 0)
    for _ in range(4):
        await minute(app, clock)
    alerts = [m.text() for _, m in sender.sent if m.kind == "alert"]
    assert len(alerts) == 1, alerts
    assert "back at $50,000" not in alerts[0]


async def test_an_alert_deleted_while_the_check_fetches_data_does_not_fire(make_app):
    app, clock, sender = make_app(prices=[50_000, 50_600])
    await say(app, "/alert BTC above 50500")
    await minute(app, clock, 0)
    original = app.source.candles

    async def slow_candles(symbol, since, interval="1m"):
        await say(app, "/delalert 1")  # the user acts while the check waits for the exchange
        return await original(symbol, since, interval)

    app.source.candles = slow_candles
    await minute(app, clock)
    assert sender.sent == []


async def test_stopping_while_a_check_waits_on_the_exchange_is_clean(make_app, caplog):
    app, clock, sender = make_app()
    await say(app, "/alert BTC above 51000")
    waiting, release = asyncio.Event(), asyncio.Event()
    original = app.source.candles

    async def stuck_candles(symbol, since, interval="1m"):
        waiting.set()
        await release.wait()
        return await original(symbol, since, interval)

    app.source.candles = stuck_candles
    app.jobs.start()  # the first check starts at once and blocks on the exchange
    await asyncio.wait_for(waiting.wait(), 5)
    with caplog.at_level(logging.ERROR):
        await app.aclose()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_trader_spellings_of_numbers_symbols_and_zones_are_understood(make_app):
    app, _, _ = make_app()
    text, _ = await say(app, "/alert BTC/USDT above 95,500")
    assert "BTC above $95,500" in text
    text, _ = await say(app, "/alert btc-usdt ratio 0.5")  # longs twice the shorts
    assert "ratio beyond 2×" in text
    text, _ = await say(app, "/summary BTC daily 08:00 europe/berlin")
    assert "Europe/Berlin" in text


async def test_a_symbol_that_cannot_be_checked_is_accepted_with_a_warning(make_app):
    app, _, _ = make_app()

    async def down(symbol):
        from core.kernel.errors import SourceUnavailable

        raise SourceUnavailable("Binance is not answering")

    app.source.snapshot = down
    text, _ = await say(app, "/alert SOL above 200")
    assert "Alert set" in text and "Could not check SOL" in text
