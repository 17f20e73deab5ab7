"""What alerts look like in a chat: one message per chat per tick, and the digest after a mute."""

from __future__ import annotations

from datetime import timedelta

from core.alerts import coalesce
from core.render.alerts import alert_message, digest_message
from core.types import Message, Notice
from tests.alerts_helpers import NOW, SHORT_ZONE, Ticker, market, rule

# ---- messages ---------------------------------------------------------------------------------


def test_coalescing_gives_one_message_per_chat_per_tick():
    rules = [
        rule("breakout", rule_id=1),
        rule("above", 92_000, rule_id=2),
        rule("below", 3_000, rule_id=3, symbol="ETH"),
        rule("above", 92_000, rule_id=4, chat_key=20, user_id="u2"),
    ]
    ticker = Ticker(*rules)
    ticker.tick(market(90_000), market(3_100, short=None, long=None, symbol="ETH"))
    events = ticker.tick(market(92_450), market(2_950, short=None, long=None, symbol="ETH"))
    by_chat = coalesce(events)
    assert list(by_chat) == [10, 20]
    crowded = alert_message(by_chat[10])
    assert crowded.kind == "alert" and "3 alerts" in crowded.title
    assert len(crowded.lines) == 3 and any("ETH" in line for line in crowded.lines)
    assert {button.args for button in crowded.buttons if button.action == "mute_symbol"} == {
        ("BTC",),
        ("ETH",),
    }
    assert {b.args for b in crowded.buttons if b.action == "snooze"} == {("1",), ("2",), ("3",)}
    single = alert_message(by_chat[20])
    assert "BTC" in single.title and single.lines == (by_chat[20][0].text,)
    assert [(b.label, b.action, b.args) for b in single.buttons] == [
        ("Snooze 1h", "snooze", ("4",)),
        ("Mute BTC", "mute_symbol", ("BTC",)),
    ]


def test_digest_after_mute_holds_every_held_alert_in_one_message():
    ticker = Ticker(rule("breakout"), rule("near", 1.0, 2), rule("below", 88_000, 3))
    muted_from = ticker.now
    ticker.tick(price=90_000)
    held: list[Notice] = []
    for price in (91_000, 92_500, 91_000, 87_900, 88_500, 87_000):
        held.extend(ticker.tick(price=price, short=SHORT_ZONE if price < 92_300 else None))
    earlier = Message("🔔 ETH above", ("ETH is above $3,500: now $3,510",), kind="alert")
    digest = digest_message([*reversed(held), earlier], muted_from, muted_from + timedelta(hours=2))
    assert len(held) >= 4
    assert "While muted (2h)" in digest.title and f": {len(held) + 1} alerts" in digest.title
    for event in held:
        assert sum(event.text in line for line in digest.lines) == 1
    assert any("ETH is above $3,500" in line for line in digest.lines)
    times = [next(e.fired_at for e in held if e.text in line) for line in digest.lines[:-1]]
    assert times == sorted(times)  # in the order they happened, whatever order they were held


def test_a_digest_of_held_messages_works_without_knowing_when_the_mute_began():
    held = [
        Message("🔔 BTC above", ("BTC is above $95,000: now $95,100",), kind="alert"),
        Message("🔔 2 alerts", ("#3 ETH is below $3,000: now $2,990", "#4 SOL ..."), kind="alert"),
    ]
    digest = digest_message(held, None, NOW)
    assert ": 3 alerts" in digest.title and digest.kind == "alert"
    assert digest.lines[0] == "BTC is above $95,000: now $95,100" and len(digest.lines) == 3


def test_an_empty_digest_says_nothing_was_held():
    digest = digest_message([], NOW, NOW + timedelta(minutes=30))
    assert "no alerts" in digest.title and digest.lines == ()
