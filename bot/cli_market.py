"""`liqwatch heatmap` and `liqwatch top`: the map history and the screener from a terminal.

liqwatch heatmap BTC --hours 24 --chart btc.png     # PNG from the recorded map history
liqwatch heatmap BTC --hours 24 --json              # {"times", "prices", "notional"}
liqwatch top --by ratio --limit 10 [--json]         # the screener over the universe
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from core.kernel.config import Config
from core.kernel.errors import ConfigError

COMMANDS = ("heatmap", "top")


def add_commands(sub: argparse._SubParsersAction, common: Callable) -> None:
    heatmap = sub.add_parser("heatmap", help="time x price heatmap from the recorded map history")
    heatmap.add_argument("symbol")
    common(heatmap)
    heatmap.add_argument("--hours", type=float, default=24.0, help="how far back (default 24)")
    heatmap.add_argument("--chart", metavar="OUT.png", help="write the heatmap PNG to this file")
    heatmap.add_argument("--json", action="store_true", help="print times, prices and notional")

    top = sub.add_parser("top", help="the screener: the universe ranked by its maps")
    common(top)
    top.add_argument("--by", choices=("ratio", "longs", "shorts", "near"), default="ratio")
    top.add_argument("--limit", type=int, default=10, metavar="N", help="rows (default 10)")
    top.add_argument("--json", action="store_true", help="print a JSON list")


def _png_path(text: str | None) -> Path | None:
    if text is None:
        return None
    path = Path(text)
    if path.suffix.lower() != ".png":
        raise ConfigError(f"--chart writes a PNG: name the file .png, not {path.name}")
    if not path.parent.is_dir():
        raise ConfigError(f"--chart: no such directory: {path.parent}")
    return path


async def cmd_heatmap(args: argparse.Namespace, cfg: Config) -> int:
    from core.kernel.clock import utcnow
    from core.kernel.symbols import normalize
    from core.render.heatmap import heat_grid, render_heatmap
    from core.store import Store

    symbol = normalize(args.symbol)
    keep = cfg.get("history", "keep_days") * 24
    if not 1 <= args.hours <= keep:
        raise ConfigError(f"--hours must be between 1 and {keep:g} (what [history] keeps)")
    chart_path = _png_path(args.chart)
    db_path = Path(cfg.get("store", "path"))
    if not db_path.is_file():
        raise ConfigError(
            f"no database at {db_path}: maps are recorded while the bot runs "
            "(`liqwatch run` or `liqwatch chat`); point --config at its config"
        )
    now = utcnow()
    with Store.open(db_path) as store:
        frames = store.map_frames(symbol, now - timedelta(hours=args.hours), now)
    if len(frames) < 2:
        raise ConfigError(
            f"{len(frames)} recorded map(s) of {symbol} in the last {args.hours:g} h in "
            f"{db_path}: the bot records a map every [history] every_minutes for symbols in use"
        )
    grid = heat_grid(frames, now - timedelta(hours=args.hours), now)
    if chart_path is not None:
        image = await asyncio.to_thread(render_heatmap, grid)
        try:
            chart_path.write_bytes(image)
        except OSError as exc:
            raise ConfigError(f"cannot write the heatmap to {chart_path}: {exc.strerror}") from None
    if args.json:
        print(json.dumps(grid.as_json()))
    else:
        print(
            f"{symbol} heatmap: {len(frames)} maps over {args.hours:g} h "
            f"({grid.notional.shape[0]} columns x {grid.notional.shape[1]} price buckets)"
        )
        if chart_path is not None:
            print(f"heatmap written to {chart_path}")
    return 0


async def cmd_top(args: argparse.Namespace, cfg: Config) -> int:
    from core.kernel.clock import utcnow
    from core.market.screener import Screener, rank
    from core.market.snapshots import SnapshotCache
    from core.market.sources import make_source
    from core.market.sources.binance import BinanceClient
    from core.render.screener import screener_message, screener_rows_json

    if not 1 <= args.limit <= 100:
        raise ConfigError("--limit must be between 1 and 100")
    source = make_source(cfg)
    client = BinanceClient.from_config(cfg)
    try:
        cache = SnapshotCache(source, ttl_seconds=cfg.get("data", "cache_seconds"))
        screener = Screener.from_config(cfg, cache, client)
        rows = await screener.scan()
    finally:
        await client.aclose()
        await source.aclose()
    ranked = rank(rows, args.by, args.limit)
    if args.json:
        print(json.dumps(screener_rows_json(ranked), indent=2))
    else:
        print(screener_message(ranked, args.by, utcnow(), screener.universe_size).text())
    return 0


async def run(args: argparse.Namespace, cfg: Config) -> int:
    if args.command == "heatmap":
        return await cmd_heatmap(args, cfg)
    return await cmd_top(args, cfg)
