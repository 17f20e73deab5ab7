"""The bot token: never in the logs, a rejected one is a config error that does not quote it, an
empty one is refused before any connection."""

from __future__ import annotations

import logging

import pytest

from bot.telegram_adapter import TelegramAdapter
from core.kernel.errors import ConfigError
from core.types import ChatRef
from tests.fakes.standin_service import StandInService
from tests.telegram_helpers import (  # noqa: F401  (*_fixture: the fake/launch fixtures)
    ALERT,
    fake_fixture,
    launch_fixture,
)

# ---- secrets and configuration ---------------------------------------------------------------


async def test_the_token_never_appears_in_the_logs(launch, caplog):
    caplog.set_level(logging.DEBUG)
    h = await launch()
    h.service.crash_on = h.fake.token  # an exception whose text holds the token
    await h.say("/liq BTC")
    await h.say(f"/liq {h.fake.token}")
    await h.replies(method="sendPhoto")
    await h.replies()
    await h.adapter.sender.send(ChatRef("telegram", "4249"), ALERT)
    assert "/bot***/sendMessage" in caplog.text  # the URLs were logged, redacted
    assert h.fake.token not in caplog.text
    for record in caplog.records:
        assert h.fake.token not in logging.Formatter().format(record)


async def test_a_rejected_token_is_a_config_error_that_does_not_quote_it(fake):
    settings = {"token": "999:WRONG-token-0123456789", "api_base_url": fake.api_base_url}
    adapter = TelegramAdapter(StandInService(), settings)
    with pytest.raises(ConfigError) as raised:
        await adapter.start()
    assert "999:WRONG" not in str(raised.value) and raised.value.__cause__ is None
    await adapter.stop()


def test_an_empty_token_is_refused_before_any_connection():
    with pytest.raises(ConfigError, match="TELEGRAM_TOKEN"):
        TelegramAdapter(StandInService(), {"token": "", "api_base_url": "http://127.0.0.1:9/bot"})
