"""Discord alert buttons and who may press them, over the whole app (tests/bot/test_discord_e2e.py's
world: real service, store, monitor and outbox; mocked interactions shaped like the payload).

A personal alert's buttons are its owner's: another member pressing them where the alert was
posted (the channel, when the owner's DMs are closed) is told so, privately, and nothing changes.
An alert a channel owns is its managers' to press, with the rights read from the interaction's own
`permissions`, as /summary reads them. (No Discord command sets a channel-owned alert today: every
/alert and /watch is personal. The test sets one in the store, so the rule holds when one does.)
"""

from __future__ import annotations

from tests.bot import test_discord_e2e as e2e
from tests.bot.test_discord_e2e import embed_text
from tests.discord_helpers import CHANNEL_ID, USER_ID, make_interaction, press_button, sent

OTHER_ID = USER_ID + 1
world = e2e.world  # the whole-app fixture


def snooze_button(alert: dict):
    return next(item for item in alert["view"].children if item.label == "Snooze 1h")


async def press_snooze(w, alert: dict, **who) -> str:
    """Press the alert's Snooze as `who`; the text of the (ephemeral) answer."""
    press = make_interaction(**who)
    await press_button(w.adapter.handlers, snooze_button(alert), press)
    (answer,) = sent(press)
    assert answer.get("ephemeral") is True  # only the presser sees it
    return embed_text(answer["embeds"][0])


async def test_another_members_press_on_an_alert_in_the_channel_is_refused(world):
    w = world()
    await w.command("watch", "BTC")  # typed in the server channel CHANNEL_ID
    w.dm.close()  # the alert goes to the channel, mentioning its owner
    await w.price_walk(2)
    (alert,) = w.channel.posts()
    assert "someone else's" in await press_snooze(w, alert, user_id=OTHER_ID, manage_guild=True)
    (rule,) = w.user_rules()
    assert rule.snoozed_until is None
    assert "quiet until" in await press_snooze(w, alert)  # its owner's press works
    (rule,) = w.user_rules()
    assert rule.snoozed_until is not None


async def test_a_channels_own_alert_is_for_members_with_manage_server(world):
    w = world()
    channel = f"channel:{CHANNEL_ID}"
    key = w.app.store.upsert_chat("discord", channel, kind="group")
    rule = w.app.store.add_rule(key, channel, "BTC", "breakout", None)
    await w.price_walk(2)
    (alert,) = w.channel.posts()
    refusal = await press_snooze(w, alert, user_id=OTHER_ID, manage_guild=False)
    assert "administrators" in refusal
    assert w.app.store.rule(rule.id).snoozed_until is None
    assert "quiet until" in await press_snooze(w, alert, user_id=OTHER_ID, manage_guild=True)
    assert w.app.store.rule(rule.id).snoozed_until is not None
