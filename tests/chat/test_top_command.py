"""/top through the whole app: one aligned message over the universe, with the data's age."""

from __future__ import annotations

from tests.service_helpers import make_app_fixture, say  # noqa: F401  (the make_app fixture)


async def test_top_is_one_aligned_table_over_the_universe(make_app):
    app, _, _ = make_app()
    text, [reply] = await say(app, "/top")
    assert reply.kind == "report" and reply.title == "Screener · by ratio"
    [table] = reply.sections
    assert table.mono  # a fixed-width font on every platform
    header, *rows = table.lines
    assert [r.split()[1] for r in rows] == ["BTC", "ETH"]  # the replay file's symbols
    assert len({len(line) for line in table.lines}) == 1  # every column lines up
    assert max(len(line) for line in table.lines) <= 40  # fits a phone without wrapping
    assert "Oldest map" in reply.footer


async def test_top_takes_order_and_count_in_either_order(make_app):
    app, _, _ = make_app()
    _, [reply] = await say(app, "/top 1 near")
    assert reply.title == "Screener · by near" and len(reply.sections[0].lines) == 2
    text, [bad] = await say(app, "/top sideways")
    assert bad.kind == "error" and "/top [ratio|longs|shorts|near] [N]" in text
    text, [bad] = await say(app, "/top 500")
    assert bad.kind == "error" and "between 1 and 30" in text
