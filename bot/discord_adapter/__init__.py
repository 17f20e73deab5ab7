"""Discord adapter: slash commands, embeds, buttons, DM/channel delivery and webhook posting.

(A package, not `bot/discord.py`: that name would shadow the discord library.)

Setting up (for the README):
1. https://discord.com/developers/applications → New Application → Bot → Reset Token; put it in
   `[discord] token` or DISCORD_TOKEN. No privileged intent is needed (slash commands only).
2. Invite the bot with `invite_url(APPLICATION_ID)`: scopes `bot applications.commands`,
   permissions View Channels, Send Messages, Send Messages in Threads, Embed Links, Attach Files.
3. Register the slash commands once (and after they change): `liqwatch discord-sync --guild ID`
   shows them in that server at once; without `--guild` they go global (up to an hour).
4. `[[summaries]] webhook_url = "https://discord.com/api/webhooks/ID/TOKEN"` posts summaries to a
   channel without the bot (Server Settings → Integrations → Webhooks).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.chat.api import Config, ConfigPart

if TYPE_CHECKING:
    from .client import DiscordAdapter

_LAZY = {
    "DiscordAdapter": "client",
    "invite_url": "client",
    "sync_commands": "client",
    "Page": "render",
    "render": "render",
    "DiscordSender": "sender",
    "WebhookSender": "webhook",
    "post_webhook": "webhook",
    "redact_webhook_url": "webhook",
}
__all__ = ["CONFIG", "from_config", *_LAZY]


def _check(values, bad) -> None:
    ids = values["discord"].get("admins", [])
    if any(isinstance(x, bool) or not isinstance(x, int) for x in ids):
        raise bad("discord", "admins", "must be numeric ids, e.g. [123456789] (not @names)")


CONFIG = ConfigPart(
    {"discord": {"token": "", "api_base_url": "https://discord.com/api/v10", "admins": []}},
    check=_check,
    env={"DISCORD_TOKEN": ("discord", "token")},
    secrets=(("discord", "token"),),
)


def from_config(service: Any, config: Config) -> DiscordAdapter | None:
    """The adapter when a token is set, else None (the platform is off)."""
    if not config.get("discord", "token"):
        return None
    from .client import DiscordAdapter

    return DiscordAdapter(
        service,
        config.section("discord"),
        commands_per_minute=config.get("alerts", "commands_per_minute"),
    )


def __getattr__(name: str) -> Any:
    # The classes load on first use: reading the config never imports discord.py.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(name)
