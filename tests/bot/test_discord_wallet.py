"""/wallet as a Discord slash command: a personal command, its options passed as typed, the
answer shown only to the user in a server channel (it names their wallet)."""

from __future__ import annotations

from tests.discord_helpers import (  # noqa: F401  (*_fixture: the service/handlers/tree fixtures)
    USER_ID,
    callback,
    handlers_fixture,
    make_interaction,
    sent,
    service_fixture,
    tree_fixture,
)

ADDRESS = "0x5e9ee1089755c3435139848e47e6635505d5a13a"


async def test_wallet_in_a_server_is_personal_and_answered_only_to_the_user(tree, service):
    interaction = make_interaction()

    await callback(tree, "wallet")(interaction, ADDRESS, 3.0)

    [(name, caller, command, options)] = service.calls
    assert (name, command, options) == ("run", "wallet", {"address": ADDRESS, "pct": 3.0})
    assert caller.chat_kind == "private" and caller.chat_id == f"user:{USER_ID}"
    interaction.response.defer.assert_awaited_once_with(thinking=True, ephemeral=True)
    assert sent(interaction)[0]["ephemeral"] is True


async def test_wallet_without_options_asks_what_is_watched(tree, service):
    interaction = make_interaction(in_server=False)

    await callback(tree, "wallet")(interaction)

    assert service.calls[0][2:] == ("wallet", {})
    assert sent(interaction)[0]["ephemeral"] is False
