"""Telegram webhook mode: the fake Bot API posts updates to liqwatch's own HTTP server, as
Telegram does behind a reverse proxy. Only requests with the right secret header are processed."""

from __future__ import annotations

import socket

import pytest

from bot import config as config_module
from bot.telegram_adapter import TelegramAdapter
from core.kernel.errors import ConfigError
from tests.fakes.standin_service import StandInService
from tests.telegram_helpers import USER, fake_fixture  # noqa: F401  (the `fake` fixture)

SECRET = "s3cret_token-for-tests"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(name="webhook_bot")
async def webhook_bot_fixture(fake):
    port = free_port()
    settings = {
        "token": fake.token,
        "api_base_url": fake.api_base_url,
        "admins": [],
        "allowed_chats": [],
        "mode": "webhook",
        "listen": "127.0.0.1",
        "port": port,
        "public_url": f"http://127.0.0.1:{port}/liqwatch/telegram",
        "secret_token": SECRET,
    }
    service = StandInService()
    adapter = TelegramAdapter(service, settings, messages_per_second=1000)
    await adapter.start()
    yield adapter, service
    await adapter.stop()


async def test_start_registers_the_public_url_and_the_secret_with_telegram(fake, webhook_bot):
    assert fake.webhook["url"].endswith("/liqwatch/telegram")
    assert fake.webhook["secret_token"] == SECRET
    assert not fake.calls_to("getUpdates")  # no polling beside the webhook


async def test_an_update_with_the_secret_is_answered(fake, webhook_bot):
    _, service = webhook_bot
    status = await fake.post_to_webhook(fake.message(USER, USER, "/liq BTC"))
    assert status == 200
    (photo,) = await fake.wait_for("sendPhoto")
    assert photo.params["caption"].startswith("<b>BTC")
    assert service.handled()[0][2] == "/liq BTC"


@pytest.mark.parametrize("secret", [None, "", "wrong-secret"])
async def test_a_missing_or_wrong_secret_gets_403_and_nothing_is_processed(
    fake, webhook_bot, secret
):
    _, service = webhook_bot
    status = await fake.post_to_webhook(fake.message(USER, USER, "/liq BTC"), secret=secret)
    assert status == 403
    # a real update afterwards is processed, and it is the only one
    assert await fake.post_to_webhook(fake.message(USER, USER, "/help")) == 200
    await fake.wait_for("sendMessage")
    assert [call[2] for call in service.handled()] == ["/help"]
    assert not fake.calls_to("sendPhoto")


def load(tmp_path, telegram: str, env: dict | None = None):
    path = tmp_path / "config.toml"
    path.write_text("[telegram]\n" + telegram)
    return config_module.load(path, env=env or {}, use_cwd=False)


def test_webhook_mode_needs_an_https_public_url_and_a_secret(tmp_path):
    with pytest.raises(ConfigError, match="public_url"):
        load(tmp_path, 'mode = "webhook"\npublic_url = "http://bot.example.com/hook"\n')
    with pytest.raises(ConfigError, match="secret_token"):
        load(tmp_path, 'mode = "webhook"\npublic_url = "https://bot.example.com/hook"\n')
    with pytest.raises(ConfigError, match="mode"):
        load(tmp_path, 'mode = "push"\n')
    cfg = load(
        tmp_path,
        'mode = "webhook"\npublic_url = "https://bot.example.com/hook"\n',
        env={"TELEGRAM_WEBHOOK_SECRET": SECRET},
    )
    assert cfg.get("telegram", "secret_token") == SECRET
    assert SECRET in cfg.secrets()  # scrubbed from every log line
