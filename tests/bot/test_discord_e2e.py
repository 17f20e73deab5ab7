"""Discord over the whole liqwatch app: the real service, store, alert monitor and outbox (built by
bot.app.build on a scripted replay), with mocked discord.Interactions and a discord.Client whose
user/channel look-ups are mocked, as `liqwatch run` wires them."""

from __future__ import annotations

import io
import json
import logging
from types import SimpleNamespace
from unittest.mock import AsyncMock

import discord
import pytest
from werkzeug import Request, Response

from bot import config as config_module
from bot.app import build
from bot.discord_adapter import DiscordAdapter
from bot.discord_adapter.webhook import WebhookSender
from bot.logs import setup_logging
from core.kernel import fmt
from tests.discord_helpers import (
    CHANNEL_ID,
    USER_ID,
    make_interaction,
    press_button,
    sent,
)
from tests.helpers import ManualClock, app_config, btc_levels, write_replay

# BTC walks up through the key short cluster at $51,000–51,200, then hovers around it.
HOVER = [50_000, 50_500, 51_300, 51_250, 51_320, 51_280, 51_310]
DM_CLOSED = SimpleNamespace(status=403, reason="Forbidden", headers={})
HOOK_TOKEN = "e2e-webhook-token-0123456789"
HOOK_PATH = f"/api/webhooks/555/{HOOK_TOKEN}"


class Inbox:
    """A Discord DM or channel as the bot's client sees it: records every message posted."""

    def __init__(self) -> None:
        self.send = AsyncMock(return_value=SimpleNamespace(id=1))

    def close(self) -> None:
        """The user closed their DMs / the bot lost access: Discord answers 403."""
        self.send.side_effect = discord.Forbidden(DM_CLOSED, {"code": 50007, "message": "no"})

    def open(self) -> None:
        self.send.side_effect = None

    def posts(self) -> list[dict]:
        return [call.kwargs for call in self.send.await_args_list]


class DiscordWorld:
    """The app, its Discord adapter (sender registered) and the user's DM and channel."""

    def __init__(self, app, clock: ManualClock, adapter: DiscordAdapter):
        self.app, self.clock, self.adapter = app, clock, adapter
        self.dm, self.channel = Inbox(), Inbox()
        client = adapter.client
        # The bot's cache knows both; a miss would go to the REST API, which must not happen here.
        client.get_user = lambda user_id: self.dm if user_id == USER_ID else None
        client.get_channel = lambda channel_id: self.channel if channel_id == CHANNEL_ID else None
        missing = discord.NotFound(SimpleNamespace(status=404, reason="x", headers={}), "unknown")
        client.fetch_user = AsyncMock(side_effect=missing)
        client.fetch_channel = AsyncMock(side_effect=missing)
        app.add_sender(adapter.sender)

    async def command(self, name: str, *args, **who) -> list[dict]:
        interaction = make_interaction(**who)
        await self.adapter.tree.get_command(name).callback(interaction, *args)
        return sent(interaction)

    async def minute(self, seconds: float = 60) -> None:
        """One alert check after `seconds`, then one delivery pass, as the scheduler runs them."""
        self.clock.advance(seconds)
        await self.app.monitor.tick()
        await self.app.deliverer.deliver_due()

    async def price_walk(self, steps: int) -> None:
        await self.minute(0)  # the baseline check
        for _ in range(steps):
            await self.minute()

    def user_rules(self) -> list:
        return [r for r in self.app.store.active_rules() if r.user_id == str(USER_ID)]


@pytest.fixture
def world(tmp_path):
    worlds: list[DiscordWorld] = []

    def make(prices=HOVER) -> DiscordWorld:
        clock = ManualClock()
        cfg = app_config(tmp_path, write_replay(tmp_path / "replay.json", prices))
        app = build(cfg, clock=clock)
        worlds.append(DiscordWorld(app, clock, DiscordAdapter(app.service, cfg.section("discord"))))
        return worlds[-1]

    yield make
    for made in worlds:
        made.app.store.close()


def embed_text(embed: discord.Embed) -> str:
    parts = [embed.title or "", embed.description or ""]
    parts += [f"{field.name}\n{field.value}" for field in embed.fields]
    return "\n".join(parts)


# ---- /liq -------------------------------------------------------------------------------------


