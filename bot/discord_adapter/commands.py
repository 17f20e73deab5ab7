"""What each slash command and button does: build a Caller, call the service, send the answer.

The service computes and words everything; this module only decides who is asking, with which
rights, whether they are within their command budget (`[alerts] commands_per_minute`), and where
the answer goes (public, or only for the user in a server channel).
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import discord
from discord import app_commands

from core.chat.api import ChatService, guarded
from core.render.report import INTERNAL_ERROR, error_message
from core.types import Button, Caller, Message

from ..ratelimit import CommandRateLimit
from .replies import replace_original, reply
from .views import ActionView, press_listener

log = logging.getLogger(__name__)

PLATFORM = "discord"
MAX_CHOICES = 25  # Discord shows at most 25 autocomplete choices
CHOICE_LIMIT = 100  # characters in a choice's name and value
REPLACING_ACTIONS = frozenset({"refresh"})  # these edit the message the button sits on

SOMETHING_WENT_WRONG = error_message(INTERNAL_ERROR)
BUTTON_NOT_UNDERSTOOD = Message(
    title="That button has expired",
    lines=("Nothing was changed. Try the command again.",),
    kind="error",
)
SUMMARY_NEEDS_SERVER = Message(
    title="Summaries are for server channels",
    lines=("Use /summary in the server channel that should receive them.",),
    kind="error",
)
SUMMARY_NEEDS_MANAGE_SERVER = Message(
    title="Only server managers can set summaries",
    lines=("/summary needs the Manage Server permission in this server.",),
    kind="error",
)

SUMMARY_BOT_CANNOT_POST = Message(
    title="I cannot post in this channel",
    lines=(
        "Give liqwatch View Channel, Send Messages and Embed Links here, then run /summary again.",
    ),
    kind="error",
)


def split_symbols(text: str) -> list[str]:
    """`"btc, eth sol"` → `["btc", "eth", "sol"]` (the service validates each one)."""
    return [part for part in re.split(r"[\s,]+", text) if part]


def slow_down_message(per_minute: int) -> Message:
    """The notice for a user over their command budget."""
    commands = "command" if per_minute == 1 else "commands"
    return Message(title=f"Slow down: at most {per_minute} {commands} a minute.", kind="error")


class CommandHandlers:
    """The bodies of the slash commands and buttons, over one service object."""

    def __init__(
        self,
        service: ChatService,
        admins: Iterable[str | int] = (),
        *,
        commands_per_minute: int = 20,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.service = service
        self.admins = frozenset(str(admin).strip() for admin in admins)
        self.rate = CommandRateLimit(commands_per_minute, clock)
        self.slow_down = slow_down_message(commands_per_minute)
        # Registered on the client (client.add_dynamic_items): routes every press of our buttons,
        # on messages old or new, to `press`.
        self.button_listener = press_listener(self.press)

    # ---- who is asking --------------------------------------------------------------------

    def personal_caller(self, interaction: discord.Interaction) -> Caller:
        """Personal commands: alerts go to the user's DMs, or to this channel if DMs are closed."""
        user_id = str(interaction.user.id)
        in_server = interaction.guild_id is not None
        # In a DM the "channel" is the DM itself: no use as a fallback when DMs are closed.
        fallback = str(interaction.channel_id) if in_server and interaction.channel_id else None
        return Caller(
            platform=PLATFORM,
            chat_id=f"user:{user_id}",
            user_id=user_id,
            chat_kind="private",
            can_manage_chat=True,
            is_bot_admin=user_id in self.admins,
            fallback_chat_id=fallback,
        )

    def channel_caller(self, interaction: discord.Interaction) -> Caller:
        """Channel-wide settings (/summary): the rights are the member's Manage Server, read from
        the interaction's own `member.permissions` (Discord computes them, overwrites included),
        never from roles: without the members intent the client has not cached them, and
        `guild_permissions` then says "none" for the server's owner (tests/bot/
        test_corpus_discord.py, with the recorded INTERACTION_CREATE)."""
        user_id = str(interaction.user.id)
        permissions = interaction.permissions if interaction.guild_id is not None else None
        manage = permissions is not None and (permissions.manage_guild or permissions.administrator)
        return Caller(
            platform=PLATFORM,
            chat_id=f"channel:{interaction.channel_id}",
            user_id=user_id,
            chat_kind="group",
            can_manage_chat=bool(manage),
            is_bot_admin=user_id in self.admins,
        )

    @staticmethod
    def bot_can_post(interaction: discord.Interaction) -> bool:
        """The bot's own rights in this channel, from the payload's `app_permissions`: a summary
        set where it cannot post would fail at every delivery."""
        rights = interaction.app_permissions
        if rights.administrator:
            return True
        in_thread = isinstance(interaction.channel, discord.Thread)
        send = rights.send_messages_in_threads if in_thread else rights.send_messages
        return bool(rights.view_channel and send and rights.embed_links)

    # ---- plumbing ---------------------------------------------------------------------------

    def view_for(self, message: Message) -> ActionView | None:
        return ActionView(message.buttons) if message.buttons else None

    @staticmethod
    def _private_in_server(interaction: discord.Interaction) -> bool:
        """Personal answers in a server channel are shown only to the user who asked."""
        return interaction.guild_id is not None

    async def _answer(self, produce: Callable[[], Awaitable[Any]]) -> list[Message]:
        """Run a service call under the core's one error policy (the service already answers
        its own errors; this is the net for anything that escapes it)."""
        return await guarded(None, produce)

    async def _deferred(
        self,
        interaction: discord.Interaction,
        produce: Callable[[], Awaitable[Any]],
        *,
        ephemeral: bool = False,
    ) -> None:
        """Acknowledge at once (Discord allows 3 s), then answer through the followup."""
        await interaction.response.defer(thinking=True, ephemeral=ephemeral)
        messages = await self._answer(produce)
        await reply(
            interaction, messages, view_for=self.view_for, acknowledged=True, ephemeral=ephemeral
        )

    async def _refuse(self, interaction: discord.Interaction, message: Message) -> None:
        await reply(
            interaction, [message], view_for=self.view_for, acknowledged=False, ephemeral=True
        )

    async def _over_budget(self, interaction: discord.Interaction) -> bool:
        """Count this command or press against the user's budget; over it, say so and stop.

        Unlike Telegram, a user over the limit is answered every time, not only the first: Discord
        shows "the application did not respond" to an interaction left unanswered for 3 s. The
        short ephemeral notice costs no service call."""
        if self.rate.check(f"user:{interaction.user.id}") == "ok":
            return False
        await self._refuse(interaction, self.slow_down)
        return True

    # ---- commands ---------------------------------------------------------------------------

    async def liq(
        self,
        interaction: discord.Interaction,
        symbol: str,
        window: float | None = None,
        chart: bool = True,
    ) -> None:
        """/liq: the report, public, with its chart and buttons."""
        if await self._over_budget(interaction):
            return
        await self._deferred(
            interaction,
            lambda: self.service.run(
                self.personal_caller(interaction), "liq", symbol=symbol, window=window, chart=chart
            ),
        )

    async def watch(self, interaction: discord.Interaction, symbols: str) -> None:
        if await self._over_budget(interaction):
            return
        caller = self.personal_caller(interaction)
        await self._deferred(
            interaction,
            lambda: self.service.run(caller, "watch", symbols=split_symbols(symbols)),
            ephemeral=self._private_in_server(interaction),
        )

    async def unwatch(self, interaction: discord.Interaction, symbols: str) -> None:
        if await self._over_budget(interaction):
            return
        caller = self.personal_caller(interaction)
        await self._deferred(
            interaction,
            lambda: self.service.run(caller, "unwatch", symbols=split_symbols(symbols)),
            ephemeral=self._private_in_server(interaction),
        )

    async def watchlist(self, interaction: discord.Interaction) -> None:
        if await self._over_budget(interaction):
            return
        caller = self.personal_caller(interaction)
        await self._deferred(
            interaction,
            lambda: self.service.run(caller, "watchlist"),
            ephemeral=self._private_in_server(interaction),
        )

    async def alert(
        self,
        interaction: discord.Interaction,
        symbol: str,
        kind: str,
        value: float | None = None,
    ) -> None:
        if await self._over_budget(interaction):
            return
        caller = self.personal_caller(interaction)
        await self._deferred(
            interaction,
            lambda: self.service.run(caller, "alert", symbol=symbol, kind=kind, value=value),
            ephemeral=self._private_in_server(interaction),
        )

    async def alerts(self, interaction: discord.Interaction) -> None:
        if await self._over_budget(interaction):
            return
        caller = self.personal_caller(interaction)
        await self._deferred(
            interaction,
            lambda: self.service.run(caller, "alerts"),
            ephemeral=self._private_in_server(interaction),
        )

    async def delalert(self, interaction: discord.Interaction, alert_id: int) -> None:
        if await self._over_budget(interaction):
            return
        caller = self.personal_caller(interaction)
        await self._deferred(
            interaction,
            lambda: self.service.run(caller, "delalert", alert_id=alert_id),
            ephemeral=self._private_in_server(interaction),
        )

    async def mute(self, interaction: discord.Interaction, duration: str) -> None:
        if await self._over_budget(interaction):
            return
        caller = self.personal_caller(interaction)
        await self._deferred(
            interaction,
            lambda: self.service.run(caller, "mute", duration=duration.strip()),
            ephemeral=self._private_in_server(interaction),
        )

    async def unmute(self, interaction: discord.Interaction) -> None:
        if await self._over_budget(interaction):
            return
        caller = self.personal_caller(interaction)
        await self._deferred(
            interaction,
            lambda: self.service.run(caller, "unmute"),
            ephemeral=self._private_in_server(interaction),
        )

    async def summary(self, interaction: discord.Interaction, setting: str) -> None:
        """/summary: this channel's scheduled summaries; Manage Server (or bot admin) only."""
        if await self._over_budget(interaction):
            return
        if interaction.guild_id is None:
            await self._refuse(interaction, SUMMARY_NEEDS_SERVER)
            return
        caller = self.channel_caller(interaction)
        if not (caller.can_manage_chat or caller.is_bot_admin):
            await self._refuse(interaction, SUMMARY_NEEDS_MANAGE_SERVER)
            return
        if not self.bot_can_post(interaction):
            await self._refuse(interaction, SUMMARY_BOT_CANNOT_POST)
            return
        await self._deferred(
            interaction, lambda: self.service.run(caller, "summary", setting=setting.split())
        )

    async def help(self, interaction: discord.Interaction) -> None:
        """/help: built by the service from the same command table as the slash menu."""
        if await self._over_budget(interaction):
            return

        async def produce() -> Message:
            found = self.service.help()  # plain in the contract; tolerate a coroutine too
            return await found if inspect.isawaitable(found) else found

        messages = await self._answer(produce)
        await reply(
            interaction,
            messages,
            view_for=self.view_for,
            acknowledged=False,
            ephemeral=self._private_in_server(interaction),
        )

    # ---- buttons ----------------------------------------------------------------------------

    async def press(self, interaction: discord.Interaction, button: Button | None) -> None:
        """A button: Refresh edits the report in place; the others answer the presser privately.

        `button` is None when its custom_id did not parse: the presser is told, nothing runs."""
        if await self._over_budget(interaction):
            return
        if button is None:
            await self._refuse(interaction, BUTTON_NOT_UNDERSTOOD)
            return
        caller = self.personal_caller(interaction)
        if interaction.guild_id is not None:  # on a channel's own alert: its managers' rights,
            channel = self.channel_caller(interaction)  # from the payload's `permissions`
            unknown = dataclasses.replace(channel, can_manage_chat=False, is_bot_admin=False)
            if self.service.press_needs_chat_rights(unknown, button.action, button.args):
                caller = channel

        def produce() -> Awaitable[list[Message]]:
            return self.service.press(caller, button.action, button.args)

        if button.action in REPLACING_ACTIONS:
            await interaction.response.defer()
            messages = await self._answer(produce)
            if messages and messages[0].kind == "error":
                await reply(
                    interaction, messages, view_for=self.view_for, acknowledged=True, ephemeral=True
                )
            else:
                await replace_original(interaction, messages, view_for=self.view_for)
            return
        await self._deferred(interaction, produce, ephemeral=True)

    # ---- autocomplete -----------------------------------------------------------------------

    async def _known(self, prefix: str) -> list[str]:
        try:
            found = self.service.known_symbols(prefix)
            if inspect.isawaitable(found):
                found = await found
        except Exception:  # autocomplete must answer something, even when the service cannot
            log.exception("symbol autocomplete failed")
            return []
        unique = dict.fromkeys(str(symbol).upper() for symbol in found)
        return [symbol for symbol in unique if symbol.startswith(prefix)]

    async def complete_symbol(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Symbols starting with what the user typed (`b`, `$eth`), at most 25."""
        prefix = current.strip().upper().lstrip("$#")
        return [
            app_commands.Choice(name=symbol[:CHOICE_LIMIT], value=symbol[:CHOICE_LIMIT])
            for symbol in (await self._known(prefix))[:MAX_CHOICES]
        ]

    async def complete_symbols(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """For a list (`BTC et`): complete the last word, keeping the ones typed before it."""
        words = split_symbols(current)
        typing_new_word = not current or current[-1] in " ,"
        done = words if typing_new_word else words[:-1]
        prefix = "" if typing_new_word else words[-1].upper().lstrip("$#")
        already = {word.upper() for word in done}
        choices = []
        for symbol in await self._known(prefix):
            if symbol in already:
                continue
            value = " ".join([*done, symbol])
            if len(value) > CHOICE_LIMIT:
                continue
            choices.append(app_commands.Choice(name=value, value=value))
            if len(choices) == MAX_CHOICES:
                break
        return choices
