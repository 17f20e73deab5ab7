"""A Message's buttons as a discord.ui.View whose presses go back to the service."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import discord

from core.model import Button

log = logging.getLogger(__name__)

BUTTON_TIMEOUT_SECONDS = 15 * 60  # after that a report is stale anyway: Refresh means /liq again
LABEL_LIMIT = 80  # Discord's limit for a button label
BUTTONS_PER_VIEW = 25  # 5 rows of 5

PressHandler = Callable[[discord.Interaction, Button], Awaitable[None]]


class ActionView(discord.ui.View):
    """Buttons (Refresh / Chart / Alert me on breakout, Snooze 1h / Mute SYMBOL) with a timeout.

    Each press calls `on_press(interaction, button)`; when the view times out its buttons are
    disabled on the message so nobody presses a dead button.
    """

    def __init__(
        self,
        buttons: tuple[Button, ...],
        on_press: PressHandler,
        timeout: float | None = BUTTON_TIMEOUT_SECONDS,
    ):
        super().__init__(timeout=timeout)
        self.buttons = buttons[:BUTTONS_PER_VIEW]
        self.message: discord.Message | discord.WebhookMessage | None = None
        for index, button in enumerate(self.buttons):
            style = discord.ButtonStyle.primary if index == 0 else discord.ButtonStyle.secondary
            item: discord.ui.Button = discord.ui.Button(
                label=button.label[:LABEL_LIMIT] or button.action, style=style
            )
            item.callback = self._callback_for(button, on_press)
            self.add_item(item)

    @staticmethod
    def _callback_for(
        button: Button, on_press: PressHandler
    ) -> Callable[[discord.Interaction], Awaitable[None]]:
        async def callback(interaction: discord.Interaction) -> None:
            await on_press(interaction, button)

        return callback

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        if self.message is not None:
            try:
                await self.message.edit(view=self)
            except discord.HTTPException as exc:  # message deleted, channel gone: nothing to do
                log.debug("could not disable expired buttons: %s", exc)
