"""`liqwatch doctor [--config F]`: what is wrong with this setup, in one table with a fix per row.

Checks, each one row: the config file; the Telegram token (`getMe`; in webhook mode also
`getWebhookInfo` against `public_url`); the Discord token (the application behind it) and whether
its registered slash commands match liqwatch's; each venue's reachability and latency; the
database (schema version, `PRAGMA integrity_check`, size, map history). Exit code 1 when a row
FAILs (a WARN does not). Secrets never appear: every line goes through the log scrubber with the
config's secrets, and no URL holding a token is ever printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from core.chat.api import COMMANDS
from core.kernel.config import Config
from core.kernel.errors import ConfigError

from . import config as config_module
from .logs import redact, scrub

TIMEOUT = 8.0
OK, WARN, FAIL, OFF = "ok", "WARN", "FAIL", "off"


@dataclass(frozen=True)
class Row:
    check: str
    status: str
    detail: str
    fix: str = ""


# Venue probes: a cheap public endpoint each (weight 1 or none), if the venue is configured.
VENUE_PROBES: dict[str, tuple[str, str]] = {
    "binance": ("sources.binance", "/fapi/v1/premiumIndex?symbol=BTCUSDT"),
    "bybit": ("sources.bybit", "/v5/market/time"),
    "okx": ("sources.okx", "/api/v5/public/time"),
    "coinglass": ("sources.coinglass", "/api/futures/supported-coins"),
}


async def _get(client: httpx.AsyncClient, url: str, **kw: Any) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    reply = await client.get(url, **kw)
    return reply, (time.perf_counter() - started) * 1000


def _why(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:120] or type(exc).__name__


async def check_telegram(cfg: Config, client: httpx.AsyncClient) -> list[Row]:
    section = cfg.section("telegram")
    token = section["token"]
    if not token:
        return [Row("telegram", OFF, "no token (TELEGRAM_TOKEN): the platform is off")]
    base = f"{section['api_base_url']}{token}"
    try:
        reply, ms = await _get(client, f"{base}/getMe")
    except httpx.HTTPError as exc:
        return [
            Row(
                "telegram",
                FAIL,
                f"Bot API unreachable ({_why(exc)})",
                "check the network/proxy, or [telegram] api_base_url",
            )
        ]
    if reply.status_code in (401, 404):
        return [
            Row(
                "telegram",
                FAIL,
                "token rejected by the Bot API",
                "get the token again from @BotFather and set TELEGRAM_TOKEN",
            )
        ]
    body = (
        reply.json() if reply.headers.get("content-type", "").startswith("application/json") else {}
    )
    if not body.get("ok"):
        return [Row("telegram", FAIL, f"getMe answered HTTP {reply.status_code}", "retry later")]
    rows = [Row("telegram", OK, f"@{body['result'].get('username')} ({ms:.0f} ms)")]
    if section.get("mode") == "webhook":
        rows.append(await _check_webhook(section, client, base))
    return rows


async def _check_webhook(section: dict, client: httpx.AsyncClient, base: str) -> Row:
    try:
        reply, _ = await _get(client, f"{base}/getWebhookInfo")
        info = reply.json().get("result") or {}
    except (httpx.HTTPError, ValueError) as exc:
        return Row("telegram webhook", WARN, f"getWebhookInfo failed ({_why(exc)})")
    url = info.get("url", "")
    if not url:
        return Row(
            "telegram webhook",
            WARN,
            "no webhook registered yet",
            "it is registered when `liqwatch run` starts",
        )
    if url != section["public_url"]:
        return Row(
            "telegram webhook",
            FAIL,
            f"Telegram posts to {url}",
            f"restart `liqwatch run` to register {section['public_url']}",
        )
    if info.get("last_error_message"):
        return Row(
            "telegram webhook",
            FAIL,
            f"Telegram reports: {info['last_error_message']}",
            "check the proxy forwards public_url to listen:port",
        )
    return Row("telegram webhook", OK, f"{url}, {info.get('pending_update_count', 0)} pending")


async def check_discord(cfg: Config, client: httpx.AsyncClient) -> list[Row]:
    section = cfg.section("discord")
    token = section["token"]
    if not token:
        return [Row("discord", OFF, "no token (DISCORD_TOKEN): the platform is off")]
    base = section["api_base_url"].rstrip("/")
    headers = {"Authorization": f"Bot {token.strip()}"}
    try:
        reply, ms = await _get(client, f"{base}/oauth2/applications/@me", headers=headers)
    except httpx.HTTPError as exc:
        return [
            Row(
                "discord",
                FAIL,
                f"Discord API unreachable ({_why(exc)})",
                "check the network, or [discord] api_base_url",
            )
        ]
    if reply.status_code == 401:
        return [
            Row(
                "discord",
                FAIL,
                "token rejected by Discord",
                "reset the bot token in the Developer Portal and set DISCORD_TOKEN",
            )
        ]
    if reply.status_code != 200:
        return [
            Row("discord", FAIL, f"application lookup: HTTP {reply.status_code}", "retry later")
        ]
    app = reply.json()
    rows = [Row("discord", OK, f"application {app.get('name')} ({app.get('id')}, {ms:.0f} ms)")]
    try:
        listed, _ = await _get(client, f"{base}/applications/{app['id']}/commands", headers=headers)
        names = {c.get("name") for c in listed.json()} if listed.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        names = None
    ours = {spec.name for spec in COMMANDS}
    if names is None:
        rows.append(Row("discord commands", WARN, "could not read the registered commands"))
    elif missing := sorted(ours - names):
        rows.append(
            Row(
                "discord commands",
                FAIL,
                f"{len(missing)} of {len(ours)} not registered: {_few(missing)}",
                "run `liqwatch discord-sync` (global: up to an hour to show)",
            )
        )
    elif extra := sorted(names - ours):
        rows.append(
            Row(
                "discord commands",
                WARN,
                f"stale commands: {_few(extra)}",
                "run `liqwatch discord-sync` to remove them",
            )
        )
    else:
        rows.append(Row("discord commands", OK, f"{len(ours)} commands in sync"))
    return rows


def _few(names: list[str], shown: int = 5) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _venues(cfg: Config) -> list[str]:
    wanted = ["binance"]  # every source needs Binance (mark price, candles)
    try:
        wanted += [v for v in cfg.get("data", "venues") if v not in wanted]
    except (KeyError, ConfigError):
        pass
    if cfg.get("data", "source") == "coinglass":
        wanted.append("coinglass")
    return wanted


async def check_venues(cfg: Config, client: httpx.AsyncClient) -> list[Row]:
    async def one(name: str) -> Row:
        section_name, path = VENUE_PROBES.get(name, ("", ""))
        try:
            section = cfg.section(section_name)
        except (KeyError, ConfigError):
            return Row(f"venue {name}", WARN, "no probe for this venue")
        url = section["base_url"].rstrip("/") + path
        headers = {"CG-API-KEY": section.get("api_key", "")} if name == "coinglass" else {}
        try:
            reply, ms = await _get(client, url, headers=headers)
        except httpx.HTTPError as exc:
            return Row(
                f"venue {name}",
                FAIL,
                f"unreachable ({_why(exc)})",
                f"check the network/proxy or [{section_name}] base_url",
            )
        if reply.status_code in (403, 451):
            return Row(
                f"venue {name}",
                FAIL,
                f"HTTP {reply.status_code}: blocked from here",
                "this location is refused by the venue: run from another region",
            )
        if reply.status_code in (418, 429):
            return Row(
                f"venue {name}",
                FAIL,
                f"HTTP {reply.status_code}: rate limited or banned",
                "lower the load (fewer symbols, longer cache_seconds) and wait",
            )
        if reply.status_code >= 400:
            return Row(f"venue {name}", FAIL, f"HTTP {reply.status_code}", "retry later")
        status = OK if ms < 2000 else WARN
        fix = "" if status == OK else "slow: expect late alerts; check the network"
        return Row(f"venue {name}", status, f"reachable, {ms:.0f} ms", fix)

    return list(await asyncio.gather(*(one(name) for name in _venues(cfg))))


def check_database(cfg: Config) -> list[Row]:
    from core.store.schema import LATEST_VERSION

    path = Path(cfg.get("store", "path"))
    if not path.exists():
        if not path.parent.is_dir():
            return [
                Row(
                    "database",
                    FAIL,
                    f"{path}: no such directory",
                    "create the directory or set [store] path",
                )
            ]
        return [Row("database", OK, f"{path} will be created at the first start")]
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        return [Row("database", FAIL, f"cannot open {path}: {exc}", "check its permissions")]
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "schema_version" not in tables:
            return [
                Row(
                    "database",
                    FAIL,
                    f"{path} is not a liqwatch database",
                    "point [store] path at another file",
                )
            ]
        version = conn.execute("SELECT version FROM schema_version").fetchone()[0]
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        maps = (
            conn.execute("SELECT count(*) FROM map_history").fetchone()[0]
            if ("map_history" in tables)
            else 0
        )
    except sqlite3.DatabaseError as exc:
        return [Row("database", FAIL, f"{path}: {exc}", "restore a backup (see README)")]
    finally:
        conn.close()
    size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    rows = []
    if integrity != "ok":
        rows.append(
            Row(
                "database",
                FAIL,
                f"integrity check: {integrity[:80]}",
                "stop the bot and restore a backup; `sqlite3 DB .recover` may save it",
            )
        )
    elif version > LATEST_VERSION:
        rows.append(
            Row(
                "database",
                FAIL,
                f"schema v{version} is newer than this liqwatch (v{LATEST_VERSION})",
                "upgrade liqwatch",
            )
        )
    elif version < LATEST_VERSION:
        rows.append(
            Row(
                "database",
                WARN,
                f"schema v{version}, upgraded to v{LATEST_VERSION} at the next start",
                "back up the file before upgrading",
            )
        )
    else:
        rows.append(Row("database", OK, f"schema v{version}, integrity ok, {size / 1e6:.1f} MB"))
    rows.append(Row("map history", OK, f"{maps:,} maps kept"))
    return rows


async def run_checks(cfg: Config) -> list[Row]:
    rows = [Row("config", OK, str(cfg.path) if cfg.path else "built-in defaults (no file)")]
    rows += check_database(cfg)
    async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client:
        checks: list[Callable[[], Awaitable[list[Row]]]] = [
            lambda: check_telegram(cfg, client),
            lambda: check_discord(cfg, client),
            lambda: check_venues(cfg, client),
        ]
        for found in await asyncio.gather(*(check() for check in checks)):
            rows += found
    return rows


def table(rows: list[Row]) -> str:
    head = Row("CHECK", "STATUS", "DETAIL", "FIX")
    width = [max(len(getattr(r, f)) for r in [head, *rows]) for f in ("check", "status", "detail")]
    lines = []
    for r in [head, *rows]:
        lines.append(
            f"{r.check:<{width[0]}}  {r.status:<{width[1]}}  {r.detail:<{width[2]}}  {r.fix}"
        )
    return "\n".join(line.rstrip() for line in lines)


def main(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    try:
        cfg = config_module.load(args.config, env=env)
    except ConfigError as exc:
        print(table([Row("config", FAIL, str(exc), "fix the key named above, then run again")]))
        return 1
    for secret in cfg.secrets():
        redact(secret)
    rows = asyncio.run(run_checks(cfg))
    print(scrub(table(rows)))
    broken = [r for r in rows if r.status == FAIL]
    print(f"\n{len(broken)} problem(s) found." if broken else "\nAll good.")
    return 1 if broken else 0
