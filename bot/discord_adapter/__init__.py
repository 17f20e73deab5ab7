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

from .client import DiscordAdapter, invite_url, sync_commands
from .render import Page, render
from .sender import DiscordSender
from .webhook import WebhookSender, post_webhook, redact_webhook_url

__all__ = [
    "DiscordAdapter",
    "DiscordSender",
    "Page",
    "WebhookSender",
    "invite_url",
    "post_webhook",
    "redact_webhook_url",
    "render",
    "sync_commands",
]
