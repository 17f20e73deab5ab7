"""/wallet as a slash command: a personal command (alerts go to the user's DMs), answered only to
the user who asked when it is used in a server channel, since it names their wallet."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from core.chat.api import BY_NAME

from .commands import CommandHandlers


def wallet_commands(h: CommandHandlers) -> list[app_commands.Command[Any, ..., Any]]:
    @app_commands.command(name="wallet", description=BY_NAME["wallet"].description)
    @app_commands.describe(
        address="Your Hyperliquid address (0x + 40 hex), or off to stop; empty: what is watched",
        pct="Alert within this % of a liquidation price, and again at half of it (5)",
    )
    async def wallet(
        interaction: discord.Interaction,
        address: str | None = None,
        pct: app_commands.Range[float, 0.5, 50.0] | None = None,
    ) -> None:
        if await h._over_budget(interaction):
            return
        caller = h.personal_caller(interaction)
        options: dict[str, Any] = {}
        if address:
            options["address"] = address
            if pct is not None:
                options["pct"] = pct
        await h._deferred(
            interaction,
            lambda: h.service.run(caller, "wallet", **options),
            ephemeral=h._private_in_server(interaction),
        )

    return [wallet]
