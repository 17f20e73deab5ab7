"""`liqwatch run` with a Discord token: the adapter logs in and runs its gateway on the app's own
event loop next to the scheduler, stops cleanly, and its logs go through liqwatch's redaction.

Discord here is a loopback fake (REST login + a gateway websocket that says HELLO and READY)."""

from __future__ import annotations

import asyncio
import io
import logging

import discord
import pytest

import bot.app
from bot import config as config_module
from bot.__main__ import cmd_run
from bot.discord_adapter import DiscordAdapter
from bot.discord_adapter import client as discord_client
from bot.logs import setup_logging
from core.kernel.errors import ConfigError, LiqwatchError
from tests.fakes.discord_api import TOKEN, FakeDiscord
from tests.helpers import write_replay


@pytest.fixture
async def fake_discord(monkeypatch):
    fake = FakeDiscord()
    await fake.server.start_server()
    # Both are process-wide in discord.py: put them back after the test.
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket,
        "DEFAULT_GATEWAY",
        discord.utils.yarl.URL(fake.gateway_url),
    )
    yield fake
    await fake.server.close()


@pytest.fixture
def run_config(tmp_path, fake_discord):
    """A config like an operator's: data and store, `[discord] api_base_url`, DISCORD_TOKEN only."""

    def make(token: str = TOKEN):
        replay = write_replay(tmp_path / "replay.json", [50_000, 50_100])
        path = tmp_path / "config.toml"
        path.write_text(
            f'[data]\nsource = "replay"\n'
            f'[sources.replay]\npath = "{replay}"\n'
            f'[store]\npath = "{tmp_path / "liqwatch.db"}"\n'
            f'[discord]\napi_base_url = "{fake_discord.api}"\n'
            "[feeds]\nenabled = false\n"  # their venues are real hosts
        )
        return config_module.load(path, env={"DISCORD_TOKEN": token})

    return make


def stop_once_identified(monkeypatch, fake: FakeDiscord, seen: dict) -> None:
    """Run cmd_run's real run_until_stopped, stopping it (as SIGTERM would) once Discord saw the
    bot identify, and note what was running at that moment."""
    real = bot.app.run_until_stopped

    async def run_until_identified(app, adapters, stop=None):
        stop = asyncio.Event()

        async def stop_when_identified() -> None:
            await fake.identified.wait()
            (adapter,) = adapters
            seen.update(
                adapter=adapter,
                senders=dict(app.senders),
                scheduler_running=app.jobs.scheduler.running,
                gateway_running=adapter._gateway is not None and not adapter._gateway.done(),
            )
            stop.set()

        watcher = asyncio.create_task(stop_when_identified())
        try:
            await real(app, adapters, stop)
        finally:
            watcher.cancel()

    monkeypatch.setattr(bot.app, "run_until_stopped", run_until_identified)


async def test_run_with_only_a_discord_token_connects_beside_the_scheduler_and_stops_cleanly(
    fake_discord, run_config, monkeypatch
):
    seen: dict = {}
    stop_once_identified(monkeypatch, fake_discord, seen)

    assert await asyncio.wait_for(cmd_run(run_config()), timeout=20) == 0

    adapter = seen["adapter"]
    assert isinstance(adapter, DiscordAdapter)
    assert fake_discord.identify["token"] == TOKEN
    # Default intents: no privileged message-content intent is asked for.
    assert fake_discord.identify["intents"] == discord.Intents.default().value
    # start() returned while the gateway ran: the scheduler and the gateway ran side by side.
    assert seen["gateway_running"] and seen["scheduler_running"]
    assert seen["senders"]["discord"] is adapter.sender
    await asyncio.wait_for(fake_discord.gateway_closed.wait(), timeout=5)
    assert fake_discord.close_code == 1000  # a clean close, not a dropped connection
    assert adapter.client.is_closed() and adapter._gateway is None
    assert not any("commands" in path for path in fake_discord.rest_paths)  # no sync on start


async def test_a_refused_token_stops_run_with_a_clear_error_and_closes_the_session(
    fake_discord, run_config, monkeypatch
):
    adapters: list = []
    real = bot.app.run_until_stopped

    async def remember(app, started, stop=None):
        adapters.extend(started)
        await real(app, started, asyncio.Event())

    monkeypatch.setattr(bot.app, "run_until_stopped", remember)

    with pytest.raises(ConfigError, match="refused"):
        await asyncio.wait_for(cmd_run(run_config("wrong-token-123456")), timeout=20)

    (adapter,) = adapters
    assert adapter.client.is_closed()  # its HTTP session too: no "Unclosed client session"
    assert fake_discord.identify is None


async def test_an_unreachable_discord_at_start_is_a_clear_error(fake_discord, run_config):
    cfg = run_config()
    await fake_discord.server.close()  # nothing listens on that port any more
    adapter = DiscordAdapter(service=None, settings=cfg.section("discord"))

    with pytest.raises(LiqwatchError, match="could not reach Discord"):
        await adapter.start()

    assert adapter.client.is_closed()


async def test_discord_logs_go_through_liqwatchs_one_redacting_handler(
    fake_discord, run_config, monkeypatch
):
    # As in a fresh process: logging not set up yet, discord.py's voice warnings still armed.
    monkeypatch.setattr(discord_client, "_logging_ready", False)
    monkeypatch.setattr(discord.VoiceClient, "warn_nacl", True)
    cfg = run_config()
    setup_logging("INFO", cfg.secrets())  # undone after the test by conftest's _restore_logging
    root = logging.getLogger()
    (ours,) = root.handlers
    ours.setStream(io.StringIO())
    adapter = DiscordAdapter(service=None, settings=cfg.section("discord"))

    await adapter.start()
    await fake_discord.identified.wait()
    logging.getLogger("discord.http").warning("request with token %s failed", TOKEN)
    await adapter.stop()

    assert root.handlers == [ours]  # discord.utils.setup_logging added no second one
    printed = ours.stream.getvalue()
    assert printed.count("logging in using static token") == 1  # discord.py's line, once
    assert "request with token ***" in printed and TOKEN not in printed
    assert "PyNaCl" not in printed  # no voice warning: the bot has no voice features


async def test_run_with_only_webhook_summaries_needs_no_bot_token(tmp_path, monkeypatch):
    replay = write_replay(tmp_path / "replay.json", [50_000])
    path = tmp_path / "config.toml"
    path.write_text(
        f'[data]\nsource = "replay"\n'
        f'[sources.replay]\npath = "{replay}"\n'
        f'[store]\npath = "{tmp_path / "liqwatch.db"}"\n'
        '[[summaries]]\nsymbols = ["BTC"]\nevery = "4h"\n'
        'webhook_url = "http://127.0.0.1:9/api/webhooks/1/never-called-token"\n'
    )
    seen: dict = {}

    async def started(app, adapters, stop=None):
        seen.update(adapters=list(adapters), senders=dict(app.senders))
        await app.aclose()

    monkeypatch.setattr(bot.app, "run_until_stopped", started)

    assert await cmd_run(config_module.load(path, env={})) == 0

    assert seen["adapters"] == [] and set(seen["senders"]) == {"webhook"}
