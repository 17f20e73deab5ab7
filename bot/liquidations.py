"""The wiring of the live liquidations, called from bot/app.py: the streams (or the demo's sample
prints), the writer that stores their prints, the chat feeds' batch job, retention, and what the
alert tick and the chat service read.

Start/stop follow the app: `start()` after the scheduler, `aclose()` (in App.owned) stops the
streams first, then writes the batch in flight and closes the writer's connection, before the
store closes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from core.alerts.feed import FeedPoster
from core.kernel.clock import utcnow
from core.kernel.config import Config
from core.market.streams import live_feeds
from core.market.streams.replay import SampleFeeds
from core.store import Store
from core.store.print_writer import PrintWriter

log = logging.getLogger(__name__)

PRUNE_SECONDS = 3600.0
MAPS_SECONDS = 600.0  # as often as the map history keeps a map


class LiveLiquidations:
    def __init__(
        self,
        writer: PrintWriter,
        feeds: Any,
        poster: FeedPoster,
        retention: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.writer = writer
        self.feeds = feeds
        self.poster = poster
        self.retention = retention
        self.clock = clock
        self._started = False

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.writer.start()
        await self.prune()
        await self.feeds.start()

    async def prune(self) -> None:
        self.writer.prune(self.clock() - self.retention)

    async def aclose(self) -> None:
        if not self._started:
            return
        self._started = False
        await self.feeds.stop()  # records the gap from now until the next start
        await asyncio.to_thread(self.writer.stop)  # the batch in flight is written


def build_live(
    config: Config,
    store: Store,
    monitor: Any,
    jobs: Any,
    ctx: Any,
    clock: Callable[[], datetime] = utcnow,
    sample: Path | None = None,
) -> LiveLiquidations | None:
    """The live liquidations, or None when `[feeds] enabled` is false (or the store is in memory:
    the writer needs a file). `sample`: replay the demo's sample prints instead of the venues."""
    feeds_config = config.section("feeds")
    if not feeds_config["enabled"]:
        return None
    if store.path == ":memory:":
        log.warning("live liquidations need a database file; [store] path is :memory:, so off")
        return None
    sample = sample or (Path(feeds_config["replay_path"]) if feeds_config["replay_path"] else None)
    writer = PrintWriter(store.path)
    in_use = lambda: store.needed_symbols() | store.feed_symbols()  # noqa: E731
    feeds = SampleFeeds(writer, sample, clock) if sample else live_feeds(config, writer, in_use)
    poster = FeedPoster(store, feeds.labels(), clock)
    live = LiveLiquidations(
        writer, feeds, poster, timedelta(days=feeds_config["retention_days"]), clock
    )
    jobs.every("liq-feed", feeds_config["batch_seconds"], poster.run)
    jobs.every("liq-prune", PRUNE_SECONDS, live.prune)

    async def keep_maps() -> None:
        """/accuracy grades prints against the maps kept then: symbols only a /feed follows are
        refreshed too (the alert tick refreshes the others), so the map history holds them."""
        extra = store.feed_symbols() - store.needed_symbols()
        if extra:
            await ctx.market.snapshots.refresh(extra)

    jobs.every("liq-maps", MAPS_SECONDS, keep_maps)
    monitor.realised = True
    ctx.live = feeds
    return live


# ---- the CLI: `liqwatch liqs`, `liqwatch accuracy` (read the store; no stream is started) ------


def add_cli(sub: Any, common: Callable[[Any], None]) -> None:
    """The two subcommands' arguments (bot/__main__.py calls this with its subparsers)."""
    liqs = sub.add_parser("liqs", help="realised liquidations of a symbol, from the store")
    liqs.add_argument("symbol")
    liqs.add_argument("--window", default="1h", metavar="SPAN", help="e.g. 1h, 4h, 24h")
    liqs.add_argument("--json", action="store_true", help="print one JSON object")
    common(liqs)
    accuracy = sub.add_parser("accuracy", help="the map graded against realised liquidations")
    accuracy.add_argument("symbol")
    accuracy.add_argument("--days", type=float, default=7.0)
    accuracy.add_argument("--json", action="store_true", help="print one JSON object")
    accuracy.add_argument("--chart", metavar="OUT.png", help="also write the chart to this file")
    common(accuracy)


def _open_store(cfg: Config) -> Store:
    from core.alerts.kinds import KIND_NAMES

    return Store.open(cfg.get("store", "path"), rule_kinds=KIND_NAMES)


async def cmd_liqs(args: Any, cfg: Config) -> int:
    import json

    from core.chat.liqs import liqs_report, venues_of
    from core.kernel import parse, symbols
    from core.render.liquidations import liqs_json, liqs_message

    symbol = symbols.normalize(args.symbol)
    window = parse.duration(args.window, timedelta(minutes=5), timedelta(days=30))
    store = _open_store(cfg)
    try:
        followed = symbol in (
            store.needed_symbols()
            | store.feed_symbols()
            | {symbols.normalize(s) for s in cfg.get("feeds", "symbols")}
        )
        report = liqs_report(
            store,
            symbol,
            window,
            utcnow(),
            venues_of(None, cfg.get("feeds", "venues")),
            followed=followed,
            running=False,
        )
    finally:
        store.close()
    if args.json:
        print(json.dumps(liqs_json(report), indent=2))
    else:
        print(liqs_message(report).text())
    return 0


async def cmd_accuracy(args: Any, cfg: Config) -> int:
    import json

    from core.chat.liqs import accuracy_of, venues_of
    from core.kernel import symbols
    from core.kernel.errors import ConfigError
    from core.render.accuracy import accuracy_json, accuracy_message, render_accuracy_chart

    if not 1 / 24 <= args.days <= 30:
        raise ConfigError("--days must be between 0.05 and 30")
    chart = Path(args.chart) if args.chart else None
    if chart is not None and (chart.suffix.lower() != ".png" or not chart.parent.is_dir()):
        raise ConfigError(f"--chart writes a PNG into an existing directory, not {chart}")
    store = _open_store(cfg)
    try:
        acc = await accuracy_of(
            store, symbols.normalize(args.symbol), timedelta(days=args.days), utcnow()
        )
    finally:
        store.close()
    labels = {n: label for n, (label, _) in venues_of(None, cfg.get("feeds", "venues")).items()}
    if chart is not None:
        image = await asyncio.to_thread(render_accuracy_chart, acc, labels)
        try:
            chart.write_bytes(image)
        except OSError as exc:
            raise ConfigError(f"cannot write the chart to {chart}: {exc.strerror}") from None
    if args.json:
        print(json.dumps(accuracy_json(acc), indent=2))
    else:
        print(accuracy_message(acc, labels).text())
        if chart is not None:
            print(f"\nchart written to {chart}")
    return 0


COMMANDS = ("liqs", "accuracy")


async def run(args: Any, cfg: Config) -> int:
    if args.command == "liqs":
        return await cmd_liqs(args, cfg)
    return await cmd_accuracy(args, cfg)
