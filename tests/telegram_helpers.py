"""Shared by the Telegram adapter tests: the real PTB Application over real HTTP against a fake Bot
API, with a stand-in service (same async methods as core.service.Service, returning realistic
Messages and recording its calls) playing the core: the adapter only translates.

Fixtures are provided by importing them (pytest finds them by their `name=`; `bot` needs `launch`,
which needs `fake`):

    from tests.telegram_helpers import bot_fixture, fake_fixture, launch_fixture  # noqa: F401
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from bot.telegram_adapter import TelegramAdapter
from core.types import Button, Message
from tests.fakes.standin_service import StandInService
from tests.fakes.telegram_api import ApiCall, FakeTelegramAPI

USER, ADMIN = 5001, 5002
GROUP, CHANNEL = -100200300, -100999
REPORT_BUTTONS = ("Refresh", "Chart", "Alert me on breakout")


class FakeClock:
    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Harness:
    fake: FakeTelegramAPI
    adapter: TelegramAdapter
    service: StandInService
    clock: FakeClock = field(default_factory=FakeClock)

    async def say(self, text: str, chat: int = USER, user: int = USER, **kw) -> None:
        await self.fake.push(self.fake.message(chat, user, text, **kw))

    async def replies(self, count: int = 1, chat: int = USER, method: str = "sendMessage"):
        return await self.fake.wait_for(method, count, where=lambda c: c.params["chat_id"] == chat)


@pytest.fixture(name="fake")
async def fake_fixture():
    api = FakeTelegramAPI()
    await api.start()
    yield api
    await api.stop()  # after the adapters: updater → application → server


@pytest.fixture(name="launch")
async def launch_fixture(fake):
    started: list[TelegramAdapter] = []

    async def _launch(**options) -> Harness:
        service = StandInService()
        clock = FakeClock()
        settings = {
            "token": fake.token,
            "api_base_url": fake.api_base_url,
            "admins": options.pop("admins", []),
            "allowed_chats": options.pop("allowed_chats", []),
        }
        options.setdefault("commands_per_minute", 1000)
        options.setdefault("messages_per_second", 1000)  # the fake has no global limit here
        adapter = TelegramAdapter(service, settings, poll_timeout=2, clock=clock, **options)
        await adapter.start()
        started.append(adapter)
        return Harness(fake, adapter, service, clock)

    yield _launch
    for adapter in started:
        await adapter.stop()


@pytest.fixture(name="bot")
async def bot_fixture(launch) -> Harness:
    return await launch()


def texts(calls: list[ApiCall]) -> list[str]:
    return [c.params.get("text") or c.params.get("caption") or "" for c in calls]


def button_rows(call: ApiCall) -> list[list[dict]]:
    return call.params["reply_markup"]["inline_keyboard"]


async def press(h: Harness, on: ApiCall, label: str, user: int = USER) -> None:
    """Press the button labelled `label` on the message the bot sent in `on`."""
    data = next(b["callback_data"] for row in button_rows(on) for b in row if b["text"] == label)
    shown = {"message_id": 1, "date": 0, "chat": h.fake._chat(on.params["chat_id"])}
    shown.update({"text": on.params["text"]} if "text" in on.params else {})
    if on.method == "sendPhoto":
        shown["photo"] = [{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}]
    await h.fake.push(h.fake.callback(on.params["chat_id"], user, data, shown))


ALERT = Message(
    "🔔 BTC breakout",
    lines=("BTC broke above the key short zone $91,800–$92,300 ($412.5M of shorts): now $92,450",),
    buttons=(Button("Snooze 1h", "snooze", ("7",)), Button("Mute BTC", "mute_symbol", ("BTC",))),
    kind="alert",
)
