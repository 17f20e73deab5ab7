"""Neutral Message → Telegram HTML, split and packed within Telegram's limits. Pure functions.

Limits (Bot API): message text 4,096 characters, photo caption 1,024, callback data 64 bytes.
Telegram counts characters in UTF-16 code units after entity parsing; we measure the raw HTML
(tags and escapes included), which is never shorter, so a chunk that fits here fits there.
"""

from __future__ import annotations

import html
import itertools
import re
from collections import OrderedDict
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from core.types import Button, Message

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_LIMIT = 64  # bytes

_ATOM = re.compile(r"<[^>]*>|&#?\w+;|[^<&]|[<&]", re.DOTALL)
_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)[^>]*>")


def tg_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    """Escape user or data text for Telegram HTML (only &, < and > are special there)."""
    return html.escape(text, quote=False)


def render_html(message: Message) -> str:
    """Title bold, lines, each section as a bold name over its lines, footer italic."""
    blocks: list[str] = []
    head = [f"<b>{escape(message.title)}</b>"] if message.title else []
    head.extend(escape(line) for line in message.lines)
    if head:
        blocks.append("\n".join(head))
    for section in message.sections:
        lines = [escape(line) for line in section.lines]
        if section.mono and lines:
            lines = ["<pre>" + "\n".join(lines) + "</pre>"]
        body = [f"<b>{escape(section.name)}</b>", *lines]
        blocks.append("\n".join(body))
    if message.footer:
        blocks.append(f"<i>{escape(message.footer)}</i>")
    return "\n\n".join(blocks) or escape(message.text()) or "…"


# ---- splitting ---------------------------------------------------------------------------


def _closers(stack: list[tuple[str, str]]) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(stack))


def _openers(stack: list[tuple[str, str]]) -> str:
    return "".join(opening for _, opening in stack)


def _apply_tag(stack: list[tuple[str, str]], atom: str) -> list[tuple[str, str]]:
    """The stack of open tags after `atom` (a tag, an entity or one character)."""
    match = _TAG.fullmatch(atom)
    if not match:
        return stack
    closing, name = match.group(1), match.group(2).lower()
    if not closing:
        return [*stack, (name, atom)]
    for depth in range(len(stack) - 1, -1, -1):  # close the innermost tag of that name
        if stack[depth][0] == name:
            return stack[:depth] + stack[depth + 1 :]
    return stack


class _Chunker:
    """Greedy packer: whole lines while they fit, an over-long line atom by atom."""

    def __init__(self, limit: int):
        self.limit = limit
        self.chunks: list[str] = []
        self.stack: list[tuple[str, str]] = []
        self.parts: list[str] = []
        self.length = 0
        self.has_text = False

    def fits(self, extra: int, stack: list[tuple[str, str]]) -> bool:
        return self.length + extra + tg_len(_closers(stack)) <= self.limit

    def flush(self) -> None:
        if self.has_text:
            self.chunks.append("".join(self.parts) + _closers(self.stack))
        prefix = _openers(self.stack)  # reopen what was open, so each chunk is well-formed
        self.parts, self.length, self.has_text = [prefix], tg_len(prefix), False

    def add(self, text: str, stack: list[tuple[str, str]]) -> None:
        self.parts.append(text)
        self.length += tg_len(text)
        self.stack = stack
        self.has_text = self.has_text or bool(text.strip())

    def add_line(self, line: str) -> None:
        stack = self.stack
        for atom in _ATOM.findall(line):
            stack = _apply_tag(stack, atom)
        separator = "\n" if self.has_text else ""
        if self.fits(tg_len(separator + line), stack):
            if self.has_text or line.strip():
                self.add(separator + line, stack)
            return
        self.flush()
        if self.fits(tg_len(line), stack):
            self.add(line, stack)
            return
        for atom in _ATOM.findall(line):  # a single line longer than a chunk
            after = _apply_tag(self.stack, atom)
            if not self.fits(tg_len(atom), after) and self.has_text:
                self.flush()
            self.add(atom, after)


def split_html(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split Telegram HTML into chunks of at most `limit`, on line boundaries where possible.

    A tag is never cut: tags open at a boundary are closed at the end of the chunk and reopened
    at the start of the next, so every chunk is well-formed on its own.
    """
    if tg_len(text) <= limit:
        return [text] if text.strip() else []
    chunker = _Chunker(limit)
    chunker.flush()
    for line in text.split("\n"):
        chunker.add_line(line)
    chunker.flush()
    return chunker.chunks


# ---- what goes out -----------------------------------------------------------------------


@dataclass(frozen=True)
class OutgoingPart:
    """One Bot API call's worth of a message: a text (HTML) or a photo with an HTML caption."""

    html: str
    photo: bytes | None = None


def plan_parts(message: Message) -> list[OutgoingPart]:
    """The calls that deliver `message`: photo+caption when it fits, else photo then text."""
    body = render_html(message)
    if message.image is None:
        return [OutgoingPart(chunk) for chunk in split_html(body)]
    if tg_len(body) <= CAPTION_LIMIT:
        return [OutgoingPart(body, message.image)]
    caption = split_html(f"<b>{escape(message.title or 'Chart')}</b>", CAPTION_LIMIT)[0]
    return [OutgoingPart(caption, message.image)] + [
        OutgoingPart(chunk) for chunk in split_html(body)
    ]


class CallbackCodec:
    """Button (action, args) ↔ callback_data, always ≤ 64 bytes.

    Known actions get one-letter codes (`r|BTC` for refresh BTC); anything too long or holding the
    separator is kept in a bounded in-memory table behind a short token (`~1a`). Such a button
    stops working after a restart or when the table overflows: the press then answers "expired".
    """

    SHORT = {
        "refresh": "r",
        "chart": "c",
        "alert_breakout": "a",
        "snooze": "s",
        "mute_symbol": "m",
    }
    LONG = {code: action for action, code in SHORT.items()}

    def __init__(self, table_size: int = 10_000):
        self._table: OrderedDict[str, tuple[str, tuple[str, ...]]] = OrderedDict()
        self._table_size = table_size
        self._tokens = itertools.count(1)

    def encode(self, action: str, args: tuple[str, ...] = ()) -> str:
        code = self.SHORT.get(action, "." + action)
        parts = (code, *args)
        data = "|".join(parts)
        if all("|" not in part for part in parts) and len(data.encode()) <= CALLBACK_LIMIT:
            return data
        token = "~" + _base36(next(self._tokens))
        self._table[token] = (action, tuple(args))
        while len(self._table) > self._table_size:
            self._table.popitem(last=False)
        return token

    def decode(self, data: str) -> tuple[str, tuple[str, ...]] | None:
        """The button's (action, args), or None when unknown or expired."""
        if data.startswith("~"):
            return self._table.get(data)
        code, *args = data.split("|")
        action = code[1:] if code.startswith(".") else self.LONG.get(code)
        return (action, tuple(args)) if action else None


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def keyboard(buttons: tuple[Button, ...], codec: CallbackCodec) -> InlineKeyboardMarkup | None:
    """Inline keyboard, two buttons a row (long labels stay readable on a phone)."""
    if not buttons:
        return None
    keys = [
        InlineKeyboardButton(b.label[:64], callback_data=codec.encode(b.action, b.args))
        for b in buttons
    ]
    return InlineKeyboardMarkup([keys[i : i + 2] for i in range(0, len(keys), 2)])
