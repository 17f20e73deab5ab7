"""Who may press an alert's buttons in a group (core/chat/alert_commands.py): the presser's own
alerts, the chat's own alerts (set by an anonymous admin or a channel post: owner = the chat's id)
for its administrators only, never another member's. Through the service, on a scripted replay."""

from __future__ import annotations

from core.types import Caller
from tests.service_helpers import make_app_fixture  # noqa: F401  (the make_app fixture)

GROUP = "-100200300"
THE_CHAT = Caller("telegram", GROUP, GROUP, chat_kind="group")  # an anonymous admin
MEMBER = Caller("telegram", GROUP, "5001", chat_kind="group", can_manage_chat=False)
ADMIN = Caller("telegram", GROUP, "5002", chat_kind="group", can_manage_chat=True)


async def rules(app, *lines: tuple[Caller, str]):
    for caller, text in lines:
        (answer,) = await app.service.handle(caller, text)
        assert "Alert set" in answer.text(), answer.text()
    key = app.store.find_chat("telegram", GROUP)["key"]
    return {r.user_id: r for r in app.store.rules_for(key, GROUP)} | {
        r.user_id: r for r in app.store.rules_for(key, MEMBER.user_id)
    }


async def test_only_presses_on_the_chats_own_alerts_need_the_pressers_rights(make_app):
    app, _, _ = make_app()
    owned = await rules(app, (THE_CHAT, "/alert BTC above 60000"), (MEMBER, "/alert ETH near 1"))
    chat_rule, member_rule = owned[GROUP], owned[MEMBER.user_id]
    needs = app.service.press_needs_chat_rights
    assert needs(MEMBER, "snooze", (str(chat_rule.id),)) is True
    assert needs(MEMBER, "mute_symbol", ("btc",)) is True
    assert needs(MEMBER, "snooze", (str(member_rule.id),)) is False  # their own
    assert needs(MEMBER, "mute_symbol", ("ETH",)) is False  # the chat has no ETH alert
    assert needs(MEMBER, "refresh", ("BTC",)) is False
    assert needs(MEMBER, "snooze", ("not-a-number",)) is False
    assert needs(ADMIN, "snooze", (str(chat_rule.id),)) is False  # rights already known
    assert needs(THE_CHAT, "snooze", (str(chat_rule.id),)) is False  # the chat itself


async def test_a_member_mutes_their_own_alerts_and_is_told_the_chats_stay_on(make_app):
    app, _, _ = make_app()
    owned = await rules(
        app, (THE_CHAT, "/alert BTC above 60000"), (MEMBER, "/alert BTC below 40000")
    )
    (answer,) = await app.service.press(MEMBER, "mute_symbol", ("BTC",))
    assert "1 BTC alert(s) quiet" in answer.text() and "stay on" in answer.text()
    assert app.store.rule(owned[MEMBER.user_id].id).snoozed_until is not None
    assert app.store.rule(owned[GROUP].id).snoozed_until is None
    (answer,) = await app.service.press(ADMIN, "mute_symbol", ("BTC",))
    assert "1 BTC alert(s) quiet" in answer.text()  # the admin has none: the chat's one
    assert app.store.rule(owned[GROUP].id).snoozed_until is not None


async def test_nobody_snoozes_another_members_alert_not_even_an_admin(make_app):
    app, _, _ = make_app()
    owned = await rules(app, (MEMBER, "/alert BTC above 60000"))
    rule = owned[MEMBER.user_id]
    for caller in (ADMIN, THE_CHAT):
        (answer,) = await app.service.press(caller, "snooze", (str(rule.id),))
        assert answer.kind == "error" and "someone else's" in answer.text()
    assert app.store.rule(rule.id).snoozed_until is None


async def test_alerts_lists_the_chats_own_alerts_beside_the_callers(make_app):
    app, _, _ = make_app()
    owned = await rules(app, (THE_CHAT, "/alert BTC above 60000"), (MEMBER, "/alert ETH near 1"))
    (listing,) = await app.service.handle(MEMBER, "/alerts")
    text = listing.text()
    assert f"#{owned[MEMBER.user_id].id}" in text and f"#{owned[GROUP].id}" in text
    assert "This chat's alerts" in text and "administrators" in text  # who may remove


async def test_an_admin_deletes_the_chats_own_alert_a_member_cannot(make_app):
    app, _, _ = make_app()
    owned = await rules(app, (THE_CHAT, "/alert BTC above 60000"))
    chat_rule = owned[GROUP]
    needs = app.service.command_needs_chat_rights
    assert needs(MEMBER, f"/delalert {chat_rule.id}") is True
    assert needs(MEMBER, "/delalert 999") is False and needs(MEMBER, "/alerts") is False
    assert needs(ADMIN, f"/delalert {chat_rule.id}") is False  # rights already known

    (refused,) = await app.service.handle(MEMBER, f"/delalert {chat_rule.id}")
    assert refused.kind == "error" and "administrators" in refused.text()
    assert app.store.rule(chat_rule.id)  # still there

    (done,) = await app.service.handle(ADMIN, f"/delalert {chat_rule.id}")
    assert "Alert deleted" in done.text()
    key = app.store.find_chat("telegram", GROUP)["key"]
    assert app.store.rules_for(key, GROUP) == []
