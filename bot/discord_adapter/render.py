"""Neutral Message → Discord embeds, within Discord's limits (pure: no network, no client).

A Message becomes one or more *pages*; each page is one Discord message holding up to 10 embeds
whose characters add up to at most 6000. Text is cut at line breaks where it can, so a Message that
is too big for one embed is split, never rejected by Discord with a 400.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import discord

from core.types import Message, MessageKind

# Discord's documented embed limits (characters are counted after escaping).
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELDS_PER_EMBED = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
TOTAL_PER_MESSAGE = 6000  # title + description + fields + footer, summed over all embeds
EMBEDS_PER_MESSAGE = 10

CHART_FILENAME = "chart.png"
CHART_URL = f"attachment://{CHART_FILENAME}"
ELLIPSIS = "…"
CONTINUED = " (cont.)"

COLOURS: dict[MessageKind, discord.Colour] = {
    "report": discord.Colour.blurple(),
    "alert": discord.Colour.orange(),
    "summary": discord.Colour.teal(),
    "error": discord.Colour.red(),
    "help": discord.Colour.green(),
    "reply": discord.Colour.light_grey(),
}


@dataclass(frozen=True)
class Page:
    """One Discord message: its embeds, and whether it carries the chart and the buttons."""

    embeds: tuple[discord.Embed, ...]
    with_chart: bool = False
    with_buttons: bool = False

    def size(self) -> int:
        """Characters Discord counts against the 6000 limit."""
        return sum(len(embed) for embed in self.embeds)


def escape(text: str) -> str:
    """Plain text → Discord markdown that shows exactly that text (no bold, no links, no pings)."""
    escaped = discord.utils.escape_markdown(text, ignore_links=False)
    # Embeds never ping, but an escaped mention keeps content and embed text identical everywhere.
    return escaped.replace("@", "@\u200b")


def truncate(text: str, limit: int) -> str:
    """Cut to `limit` characters with an ellipsis, never leaving half of a `\\x` escape behind."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    trailing = len(cut) - len(cut.rstrip("\\"))
    if trailing % 2:  # an odd run of backslashes ends in an escape whose character was cut off
        cut = cut[:-1]
    return cut + ELLIPSIS


def split_lines(lines: list[str], limit: int) -> list[str]:
    """Join lines into chunks of at most `limit` characters, breaking between lines if possible."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        while len(line) > limit:  # a single line longer than a chunk: hard cut it
            if current:
                chunks.append(current)
                current = ""
            head = truncate(line, limit)[: -len(ELLIPSIS)]
            chunks.append(head)
            line = line[len(head) :]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks


@dataclass
class _Field:
    name: str
    value: str

    def size(self) -> int:
        return len(self.name) + len(self.value)


def _visible(text: str) -> str:
    """Discord refuses blank field names and values: a zero-width space stands in."""
    return text if text.strip() else "\u200b"


def _fields(message: Message) -> list[_Field]:
    fields: list[_Field] = []
    for section in message.sections:
        name = truncate(escape(section.name), FIELD_NAME_LIMIT)
        if section.mono:  # a code block keeps the columns; nothing inside it needs escaping
            lines = [line.replace("`", "'") for line in section.lines]
            values = [f"```\n{v}\n```" for v in split_lines(lines, FIELD_VALUE_LIMIT - 8)]
        else:
            values = split_lines([escape(line) for line in section.lines], FIELD_VALUE_LIMIT)
        values = values or ["—"]
        for n, value in enumerate(values):
            shown = name if n == 0 else truncate(name + CONTINUED, FIELD_NAME_LIMIT)
            fields.append(_Field(_visible(shown), _visible(value)))
    return fields


class _Packer:
    """Fills embeds and pages in order, opening a new one whenever a limit would be crossed."""

    def __init__(self, colour: discord.Colour):
        self.colour = colour
        self.pages: list[list[discord.Embed]] = [[]]

    @property
    def page(self) -> list[discord.Embed]:
        return self.pages[-1]

    def room(self) -> int:
        return TOTAL_PER_MESSAGE - sum(len(embed) for embed in self.page)

    def new_embed(self, size: int) -> discord.Embed:
        """A fresh embed, on a new page if this one is full or lacks `size` characters of room."""
        if len(self.page) >= EMBEDS_PER_MESSAGE or (self.page and self.room() < size):
            self.pages.append([])
        embed = discord.Embed(colour=self.colour)
        self.page.append(embed)
        return embed

    def add_field(self, field: _Field) -> None:
        embed = self.page[-1] if self.page else None
        if embed is None or len(embed.fields) >= FIELDS_PER_EMBED or self.room() < field.size():
            embed = self.new_embed(field.size())
        embed.add_field(name=field.name, value=field.value, inline=False)

    def add_footer(self, text: str) -> None:
        embed = self.page[-1] if self.page else None
        if embed is None or self.room() < len(text):
            embed = self.new_embed(len(text))
        embed.set_footer(text=text)


def render(message: Message) -> list[Page]:
    """The pages to send for `message`: title on the first embed, footer on the last, chart on the
    first page (shown inside its first embed), buttons under the last page."""
    packer = _Packer(COLOURS.get(message.kind, COLOURS["reply"]))
    title = truncate(escape(message.title), TITLE_LIMIT)
    chunks = split_lines([escape(line) for line in message.lines], DESCRIPTION_LIMIT)
    first = packer.new_embed(len(title) + (len(chunks[0]) if chunks else 0))
    if title:
        first.title = title
    for n, chunk in enumerate(chunks):
        embed = first if n == 0 else packer.new_embed(len(chunk))
        embed.description = chunk
    for field in _fields(message):
        packer.add_field(field)
    if message.footer:
        packer.add_footer(truncate(message.footer, FOOTER_LIMIT))  # footers show no markdown
    if not (title or chunks or message.sections or message.footer):
        first.description = ELLIPSIS  # nothing at all to show: Discord refuses an empty embed
    if message.image:
        first.set_image(url=CHART_URL)
    pages = [Page(tuple(embeds)) for embeds in packer.pages]
    pages[0] = Page(pages[0].embeds, with_chart=bool(message.image))
    last = pages[-1]
    pages[-1] = Page(last.embeds, with_chart=last.with_chart, with_buttons=bool(message.buttons))
    return pages


def chart_file(message: Message) -> discord.File | None:
    """The chart as an attachment named so that the embed's `attachment://chart.png` finds it.

    A discord.File is a one-shot stream: make a new one for every send.
    """
    if not message.image:
        return None
    return discord.File(io.BytesIO(message.image), filename=CHART_FILENAME)
