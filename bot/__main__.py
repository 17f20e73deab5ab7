"""The `liqwatch` command: liq, chat, demo, run, discord-sync."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
from pathlib import Path

from core.kernel.config import Config
from core.kernel.errors import ConfigError, LiqwatchError

from . import cli_market
from . import config as config_module
from . import liquidations as cli_liquidations
from .logs import setup_logging

log = logging.getLogger("liqwatch")

DEMO_GREETING = """liqwatch demo: SAMPLE DATA, replayed (not live). A scripted BTC price walks up
through the key short zone within about a minute.
Try:  /liq BTC   then   /watch BTC   and wait for the breakout alert.
Realised liquidations (sample prints): /alert BTC cascade 20M 5, /liqs BTC, /feed BTC min 250K.
Other commands: /help. Quit with /quit or Ctrl-D."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="liqwatch", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", metavar="FILE", help="TOML config (default ./config.toml)")
        p.add_argument(
            "--source", choices=config_module.SOURCE_NAMES, help="override [data] source"
        )
        p.add_argument(
            "--venues",
            metavar="A,B",
            help="override [data] venues for this run, e.g. binance,okx (the estimate's venues)",
        )

    liq = sub.add_parser("liq", help="print the liquidation report for a symbol")
    liq.add_argument("symbol")
    common(liq)
    liq.add_argument("--window", type=float, metavar="PCT", help="cut the map at ±PCT %% of price")
    liq.add_argument("--chart", metavar="OUT.png", help="also write the chart to this file")
    liq.add_argument("--json", action="store_true", help="print one JSON object")

    chat = sub.add_parser("chat", help="the bot in this terminal (no token needed)")
    common(chat)
    demo = sub.add_parser("demo", help="the console chat on bundled sample data with a price path")
    demo.add_argument("--check-seconds", type=float, default=5.0, help=argparse.SUPPRESS)
    run = sub.add_parser("run", help="run the Telegram/Discord bots and the scheduler")
    common(run)
    # As demo's: tests tick faster than the config's floor of 5 s (tests/procs.py).
    run.add_argument("--check-seconds", type=float, help=argparse.SUPPRESS)
    cli_market.add_commands(sub, common)
    cli_liquidations.add_cli(sub, common)
    doctor = sub.add_parser("doctor", help="check config, tokens, venues and the database")
    doctor.add_argument("--config", metavar="FILE", help="TOML config (default ./config.toml)")
    sync = sub.add_parser("discord-sync", help="register the slash commands with Discord")
    sync.add_argument("--config", metavar="FILE")
    sync.add_argument("--guild", type=int, metavar="ID", help="one server (instant); else global")
    return parser


def load_config(args: argparse.Namespace) -> Config:
    cfg = config_module.load(args.config)
    if getattr(args, "source", None):
        from core.market.sources.replay import SAMPLE_PATH

        changes = {("data", "source"): args.source}
        if args.source == "replay" and not cfg.get("sources.replay", "path"):
            changes[("sources.replay", "path")] = str(SAMPLE_PATH)
        cfg.override(changes)
    if getattr(args, "venues", None):
        names = [name.strip().lower() for name in args.venues.split(",") if name.strip()]
        cfg.override({("data", "venues"): names})
    return cfg


async def cmd_liq(args: argparse.Namespace, cfg: Config) -> int:
    from core.kernel.clock import utcnow
    from core.kernel.symbols import normalize
    from core.market.analysis import analyze, split_map
    from core.market.sources import make_source
    from core.render.chart import render_chart
    from core.render.report import report_json, report_message

    window = cfg.get("data", "window_pct") if args.window is None else args.window
    if not 0 <= window <= 100:
        raise ConfigError("--window must be between 0 and 100")
    chart_path = Path(args.chart) if args.chart else None
    if chart_path is not None:
        if chart_path.suffix.lower() != ".png":
            raise ConfigError(f"--chart writes a PNG: name the file .png, not {chart_path.name}")
        if not chart_path.parent.is_dir():
            raise ConfigError(f"--chart: no such directory: {chart_path.parent}")
    source = make_source(cfg)
    try:
        snapshot = await source.snapshot(normalize(args.symbol))
    finally:
        await source.aclose()
    analysis = analyze(snapshot, window)
    if chart_path is not None:
        split = split_map(snapshot, analysis.window_pct)
        image = await asyncio.to_thread(render_chart, snapshot, analysis, split)
        try:
            chart_path.write_bytes(image)
        except OSError as exc:
            raise ConfigError(f"cannot write the chart to {chart_path}: {exc.strerror}") from None
    if args.json:
        print(json.dumps(report_json(snapshot, analysis), indent=2))
    else:
        print(report_message(snapshot, analysis, utcnow()).text())
        if args.chart:
            print(f"\nchart written to {args.chart}")
    return 0


