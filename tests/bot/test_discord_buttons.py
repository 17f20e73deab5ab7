"""Buttons keep working for as long as their message exists: each carries its action in its
custom_id, and a bot started afresh (after a restart, with no view from before in memory) answers
a press on a message sent by an earlier run.

The restart tests feed Discord's raw INTERACTION_CREATE event to a new client, so discord.py's own
routing (component → registered DynamicItem) is exercised, and the answers go over HTTP to a
loopback fake of Discord's interaction endpoints."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from unittest.mock import AsyncMock

import discord
import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.discord_adapter import DiscordAdapter
from bot.discord_adapter.views import ActionView, decode_custom_id, encode_custom_id
from core.types import Button, ChatRef, Message
from tests.discord_helpers import (
    CHANNEL_ID,
    GUILD_ID,
    USER_ID,
    StandInService,
    make_interaction,
    press_button,
    sent,
)
from tests.fakes.discord_api import BOT_USER, TOKEN, FakeDiscord, discord_json

ACTIONS = ["refresh", "chart", "alert_breakout", "snooze", "mute_symbol"]
SYMBOL_TEXT = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=20)
ALERT = Message(
    title="BTC broke above $94,681",
    lines=("$2.705B of shorts were in the way.",),
    buttons=(Button("Snooze 1h", "snooze", ("3",)), Button("Mute BTC", "mute_symbol", ("BTC",))),
    kind="alert",
)


# ---- the custom_id -------------------------------------------------------------------------


def test_ids_are_short_and_readable():
    assert encode_custom_id("refresh", ("BTC",)) == "lw:refresh:BTC"
    assert encode_custom_id("snooze", ("42",)) == "lw:snooze:42"


@pytest.mark.parametrize(
    "action, args",
    [
        ("refresh", ("BTC",)),
        ("chart", ("1000PEPE",)),
        ("alert_breakout", ("SOL",)),
        ("snooze", ("42",)),
        ("mute_symbol", ("BTC",)),
        ("refresh", ()),
        ("refresh", ("",)),
        ("snooze", ("3", "", "4")),
    ],
)
def test_every_button_of_the_bot_comes_back_as_the_same_action_and_arguments(action, args):
    assert decode_custom_id(encode_custom_id(action, args)) == (action, args)


def test_separators_percent_signs_and_any_text_in_arguments_come_back_unchanged():
    args = ("BTC:USDT", "50%", "a/b c", "lw:refresh:ETH", "💥", "\x00\n")

    custom_id = encode_custom_id("mute_symbol", args)

    assert decode_custom_id(custom_id) == ("mute_symbol", args)
    assert custom_id.count(":") == 1 + len(args)  # the arguments' colons cannot split fields


def test_a_button_that_cannot_fit_in_100_characters_is_refused_not_cut():
    assert encode_custom_id("mute_symbol", ("X" * 90,)) is None
    assert encode_custom_id("mute_symbol", ("💥" * 10,)) is None  # 12 bytes encoded each → 120
    assert encode_custom_id("Refresh now", ("BTC",)) is None  # not a plain verb


@pytest.mark.parametrize(
    "custom_id",
    [
        "",
        "lw",
        "lw:",
        "LW:refresh:BTC",
        "lw:Refresh:BTC",
        "lw:refresh:BTC USDT",
        "lw:refresh:BTC/USDT",
        "lw:refresh:BTC\n",
        "lw:refresh:%zz",
        "lw:refresh:%ff",
        "lw:refresh:%FF",  # not UTF-8
        "lw:refresh:%41",  # "A" spelled another way: never written by us
        "lw:snooze:" + "1" * 200,
        "3f7c2a9be1d84f06a5c1b2e3d4f5a6b7",  # a button id from before (random)
        "other:refresh:BTC",
    ],
)
def test_ids_the_bot_did_not_write_are_refused(custom_id):
    assert decode_custom_id(custom_id) is None


@given(
    action=st.sampled_from(ACTIONS) | st.text(max_size=40),
    args=st.lists(st.text(max_size=60), max_size=5).map(tuple),
)
@settings(max_examples=300, deadline=None)
def test_any_button_either_round_trips_within_100_characters_or_is_refused(action, args):
    custom_id = encode_custom_id(action, args)
    if custom_id is not None:
        assert len(custom_id) <= 100
        assert decode_custom_id(custom_id) == (action, args)


@given(action=st.sampled_from(ACTIONS), args=st.lists(SYMBOL_TEXT, max_size=3).map(tuple))
def test_buttons_with_symbols_and_ids_always_fit(action, args):
    assert decode_custom_id(encode_custom_id(action, args)) == (action, args)


@given(
    st.text(max_size=150)
    | st.from_regex(r"lw:[a-z_]{0,12}(:[A-Za-z0-9%:~._ -]{0,20}){0,4}", fullmatch=True)
)
@settings(max_examples=300, deadline=None)
def test_garbage_ids_never_crash_and_only_our_exact_spelling_is_accepted(custom_id):
    decoded = decode_custom_id(custom_id)
    if decoded is not None:
        assert encode_custom_id(*decoded) == custom_id


# ---- the view sent with a message --------------------------------------------------------------


def test_buttons_never_expire_and_each_carries_its_own_action():
    view = ActionView(ALERT.buttons)

    assert view.timeout is None
    assert [(item.label, decode_custom_id(item.custom_id)) for item in view.children] == [
        ("Snooze 1h", ("snooze", ("3",))),
        ("Mute BTC", ("mute_symbol", ("BTC",))),
    ]


def test_a_button_too_long_for_discord_is_left_out_and_the_others_are_sent():
    view = ActionView(
        (Button("Snooze 1h", "snooze", ("3",)), Button("Mute", "mute_symbol", ("Z" * 120,)))
    )

    assert [item.label for item in view.children] == ["Snooze 1h"]


def test_identical_buttons_are_sent_once_since_discord_refuses_repeated_ids():
    chart = Button("Chart BTC", "chart", ("BTC",))

    view = ActionView((chart, chart, Button("Chart ETH", "chart", ("ETH",))))

    assert [item.label for item in view.children] == ["Chart BTC", "Chart ETH"]


async def test_a_press_on_an_unreadable_button_runs_nothing_and_tells_the_presser():
    service = StandInService()
    adapter = DiscordAdapter(service, {})
    broken = discord.ui.Button(label="Snooze 1h", custom_id="lw:snooze:%FF")
    press = make_interaction()

    await press_button(adapter.handlers, broken, press)

    assert service.calls == []
    (reply,) = sent(press)
    assert reply["ephemeral"] is True and "expired" in reply["embeds"][0].title


# ---- a press after a restart -------------------------------------------------------------------


class FakeInteractionsApi(FakeDiscord):
    """Discord's REST login plus the endpoints an interaction is answered through."""

    def __init__(self) -> None:
        super().__init__()
        self.callbacks: list[dict] = []
        self.followups: list[dict] = []
        self.edits: list[dict] = []
        self.answered = asyncio.Event()
        router = self.app.router
        router.add_post("/api/v10/interactions/{id}/{token}/callback", self.callback)
        router.add_post("/api/v10/webhooks/{app}/{token}", self.followup)
        router.add_patch("/api/v10/webhooks/{app}/{token}/messages/@original", self.edit)

    @staticmethod
    async def _payload(request: web.Request) -> dict:
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if part.name == "payload_json":
                    return json.loads(await part.text())
            return {}
        return await request.json()

    async def callback(self, request: web.Request) -> web.Response:
        self.callbacks.append(await self._payload(request))
        interaction = {"id": request.match_info["id"], "type": 3}
        return discord_json({"interaction": interaction})

    async def followup(self, request: web.Request) -> web.Response:
        self.followups.append(await self._payload(request))
        self.answered.set()
        return discord_json(message_payload(9001, self.followups[-1].get("components", [])))

    async def edit(self, request: web.Request) -> web.Response:
        self.edits.append(await self._payload(request))
        self.answered.set()
        return discord_json(message_payload(8001, self.edits[-1].get("components", [])))


