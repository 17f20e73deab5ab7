"""Telegram rendering at its limits: HTML escaping, 4,096-character chunks, captions, buttons."""

from __future__ import annotations

import html
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.telegram_adapter.render import (
    CALLBACK_LIMIT,
    CAPTION_LIMIT,
    TEXT_LIMIT,
    CallbackCodec,
    keyboard,
    plan_parts,
    render_html,
    split_html,
    tg_len,
)
from core.types import Button, Message, Section

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


class _TagChecker(HTMLParser):
    """Fails on a closing tag that does not match, and remembers what stayed open."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack}"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def well_formed_text(chunk: str) -> str:
    """The chunk's visible text; asserts every tag is whole and closed in order."""
    # Everything from users is escaped, so a raw < or > can only belong to a tag.
    assert chunk.count("<") == chunk.count(">"), chunk[-80:]
    checker = _TagChecker()
    checker.feed(chunk)
    checker.close()
    assert checker.stack == [], f"left open: {checker.stack}"
    return "".join(checker.text)


def test_report_renders_bold_title_bold_section_names_and_italic_footer():
    message = Message(
        "BTC liquidation map",
        lines=("Price $90,131.71",),
        sections=(Section("Key zones", ("Shorts $94,681",)),),
        footer="Source: replay · just now",
    )
    rendered = render_html(message)
    assert rendered.startswith("<b>BTC liquidation map</b>\nPrice $90,131.71")
    assert "<b>Key zones</b>\nShorts $94,681" in rendered
    assert rendered.endswith("<i>Source: replay · just now</i>")


def test_user_and_data_text_is_escaped_everywhere():
    evil = "<script>alert('x')</script> & <b>"
    message = Message(evil, lines=(evil,), sections=(Section(evil, (evil,)),), footer=evil)
    rendered = render_html(message)
    assert "<script>" not in rendered and "&lt;script&gt;" in rendered
    # title, line, section name, section line, footer: each shown exactly as typed
    assert well_formed_text(rendered).count(evil) == 5


def test_short_text_is_one_chunk_and_the_limit_is_inclusive():
    exact = "x" * TEXT_LIMIT
    assert split_html(exact) == [exact]
    assert len(split_html(exact + "y")) == 2


def test_long_report_splits_on_line_boundaries_under_the_limit():
    lines = tuple(f"Level {n}: $94,681 shorts <{n}> & more" for n in range(400))
    rendered = render_html(Message("Big map", lines=lines, footer="Source: estimate"))
    chunks = split_html(rendered)
    assert len(chunks) > 1
    for chunk in chunks:
        assert tg_len(chunk) <= TEXT_LIMIT
        well_formed_text(chunk)
    shown = "\n".join(well_formed_text(c) for c in chunks).split("\n")
    assert [line for line in shown if line.startswith("Level")] == list(lines)


def test_a_tag_spanning_a_chunk_boundary_is_closed_and_reopened():
    body = "<b>" + "\n".join(f"bold line {n}" for n in range(1000)) + "</b>"
    chunks = split_html(body)
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.startswith("<b>") and chunk.endswith("</b>")
        assert tg_len(chunk) <= TEXT_LIMIT
        well_formed_text(chunk)


def test_one_huge_line_is_cut_without_breaking_tags_or_escapes():
    line = "<i>" + html.escape("a<&>b " * 3000, quote=False) + "</i>"
    chunks = split_html(line)
    assert len(chunks) > 1
    text = ""
    for chunk in chunks:
        assert tg_len(chunk) <= TEXT_LIMIT
        text += well_formed_text(chunk)
    assert text == "a<&>b " * 3000


def test_emoji_count_twice_as_telegram_counts_them():
    text = "🔥" * 3000  # 6,000 UTF-16 units
    chunks = split_html(text)
    assert all(tg_len(c) <= TEXT_LIMIT for c in chunks)
    assert "".join(chunks) == text and len(chunks) == 2


def test_chart_goes_as_photo_with_the_report_as_caption_when_it_fits():
    message = Message("BTC", lines=("Shorts above $2.705B",), image=PNG)
    parts = plan_parts(message)
    assert len(parts) == 1
    assert parts[0].photo == PNG and "Shorts above $2.705B" in parts[0].html


def test_caption_exactly_at_the_limit_still_rides_on_the_photo():
    title_markup = len("<b></b>")
    message = Message("T" * (CAPTION_LIMIT - title_markup), image=PNG)
    assert tg_len(render_html(message)) == CAPTION_LIMIT
    assert len(plan_parts(message)) == 1


def test_report_too_long_for_a_caption_follows_the_photo_as_text():
    lines = tuple(f"zone {n} <sample>" for n in range(200))
    message = Message("BTC <map>", lines=lines, image=PNG)
    photo, *texts = plan_parts(message)
    assert photo.photo == PNG and tg_len(photo.html) <= CAPTION_LIMIT
    assert well_formed_text(photo.html) == "BTC <map>"
    assert texts and all(part.photo is None for part in texts)
    assert "zone 199 <sample>" in well_formed_text(texts[-1].html)


@pytest.mark.parametrize(
    "action,args",
    [
        ("refresh", ("BTC",)),
        ("chart", ("1000000MOGUSDT" * 5,)),
        ("mute_symbol", ("A" * 200,)),
        ("alert_breakout", ("BTC", "with|pipe")),
        ("a_brand_new_action_name_the_service_invented", ("ETH", "10", "x" * 30)),
        ("snooze", ("12345678901234567890",)),
    ],
)
def test_callback_data_stays_under_64_bytes_and_decodes_back(action, args):
    codec = CallbackCodec()
    data = codec.encode(action, args)
    assert 1 <= len(data.encode()) <= CALLBACK_LIMIT
    assert codec.decode(data) == (action, args)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=80), st.lists(st.text(max_size=80), max_size=4))
def test_any_button_round_trips_within_64_bytes(action, args):
    codec = CallbackCodec()
    data = codec.encode(action, tuple(args))
    assert len(data.encode()) <= CALLBACK_LIMIT
    assert codec.decode(data) == (action, tuple(args))


def test_unknown_or_evicted_callback_data_decodes_to_nothing():
    codec = CallbackCodec(table_size=2)
    first = codec.encode("chart", ("X" * 100,))
    codec.encode("chart", ("Y" * 100,))
    codec.encode("chart", ("Z" * 100,))
    assert codec.decode(first) is None  # evicted: the press will say "expired"
    assert codec.decode("~nope") is None
    assert codec.decode("q|BTC") is None


def test_keyboard_keeps_labels_and_packs_two_buttons_a_row():
    codec = CallbackCodec()
    buttons = (
        Button("Refresh", "refresh", ("BTC",)),
        Button("Chart", "chart", ("BTC",)),
        Button("Alert me on breakout", "alert_breakout", ("BTC",)),
    )
    markup = keyboard(buttons, codec)
    rows = markup.inline_keyboard
    assert [[b.text for b in row] for row in rows] == [
        ["Refresh", "Chart"],
        ["Alert me on breakout"],
    ]
    assert codec.decode(rows[1][0].callback_data) == ("alert_breakout", ("BTC",))
    assert keyboard((), codec) is None
