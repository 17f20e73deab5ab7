"""/liqs, /feed and /accuracy as slash commands: thin callbacks onto the service. /liqs and
/accuracy answer publicly (a channel reads them, like /liq); /feed is this channel's setting,
for members with Manage Server (the service checks the rights the channel caller carries)."""

from __future__ import annotations

from typing import Any, Literal

import discord
from discord import app_commands

from core.chat.api import BY_NAME

from .commands import CommandHandlers

Window = Literal["1h", "4h", "24h"]
Days = Literal["1d", "7d", "30d"]


def liquidation_commands(h: CommandHandlers) -> list[app_commands.Command[Any, ..., Any]]:
    @app_commands.command(name="liqs", description=BY_NAME["liqs"].description)
    @app_commands.describe(symbol="Coin, e.g. BTC, ETH or SOL", window="How far back (1h)")
    @app_commands.autocomplete(symbol=h.complete_symbol)
    async def liqs(
        interaction: discord.Interaction, symbol: str, window: Window | None = None
    ) -> None:
        if await h._over_budget(interaction):
            return
        caller = h.personal_caller(interaction)
        await h._deferred(
            interaction, lambda: h.service.run(caller, "liqs", symbol=symbol, window=window)
        )

    @app_commands.command(name="feed", description=BY_NAME["feed"].description)
    @app_commands.describe(
        symbols="Coins to post, e.g. BTC ETH (or 'off' to stop this channel's feed)",
        min_usd="Smallest print to post, e.g. 1M or 250K (default 100K)",
    )
    async def feed(
        interaction: discord.Interaction, symbols: str, min_usd: str | None = None
    ) -> None:
        if await h._over_budget(interaction):
            return
        in_server = interaction.guild_id is not None
        caller = h.channel_caller(interaction) if in_server else h.personal_caller(interaction)
        words = symbols.split()
        off = [w.lower() for w in words] == ["off"]
        await h._deferred(
            interaction,
            lambda: h.service.run(
                caller, "feed", symbols=[] if off else words, min_usd=min_usd, off=off
            ),
        )

    @app_commands.command(name="accuracy", description=BY_NAME["accuracy"].description)
    @app_commands.describe(symbol="Coin, e.g. BTC", span="How far back (7d)")
    @app_commands.autocomplete(symbol=h.complete_symbol)
    async def accuracy(
        interaction: discord.Interaction, symbol: str, span: Days | None = None
    ) -> None:
        if await h._over_budget(interaction):
            return
        caller = h.personal_caller(interaction)
        await h._deferred(
            interaction, lambda: h.service.run(caller, "accuracy", symbol=symbol, span=span)
        )

    return [liqs, feed, accuracy]