def message_payload(message_id: int, components: list[dict]) -> dict:
    return {
        "id": str(message_id),
        "channel_id": str(CHANNEL_ID),
        "type": 0,
        "content": "",
        "author": BOT_USER,
        "attachments": [],
        "embeds": [],
        "mentions": [],
        "mention_roles": [],
        "pinned": False,
        "tts": False,
        "mention_everyone": False,
        "timestamp": "2025-01-01T00:00:00+00:00",
        "edited_timestamp": None,
        "flags": 0,
        "components": components,
    }


def press_event(message_components: list[dict], custom_id: str, *, user_id: int) -> dict:
    """Discord's INTERACTION_CREATE for a button press in a server channel."""
    return {
        "id": "7001",
        "application_id": BOT_USER["id"],
        "type": 3,
        "token": "interaction-token",
        "version": 1,
        "attachment_size_limit": 8_000_000,
        "guild_id": str(GUILD_ID),
        "channel": {
            "id": str(CHANNEL_ID),
            "type": 0,
            "name": "trading",
            "position": 0,
            "guild_id": str(GUILD_ID),
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
        },
        "member": {
            "user": {
                "id": str(user_id),
                "username": "trader",
                "discriminator": "0",
                "avatar": None,
            },
            "roles": [],
            "joined_at": "2024-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "permissions": "0",
            "flags": 0,
        },
        "data": {"custom_id": custom_id, "component_type": 2},
        "message": message_payload(8001, message_components),
    }


