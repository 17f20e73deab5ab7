"""The chat platforms `liqwatch run` can serve, by name: each one's config part and adapter.

A new platform is one new package (its adapter, sender, `CONFIG` and `from_config(service,
config)`, which answers None when the platform is not configured) plus one line in PLATFORMS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.chat.api import ChatService
from core.kernel.config import Config, ConfigPart

from . import discord_adapter, telegram_adapter


@dataclass(frozen=True)
class Platform:
    name: str
    config: ConfigPart
    from_config: Callable[[ChatService, Config], Any]  # → an adapter (start/stop/sender) or None


PLATFORMS: dict[str, Platform] = {
    platform.name: platform
    for platform in (
        Platform("telegram", telegram_adapter.CONFIG, telegram_adapter.from_config),
        Platform("discord", discord_adapter.CONFIG, discord_adapter.from_config),
    )
}


def configured_adapters(service: ChatService, config: Config) -> list[Any]:
    """The adapters of every platform the config turns on (a token is set), in registry order."""
    adapters = []
    for platform in PLATFORMS.values():
        adapter = platform.from_config(service, config)
        if adapter is not None:
            adapters.append(adapter)
    return adapters