async def test_liq_shows_the_real_report_figures_with_the_chart_attached(world):
    w = world()
    # The scripted map (tests/helpers.py): shorts above $50,000, longs below; a key cluster each.
    short_above = sum(short for price, _, short in btc_levels() if price > 50_000)
    long_below = sum(long for price, long, _ in btc_levels() if price < 50_000)

    (reply,) = await w.command("liq", "btc", None, True)

    (embed,) = reply["embeds"]
    text = embed_text(embed)
    assert embed.title.startswith("BTC $50,000")
    assert fmt.money(short_above) in text and fmt.money(long_below) in text
    assert fmt.ratio(short_above / long_below) in text
    key_zones = {field.name: field.value for field in embed.fields}["Key zones"]
    assert "$51,000" in key_zones and "$48,800" in key_zones  # the two clusters, by price
    assert "replay" in embed.footer.text
    (chart,) = reply["files"]
    assert chart.filename == "chart.png" and chart.fp.read().startswith(b"\x89PNG")
    assert embed.image.url == "attachment://chart.png"
    assert [item.label for item in reply["view"].children] == [
        "Refresh",
        "Chart",
        "Alert me on breakout",
    ]


# ---- alerts: DM, fallback channel, both closed ------------------------------------------------


async def test_watch_then_a_breakout_sends_exactly_one_dm_with_snooze_and_mute(world):
    w = world()
    (reply,) = await w.command("watch", "BTC")
    assert "Watching BTC" in embed_text(reply["embeds"][0])

    await w.price_walk(len(HOVER) - 1)

    (alert,) = w.dm.posts()
    assert "BTC" in alert["embeds"][0].title
    assert alert["embeds"][0].colour == discord.Colour.orange()
    assert [item.label for item in alert["view"].children] == ["Snooze 1h", "Mute BTC"]
    assert w.channel.posts() == []


async def test_the_snooze_button_on_an_alert_dm_quiets_that_rule(world):
    w = world()
    await w.command("watch", "BTC")
    await w.price_walk(2)
    (alert,) = w.dm.posts()
    snooze = next(item for item in alert["view"].children if item.label == "Snooze 1h")

    press = make_interaction(in_server=False)  # pressed in the DM
    await press_button(w.adapter.handlers, snooze, press)

    assert "quiet until" in embed_text(sent(press)[0]["embeds"][0])
    key = w.app.store.find_chat("discord", f"user:{USER_ID}")["key"]
    (rule,) = w.app.store.rules_for(key, str(USER_ID))
    assert rule.snoozed_until is not None and rule.snoozed_until > w.clock()


async def test_with_dms_closed_the_alert_goes_to_the_channel_mentioning_the_user(world):
    w = world()
    await w.command("watch", "BTC")  # typed in the server channel CHANNEL_ID
    w.dm.close()

    await w.price_walk(2)

    (alert,) = w.channel.posts()
    assert alert["content"] == f"<@{USER_ID}>"
    assert [user.id for user in alert["allowed_mentions"].users] == [USER_ID]
    assert "BTC" in alert["embeds"][0].title


async def test_when_dm_and_channel_both_fail_alerts_pause_until_the_user_comes_back(world):
    w = world(prices=[50_000, 51_300, 50_000, 51_300, 50_000, 51_300])
    await w.command("watch", "BTC")
    w.dm.close()
    w.channel.close()

    await w.price_walk(1)

    assert w.user_rules() == []  # the chat went inactive: its rules stop
    await w.minute()
    await w.minute()  # down and up through the level again: nothing is even tried
    assert w.dm.send.await_count == 1 and w.channel.send.await_count == 1

    w.dm.open()
    above = discord.app_commands.Choice(name="above", value="above")
    (reply,) = await w.command("alert", "BTC", above, 52_000.0)

    text = embed_text(reply["embeds"][0])
    assert "Alert set" in text
    assert "paused" in text and "back on" in text
    assert {r.kind for r in w.user_rules()} == {"breakout", "above"}
    await w.app.deliverer.deliver_due()  # the alert that could not go out was kept
    (kept,) = w.dm.posts()[1:]
    assert "BTC" in kept["embeds"][0].title


# ---- /summary -----------------------------------------------------------------------------


