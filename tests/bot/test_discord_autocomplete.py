"""Symbol autocomplete for the slash commands: Discord's limit of 25, `$` prefixes, failures."""

from __future__ import annotations

from unittest.mock import MagicMock

from bot.discord_adapter.commands import CommandHandlers
from tests.discord_helpers import (  # noqa: F401  (service_fixture: the `service` fixture)
    make_interaction,
    service_fixture,
)


async def test_symbol_autocomplete_offers_at_most_25_matching_symbols(service):
    handlers = CommandHandlers(service)

    choices = await handlers.complete_symbol(make_interaction(), "b")

    assert 0 < len(choices) <= 25
    assert all(choice.value.startswith("B") for choice in choices)
    assert choices[0].value == "BTC"  # the service's best-first order is kept


async def test_symbol_autocomplete_understands_a_dollar_prefix_and_unknown_text(service):
    handlers = CommandHandlers(service)

    assert [c.value for c in await handlers.complete_symbol(make_interaction(), "$et")] == [
        "ETH",
        "ETC",
    ]
    assert await handlers.complete_symbol(make_interaction(), "zzz") == []


async def test_watch_autocomplete_completes_the_last_symbol_of_a_list(service):
    handlers = CommandHandlers(service)

    choices = await handlers.complete_symbols(make_interaction(), "BTC et")

    assert [c.value for c in choices] == ["BTC ETH", "BTC ETC"]


async def test_autocomplete_answers_empty_when_the_service_fails(service):
    service.known_symbols = MagicMock(side_effect=RuntimeError("boom"))

    assert await CommandHandlers(service).complete_symbol(make_interaction(), "b") == []
