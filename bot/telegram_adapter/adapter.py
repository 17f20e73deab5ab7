"""The Telegram adapter: a PTB Application run by hand on the caller's event loop.

    adapter = TelegramAdapter(service, config.section("telegram"),
                              commands_per_minute=config.get("alerts", "commands_per_minute"))
    await adapter.start()          # initialize → post_init → start → updater.start_polling
    deliverer = Deliverer(store, {"telegram": adapter.sender})
    ...
    await adapter.stop()           # updater → application → shutdown

PTB and httpx log request URLs, and Bot API URLs contain the token: every log record is redacted
(bot/logs.py, given the token here) before any handler sees it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import BotCommand
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application, ApplicationBuilder

from core.chat.api import COMMANDS, ChatService, ConfigError, LiqwatchError

from ..logs import redact, scrub
from .handlers import TelegramHandlers
from .render import CallbackCodec
from .sender import DEFAULT_MESSAGES_PER_SECOND, TelegramSender, build_bot
from .webhook import start_updates

log = logging.getLogger(__name__)

RESTART_FIRST_SECONDS = 5.0
RESTART_MAX_SECONDS = 300.0
LOG_EVERY_SECONDS = 600.0  # a platform that stays down is logged this often, not every retry


class TelegramAdapter:
    """Runs the bot: commands and buttons in, replies out; `sender` delivers queued messages."""

    def __init__(
        self,
        service: ChatService,
        settings: dict[str, Any],
        *,
        commands_per_minute: int = 20,
        poll_timeout: float = 10.0,
        messages_per_second: float = DEFAULT_MESSAGES_PER_SECOND,
        max_retries: int = 3,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ):
        self.settings = dict(settings)
        self.poll_timeout = poll_timeout
        self._sleep = sleep
        self._stopping = False
        self._watch: asyncio.Task[None] | None = None
        self._last_logged = -math.inf
        redact(str(self.settings.get("token") or ""))
        redact(str(self.settings.get("secret_token") or ""))
        bot = build_bot(
            self.settings, messages_per_second=messages_per_second, max_retries=max_retries
        )
        self.sender = TelegramSender(bot, CallbackCodec())
        self.handlers = TelegramHandlers(
            service,
            self.sender,
            self.settings,
            commands_per_minute=commands_per_minute,
            clock=clock,
        )
        self.application: Application = (
            ApplicationBuilder()
            .bot(bot)
            .job_queue(None)  # liqwatch's own scheduler runs the jobs
            .concurrent_updates(32)  # one slow /liq must not hold everyone else's commands
            .post_init(self._post_init)
            .build()
        )
        self.handlers.register(self.application)

    async def start(self) -> None:
        """Connect, publish the command menu, start polling.

        Fails with one line and no traceback: ConfigError for a rejected token, LiqwatchError when
        the Bot API cannot be reached (the process exits; a supervisor restarts it).
        """
        try:
            await self._start()
        except InvalidToken:
            await self._unwind()
            # PTB's message quotes the token: say it without it, and drop the chained error.
            raise ConfigError("[telegram] token was rejected by the Bot API") from None
        except TelegramError as error:  # NetworkError, TimedOut, an odd answer from a proxy
            await self._unwind()
            where = self.settings.get("api_base_url") or "the Bot API"
            reason = scrub(f"{type(error).__name__}: {error}")
            raise LiqwatchError(f"telegram: cannot start the bot via {where} ({reason})") from None

    async def _start(self) -> None:
        app = self.application
        await app.initialize()
        if app.post_init:  # only run_polling() calls it: the manual lifecycle must
            await app.post_init(app)
        await app.start()
        how = await self._poll()  # polling or webhook
        log.info("telegram bot @%s: updates by %s", app.bot.username, how)
        if how == "polling":
            self._watch = asyncio.create_task(self._keep_polling(), name="telegram-poller-watch")

    async def _poll(self) -> str:
        return await start_updates(
            self.application, self.settings, self.poll_timeout, self._polling_failed
        )

    def _polling_failed(self, error: TelegramError) -> None:
        """PTB retries a failed poll itself (1 s growing to 30 s); say so once in a while, not at
        every retry (a 409 Conflict is another process polling with this token)."""
        self._say_down(f"polling failed ({type(error).__name__}: {scrub(str(error))}); retrying")

    def _say_down(self, what: str) -> None:
        now = time.monotonic()
        if now - self._last_logged >= LOG_EVERY_SECONDS:
            self._last_logged = now
            log.warning("telegram: %s", what)

    async def _keep_polling(self) -> None:
        """PTB's poller ends for good on InvalidToken (a revoked token, a proxy's 401) or an
        unexpected error: restart it with backoff (5 s doubling to 5 min) while the rest of the
        process goes on, logging once in a while."""
        failures = 0
        updater = self.application.updater
        while not self._stopping and updater is not None:
            task = getattr(updater, "_Updater__polling_task", None)  # PTB keeps no public handle
            if task is None:
                return
            await asyncio.wait({task})  # never cancels PTB's task when this one is cancelled
            if self._stopping:
                return
            error = None if task.cancelled() else task.exception()
            wait = min(RESTART_FIRST_SECONDS * 2 ** min(failures, 10), RESTART_MAX_SECONDS)
            failures += 1
            self._say_down(
                f"the poller stopped ({type(error).__name__ if error else 'ended'}: "
                f"{scrub(str(error or ''))}); restarting it in {wait:.0f} s"
            )
            await self._sleep(wait)
            try:
                if updater.running:
                    await updater.stop()
            except Exception as stop_error:
                # PTB's stop() re-raises the dead task's error before resetting its stop event;
                # left set, the next poller would stop at once. Finish what stop() skipped.
                log.debug("telegram: stopping the dead poller: %s", stop_error)
                updater._Updater__polling_task = None  # type: ignore[attr-defined]
                updater._Updater__polling_task_stop_event.clear()  # type: ignore[attr-defined]
            while not self._stopping:
                try:
                    await self._poll()
                    log.info("telegram: polling again")
                    break
                except Exception as start_error:
                    wait = min(RESTART_FIRST_SECONDS * 2 ** min(failures, 10), RESTART_MAX_SECONDS)
                    failures += 1
                    self._say_down(
                        f"restarting the poller failed ({start_error}); retry in {wait:.0f} s"
                    )
                    await self._sleep(wait)

    async def _unwind(self) -> None:
        """Undo a partial start; its own failure must not hide the reason the start failed."""
        try:
            await self.stop()
        except Exception as error:
            log.debug("telegram: stopping after a failed start: %s", error)

    async def stop(self) -> None:
        """Stop in order: updater → application → shutdown. Safe after a partial start."""
        self._stopping = True
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.cancel()
            await asyncio.wait({watch})
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()  # returns quietly when initialize() never succeeded

    async def _post_init(self, app: Application) -> None:
        """The menu users see is the same command table /help prints."""
        commands = [BotCommand(spec.name, spec.description[:256]) for spec in COMMANDS]
        try:
            await app.bot.set_my_commands(commands)
        except TelegramError as error:  # a missing menu is no reason not to run
            log.warning("telegram setMyCommands failed: %s", error)
