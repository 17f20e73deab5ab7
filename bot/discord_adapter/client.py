"""The Discord side of liqwatch: one discord.Client on the application's event loop.

`DiscordAdapter(service, settings, commands_per_minute)` logs in and runs the gateway in a task
(never `client.run()`, which would own the loop that Telegram and the scheduler share). Slash
commands are registered locally and pushed to Discord only by `sync_commands` (`liqwatch
discord-sync`): Discord rate-limits syncing, so it never happens in on_ready or at start.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import discord
from discord import app_commands

from core.chat.api import ConfigError, LiqwatchError

from .commands import CommandHandlers
from .sender import DiscordSender
from .tree import build_tree

log = logging.getLogger(__name__)

STOP_TIMEOUT_SECONDS = 10.0
RESTART_FIRST_SECONDS = 5.0  # a dead gateway is reconnected after 5 s, 10 s, ... at most 5 min
RESTART_MAX_SECONDS = 300.0
LOG_EVERY_SECONDS = 600.0
_logging_ready = False


# Only what the bot uses: read and post in channels and threads, embeds, the chart attachment.
INVITE_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    embed_links=True,
    attach_files=True,
)
INVITE_SCOPES = ("bot", "applications.commands")


def invite_url(application_id: int) -> str:
    """The link a server admin opens to add the bot (Application ID from the developer portal)."""
    return discord.utils.oauth_url(
        application_id, permissions=INVITE_PERMISSIONS, scopes=INVITE_SCOPES
    )


def setup_discord_logging() -> None:
    """discord.py's log setup, once per process, unless the application configured logging
    already. `liqwatch` has (bot/logs.py): its one root handler redacts secrets and gets
    discord.py's records too, whereas discord.utils.setup_logging() would add a second root
    handler without the redaction (every line printed twice, once unredacted) and reset the
    level to INFO."""
    global _logging_ready
    if _logging_ready:
        return
    _logging_ready = True
    if not logging.getLogger().handlers:
        discord.utils.setup_logging()


def use_api_base_url(api_base_url: str | None) -> None:
    """Point discord.py's REST calls at `api_base_url` (a proxy, or a loopback fake in tests).

    discord.py keeps the base on its Route class: it is process-wide, as is the one Discord client.
    """
    if api_base_url:
        discord.http.Route.BASE = api_base_url.rstrip("/")


def make_client() -> discord.Client:
    """A client with the default intents: slash commands need no message-content intent."""
    # The bot has no voice features: skip discord.py's start-up warnings about voice libraries,
    # which would read like something is missing.
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False
    # A 429 asking for longer than this is not slept through inside a send (discord.py would hold
    # the outbox's slot for 20 minutes on a shared-resource limit): the outbox postpones it.
    return discord.Client(intents=discord.Intents.default(), max_ratelimit_timeout=30.0)


def _token(settings: Mapping[str, Any]) -> str:
    return str(settings.get("token") or os.environ.get("DISCORD_TOKEN", "")).strip()


async def _login(client: discord.Client, token: str) -> None:
    if not token:
        raise ConfigError("[discord] token is empty: set it in the config file or DISCORD_TOKEN")
    try:
        await client.login(token)
    except discord.LoginFailure:
        raise ConfigError(
            "[discord] token was refused by Discord (reset it in the portal)"
        ) from None
    except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise LiqwatchError(
            f"could not reach Discord to log in ({type(exc).__name__}); try again later"
        ) from None


class DiscordAdapter:
    """Slash commands, buttons and the Sender for platform "discord", over one service object.

    `settings` is the `[discord]` config section: token, api_base_url, admins.
    `commands_per_minute` is `[alerts] commands_per_minute`: each user's budget of slash commands
    and button presses (0: unlimited); `clock` times it (injectable for tests).
    """

    platform = "discord"

    def __init__(
        self,
        service: Any,
        settings: Mapping[str, Any],
        commands_per_minute: int = 20,
        *,
        client: discord.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ):
        self.settings = dict(settings)
        self.handlers = CommandHandlers(
            service,
            self.settings.get("admins") or (),
            commands_per_minute=commands_per_minute,
            clock=clock,
        )
        self.client = client or make_client()
        self.tree: app_commands.CommandTree = build_tree(self.client, self.handlers)
        # Buttons are answered from their custom_id alone, on messages sent before this process
        # started too; registered before the gateway runs, so no press arrives unheard.
        self.client.add_dynamic_items(self.handlers.button_listener)
        self.sender = DiscordSender(self.client, self.handlers.view_for)
        self._gateway: asyncio.Task[None] | None = None
        self._sleep = sleep
        self._stopping = False

        @self.client.event
        async def on_ready() -> None:
            user = self.client.user
            guilds = len(self.client.guilds)
            log.info("Discord: logged in as %s, in %d servers", user, guilds)

    async def start(self) -> None:
        """Log in (a wrong token fails here, loudly) and run the gateway in a background task."""
        setup_discord_logging()
        use_api_base_url(self.settings.get("api_base_url"))
        try:
            await _login(self.client, _token(self.settings))
        except BaseException:
            await self.client.close()  # the HTTP session login opened; stop() is not called
            raise
        self._gateway = asyncio.create_task(self._keep_connected(), name="discord-gateway")

    async def _keep_connected(self) -> None:
        """The gateway, restarted with backoff when it dies on its own (an error past
        discord.py's own reconnects: a close code it will not resume, a gateway it cannot find)
        while Telegram and the scheduler go on. A gateway that stays down is logged when it
        first fails and then at most every LOG_EVERY_SECONDS, not at every try."""
        failures = 0
        last_logged = -math.inf
        while True:
            started = time.monotonic()
            try:
                await self.client.connect(reconnect=True)
                reason = "the gateway connection ended"
            except asyncio.CancelledError:
                raise
            except Exception as error:  # discord.py gave up: ConnectionClosed, GatewayNotFound
                reason = f"{type(error).__name__}: {error}"
            if self._stopping:
                return
            if time.monotonic() - started > RESTART_MAX_SECONDS:
                failures = 0  # it ran fine for a while: this is a fresh failure
            wait = min(RESTART_FIRST_SECONDS * 2 ** min(failures, 10), RESTART_MAX_SECONDS)
            failures += 1
            now = time.monotonic()
            if now - last_logged >= LOG_EVERY_SECONDS:
                last_logged = now
                log.error(
                    "Discord gateway stopped (%s); restarting in %.0f s (failure %d)",
                    reason,
                    wait,
                    failures,
                )
            await self._sleep(wait)
            if self.client.is_closed():  # discord.py closed it giving up: reopen, log in again
                self.client.clear()
                # close() closed the HTTP connector too; login makes a new one only if unset.
                self.client.http.connector = discord.utils.MISSING
                try:
                    await _login(self.client, _token(self.settings))
                except Exception as error:  # still down: the next round waits longer
                    log.debug("Discord login on restart failed: %s", error)

    async def stop(self) -> None:
        """Close the gateway (code 1000) and the HTTP session; safe twice or without start()."""
        self._stopping = True
        gateway, self._gateway = self._gateway, None
        if gateway is not None and not gateway.done():
            # Stop the reader first: closing while it waits for a frame makes aiohttp close with
            # the reader's code 4000 ("will resume"), which leaves Discord a session to time out.
            # With nobody reading, client.close() sends 1000 and Discord ends the session at once.
            gateway.cancel()
            await asyncio.wait({gateway}, timeout=STOP_TIMEOUT_SECONDS)
        if not self.client.is_closed():
            await self.client.close()


async def sync_commands(
    token: str, guild_id: int | None, *, api_base_url: str | None = None
) -> int:
    """Push the slash commands to Discord; returns how many Discord now holds there.

    With `guild_id`, to that server only (instant: for testing); without, globally (Discord takes
    up to an hour to show them everywhere).
    """
    use_api_base_url(api_base_url)
    client = make_client()
    # The callbacks never run here: only the commands' definitions are sent.
    tree = build_tree(client, CommandHandlers(service=None))
    async with client:
        await _login(client, token.strip())
        try:
            if guild_id is None:
                synced = await tree.sync()
            else:
                guild = discord.Object(id=guild_id)
                tree.copy_global_to(guild=guild)
                synced = await tree.sync(guild=guild)
        except discord.Forbidden:
            where = f"server {guild_id}" if guild_id else "this application"
            raise LiqwatchError(
                f"Discord refused the command sync for {where}: invite the bot there with the "
                "applications.commands scope"
            ) from None
        except discord.HTTPException as exc:
            raise LiqwatchError(f"Discord refused the command sync: {exc}") from None
    log.info("Discord now holds: %s", ", ".join(sorted(command.name for command in synced)))
    return len(synced)
