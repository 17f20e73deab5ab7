"""Whole conversations through the service, the monitor and the outbox, on a scripted replay."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.app import build
from core.model import Caller
from tests.helpers import ManualClock, RecordingSender, app_config, write_replay

ME = Caller(platform="console", chat_id="c1", user_id="u1")
HOVER = [50_000, 50_500, 51_300, 51_250, 51_320, 51_280, 51_310]


@pytest.fixture
def make_app(tmp_path):
    apps = []

    def make(prices=HOVER, step=60, **alerts):
        clock = ManualClock()
        replay = write_replay(tmp_path / "replay.json", prices, step)
        app = build(app_config(tmp_path, replay, **alerts), clock=clock)
        sender = RecordingSender()
        app.add_sender(sender)
        apps.append(app)
        return app, clock, sender

    yield make
    for app in apps:
        app.store.close()


async def say(app, text, caller=ME):
    messages = await app.service.handle(caller, text)
    return "\n".join(m.text() for m in messages), messages


async def minute(app, clock, seconds=60):
    """One alert check after `seconds`, then one delivery pass, as the scheduler would run them."""
    clock.advance(seconds)
    await app.monitor.tick()
    await app.deliverer.deliver_due()


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


async def test_muted_alerts_arrive_as_one_digest_after_unmute(make_app):
    app, clock, sender = make_app(prices=[50_000, 51_300, 50_000, 48_700])
    await say(app, "/alert BTC above 51000")
    await say(app, "/alert BTC below 48750")
    text, _ = await say(app, "/mute 2h")
    assert "Muted" in text
    for _ in range(4):
        await minute(app, clock)
    assert [m for _, m in sender.sent if m.kind == "alert"] == []
    text, _ = await say(app, "/unmute")
    assert "Unmuted" in text
    await app.deliverer.deliver_due()
    assert len(sender.sent) == 1
    digest = sender.sent[0][1].text()
    assert "51,000" in digest and "48,750" in digest


async def test_failing_source_fires_nothing_and_keeps_state(make_app):
    app, clock, sender = make_app(prices=[50_000, 51_300])
    await say(app, "/alert BTC above 51000")
    await minute(app, clock, 0)

    async def broken(symbol):
        from core.errors import SourceUnavailable

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


async def test_group_summary_needs_an_admin(make_app):
    app, _, _ = make_app()
    member = Caller("telegram", "-100", "u7", chat_kind="group", can_manage_chat=False)
    text, _ = await say(app, "/summary BTC every 4h", member)
    assert "administrators" in text and app.store.summaries() == []
    admin = Caller("telegram", "-100", "u8", chat_kind="group", can_manage_chat=True)
    text, _ = await say(app, "/summary BTC ETH daily 08:00 Europe/Berlin", admin)
    assert "Summary scheduled" in text and "Europe/Berlin" in text
    assert app.store.summaries()[0]["symbols"] == ["BTC", "ETH"]


async def test_summary_posts_one_message_with_chart_and_moves(make_app):
    app, clock, sender = make_app(prices=[50_000, 51_300])
    await say(app, "/summary BTC ETH every 4h")
    summary_id = app.store.summaries()[0]["id"]
    assert await app.monitor.run_summary(summary_id)
    clock.advance(60)
    assert await app.monitor.run_summary(summary_id)
    await app.deliverer.deliver_due()
    first, second = (m for _, m in sender.sent)
    assert first.kind == "summary" and first.image.startswith(b"\x89PNG")
    assert "BTC" in first.text() and "ETH" in first.text()
    assert "broke above" in second.text()  # the key short level was crossed in between


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


async def test_a_paused_chat_hears_its_alerts_are_back_on_whatever_it_types(make_app):
    app, _, _ = make_app()
    await say(app, "/watch BTC")
    app.service.set_chat_active("console", "c1", False)  # e.g. the bot was blocked
    assert app.store.active_rules() == []
    text, _ = await say(app, "/alerts")
    assert "paused" in text and "back on" in text
    assert len(app.store.active_rules()) == 1
    text, _ = await say(app, "/alerts")
    assert "paused" not in text


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
    from core import fmt

    app, clock, sender = make_app(prices=[50_000, 51_100, 51_300])
    await say(app, "/watch BTC")
    await minute(app, clock, 0)
    await minute(app, clock)
    await minute(app, clock)
    [alert] = [m for _, m in sender.sent if m.kind == "alert"]
    assert "$51,000–$51,200" in alert.text()
    assert f"({fmt.money(3 * 150e6)} of shorts)" in alert.text()


async def test_summary_reports_a_key_level_broken_and_left_again_in_between(make_app):
    app, clock, sender = make_app(prices=[50_000, 51_300, 50_000, 50_000])
    await say(app, "/summary BTC every 4h")
    summary_id = app.store.summaries()[0]["id"]
    await app.monitor.run_summary(summary_id)
    clock.advance(180)  # up through the $51,000–51,200 cluster and back down since then
    await app.monitor.run_summary(summary_id)
    await app.deliverer.deliver_due()
    first, second = (m.text() for _, m in sender.sent)
    assert "crossed" not in first.lower()  # nothing to compare the first summary with
    assert "broke above the key short level $51,200" in second


async def test_only_group_admins_can_mute_a_group(make_app):
    app, _, _ = make_app()
    member = Caller("telegram", "-100", "u7", chat_kind="group", can_manage_chat=False)
    text, _ = await say(app, "/mute 30d", member)
    assert "administrators" in text
    assert app.store.find_chat("telegram", "-100") is None  # nothing changed, not even a row
    admin = Caller("telegram", "-100", "u8", chat_kind="group", can_manage_chat=True)
    text, _ = await say(app, "/mute 2h", admin)
    key = app.store.find_chat("telegram", "-100")["key"]
    assert "Muted" in text and app.store.muted_until(key) is not None


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


async def test_unmute_also_lifts_snoozes_and_mute_buttons(make_app):
    app, _, _ = make_app()
    await say(app, "/alert BTC above 51000")
    await app.service.press(ME, "mute_symbol", ("BTC",))
    text, _ = await say(app, "/alerts")
    assert "snoozed until 2026-11-28" in text  # with its date: 24 h from now
    text, _ = await say(app, "/unmute")
    assert "1 snoozed alert(s) are back on" in text
    text, _ = await say(app, "/alerts")
    assert "snoozed" not in text


async def test_summary_shows_what_it_replaces_and_the_current_schedule(make_app):
    app, _, _ = make_app()
    text, _ = await say(app, "/summary")
    assert "no summary" in text
    await say(app, "/summary BTC every 4h")
    text, _ = await say(app, "/summary ETH daily 08:00")
    assert "Replaces: BTC every 4h (UTC)" in text
    text, _ = await say(app, "/summary")
    assert "Now: ETH daily 08:00 (UTC)" in text


async def test_a_symbol_that_cannot_be_checked_is_accepted_with_a_warning(make_app):
    app, _, _ = make_app()

    async def down(symbol):
        from core.errors import SourceUnavailable

        raise SourceUnavailable("Binance is not answering")

    app.source.snapshot = down
    text, _ = await say(app, "/alert SOL above 200")
    assert "Alert set" in text and "Could not check SOL" in text


async def test_a_group_that_became_a_supergroup_keeps_its_alerts_and_summary(make_app):
    app, _, _ = make_app()
    old = Caller("telegram", "-4001", "u1", chat_kind="group", can_manage_chat=True)
    new = Caller("telegram", "-1004001", "u1", chat_kind="group", can_manage_chat=True)
    await say(app, "/alert BTC above 51000", old)
    await say(app, "/summary BTC every 4h", old)
    await say(app, "/watch ETH", new)  # someone used the new supergroup first
    app.service.chat_moved("telegram", "-4001", "-1004001")
    text, _ = await say(app, "/alerts", new)
    assert "BTC above $51,000" in text and "ETH breakout" in text
    text, _ = await say(app, "/summary", new)
    assert "Now: BTC every 4h" in text
    assert app.store.find_chat("telegram", "-4001") is None