async def test_summary_without_manage_server_is_refused_and_nothing_is_stored(world):
    w = world()

    (reply,) = await w.command("summary", "BTC ETH every 4h", manage_guild=False)

    assert reply["ephemeral"] is True
    assert "Manage Server" in embed_text(reply["embeds"][0])
    assert w.app.store.summaries() == []
    assert w.app.store.find_chat("discord", f"channel:{CHANNEL_ID}") is None


async def test_a_server_managers_summary_posts_one_embed_with_chart_to_the_channel(world):
    w = world()

    (reply,) = await w.command("summary", "BTC ETH every 4h", manage_guild=True)

    assert "Summary scheduled" in embed_text(reply["embeds"][0])
    (summary,) = w.app.store.summaries()
    assert summary["symbols"] == ["BTC", "ETH"]
    assert await w.app.monitor.run_summary(summary["id"])
    await w.app.deliverer.deliver_due()
    (post,) = w.channel.posts()
    (embed,) = post["embeds"]
    assert "BTC" in embed.title and "ETH" in embed.title
    assert {field.name for field in embed.fields} >= {"BTC", "ETH"}
    assert [f.filename for f in post["files"]] == ["chart.png"]
    assert embed.image.url == "attachment://chart.png"
    assert "content" not in post  # a channel summary pings nobody
    assert w.dm.posts() == []


# ---- [[summaries]] to a webhook, without the bot ---------------------------------------------


def webhook_config(tmp_path, hook_url: str):
    replay = write_replay(tmp_path / "replay.json", HOVER)
    path = tmp_path / "config.toml"
    path.write_text(
        f'[data]\nsource = "replay"\n'
        f'[sources.replay]\npath = "{replay}"\n'
        f'[store]\npath = "{tmp_path / "liqwatch.db"}"\n'
        f'[[summaries]]\nsymbols = ["BTC", "ETH"]\nevery = "4h"\nwebhook_url = "{hook_url}"\n'
    )
    return config_module.load(path, env={})


async def test_a_configured_webhook_summary_is_posted_by_the_app_and_closed_at_shutdown(
    tmp_path, httpserver
):
    received: list[dict] = []

    def hook(request: Request) -> Response:
        received.append(
            {
                "body": json.loads(request.form["payload_json"]),
                "files": {name: f.read() for name, f in request.files.items()},
            }
        )
        return Response(status=204)

    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_handler(hook)
    app = build(webhook_config(tmp_path, httpserver.url_for(HOOK_PATH)), clock=ManualClock())
    sender = app.senders["webhook"]
    assert isinstance(sender, WebhookSender)
    try:
        (summary,) = app.store.summaries()
        assert await app.monitor.run_summary(summary["id"])
        stats = await app.deliverer.deliver_due()
    finally:
        await app.aclose()

    assert stats.sent == 1
    (post,) = received
    body = post["body"]
    assert body["username"] == "liqwatch" and body["allowed_mentions"] == {"parse": []}
    (embed,) = body["embeds"]
    assert embed["title"] == "Summary · BTC, ETH"
    assert [field["name"] for field in embed["fields"]] == ["BTC", "ETH"]
    assert embed["image"]["url"] == "attachment://chart.png"
    assert post["files"]["files[0]"].startswith(b"\x89PNG")
    assert sender.client.is_closed  # App.aclose closed the webhook's HTTP client


async def test_a_failing_webhook_is_retried_later_and_its_token_never_reaches_the_log(
    tmp_path, httpserver
):
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("down", status=503)
    cfg = webhook_config(tmp_path, httpserver.url_for(HOOK_PATH))
    setup_logging("INFO", cfg.secrets())  # as `liqwatch run` does; conftest undoes it
    printed = io.StringIO()
    logging.getLogger().handlers[0].setStream(printed)
    app = build(cfg, clock=ManualClock())
    try:
        (summary,) = app.store.summaries()
        await app.monitor.run_summary(summary["id"])
        stats = await app.deliverer.deliver_due()
    finally:
        await app.aclose()

    assert stats.failed == 1 and stats.sent == 0  # kept for a retry with backoff
    assert "/api/webhooks/555/" in printed.getvalue()  # the log says which webhook failed...
    assert HOOK_TOKEN not in printed.getvalue()  # ...but not how to post to it
