"""The whole app on a scripted replay for service tests: `make_app`, `say`, `minute`."""

from __future__ import annotations

import pytest

from bot.app import build
from core.types import Caller
from tests.helpers import ManualClock, RecordingSender, app_config, write_replay

ME = Caller(platform="console", chat_id="c1", user_id="u1")
HOVER = [50_000, 50_500, 51_300, 51_250, 51_320, 51_280, 51_310]


@pytest.fixture(name="make_app")
def make_app_fixture(tmp_path):
    apps = []

    def make(prices=HOVER, step=60, **alerts):
        clock = ManualClock()
        replay = write_replay(tmp_path / "replay.json", prices, step)
        app = build(app_config(tmp_path, replay, **alerts), clock=clock)
        sender = RecordingSender()
        app.add_sender(sender)
        apps.append(app)
        return app, clock, sender

    yield make
    for app in apps:
        app.store.close()


async def say(app, text, caller=ME):
    messages = await app.service.handle(caller, text)
    return "\n".join(m.text() for m in messages), messages


async def minute(app, clock, seconds=60):
    """One alert check after `seconds`, then one delivery pass, as the scheduler would run them."""
    clock.advance(seconds)
    await app.monitor.tick()
    await app.deliverer.deliver_due()
