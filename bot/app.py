"""The wiring, in one place: config → source → cache → store → service → scheduler → adapters."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.alerts.kinds import KIND_NAMES
from core.alerts.monitor import Monitor
from core.alerts.wallet_watch import WalletWatcher
from core.chat.base import ServiceSettings
from core.chat.dispatch import Dispatcher
from core.chat.service import Service
from core.delivery.deliverer import Deliverer
from core.delivery.ports import Sender
from core.delivery.scheduler import Jobs
from core.delivery.summaries import parse_schedule
from core.kernel.clock import utcnow
from core.kernel.config import Config
from core.kernel.errors import ConfigError, StoreUnavailable, UsageError
from core.market.context import ContextReader
from core.market.reader import MarketReader
from core.market.screener import Screener
from core.market.snapshots import SnapshotCache
from core.market.sources import Source, make_source
from core.market.sources.binance import BinanceClient
from core.market.sources.hyperliquid import HyperliquidClient
from core.render.alerts import digest_message
from core.render.chart import render_chart
from core.store import Store

from .liquidations import build_live

log = logging.getLogger("liqwatch")


@dataclass
class App:
    config: Config
    source: Source
    snapshots: SnapshotCache
    market: MarketReader
    store: Store
    service: Dispatcher  # the ChatService every adapter talks to (core.chat.api)
    monitor: Monitor
    deliverer: Deliverer
    jobs: Jobs
    senders: dict[str, Sender] = field(default_factory=dict)
    # Things build() opened besides the source and store (e.g. the webhook sender's HTTP client);
    # adapters close their own senders in stop().
    owned: list[Any] = field(default_factory=list)
    live: Any = None  # bot.liquidations.LiveLiquidations when [feeds] enabled (also in owned)

    def add_sender(self, sender: Sender) -> None:
        self.senders[sender.platform] = sender

    async def aclose(self) -> None:
        await self.jobs.drain()  # no job may touch the store once it is closed
        for resource in reversed(self.owned):
            try:
                await resource.aclose()
            except Exception:
                log.exception("closing %s failed", type(resource).__name__)
        self.owned.clear()
        await self.source.aclose()
        self.store.close()


def build(
    config: Config,
    clock: Callable[[], datetime] = utcnow,
    source: Source | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> App:
    """Everything but the chat adapters, which the caller attaches (`app.add_sender`).

    The start writes to the store (schema, configured wallets and summaries): a database locked
    by another process (a backup) or on a full disk is tried again, 1 s doubling to 15 s, for
    `[store] open_wait_seconds` (logged once), so a restart during such a moment does not die."""
    source = source or make_source(config, clock=clock)
    wait, waited, pause = config.get("store", "open_wait_seconds"), 0.0, 1.0
    while True:
        try:
            return _build(config, clock, source)
        except StoreUnavailable as error:
            if waited >= wait:
                raise
            if not waited:
                log.warning("%s Waiting for it (at most %.0f s).", error, wait)
            step = min(pause, wait - waited)
            sleep(step)
            waited, pause = waited + step, min(pause * 2, 15.0)


def _build(config: Config, clock: Callable[[], datetime], source: Source) -> App:
    snapshots = SnapshotCache(source, ttl_seconds=config.get("data", "cache_seconds"), clock=clock)
    market = MarketReader(snapshots, render_chart, window_pct=config.get("data", "window_pct"))
    store = Store.open(
        config.get("store", "path"), clock=clock, rule_kinds=KIND_NAMES, exclusive=True
    )
    try:
        return _assemble(config, clock, source, snapshots, market, store)
    except BaseException:
        store.close()  # and its process lock: a retry, or the next process, opens it again
        raise


def _assemble(config: Config, clock, source: Source, snapshots, market, store: Store) -> App:
    store.set_map_history(**config.section("history"))
    snapshots.on_fresh = store.record_map  # every refreshed map joins the history (heatmap)
    settings = ServiceSettings.from_config(config)
    service = Service(market, store, settings, clock=clock)
    alerts = config.section("alerts")
    monitor = Monitor(
        market,
        store,
        check_seconds=alerts["check_seconds"],
        rearm_margin_pct=alerts["rearm_margin_pct"],
        window_pct=config.get("data", "window_pct"),
        clock=clock,
        symbol_budget_seconds=alerts["symbol_budget_seconds"],
    )
    senders: dict[str, Sender] = {}
    deliverer = Deliverer(
        store,
        senders,
        clock=clock,
        digest=lambda _chat_key, held: digest_message(held, muted_from=None, muted_to=clock()),
        max_attempts=config.get("delivery", "max_attempts"),
        max_concurrent_chats=config.get("delivery", "concurrent_chats"),
        in_flight=config.get("delivery", "in_flight"),
    )
    jobs = Jobs(monitor, deliverer, check_seconds=alerts["check_seconds"])
    service.summaries.listeners.append(jobs.plan_summaries)
    client = BinanceClient.from_config(config, clock=clock)  # screener and context requests
    owned: list[Any] = [client]
    service.ctx.screener = _screener(config, snapshots, source, jobs, client)
    if source.name != "replay":  # a replay has no market around it
        venues = getattr(source, "venues", ())  # the estimate's Bybit and OKX: their funding too
        service.ctx.context = monitor.context = ContextReader(client, clock=clock, venues=venues)
    service.ctx.wallets = wallets = _wallets(config, source, store, jobs, clock)
    chat = Dispatcher(service)
    app = App(config, source, snapshots, market, store, chat, monitor, deliverer, jobs, senders)
    app.owned.extend(owned)
    app.owned.append(monitor)  # its late readings stop before the store closes
    app.live = build_live(config, store, monitor, jobs, service.ctx, clock)
    if app.live is not None:
        app.owned.append(app.live)  # closed before the store: the batch in flight is written
    if wallets.client not in _observed_clients(source):
        app.owned.append(wallets.client)  # else the source closes it
    _configured_summaries(app)
    if any(entry["webhook_url"] for entry in config.summaries):
        # Webhook summaries need no chat platform: their sender comes with the schedule.
        from .discord_adapter.webhook import WebhookSender

        urls = [entry["webhook_url"] for entry in config.summaries if entry["webhook_url"]]
        webhooks = WebhookSender(urls=urls)
        app.add_sender(webhooks)
        app.owned.append(webhooks)
    return app


def _screener(config: Config, snapshots: SnapshotCache, source: Source, jobs: Jobs, client):
    """The screener (/top) over `[screener] symbols`, the replay file's symbols, or the most
    traded perpetuals found on Binance; a job keeps their maps (and so the history) fresh."""
    symbols = config.get("screener", "symbols") or list(getattr(source, "symbols", ()))
    screener = Screener.from_config(config, snapshots, client)
    screener.fixed = screener.fixed or symbols
    jobs.every("screener", config.get("screener", "refresh_minutes") * 60, screener.refresh)
    return screener


def _observed_clients(source: Source) -> list:
    """The clients of the source's observed venues (Hyperliquid when `[data] venues` has it)."""
    venues = getattr(source, "venues", ())
    return [v.client for v in venues if getattr(v, "method", "") == "observed"]


