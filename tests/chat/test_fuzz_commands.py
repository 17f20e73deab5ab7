"""Whatever a user types, the bot answers briefly or stays silent, and never crashes."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import build
from core.chat.commands import COMMANDS
from core.types import Caller
from tests.helpers import ManualClock, app_config, write_replay

ME = Caller(platform="console", chat_id="fuzz", user_id="u1")
WORDS = ["BTC", "eth", "btcusdt", "near", "ratio", "above", "below", "breakout", "every",
         "daily", "off", "4h", "08:00", "UTC", "-1", "0", "1e309", "nan", "<b>", "&amp;",
         "9" * 40, "Europe/Berlin", "../../etc/passwd", "'; DROP TABLE rules; --"]  # fmt: skip

command_lines = st.builds(
    lambda name, args: " ".join([f"/{name}", *args]),
    st.sampled_from([c.name for c in COMMANDS] + ["start", "nope"]),
    st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=30)), max_size=6),
)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    replay = write_replay(tmp / "replay.json", [50_000, 50_500])
    app = build(app_config(tmp, replay), clock=ManualClock())
    yield app
    app.store.close()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.one_of(command_lines, st.text(max_size=200)))
def test_any_text_gets_a_short_answer_or_silence(app, text):
    messages = asyncio.run(app.service.handle(ME, text))
    assert len(messages) <= 1
    for message in messages:
        if message.kind == "error":
            assert len(message.text()) < 400
            assert "Traceback" not in message.text()
            assert "went wrong on our side" not in message.text()  # an unexpected exception


def _repeat(chunk: str, size: int) -> str:
    """`chunk` repeated to exactly `size` characters (Hypothesis draws a few KB at most)."""
    return (chunk * (size // len(chunk) + 1))[:size]


long_lines = st.one_of(
    st.builds(_repeat, st.text(min_size=1, max_size=300), st.integers(9_000, 10_240)),
    st.builds(
        lambda name, chunk, size: f"/{name} " + _repeat(chunk, size),
        st.sampled_from([c.name for c in COMMANDS]),
        st.text(alphabet=st.sampled_from("BTC eth,0.5 <>&\n"), min_size=1, max_size=40),
        st.integers(9_000, 10_200),
    ),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=long_lines)
def test_ten_kilobytes_of_text_get_a_short_answer_or_silence(app, text):
    """README: input up to 10 KB is answered briefly (the platforms cap a message near 4 KB; a
    console or a webhook does not)."""
    messages = asyncio.run(app.service.handle(ME, text))
    assert len(messages) <= 1
    for message in messages:
        assert len(message.text()) < 4000
        if message.kind == "error":
            assert "Traceback" not in message.text()
            assert "went wrong on our side" not in message.text()
