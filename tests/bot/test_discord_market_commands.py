"""/heatmap and /top on Discord: slash commands onto the same service calls, answered publicly."""

from __future__ import annotations

from tests.discord_helpers import (  # noqa: F401  (*_fixture: the service/handlers/tree fixtures)
    callback,
    handlers_fixture,
    make_interaction,
    sent,
    service_fixture,
    tree_fixture,
)


async def test_heatmap_runs_the_heatmap_command_with_its_span(tree, service):
    interaction = make_interaction()
    await callback(tree, "heatmap")(interaction, "btc", "7d")
    (call,) = service.calls
    assert call[0] == "run" and call[2:] == ("heatmap", {"symbol": "btc", "span": "7d"})
    interaction.response.defer.assert_awaited_once_with(thinking=True, ephemeral=False)
    assert sent(interaction)


async def test_top_runs_the_screener_with_order_and_rows(tree, service):
    interaction = make_interaction()
    await callback(tree, "top")(interaction, "near", 5)
    (call,) = service.calls
    assert call[2:] == ("top", {"by": "near", "rows": 5})
