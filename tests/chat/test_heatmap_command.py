"""/heatmap through the whole app: maps recorded as they refresh, the picture off the loop."""

from __future__ import annotations

import asyncio
import threading

import core.chat.heatmap as heatmap_module
from tests.service_helpers import make_app_fixture, say  # noqa: F401  (the make_app fixture)


async def refresh_for(app, clock, minutes: int, step: int = 5) -> None:
    for _ in range(0, minutes, step):
        clock.advance(step * 60)
        await app.snapshots.get("BTC")


async def test_heatmap_without_history_says_when_to_come_back_and_starts_recording(make_app):
    app, _, _ = make_app()
    text, [reply] = await say(app, "/heatmap BTC")
    assert reply.kind == "error"
    assert "No map history for BTC" in text and "every 10 min" in text
    assert len(app.store.map_frames("BTC", app.monitor.clock() - app.store.history_keep)) == 1


async def test_heatmap_after_an_hour_of_refreshes_is_a_picture_with_its_span(make_app):
    app, clock, _ = make_app()
    await refresh_for(app, clock, 60)
    text, [reply] = await say(app, "/heatmap btc 3d")
    assert reply.kind == "report", text
    assert reply.title == "BTC liquidation heatmap · 3 d"
    assert reply.image and reply.image.startswith(b"\x89PNG")
    assert "6 maps" in text  # one every 10 minutes, not one per 5-minute refresh
    assert "Brightest band now" in text


async def test_a_bad_span_is_refused_with_the_usage(make_app):
    app, _, _ = make_app()
    for bad in ("/heatmap BTC forever", "/heatmap BTC 30d", "/heatmap"):
        text, [reply] = await say(app, bad)
        assert reply.kind == "error" and "/heatmap SYMBOL [24h|3d|7d]" in text, text


async def test_other_commands_are_answered_while_a_heatmap_renders(make_app, monkeypatch):
    app, clock, _ = make_app()
    await refresh_for(app, clock, 60)
    started, release = threading.Event(), threading.Event()
    real = heatmap_module.render_heatmap

    def slow_render(grid):
        started.set()
        release.wait(5)
        return real(grid)

    monkeypatch.setattr(heatmap_module, "render_heatmap", slow_render)
    heatmap = asyncio.create_task(say(app, "/heatmap BTC"))
    await asyncio.to_thread(started.wait, 5)
    text, _ = await say(app, "/help")  # answered while the render thread is busy
    assert "/heatmap SYMBOL" in text
    assert not heatmap.done()
    release.set()
    _, [reply] = await heatmap
    assert reply.image
