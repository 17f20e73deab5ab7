"""Chat values: the neutral messages the service returns and adapters render; callers; chat refs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# ---- chat messages: what the service returns and the adapters render ------------------------


@dataclass(frozen=True)
class Button:
    """An action a user can press. `action` is a short verb the service understands."""

    label: str
    action: str  # "refresh" | "chart" | "alert_breakout" | "snooze" | "mute_symbol" | ...
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    """A named group of lines (an embed field on Discord, a paragraph elsewhere)."""

    name: str
    lines: tuple[str, ...]
    mono: bool = False  # a table whose columns must line up: shown in a fixed-width font


MessageKind = Literal["reply", "report", "alert", "summary", "error", "help"]


@dataclass(frozen=True)
class Message:
    """A platform-neutral chat message. All text is plain: adapters escape and format it."""

    title: str
    lines: tuple[str, ...] = ()
    sections: tuple[Section, ...] = ()
    footer: str = ""  # source and data age
    image: bytes | None = None  # PNG
    buttons: tuple[Button, ...] = ()
    kind: MessageKind = "reply"

    def text(self) -> str:
        """Plain-text rendering (the console, logs, and the fallback of every adapter)."""
        parts = [self.title] if self.title else []
        parts.extend(self.lines)
        for section in self.sections:
            parts.append("")
            parts.append(f"{section.name}:")
            parts.extend(f"  {line}" for line in section.lines)
        if self.footer:
            parts.append("")
            parts.append(self.footer)
        return "\n".join(parts)


@dataclass(frozen=True)
class Caller:
    """Who sent a command, from where, with which rights (decided by the adapter)."""

    platform: str  # "console" | "telegram" | "discord"
    chat_id: str
    user_id: str
    chat_kind: Literal["private", "group", "channel"] = "private"
    can_manage_chat: bool = True  # chat admin (Telegram) / Manage Server (Discord)
    is_bot_admin: bool = False  # listed in the platform's `admins`
    thread_id: str | None = None  # Telegram forum topic
    fallback_chat_id: str | None = None  # Discord: channel to use when the user's DMs are closed


@dataclass(frozen=True)
class ChatRef:
    """Where a queued message goes."""

    platform: str
    chat_id: str
    thread_id: str | None = None
    user_id: str | None = None
    fallback_chat_id: str | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)
