"""/heatmap and /top as slash commands: thin callbacks onto the service, public answers (a
heatmap or a ranking is for the whole channel, like /liq)."""

from __future__ import annotations

from typing import Any, Literal

import discord
from discord import app_commands

from core.chat.api import BY_NAME

from .commands import CommandHandlers

Span = Literal["24h", "3d", "7d"]
Order = Literal["ratio", "longs", "shorts", "near"]


def market_commands(h: CommandHandlers) -> list[app_commands.Command[Any, ..., Any]]:
    @app_commands.command(name="heatmap", description=BY_NAME["heatmap"].description)
    @app_commands.describe(symbol="Coin, e.g. BTC, ETH or SOL", span="How far back (24h)")
    @app_commands.autocomplete(symbol=h.complete_symbol)
    async def heatmap(
        interaction: discord.Interaction, symbol: str, span: Span | None = None
    ) -> None:
        if await h._over_budget(interaction):
            return
        caller = h.personal_caller(interaction)
        await h._deferred(
            interaction, lambda: h.service.run(caller, "heatmap", symbol=symbol, span=span)
        )

    @app_commands.command(name="top", description=BY_NAME["top"].description)
    @app_commands.describe(by="Rank by (ratio: most short-heavy first)", rows="How many (10)")
    async def top(
        interaction: discord.Interaction,
        by: Order = "ratio",
        rows: app_commands.Range[int, 1, 30] = 10,
    ) -> None:
        if await h._over_budget(interaction):
            return
        caller = h.personal_caller(interaction)
        await h._deferred(interaction, lambda: h.service.run(caller, "top", by=by, rows=rows))

    return [heatmap, top]
