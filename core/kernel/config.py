"""Configuration machinery: a TOML file plus environment variables for secrets.

Each owner contributes its part of the schema (a `ConfigPart`: its sections with their defaults,
its checks, the environment variables that fill its secrets) next to the code that reads it: the
market its sources, the store its path, each chat platform its token. The entry point assembles
them into one `Schema` (bot/config.py) and `load()` reads a file against it: a wrong key, a wrong
type or an unknown value is refused at start, with a message naming the key and the file. The
names of the keys are a public contract (see config.example.toml).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.kernel.errors import ConfigError

Values = dict[str, dict[str, Any]]  # section -> key -> value
Bad = Callable[[str, str, str], ConfigError]  # (section, key, why) -> the error to raise
Check = Callable[[Values, Bad], None]


@dataclass(frozen=True)
class ConfigPart:
    """One owner's sections: defaults (the default's type is the key's type; an int is accepted
    for a float), a check of the values once all are read, and secrets from the environment."""

    sections: dict[str, dict[str, Any]]
    check: Check | None = None
    env: dict[str, tuple[str, str]] = field(default_factory=dict)  # VAR -> (section, key)
    secrets: tuple[tuple[str, str], ...] = ()  # (section, key) never to be logged


@dataclass(frozen=True)
class TableSpec:
    """An array of tables (`[[summaries]]`): each entry's keys and defaults, and its check."""

    keys: dict[str, Any]
    check_entry: Callable[[dict[str, Any], int, str], None] | None = None  # (entry, n, where)
    secrets: Callable[[dict[str, Any]], Iterable[str]] | None = None  # secret parts of an entry


@dataclass(frozen=True)
class Schema:
    parts: tuple[ConfigPart, ...]
    tables: dict[str, TableSpec] = field(default_factory=dict)

    @property
    def sections(self) -> dict[str, dict[str, Any]]:
        merged: dict[str, dict[str, Any]] = {}
        for part in self.parts:
            for name, keys in part.sections.items():
                if name in merged and merged[name] != keys:
                    raise ValueError(f"two owners define [{name}] differently")
                merged[name] = keys
        return merged

    def defaults(self) -> Values:
        return {section: _copy(keys) for section, keys in self.sections.items()}


@dataclass
class Config:
    """Validated settings: `cfg.get("data", "source")`, `cfg.section("alerts")`."""

    values: Values
    path: Path | None = None
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    schema: Schema | None = field(default=None, repr=False, compare=False)

    @property
    def summaries(self) -> list[dict[str, Any]]:
        """The `[[summaries]]` entries (the one array of tables so far)."""
        return self.tables.setdefault("summaries", [])

    @summaries.setter
    def summaries(self, entries: list[dict[str, Any]]) -> None:
        self.tables["summaries"] = entries

    def get(self, section: str, key: str) -> Any:
        return self.values[section][key]

    def section(self, section: str) -> dict[str, Any]:
        return dict(self.values[section])

    def set(self, section: str, key: str, value: Any) -> None:
        """Override one value (command-line flags), validated like the file."""
        self.override({(section, key): value})

    def override(self, changes: dict[tuple[str, str], Any]) -> None:
        """Override several values at once, then validate them together."""
        sections = self.schema.sections if self.schema else {}
        for (section, key), value in changes.items():
            default = sections.get(section, {}).get(key, self.values[section][key])
            self.values[section][key] = check_type(
                f"[{section}] {key}", default, value, self._where()
            )
        if self.schema:
            _check_values(self.schema, self.values, self._where())

    def secrets(self) -> list[str]:
        """Every secret value set, so that log filters can redact them."""
        if self.schema is None:
            return []
        found = [
            self.values[s][k]
            for part in self.schema.parts
            for s, k in part.secrets
            if self.values.get(s, {}).get(k)
        ]
        for name, spec in self.schema.tables.items():
            if spec.secrets:
                for entry in self.tables.get(name, []):
                    found.extend(secret for secret in spec.secrets(entry) if secret)
        return found

    def _where(self) -> str:
        return str(self.path) if self.path else "the built-in defaults"


def _type_name(value: Any) -> str:
    return {bool: "true/false", int: "a number", float: "a number", str: "a string"}.get(
        type(value), "a list" if isinstance(value, list) else type(value).__name__
    )


def check_type(name: str, default: Any, value: Any, where: str) -> Any:
    """`value` has the type of `default` (an int is accepted for a float) → the value."""
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


def _check_values(schema: Schema, values: Values, where: str) -> None:
    def bad(section: str, key: str, why: str) -> ConfigError:
        return ConfigError(f"{where}: [{section}] {key} {why}")

    for part in schema.parts:
        if part.check is not None:
            part.check(values, bad)


def _flatten(raw: dict[str, Any], schema: Schema, where: str) -> Values:
    """TOML tables → {"sources.binance": {...}}; refuses unknown sections and keys."""
    sections = schema.sections
    found: Values = {}
    for top, body in raw.items():
        if top in schema.tables:
            continue
        if not isinstance(body, dict):
            raise ConfigError(f"{where}: unknown key '{top}' (expected a [section])")
        if top in sections:
            found[top] = body
            continue
        nested = {name for name in sections if name.startswith(f"{top}.")}
        if not nested:
            raise ConfigError(f"{where}: unknown section [{top}]")
        for name, sub in body.items():
            if f"{top}.{name}" not in sections or not isinstance(sub, dict):
                raise ConfigError(f"{where}: unknown section [{top}.{name}]")
            found[f"{top}.{name}"] = sub
    return found


def _table(name: str, spec: TableSpec, raw: Any, where: str) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: {name} must be [[{name}]] tables")
    result = []
    for n, entry in enumerate(raw, 1):
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: [[{name}]] #{n} must be a table")
        item = _copy(spec.keys)
        for key, value in entry.items():
            if key not in spec.keys:
                raise ConfigError(f"{where}: unknown key '{key}' in [[{name}]] #{n}")
            item[key] = check_type(f"[{name} #{n}] {key}", spec.keys[key], value, where)
        if spec.check_entry is not None:
            spec.check_entry(item, n, where)
        result.append(item)
    return result


def load(
    schema: Schema,
    path: str | os.PathLike | None = None,
    env: dict[str, str] | None = None,
    use_cwd: bool = True,
) -> Config:
    """Read `path` (or ./config.toml if present and `use_cwd`, else the built-in defaults),
    then the secret environment variables, against `schema`."""
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
    sections = schema.sections
    values = schema.defaults()
    for section, body in _flatten(raw, schema, where).items():
        for key, value in body.items():
            if key not in sections[section]:
                raise ConfigError(f"{where}: unknown key '{key}' in [{section}]")
            values[section][key] = check_type(
                f"[{section}] {key}", sections[section][key], value, where
            )
    for part in schema.parts:
        for var, (section, key) in part.env.items():
            if env.get(var):
                values[section][key] = env[var].strip()
    _check_values(schema, values, where)
    tables = {
        name: _table(name, spec, raw.get(name), where) for name, spec in schema.tables.items()
    }
    return Config(values=values, path=file, tables=tables, schema=schema)


def _copy(keys: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, list) else v for k, v in keys.items()}
