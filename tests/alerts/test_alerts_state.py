"""Alert state under faults: failing sources, snoozes and pauses, garbage stored state, absurd
rules; the state survives its JSON form."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.alerts.engine import RuleState, evaluate
from tests.alerts_helpers import HIGHER_SHORT_ZONE, NOW, Ticker, market, rule

# ---- failing sources, snoozes, bad input ------------------------------------------------------


def test_a_failing_source_fires_nothing_and_keeps_the_state():
    ticker = Ticker(rule("breakout"), rule("above", 95_000, rule_id=2))
    ticker.tick(price=91_000)
    stored = dict(ticker.states)
    assert ticker.tick() == []  # the source failed: no MarketView for BTC
    broken = market(price=float("nan"), high=99_000)
    assert ticker.tick(broken) == [] and ticker.last_changed == {}
    assert ticker.states == stored
    # The next good tick is compared with the last good one: the breakout of the zone seen then.
    events = ticker.tick(price=93_500, short=HIGHER_SHORT_ZONE)
    assert [event.rule_id for event in events] == [1]


def test_a_snoozed_rule_is_silent_and_does_not_bring_a_stale_alert_when_the_snooze_ends():
    snoozed = rule("above", 95_000, snoozed_until=NOW + timedelta(minutes=3))
    ticker = Ticker(snoozed)
    ticker.tick(price=94_000)
    assert ticker.tick(price=95_500) == []  # crossed while snoozed
    assert ticker.tick(price=95_600) == []
    assert ticker.tick(price=95_700) == []  # snooze over, still above: nothing stale
    ticker.tick(price=94_000)  # back past the margin
    assert len(ticker.tick(price=95_100)) == 1


def test_a_paused_rule_tracks_state_but_sends_nothing():
    ticker = Ticker(rule("below", 88_000, paused=True))
    ticker.tick(price=89_000)
    assert ticker.tick(price=87_000) == [] and 1 in ticker.last_changed


@pytest.mark.parametrize(
    "garbage",
    [None, "", "{", "null", "[]", "42", '"text"', '{"v": 99, "s": true}', '{"v": 1, "s": "yes"}',
     '{"v": 1, "s": true, "u": "high"}', '{"v": 1, "s": true, "u": NaN}',
     '{"v": 1, "s": true, "wu": [3, 2]}', '{"v": 1, "s": true, "nu": [1]}',
     '{"v": 1, "s": true, "u": 1' + "0" * 400 + "}", "[" * 100_000, "x" * 10_000],
)  # fmt: skip
def test_garbage_state_json_is_treated_as_fresh(garbage):
    assert RuleState.from_json(garbage) == RuleState()
    # A fresh breakout rule takes a baseline; a fresh above rule says the level already holds.
    ticker = Ticker(rule("breakout"), rule("above", 90_000, rule_id=2))
    ticker.states = {1: garbage, 2: garbage}  # type: ignore[dict-item]
    events = ticker.tick(price=91_000, high=93_000)
    assert [event.rule_id for event in events] == [2]
    assert "already above" in events[0].text


def test_rules_with_absurd_values_are_skipped_and_others_still_fire():
    broken = [
        rule("near", None, rule_id=1),
        rule("above", float("nan"), rule_id=2),
        rule("below", -5, rule_id=3),
        rule("ratio", 0, rule_id=4),
        rule("sideways", 3, rule_id=5),
        rule("above", "lots", rule_id=6),  # type: ignore[arg-type]
        rule("near", 1e9, rule_id=7),
    ]
    ticker = Ticker(*broken, rule("above", 90_000, rule_id=8))
    events = ticker.tick(price=91_000)
    assert [event.rule_id for event in events] == [8]
    assert set(ticker.last_changed) == {8}


def test_the_same_input_gives_the_same_output_whether_states_are_json_or_objects():
    rules = [
        rule("breakout"),
        rule("near", 1.0, 2),
        rule("above", 92_000, 3),
        rule("ratio", 1.5, 4),
    ]
    ticker = Ticker(*rules)
    ticker.tick(price=90_000, ratio=1.2)
    markets = {"BTC": market(price=92_450, low=90_900, ratio=1.6)}
    first = evaluate(rules, ticker.states, markets, NOW)
    again = evaluate(rules, dict(ticker.states), markets, NOW)
    as_objects = {key: RuleState.from_json(text) for key, text in ticker.states.items()}
    objects = evaluate(rules, as_objects, markets, NOW)
    assert first == again == objects
    assert len(first[0]) == 4


def test_state_survives_a_json_round_trip():
    state = RuleState(
        seen=True, fired_up=92_300.0, fired_down=86_000.0, near_up=(91_800.0, 92_300.0),
        watch_up=(91_800.0, 92_300.0), watch_down=(86_000.0, 86_500.0),
        watch_up_usd=996.1e6, watch_down_usd=1.563e9,
    )  # fmt: skip
    assert RuleState.from_json(state.to_json()) == state
    assert RuleState.from_json(RuleState().to_json()) == RuleState()


@pytest.mark.parametrize("amount", ['"lots"', "-5", "0", "NaN", "true", "[1]"])
def test_a_garbled_zone_amount_loses_the_amount_not_the_rule_state(amount):
    text = '{"s":true,"u":92300.0,"v":1,"wu":[91800.0,92300.0],"wuu":' + amount + "}"
    state = RuleState.from_json(text)
    assert state.fired_up == 92_300 and state.watch_up == (91_800, 92_300)
    assert state.watch_up_usd is None
