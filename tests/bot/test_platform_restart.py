"""A platform client dying on its own is restarted with backoff while the rest runs, and a
platform that stays down is logged once in a while, not at every retry."""

from __future__ import annotations

import asyncio
import logging

import discord
import pytest

from bot.discord_adapter import DiscordAdapter
from tests.discord_helpers import StandInService as DiscordService
from tests.fakes.discord_api import TOKEN, FakeDiscord
from tests.telegram_helpers import USER, fake_fixture, launch_fixture  # noqa: F401


class Sleeps:
    """An injectable sleep: records the waits, returns at once (a tick of the loop)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


async def test_a_telegram_poller_stopped_by_a_401_is_restarted_with_backoff(launch, caplog):
    sleeps = Sleeps()
    h = await launch(sleep=sleeps)
    caplog.set_level(logging.WARNING, logger="bot.telegram_adapter")
    # The Bot API (or a proxy in front of it) answers 401 twice: PTB's poller gives up on each.
    h.fake.fail_next("getUpdates", count=2, status=401, description="Unauthorized")
    await h.say("/help", chat=USER, user=USER)
    (reply,) = await asyncio.wait_for(h.replies(chat=USER), 15)
    assert "liqwatch" in reply.params["text"]
    assert sleeps.waits[:2] == [5.0, 10.0]  # backoff between restarts
    stopped = [r for r in caplog.records if "poller stopped" in r.getMessage()]
    assert len(stopped) == 1  # logged once in a while, not at every restart


@pytest.fixture
async def discord_fake(monkeypatch):
    fake = FakeDiscord()
    await fake.server.start_server()
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket,
        "DEFAULT_GATEWAY",
        discord.utils.yarl.URL(fake.gateway_url),
    )
    yield fake
    await fake.server.close()


async def test_a_discord_gateway_closed_for_good_is_reconnected_with_backoff(discord_fake, caplog):
    sleeps = Sleeps()
    # 4010 (invalid shard) is a close code discord.py does not resume: it closes the client.
    discord_fake.close_next = [4010, 4010]
    adapter = DiscordAdapter(
        DiscordService(), {"token": TOKEN, "api_base_url": discord_fake.api}, sleep=sleeps
    )
    caplog.set_level(logging.ERROR, logger="bot.discord_adapter")
    await adapter.start()
    try:
        for _ in range(500):
            if discord_fake.identifies >= 3 and discord_fake.identified.is_set():
                break
            await asyncio.sleep(0.01)
        assert discord_fake.identifies == 3 and discord_fake.identified.is_set()
        assert sleeps.waits == [5.0, 10.0]
        assert not adapter._gateway.done()  # connected again
        assert len([r for r in caplog.records if "gateway stopped" in r.getMessage()]) == 1
    finally:
        await adapter.stop()
