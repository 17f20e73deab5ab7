"""`[[summaries]]` in the config file are posted by the scheduler at their time: to a Telegram
channel (`telegram_chat`) and to a Discord webhook (`webhook_url`, no bot needed).

The app is built from a TOML file as `liqwatch run` builds it (bot.config.load, bot.app.build,
the platform registry's Telegram adapter against the fake Bot API, the webhook sender against the
Discord fake) and its real APScheduler jobs run. The wall clock is moved with time-machine
(datetime.now, which both the scheduler and the app read; the event loop's monotonic clock keeps
running): the world starts 15 s before the next quarter hour, the test checks nothing was posted,
moves to half a second before it, and waits for what the fakes record.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bot.app import App, build
from bot.config import load
from bot.platforms import configured_adapters
from core.kernel import fmt
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram_api import FakeTelegramAPI

pytestmark = pytest.mark.timeout(60)

CHANNEL = -1001234567890  # a Telegram channel the bot posts in
HOOK = "/webhooks/4242/config-webhook-token"  # .../api/webhooks/ID/TOKEN


def next_quarter_hour(now: datetime) -> datetime:
    start = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    return start + timedelta(minutes=15)


def write_config(
    path: Path, exchange: FakeExchange, telegram: FakeTelegramAPI, webhook: str, at: datetime
) -> Path:
    berlin = at.astimezone(ZoneInfo("Europe/Berlin"))
    path.write_text(
        f"""
[data]
source = "estimate"
venues = ["binance"]
[sources.binance]
base_url = "{exchange.url}"
timeout_seconds = 5
[estimator]
days = 1
[store]
path = "{path.parent / "liqwatch.db"}"
[telegram]
api_base_url = "{telegram.api_base_url}"

[[summaries]]
symbols = ["BTC"]
every = "15m"
telegram_chat = "{CHANNEL}"

[[summaries]]
symbols = ["BTC", "ETH"]
daily = "{berlin:%H:%M}"
tz = "Europe/Berlin"
webhook_url = "{webhook}"
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegramAPI]:
    fake = FakeTelegramAPI()
    await fake.start()
    yield fake
    await fake.stop()


class WatchedDiscord(FakeDiscord):
    """The Discord fake, with a condition to wait on its accepted posts."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = asyncio.Condition()

    async def rest(self, request):
        try:
            return await super().rest(request)
        finally:
            async with self.changed:
                self.changed.notify_all()

    async def wait_posts(self, count: int, timeout: float = 15) -> list[dict]:
        async with self.changed:
            await asyncio.wait_for(
                self.changed.wait_for(lambda: len(self.posted) >= count), timeout
            )
        return self.posted


@pytest.fixture
async def discord_api() -> AsyncIterator[WatchedDiscord]:
    fake = WatchedDiscord()
    await fake.server.start_server()
    yield fake
    await fake.server.close()


def posted_to_channel(telegram: FakeTelegramAPI) -> list[str]:
    """Captions and texts the fake accepted for the channel, in order."""
    return [
        call.params.get("caption") or call.params.get("text", "")
        for call in telegram.calls
        if call.status == 200 and call.params.get("chat_id") == CHANNEL
    ]


async def start(app: App, adapters: list) -> None:
    """What run_until_stopped does before it waits: adapters, their senders, the jobs."""
    for adapter in adapters:
        await adapter.start()
        app.add_sender(adapter.sender)
    app.jobs.start()


async def test_summaries_in_the_config_reach_their_channel_and_webhook_at_their_time(
    tmp_path, telegram, discord_api: WatchedDiscord
):
    fire = next_quarter_hour(datetime.now(UTC) + timedelta(seconds=30))
    with time_machine.travel(fire - timedelta(seconds=15), tick=True) as traveller:
        with FakeExchange() as exchange:
            webhook = discord_api.api + HOOK
            config = write_config(tmp_path / "liqwatch.toml", exchange, telegram, webhook, fire)
            cfg = load(config, env={"TELEGRAM_TOKEN": telegram.token})
            app = build(cfg)
            adapters = configured_adapters(app.service, cfg)
            try:
                await start(app, adapters)
                summaries = app.store.summaries()
                assert len(summaries) == 2
                planned = [app.jobs.scheduler.get_job(f"summary:{s['id']}") for s in summaries]
                assert [job.next_run_time for job in planned] == [fire, fire]
                assert posted_to_channel(telegram) == [] and discord_api.posted == []

                traveller.move_to(fire - timedelta(seconds=0.5))
                app.jobs.scheduler.wakeup()  # its timer was set for the old "now"
                (photo,) = await telegram.wait_for(
                    "sendPhoto", 1, lambda c: c.params["chat_id"] == CHANNEL, timeout=15
                )
                await discord_api.wait_posts(1)
                hook_chat = app.store.chat(summaries[1]["chat_key"])
                (btc, _), (eth, _) = [
                    (a, s) for _, s, a in await app.market.readings(["BTC", "ETH"])
                ]
            finally:
                for adapter in reversed(adapters):
                    await adapter.stop()
                await app.aclose()

    assert photo.result["date"] >= fire.timestamp()  # the Bot API's send time: not before
    assert hook_chat["platform"] == "webhook"
    channel = "\n".join(posted_to_channel(telegram))
    assert "Summary · BTC" in channel, channel
    assert html.escape(f"Ratio {fmt.ratio(btc.ratio)}") in channel, channel
    assert fmt.price(btc.price) in channel, channel

    (post,) = discord_api.posted
    assert post["path"] == HOOK
    embeds = post["json"]["embeds"]
    assert embeds[0]["title"] == "Summary · BTC, ETH"
    fields = {field["name"]: field["value"] for embed in embeds for field in embed["fields"]}
    assert f"Ratio {fmt.ratio(btc.ratio)}" in fields["BTC"], fields
    assert f"Ratio {fmt.ratio(eth.ratio)}" in fields["ETH"], fields
    assert "config-webhook-token" not in str(hook_chat)  # the URL's secret stays in the file