@pytest.fixture
async def discord_api(monkeypatch):
    fake = FakeInteractionsApi()
    await fake.server.start_server()
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api)
    yield fake
    await fake.server.close()


async def components_sent_by_an_earlier_run(message: Message) -> list[dict]:
    """What Discord keeps of the message: its components, as the first run's sender posted them."""
    channel = SimpleNamespace(send=AsyncMock())
    earlier = DiscordAdapter(StandInService(), {})
    earlier.client.get_channel = lambda channel_id: channel
    await earlier.sender.send(ChatRef("discord", f"channel:{CHANNEL_ID}"), message)
    await earlier.stop()
    return channel.send.await_args.kwargs["view"].to_components()


@pytest.fixture
async def restarted_bot(discord_api):
    """A new adapter and client, logged in to the fake (REST only: no gateway needed)."""
    started: list[DiscordAdapter] = []

    async def start(service: StandInService) -> DiscordAdapter:
        started.append(DiscordAdapter(service, {}))
        await started[-1].client.login(TOKEN)
        return started[-1]

    yield start
    for adapter in started:
        await adapter.stop()


async def test_a_breakout_button_pressed_after_a_restart_acts_for_the_presser(
    discord_api, restarted_bot
):
    service = StandInService()
    report = await service.report("SOL")
    components = await components_sent_by_an_earlier_run(report)
    (button,) = [c for row in components for c in row["components"] if "breakout" in c["label"]]
    adapter = await restarted_bot(service)
    service.calls.clear()

    adapter.client._connection.parse_interaction_create(
        press_event(components, button["custom_id"], user_id=777)
    )
    await asyncio.wait_for(discord_api.answered.wait(), timeout=5)

    ((name, caller, action, args),) = service.calls
    assert (name, action, args) == ("press", "alert_breakout", ("SOL",))
    assert (caller.platform, caller.chat_id, caller.user_id) == ("discord", "user:777", "777")
    assert caller.fallback_chat_id == str(CHANNEL_ID)  # where the button was pressed
    (answer,) = discord_api.followups
    assert answer["embeds"][0]["title"] == "Breakout alert set for SOL"
    assert answer["flags"] & discord.MessageFlags(ephemeral=True).value  # only the presser sees it


async def test_refresh_pressed_after_a_restart_edits_the_report_in_place(
    discord_api, restarted_bot
):
    service = StandInService()
    components = await components_sent_by_an_earlier_run(await service.report("BTC"))
    (button,) = [c for row in components for c in row["components"] if c["label"] == "Refresh"]
    adapter = await restarted_bot(service)

    adapter.client._connection.parse_interaction_create(
        press_event(components, button["custom_id"], user_id=USER_ID)
    )
    await asyncio.wait_for(discord_api.answered.wait(), timeout=5)

    assert discord_api.followups == []  # nothing new posted
    (edit,) = discord_api.edits
    assert edit["embeds"][0]["title"].startswith("BTC liquidation map")
    # The refreshed report's buttons are as durable as the first ones.
    ids = [c["custom_id"] for row in edit["components"] for c in row["components"]]
    assert [decode_custom_id(i)[0] for i in ids] == ["refresh", "chart", "alert_breakout"]
    # discord.py was not left holding a view for this message: the ids are all it needs.
    assert adapter.client.persistent_views == []


async def test_an_id_that_is_not_a_liqwatch_button_is_left_alone(discord_api, restarted_bot):
    service = StandInService()
    components = await components_sent_by_an_earlier_run(ALERT)
    adapter = await restarted_bot(service)
    stranger = "3f7c2a9be1d84f06a5c1b2e3d4f5a6b7"  # an id from before persistent buttons
    components[0]["components"][0]["custom_id"] = stranger

    adapter.client._connection.parse_interaction_create(
        press_event(components, stranger, user_id=USER_ID)
    )
    # Then a real button on the same message: answered, so the first press was seen and dropped.
    mute = components[0]["components"][1]["custom_id"]
    adapter.client._connection.parse_interaction_create(
        press_event(components, mute, user_id=USER_ID)
    )
    await asyncio.wait_for(discord_api.answered.wait(), timeout=5)

    assert [call[2:] for call in service.calls] == [("mute_symbol", ("BTC",))]
    assert len(discord_api.callbacks) == 1
