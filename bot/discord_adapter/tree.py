"""The slash-command tree: names, parameters and descriptions as Discord shows them.

Command descriptions come from core/chat/commands.py so that /help, Telegram's menu and Discord
agree; the alert kinds' choices from their registry.
The callbacks are thin: they hand over to CommandHandlers.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from core.chat.api import ALERT_KIND_CHOICES, ALERT_VALUE_HINT, BY_NAME

from .commands import SOMETHING_WENT_WRONG, CommandHandlers
from .liq_commands import liquidation_commands
from .market_commands import market_commands
from .replies import reply
from .wallet_commands import wallet_commands

log = logging.getLogger(__name__)

# From the alert kinds' registry: a new kind shows up here by itself.
KIND_CHOICES = [app_commands.Choice(name=hint, value=name) for name, hint in ALERT_KIND_CHOICES]


def _description(name: str) -> str:
    return BY_NAME[name].description


_UNANSWERABLE = {
    10062: "it expired before the answer (3 s to acknowledge)",
    40060: "it was answered already: is another process running with this bot token?",
}


def build_tree(client: discord.Client, handlers: CommandHandlers) -> app_commands.CommandTree:
    """A CommandTree holding every liqwatch command (registered locally; syncing is separate)."""
    tree = app_commands.CommandTree(client)
    for command in build_commands(handlers):
        tree.add_command(command)

    async def on_error(
        interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        # Handlers answer their own errors; this catches failures of Discord itself mid-reply.
        original = getattr(error, "original", error)
        if isinstance(original, discord.HTTPException) and original.code in _UNANSWERABLE:
            # Answering again would be one more invalid request (tests/data/real/discord:
            # error_10062_unknown_interaction, error_40060_already_acknowledged): one line.
            log.warning(
                "Discord interaction not answered (%s): %s",
                original.code,
                _UNANSWERABLE[original.code],
            )
            return
        log.error("slash command failed: %s", error, exc_info=error)
        try:
            await reply(
                interaction,
                [SOMETHING_WENT_WRONG],
                view_for=handlers.view_for,
                acknowledged=interaction.response.is_done(),
                ephemeral=True,
            )
        except discord.HTTPException:
            pass  # the interaction expired: nothing more can be said

    tree.on_error = on_error
    return tree


def build_commands(h: CommandHandlers) -> list[app_commands.Command[Any, ..., Any]]:
    """Every slash command, each handing over to the matching CommandHandlers method."""

    @app_commands.command(name="liq", description=_description("liq"))
    @app_commands.describe(
        symbol="Coin, e.g. BTC, ETH or SOL",
        window="Only count levels within ±N % of the price (0 or empty: the whole map)",
        chart="Attach the chart (default: yes)",
    )
    @app_commands.autocomplete(symbol=h.complete_symbol)
    async def liq(
        interaction: discord.Interaction,
        symbol: str,
        window: app_commands.Range[float, 0, 100] | None = None,
        chart: bool = True,
    ) -> None:
        await h.liq(interaction, symbol, window, chart)

    @app_commands.command(name="watch", description=_description("watch"))
    @app_commands.describe(symbols="One or more coins, e.g. BTC ETH")
    @app_commands.autocomplete(symbols=h.complete_symbols)
    async def watch(interaction: discord.Interaction, symbols: str) -> None:
        await h.watch(interaction, symbols)

    @app_commands.command(name="unwatch", description=_description("unwatch"))
    @app_commands.describe(symbols="One or more coins to remove, e.g. ETH")
    @app_commands.autocomplete(symbols=h.complete_symbols)
    async def unwatch(interaction: discord.Interaction, symbols: str) -> None:
        await h.unwatch(interaction, symbols)

    @app_commands.command(name="watchlist", description=_description("watchlist"))
    async def watchlist(interaction: discord.Interaction) -> None:
        await h.watchlist(interaction)

    @app_commands.command(name="alert", description=_description("alert"))
    @app_commands.describe(
        symbol="Coin, e.g. BTC",
        kind="What to watch for",
        value=ALERT_VALUE_HINT[:100],
    )
    @app_commands.choices(kind=KIND_CHOICES)
    @app_commands.autocomplete(symbol=h.complete_symbol)
    async def alert(
        interaction: discord.Interaction,
        symbol: str,
        kind: app_commands.Choice[str],
        value: float | None = None,
    ) -> None:
        await h.alert(interaction, symbol, kind.value, value)

    @app_commands.command(name="alerts", description=_description("alerts"))
    async def alerts(interaction: discord.Interaction) -> None:
        await h.alerts(interaction)

    @app_commands.command(name="delalert", description=_description("delalert"))
    @app_commands.rename(alert_id="id")
    @app_commands.describe(alert_id="The alert's id, as /alerts lists it")
    async def delalert(
        interaction: discord.Interaction, alert_id: app_commands.Range[int, 1]
    ) -> None:
        await h.delalert(interaction, alert_id)

    @app_commands.command(name="mute", description=_description("mute"))
    @app_commands.describe(duration="For how long, e.g. 30m, 2h or 1d")
    async def mute(interaction: discord.Interaction, duration: str) -> None:
        await h.mute(interaction, duration)

    @app_commands.command(name="unmute", description=_description("unmute"))
    async def unmute(interaction: discord.Interaction) -> None:
        await h.unmute(interaction)

    @app_commands.command(name="summary", description=_description("summary"))
    @app_commands.describe(
        setting="e.g. BTC ETH every 4h, or BTC daily 08:00 Europe/Berlin, or off"
    )
    # Hidden from members without Manage Server by default; the handler checks again, because
    # server admins can change who sees a command.
    @app_commands.default_permissions(manage_guild=True)
    async def summary(interaction: discord.Interaction, setting: str) -> None:
        await h.summary(interaction, setting)

    @app_commands.command(name="help", description=_description("help"))
    async def help_(interaction: discord.Interaction) -> None:
        await h.help(interaction)

    commands = [liq, watch, unwatch, watchlist, alert, alerts, delalert, mute, unmute, summary]
    personal = wallet_commands(h)
    return [*commands, *market_commands(h), *liquidation_commands(h), *personal, help_]


def command_payloads(tree: app_commands.CommandTree) -> list[dict[str, Any]]:
    """What a sync would send to Discord, one dict per command (for checks and tests)."""
    return [command.to_dict(tree) for command in tree.get_commands()]
