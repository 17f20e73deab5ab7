"""A table section (the screener's) keeps its columns on Telegram and Discord."""

from __future__ import annotations

from bot.discord_adapter.render import render
from bot.telegram_adapter.render import render_html
from core.store.codec import message_from_db, message_json
from core.types import Message, Section

TABLE = Section("Ranking", (" # SYMBOL  RATIO", " 1 BTC<1>  1.73×"), mono=True)
MESSAGE = Message("Screener · by ratio", sections=(TABLE,))


def test_telegram_shows_a_table_in_a_pre_block_escaped():
    html = render_html(MESSAGE)
    assert "<pre> # SYMBOL  RATIO\n 1 BTC&lt;1&gt;  1.73×</pre>" in html


def test_discord_shows_a_table_in_a_code_block():
    [page] = render(MESSAGE)
    value = page.embeds[0].fields[0].value
    assert value.startswith("```\n") and value.endswith("\n```")
    assert " 1 BTC<1>  1.73×" in value  # nothing escaped inside a code block


def test_a_queued_table_stays_a_table():
    again = message_from_db(message_json(MESSAGE), None)
    assert again.sections[0].mono
