"""Telegram inline buttons end to end: refresh in place, chart, alert for the presser, expired."""

from __future__ import annotations

from tests.fakes.standin_service import PNG
from tests.telegram_helpers import (  # noqa: F401  (*_fixture: the bot/fake/launch fixtures)
    REPORT_BUTTONS,
    USER,
    bot_fixture,
    button_rows,
    fake_fixture,
    launch_fixture,
    press,
)

# ---- buttons ---------------------------------------------------------------------------------


async def test_refresh_edits_the_text_report_in_place(bot):
    bot.service.charts = False
    await bot.say("/liq BTC")
    (report,) = await bot.replies()
    await press(bot, report, "Refresh")
    (edit,) = await bot.fake.wait_for("editMessageText")
    assert edit.params["text"] == report.params["text"]
    assert [b["text"] for row in button_rows(edit) for b in row] == list(REPORT_BUTTONS)
    assert bot.fake.calls_to("answerCallbackQuery")
    assert bot.service.calls[-1][2:] == ("refresh", ("BTC",))


async def test_refresh_on_a_chart_replaces_the_chart(bot):
    await bot.say("/liq ETH")
    (photo,) = await bot.replies(method="sendPhoto")
    await press(bot, photo, "Refresh")
    (edit,) = await bot.fake.wait_for("editMessageMedia")
    assert edit.files  # a fresh PNG uploaded
    assert edit.params["media"]["caption"].startswith("<b>ETH liquidation map")


async def test_chart_button_sends_the_chart_as_a_photo(bot):
    bot.service.charts = False
    await bot.say("/liq SOL")
    (report,) = await bot.replies()
    await press(bot, report, "Chart")
    (photo,) = await bot.replies(method="sendPhoto")
    assert photo.files["photo"] == PNG and "SOL liquidation map" in photo.params["caption"]


async def test_alert_button_sets_the_alert_for_the_presser(bot):
    await bot.say("/liq BTC")
    (photo,) = await bot.replies(method="sendPhoto")
    await press(bot, photo, "Alert me on breakout")
    (reply,) = await bot.replies()
    assert "Alert set: BTC breakout" in reply.params["text"]
    (_, caller, action, args) = bot.service.calls[-1]
    assert (caller.user_id, action, args) == (str(USER), "alert_breakout", ("BTC",))


async def test_an_expired_button_is_answered_with_a_notice(bot):
    shown = {"message_id": 1, "date": 0, "chat": bot.fake._chat(USER), "text": "old"}
    await bot.fake.push(bot.fake.callback(USER, USER, "~zzz", shown))
    (answer,) = await bot.fake.wait_for("answerCallbackQuery")
    assert "expired" in answer.params["text"]
    assert [c for c in bot.service.calls if c[0] == "press"] == []
