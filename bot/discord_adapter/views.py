"""A Message's buttons, persistent across time and restarts.

Each button carries its whole meaning in its custom_id (`lw:refresh:BTC`, `lw:snooze:42`), and
Discord keeps that id on the message for as long as the message exists. Presses are handled by a
discord.ui.DynamicItem registered once on the client (`press_listener`), which reads the action
and arguments back from the id: nothing is kept in memory per message, so a button still works
hours later or after the bot restarted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, unquote

import discord

from core.types import Button

log = logging.getLogger(__name__)

LABEL_LIMIT = 80  # Discord's limit for a button label
BUTTONS_PER_VIEW = 25  # 5 rows of 5
CUSTOM_ID_LIMIT = 100  # Discord refuses a component whose custom_id is longer
CUSTOM_ID_PREFIX = "lw:"

# The action is a short verb; each argument is percent-encoded (quote(safe="")), so ":" only ever
# separates fields and any text survives the trip. Only this exact, canonical form is accepted.
_ACTION = r"[a-z][a-z0-9_]{0,31}"
_ARG = r"(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})*"
_CUSTOM_ID = re.compile(rf"lw:(?P<action>{_ACTION})(?P<args>(?::{_ARG})*)")
# What the press listener claims: every id of ours, even a malformed one, so that its presser
# gets an answer ("that button has expired") instead of Discord's "This interaction failed".
LISTENER_TEMPLATE = re.compile(r"lw:.*", re.DOTALL)

ButtonPress = Callable[[discord.Interaction, Button | None], Awaitable[None]]


def encode_custom_id(action: str, args: tuple[str, ...] = ()) -> str | None:
    """`("snooze", ("42",))` → `"lw:snooze:42"`; None when it cannot be a Discord custom_id
    (not a plain verb, unencodable text, or longer than 100 characters)."""
    if not re.fullmatch(_ACTION, action):
        return None
    try:
        fields = [quote(arg, safe="") for arg in args]
    except (TypeError, UnicodeEncodeError):  # not text, or a lone surrogate
        return None
    custom_id = ":".join([CUSTOM_ID_PREFIX + action, *fields])
    return custom_id if len(custom_id) <= CUSTOM_ID_LIMIT else None


def decode_custom_id(custom_id: str) -> tuple[str, tuple[str, ...]] | None:
    """`"lw:snooze:42"` → `("snooze", ("42",))`; None for anything we did not write."""
    if not isinstance(custom_id, str) or len(custom_id) > CUSTOM_ID_LIMIT:
        return None
    match = _CUSTOM_ID.fullmatch(custom_id)
    if match is None:
        return None
    raw_args = match["args"].split(":")[1:]
    try:
        args = tuple(unquote(raw, errors="strict") for raw in raw_args)
    except UnicodeDecodeError:  # %FF and the like: not text we encoded
        return None
    if encode_custom_id(match["action"], args) != custom_id:  # e.g. "%41" for "A"
        return None
    return match["action"], args


class ActionView(discord.ui.View):
    """Buttons (Refresh / Chart / Alert me on breakout, Snooze 1h / Mute SYMBOL) that never expire.

    This view is only the buttons' layout: a press is routed by its custom_id to the listener
    registered on the client, not to this object.
    """

    def __init__(self, buttons: tuple[Button, ...]):
        super().__init__(timeout=None)
        seen: set[str] = set()
        for button in buttons:
            custom_id = encode_custom_id(button.action, button.args)
            if custom_id is None:
                log.warning("button %r left out: its action does not fit a custom_id", button.label)
                continue
            if custom_id in seen:  # Discord refuses a message with two equal custom_ids
                continue
            if len(seen) == BUTTONS_PER_VIEW:
                break
            style = discord.ButtonStyle.primary if not seen else discord.ButtonStyle.secondary
            seen.add(custom_id)
            label = button.label[:LABEL_LIMIT] or button.action
            self.add_item(discord.ui.Button(label=label, style=style, custom_id=custom_id))

    def is_finished(self) -> bool:
        # discord.py stores every unfinished view it sends, per message and forever when there is
        # no timeout (and gives ephemeral ones a 15-minute timeout). This one has nothing to
        # dispatch to, so reporting it finished keeps no per-message state in memory.
        return True


def press_listener(on_press: ButtonPress) -> type[discord.ui.DynamicItem[discord.ui.Button]]:
    """The DynamicItem class to pass to `client.add_dynamic_items`: every press of a `lw:` button,
    on any message ever sent, calls `on_press(interaction, Button)`, or `on_press(interaction,
    None)` when the custom_id does not parse (nothing is run for it)."""

    class ButtonPressListener(
        discord.ui.DynamicItem[discord.ui.Button], template=LISTENER_TEMPLATE
    ):
        def __init__(self, item: discord.ui.Button, button: Button | None):
            super().__init__(item)
            self.button = button

        @classmethod
        async def from_custom_id(
            cls,
            interaction: discord.Interaction,
            item: discord.ui.Item[Any],
            match: re.Match[str],
            /,
        ) -> ButtonPressListener:
            decoded = decode_custom_id(match.string)
            label = getattr(item, "label", None) or ""
            button = Button(label, decoded[0], decoded[1]) if decoded else None
            return cls(item, button)  # type: ignore[arg-type]  # a Button: its id matched

        async def callback(self, interaction: discord.Interaction) -> None:
            await on_press(interaction, self.button)

    return ButtonPressListener
