"""The command budget ([alerts] commands_per_minute): a flood is cut off with a slow-down notice,
per user, shared by commands and button presses, and served again a minute later."""

from __future__ import annotations

import discord

from bot.discord_adapter.client import DiscordAdapter
from bot.discord_adapter.commands import CommandHandlers
from bot.discord_adapter.tree import build_tree
from tests.discord_helpers import (  # noqa: F401  (service_fixture: the `service` fixture)
    StepClock,
    callback,
    make_interaction,
    press_button,
    sent,
    service_fixture,
    slow_down_notice,
)


async def test_a_flood_of_liq_is_cut_off_after_the_budget_and_served_again_a_minute_later(service):
    clock = StepClock()
    tree = build_tree(
        discord.Client(intents=discord.Intents.default()),
        CommandHandlers(service, commands_per_minute=3, clock=clock),
    )
    liq = callback(tree, "liq")

    flood = [make_interaction() for _ in range(6)]
    for interaction in flood:
        await liq(interaction, "BTC", None, False)
        clock.now += 1

    assert [call[0] for call in service.calls] == ["report"] * 3
    assert all(slow_down_notice(i) is None for i in flood[:3])
    # Every command over the budget is still answered (Discord wants an answer within 3 s), at
    # once and only to this user, without a "thinking…" defer and without the service.
    for refused in flood[3:]:
        assert slow_down_notice(refused) == "Slow down: at most 3 commands a minute."
        refused.response.defer.assert_not_awaited()

    other = make_interaction(user_id=5151)
    await liq(other, "ETH", None, False)
    assert service.calls[-1] == ("report", "ETH", None, False)
    assert slow_down_notice(other) is None

    clock.now += 60  # the first of the flood's served commands is a minute old now
    again = make_interaction()
    await liq(again, "SOL", None, False)
    assert service.calls[-1] == ("report", "SOL", None, False)
    assert "SOL liquidation map" in sent(again)[0]["embeds"][0].title


async def test_button_presses_and_other_commands_spend_the_same_budget(service):
    handlers = CommandHandlers(service, commands_per_minute=2, clock=StepClock())
    tree = build_tree(discord.Client(intents=discord.Intents.default()), handlers)
    shown = make_interaction()
    await callback(tree, "liq")(shown, "SOL", None, True)
    await callback(tree, "watchlist")(make_interaction())
    calls_before = len(service.calls)

    button = next(i for i in sent(shown)[0]["view"].children if i.label == "Alert me on breakout")
    press = make_interaction()
    await press_button(handlers, button, press)
    help_asked = make_interaction()
    await callback(tree, "help")(help_asked)

    assert len(service.calls) == calls_before
    assert slow_down_notice(press) == "Slow down: at most 2 commands a minute."
    assert slow_down_notice(help_asked) == "Slow down: at most 2 commands a minute."


async def test_the_adapter_applies_the_configured_budget(service):
    adapter = DiscordAdapter(service, {}, commands_per_minute=1, clock=StepClock())
    watchlist = callback(adapter.tree, "watchlist")

    first, second = make_interaction(), make_interaction()
    await watchlist(first)
    await watchlist(second)

    assert [call[0] for call in service.calls] == ["watchlist"]
    assert slow_down_notice(second) == "Slow down: at most 1 command a minute."


async def test_a_budget_of_zero_means_no_limit(service):
    tree = build_tree(
        discord.Client(intents=discord.Intents.default()),
        CommandHandlers(service, commands_per_minute=0, clock=StepClock()),
    )

    for _ in range(50):
        await callback(tree, "alerts")(make_interaction())

    assert len(service.calls) == 50