async def cmd_chat(cfg: Config, greeting: str = "", check_seconds: float | None = None) -> int:
    from .app import build, run_until_stopped
    from .console import ConsoleChat, ConsoleOutput

    if check_seconds:
        cfg.set("alerts", "check_seconds", check_seconds)
    app = build(cfg)
    stop = asyncio.Event()
    console = ConsoleChat(app.service, ConsoleOutput(), on_eof=stop, greeting=greeting)
    await run_until_stopped(app, [console], stop)
    return 0


async def cmd_run(cfg: Config, check_seconds: float | None = None) -> int:
    from .app import build, run_until_stopped
    from .platforms import configured_adapters

    if check_seconds and check_seconds > 0:  # tests only: below the config's floor of 5 s
        cfg.values["alerts"]["check_seconds"] = check_seconds
    app = build(cfg)
    adapters = configured_adapters(app.service, cfg)
    # build() already attached the webhook sender for [[summaries]] webhook_url entries: a
    # webhook-only deployment (no bot at all) is a valid one.
    if not adapters and "webhook" not in app.senders:
        await app.aclose()
        raise ConfigError(
            "no chat platform configured: set TELEGRAM_TOKEN or DISCORD_TOKEN, or add a "
            "[[summaries]] webhook_url "
            "(or try `liqwatch chat` / `liqwatch demo` in this terminal)"
        )
    await run_until_stopped(app, adapters)
    return 0


async def cmd_discord_sync(args: argparse.Namespace, cfg: Config) -> int:
    from .discord_adapter import sync_commands

    token = cfg.get("discord", "token")
    if not token:
        raise ConfigError("set DISCORD_TOKEN or [discord] token to sync commands")
    count = await sync_commands(token, args.guild, api_base_url=cfg.get("discord", "api_base_url"))
    where = f"server {args.guild} (instant)" if args.guild else "all servers (up to an hour)"
    print(f"synced {count} commands to {where}")
    return 0


def demo_config() -> Config:
    """`liqwatch demo`'s config: the bundled sample data with its price path, a new database."""
    from core.market.sources.replay import SAMPLE_PATH

    cfg = config_module.load(None, env={}, use_cwd=False)
    demo_db = Path(tempfile.mkdtemp(prefix="liqwatch-demo-")) / "demo.db"
    cfg.override(
        {
            ("sources.replay", "path"): str(SAMPLE_PATH),
            ("data", "source"): "replay",
            ("data", "cache_seconds"): 2.0,
            ("store", "path"): str(demo_db),
            ("feeds", "replay_path"): str(SAMPLE_PATH),  # sample prints, a cascade
        }
    )
    return cfg


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "doctor":  # it reports a broken config as a row of its table
        from . import doctor

        return doctor.main(args)
    try:
        if args.command == "demo":
            cfg = demo_config()
        else:
            cfg = load_config(args)
        # In a terminal conversation the replies say what went wrong; log lines would only
        # interleave with them. The bot (`run`) logs at the configured level.
        terminal = ("liq", "chat", "demo", *cli_market.COMMANDS, *cli_liquidations.COMMANDS)
        quiet = args.command in terminal
        setup_logging("ERROR" if quiet else cfg.get("log", "level"), cfg.secrets())
        if args.command == "liq":
            return asyncio.run(cmd_liq(args, cfg))
        if args.command == "chat":
            return asyncio.run(cmd_chat(cfg))
        if args.command == "demo":
            return asyncio.run(cmd_chat(cfg, DEMO_GREETING, args.check_seconds))
        if args.command == "run":
            return asyncio.run(cmd_run(cfg, args.check_seconds))
        if args.command in cli_liquidations.COMMANDS:
            return asyncio.run(cli_liquidations.run(args, cfg))
        if args.command in cli_market.COMMANDS:
            return asyncio.run(cli_market.run(args, cfg))
        if args.command == "discord-sync":
            return asyncio.run(cmd_discord_sync(args, cfg))
    except LiqwatchError as exc:
        print(f"liqwatch: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
