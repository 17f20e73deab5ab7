"""Test helpers: a clock that moves only when told, replay files with a scripted price path, and a
whole liqwatch app (service, store, monitor, delivery) built the way `liqwatch run` builds it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot import config as config_module
from core.types import ChatRef, Message

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


class ManualClock:
    def __init__(self, start: datetime = START):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def btc_levels() -> list[list[float]]:
    """A map around $50,000: a big short cluster at $51,000–51,200, a long one at $48,800–49,000,
    and thin levels elsewhere."""
    levels = []
    for price in range(47_000, 53_001, 100):
        if price < 50_000:
            usd = 90e6 if 48_800 <= price <= 49_000 else 4e6
            levels.append([float(price), usd, 0.0])
        elif price > 50_000:
            usd = 150e6 if 51_000 <= price <= 51_200 else 5e6
            levels.append([float(price), 0.0, usd])
    return levels


def write_replay(
    path: Path,
    prices: list[float],
    step_seconds: float = 60,
    symbols: tuple[str, ...] = ("BTC", "ETH"),
) -> Path:
    """A replay file whose BTC (and ETH, scaled) follow `prices`, one per `step_seconds`."""
    body = {"meta": {"sample": False, "label": ""}, "symbols": {}}
    for symbol in symbols:
        scale = 1.0 if symbol == "BTC" else 0.06
        body["symbols"][symbol] = {
            "price": prices[0] * scale,
            "as_of": "now",
            "context": {"high_7d": 52_000 * scale, "low_7d": 48_000 * scale, "change_24h_pct": 1.5},
            "path": {"step_seconds": step_seconds, "prices": [p * scale for p in prices]},
            "levels": [[p * scale, lo * scale, sh * scale] for p, lo, sh in btc_levels()],
        }
    path.write_text(json.dumps(body))
    return path


def app_config(tmp_path: Path, replay: Path, **alerts):
    cfg = config_module.load(None, env={}, use_cwd=False)
    changes = {
        ("data", "source"): "replay",
        ("sources.replay", "path"): str(replay),
        ("data", "cache_seconds"): 30.0,
        ("store", "path"): str(tmp_path / "liqwatch.db"),
    }
    changes.update({("alerts", key): value for key, value in alerts.items()})
    cfg.override(changes)
    return cfg


@dataclass
class RecordingSender:
    """A platform Sender that records what it was asked to send."""

    platform: str = "console"
    sent: list[tuple[ChatRef, Message]] = field(default_factory=list)

    async def send(self, chat: ChatRef, message: Message) -> None:
        self.sent.append((chat, message))

    def texts(self) -> list[str]:
        return [message.text() for _, message in self.sent]
