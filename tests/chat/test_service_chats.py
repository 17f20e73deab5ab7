"""Chat-wide things through the whole app: summaries, mute, rights in groups, paused and moved
chats."""

from __future__ import annotations

from core.types import Caller
from tests.service_helpers import ME, make_app_fixture, minute, say  # noqa: F401  (fixture)


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
