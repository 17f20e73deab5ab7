"""Configuration: a TOML file plus environment variables for secrets.

`load()` refuses a wrong key, a wrong type or an unknown value at start, with a message naming the
key and the file. The names of the keys are a public contract (see config.example.toml).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError

SOURCES = ("estimate", "coinglass", "replay")
RANGES = ("1d", "7d", "30d")

# section -> key -> default. The default's type is the key's type (int accepted for float).
SCHEMA: dict[str, dict[str, Any]] = {
    "data": {"source": "estimate", "window_pct": 0.0, "cache_seconds": 60.0},
    "sources.binance": {"base_url": "https://fapi.binance.com", "timeout_seconds": 10.0},
    "sources.coinglass": {
        "base_url": "https://open-api-v4.coinglass.com",
        "api_key": "",
        "range": "1d",
        "timeout_seconds": 10.0,
    },
    "sources.replay": {"path": ""},
    "estimator": {
        "days": 7,
        "interval": "5m",
        "leverage": [5, 10, 25, 50, 100],
        "weights": [0.15, 0.30, 0.25, 0.20, 0.10],
        "maintenance_margin": 0.004,
        "bucket_pct": 0.1,
    },
    "store": {"path": "liqwatch.db"},
    "alerts": {
        "check_seconds": 60.0,
        "rearm_margin_pct": 0.3,
        "max_symbols_per_user": 20,
        "max_rules_per_user": 50,
        "commands_per_minute": 20,
    },
    "telegram": {
        "token": "",
        "api_base_url": "https://api.telegram.org/bot",
        "admins": [],
        "allowed_chats": [],
    },
    "discord": {"token": "", "api_base_url": "https://discord.com/api/v10", "admins": []},
    "log": {"level": "INFO"},
}

# [[summaries]] entries: scheduled posts configured by the operator (e.g. to a Discord webhook).
SUMMARY_KEYS: dict[str, Any] = {
    "symbols": ["BTC"],
    "every": "",  # e.g. "4h"
    "daily": "",  # e.g. "08:00"
    "tz": "UTC",
    "webhook_url": "",  # Discord webhook: post without inviting the bot
    "telegram_chat": "",  # or a Telegram chat id the bot is in
}

ENV_SECRETS = {
    "COINGLASS_API_KEY": ("sources.coinglass", "api_key"),
    "TELEGRAM_TOKEN": ("telegram", "token"),
    "DISCORD_TOKEN": ("discord", "token"),
}

SECRET_KEYS = {("sources.coinglass", "api_key"), ("telegram", "token"), ("discord", "token")}


@dataclass
class Config:
    """Validated settings: `cfg.get("data", "source")`, `cfg.section("alerts")`."""

    values: dict[str, dict[str, Any]]
    path: Path | None = None
    summaries: list[dict[str, Any]] = field(default_factory=list)

    def get(self, section: str, key: str) -> Any:
        return self.values[section][key]

    def section(self, section: str) -> dict[str, Any]:
        return dict(self.values[section])

    def set(self, section: str, key: str, value: Any) -> None:
        """Override one value (command-line flags), validated like the file."""
        self.override({(section, key): value})

    def override(self, changes: dict[tuple[str, str], Any]) -> None:
        """Override several values at once, then validate them together."""
        for (section, key), value in changes.items():
            self.values[section][key] = _check(section, key, value, self._where())
        _check_values(self.values, self._where())

    def secrets(self) -> list[str]:
        """Every secret value set, so that log filters can redact them."""
        found = [self.values[s][k] for s, k in SECRET_KEYS if self.values[s][k]]
        # A webhook URL's last segment is its token (`.../webhooks/ID/TOKEN`): whoever reads it
        # can post there. Logs that name the chat keep the ID part.
        for entry in self.summaries:
            token = urlsplit(entry["webhook_url"]).path.rstrip("/").rpartition("/")[2]
            if token:
                found.append(token)
        return found

    def _where(self) -> str:
        return str(self.path) if self.path else "the built-in defaults"


def _type_name(value: Any) -> str:
    return {bool: "true/false", int: "a number", float: "a number", str: "a string"}.get(
        type(value), "a list" if isinstance(value, list) else type(value).__name__
    )


def _check(section: str, key: str, value: Any, where: str) -> Any:
    default = SCHEMA[section][key] if section in SCHEMA else SUMMARY_KEYS[key]
    name = f"[{section}] {key}"
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, list):
        ok = isinstance(value, list)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ConfigError(f"{where}: {name} must be {_type_name(default)}, not {value!r}")
    return value


def _check_values(values: dict[str, dict[str, Any]], where: str) -> None:
    def bad(section: str, key: str, why: str) -> ConfigError:
        return ConfigError(f"{where}: [{section}] {key} {why}")

    data = values["data"]
    if data["source"] not in SOURCES:
        raise bad("data", "source", f"must be one of {', '.join(SOURCES)}, not {data['source']!r}")
    if not 0 <= data["window_pct"] <= 100:
        raise bad("data", "window_pct", "must be between 0 and 100")
    if data["cache_seconds"] < 0:
        raise bad("data", "cache_seconds", "must not be negative")
    if values["sources.coinglass"]["range"] not in RANGES:
        raise bad("sources.coinglass", "range", f"must be one of {', '.join(RANGES)}")
    for section in ("telegram", "discord"):
        for key in ("admins", "allowed_chats"):
            ids = values[section].get(key, [])
            if any(isinstance(x, bool) or not isinstance(x, int) for x in ids):
                raise bad(section, key, "must be numeric ids, e.g. [123456789] (not @names)")
    est = values["estimator"]
    if len(est["leverage"]) != len(est["weights"]) or not est["leverage"]:
        raise bad("estimator", "weights", "must have one weight per leverage tier")
    if any(not isinstance(x, int | float) or x <= 1 for x in est["leverage"]):
        raise bad("estimator", "leverage", "must be numbers above 1")
    if any(not isinstance(x, int | float) or x < 0 for x in est["weights"]) or not sum(
        est["weights"]
    ):
        raise bad("estimator", "weights", "must be non-negative numbers that do not sum to 0")
    if not 0 <= est["maintenance_margin"] < 0.5:
        raise bad("estimator", "maintenance_margin", "must be between 0 and 0.5")
    if not 0 < est["bucket_pct"] <= 5:
        raise bad("estimator", "bucket_pct", "must be above 0 and at most 5")
    if not 1 <= est["days"] <= 30:
        raise bad("estimator", "days", "must be between 1 and 30 (Binance keeps 30 days)")
    if est["interval"] not in ("5m", "15m", "30m", "1h"):
        raise bad("estimator", "interval", "must be one of 5m, 15m, 30m, 1h")
    if values["alerts"]["check_seconds"] < 5:
        raise bad("alerts", "check_seconds", "must be at least 5")
    if not 0 <= values["alerts"]["rearm_margin_pct"] <= 20:
        raise bad("alerts", "rearm_margin_pct", "must be between 0 and 20")
    level = values["log"]["level"].upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise bad("log", "level", "must be DEBUG, INFO, WARNING or ERROR")


def _flatten(raw: dict[str, Any], where: str) -> dict[str, dict[str, Any]]:
    """TOML tables → {"sources.binance": {...}}; refuses unknown sections and keys."""
    found: dict[str, dict[str, Any]] = {}
    for top, body in raw.items():
        if top == "summaries":
            continue
        if not isinstance(body, dict):
            raise ConfigError(f"{where}: unknown key '{top}' (expected a [section])")
        if top == "sources":
            for name, sub in body.items():
                if f"sources.{name}" not in SCHEMA or not isinstance(sub, dict):
                    raise ConfigError(f"{where}: unknown section [sources.{name}]")
                found[f"sources.{name}"] = sub
        elif top in SCHEMA:
            found[top] = body
        else:
            raise ConfigError(f"{where}: unknown section [{top}]")
    return found


def _summaries(raw: Any, where: str) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: summaries must be [[summaries]] tables")
    result = []
    for n, entry in enumerate(raw, 1):
        section = f"summaries #{n}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: [[summaries]] #{n} must be a table")
        item = dict(SUMMARY_KEYS)
        for key, value in entry.items():
            if key not in SUMMARY_KEYS:
                raise ConfigError(f"{where}: unknown key '{key}' in [[summaries]] #{n}")
            try:
                item[key] = _check("summaries", key, value, where)
            except ConfigError as exc:
                raise ConfigError(str(exc).replace("[summaries]", f"[{section}]")) from None
        if bool(item["every"]) == bool(item["daily"]):
            raise ConfigError(f"{where}: [[summaries]] #{n} needs exactly one of every or daily")
        if not item["webhook_url"] and not item["telegram_chat"]:
            raise ConfigError(f"{where}: [[summaries]] #{n} needs webhook_url or telegram_chat")
        url = item["webhook_url"]
        if url and not re.match(r"^https?://[^\s/]+/\S+$", url):
            raise ConfigError(f"{where}: [[summaries]] #{n} webhook_url must be an http(s) URL")
        chat = item["telegram_chat"]
        if chat and not re.match(r"^(-?\d+|@\w{4,})$", chat):
            raise ConfigError(
                f"{where}: [[summaries]] #{n} telegram_chat must be a chat id or @channelname"
            )
        if not item["symbols"] or not all(
            isinstance(x, str) and re.match(r"^[A-Za-z0-9$#./:_-]{1,30}$", x)
            for x in item["symbols"]
        ):
            raise ConfigError(f"{where}: [[summaries]] #{n} symbols must be a list like ['BTC']")
        result.append(item)
    return result


def load(
    path: str | os.PathLike | None = None,
    env: dict[str, str] | None = None,
    use_cwd: bool = True,
) -> Config:
    """Read `path` (or ./config.toml if present and `use_cwd`, else the built-in defaults),
    then the secret environment variables."""
    env = dict(os.environ) if env is None else env
    file: Path | None = None
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise ConfigError(f"config file not found: {file}")
    elif use_cwd and Path("config.toml").is_file():
        file = Path("config.toml")
    where = str(file) if file else "the built-in defaults"
    raw: dict[str, Any] = {}
    if file:
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    values = {section: _copy(keys) for section, keys in SCHEMA.items()}
    for section, body in _flatten(raw, where).items():
        for key, value in body.items():
            if key not in SCHEMA[section]:
                raise ConfigError(f"{where}: unknown key '{key}' in [{section}]")
            values[section][key] = _check(section, key, value, where)
    for var, (section, key) in ENV_SECRETS.items():
        if env.get(var):
            values[section][key] = env[var].strip()
    _check_values(values, where)
    return Config(values=values, path=file, summaries=_summaries(raw.get("summaries"), where))


def _copy(keys: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, list) else v for k, v in keys.items()}
