"""Sending rendered Messages as the answer to an interaction (slash command or button press)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import discord

from core.types import Message

from .render import Page, chart_file, render

ViewFactory = Callable[[Message], discord.ui.View | None]

NOTHING_TO_SHOW = Message(title="Done.", kind="reply")


def page_kwargs(message: Message, page: Page, view_for: ViewFactory) -> dict[str, Any]:
    """The keyword arguments of a discord.py send for one page (only the ones that apply)."""
    kwargs: dict[str, Any] = {"embeds": list(page.embeds)}
    if page.with_chart:
        kwargs["files"] = [chart_file(message)]
    if page.with_buttons:
        view = view_for(message)
        if view is not None:
            kwargs["view"] = view
    return kwargs


async def reply(
    interaction: discord.Interaction,
    messages: list[Message],
    *,
    view_for: ViewFactory,
    acknowledged: bool,
    ephemeral: bool = False,
) -> None:
    """Send every page of every message. `acknowledged`: the interaction was deferred already, so
    everything goes through the followup webhook; otherwise the first page is the response."""
    for message in messages or [NOTHING_TO_SHOW]:
        for page in render(message):
            kwargs = page_kwargs(message, page, view_for)
            if acknowledged:
                await interaction.followup.send(ephemeral=ephemeral, wait=True, **kwargs)
            else:
                await interaction.response.send_message(ephemeral=ephemeral, **kwargs)
                acknowledged = True


async def replace_original(
    interaction: discord.Interaction, messages: list[Message], *, view_for: ViewFactory
) -> None:
    """Edit the message a button sits on (Refresh) with the first page; the rest follow it."""
    if not messages:
        return
    first, rest = messages[0], messages[1:]
    pages = render(first)
    kwargs = page_kwargs(first, pages[0], view_for)
    files = kwargs.pop("files", [])
    # `attachments` replaces the old chart (or removes it when the new report has none).
    view = kwargs.pop("view", None)
    await interaction.edit_original_response(attachments=files, view=view, **kwargs)
    for page in pages[1:]:
        await interaction.followup.send(wait=True, **page_kwargs(first, page, view_for))
    if rest:
        await reply(interaction, rest, view_for=view_for, acknowledged=True)