def _wallets(config: Config, source: Source, store: Store, jobs: Jobs, clock) -> WalletWatcher:
    """Hyperliquid wallets: the configured ones (the observed map) and the chats' /wallet
    watches, read round-robin by one job within the venue's weight budget. An observed venue of
    the source reads its wallets from the store and shares the job's client, so one limiter
    holds the IP's budget."""
    for venue in getattr(source, "venues", ()):
        if getattr(venue, "method", "") == "observed":
            venue.readings = store
    clients = _observed_clients(source)
    client = clients[0] if clients else HyperliquidClient.from_config(config, clock)
    watcher = WalletWatcher.from_config(config, client, store, clock)
    jobs.every("wallets", config.get("sources.hyperliquid", "refresh_seconds"), watcher.run)
    return watcher


def _configured_summaries(app: App) -> None:
    """[[summaries]] from the config: webhook or Telegram targets, kept in step with the file.

    The config owns the summaries it set: an entry removed from the file (or moved to another
    webhook URL) stops at the next start. Summaries chats set with /summary are never touched.
    """
    from .discord_adapter.webhook import webhook_chat_id

    kept = []
    for n, entry in enumerate(app.config.summaries, 1):
        if entry["webhook_url"]:
            # Keyed by the webhook's public id: the URL (a secret) stays in the config file.
            chat_id = webhook_chat_id(entry["webhook_url"])
            chat_key = app.store.upsert_chat("webhook", chat_id, kind="channel")
        else:
            chat_key = app.store.upsert_chat("telegram", entry["telegram_chat"], kind="channel")
        when = (
            ["every", entry["every"]] if entry["every"] else ["daily", entry["daily"], entry["tz"]]
        )
        try:
            schedule = parse_schedule([*entry["symbols"], *when])
        except UsageError as exc:
            raise ConfigError(f"{app.config.path}: [[summaries]] #{n}: {exc}") from None
        kept.append(
            app.store.set_summary(
                chat_key, list(schedule.symbols), schedule.text, schedule.tz, origin="config"
            )
        )
    for chat_key in app.store.delete_config_summaries_except(kept):
        # A webhook exists only for its summary: what it still had queued must not post to a URL
        # the config dropped (the chat comes back active if the URL returns to the file).
        if app.store.chat(chat_key)["platform"] == "webhook":
            app.store.deactivate_chat(chat_key)


async def run_until_stopped(app: App, adapters: list, stop: asyncio.Event | None = None) -> None:
    """Start the scheduler and every adapter on this loop; stop cleanly on SIGINT/SIGTERM."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    started = []
    try:
        for adapter in adapters:
            await adapter.start()
            started.append(adapter)
            if getattr(adapter, "sender", None) is not None:
                app.add_sender(adapter.sender)
        app.jobs.start()
        if app.live is not None:
            await app.live.start()
        log.info(
            "liqwatch running: %s; data from %s",
            ", ".join(type(a).__name__ for a in adapters) or "no chat platform",
            app.source.name,
        )
        await stop.wait()
    finally:
        log.info("shutting down")
        app.jobs.shutdown()
        for adapter in reversed(started):
            try:
                await adapter.stop()
            except Exception:
                log.exception("stopping %s failed", type(adapter).__name__)
        await app.aclose()
