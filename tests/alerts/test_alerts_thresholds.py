"""Above/below, near and ratio alerts: once per crossing, re-armed only past the margin."""

from __future__ import annotations

import pytest

from core.alerts import evaluate
from core.types import AlertEvent
from tests.alerts_helpers import NOW, Ticker, market, rule

# ---- above / below ----------------------------------------------------------------------------


def test_an_above_rule_already_true_when_created_fires_once():
    ticker = Ticker(rule("above", 90_000))
    first = ticker.tick(price=90_500)
    assert len(first) == 1 and "already above $90,000" in first[0].text
    assert ticker.tick(price=90_600) == [] and ticker.tick(price=90_100) == []


def test_a_new_above_rule_ignores_a_wick_from_before_it_existed():
    ticker = Ticker(rule("above", 95_000))
    assert ticker.tick(price=91_000, high=96_000) == []
    assert len(ticker.tick(price=95_200)) == 1


def test_a_below_rule_fires_once_per_crossing():
    ticker = Ticker(rule("below", 88_000))
    ticker.tick(price=89_000)
    assert len(ticker.tick(price=87_900)) == 1
    assert ticker.tick(price=88_100) == []  # not back past $88,264 (0.3 %)
    assert ticker.tick(price=87_800) == []
    assert ticker.tick(price=88_300) == []  # re-armed
    assert len(ticker.tick(price=87_950)) == 1


def test_a_wick_that_fires_and_a_close_back_past_the_margin_leave_the_rule_armed():
    ticker = Ticker(rule("above", 95_000))
    ticker.tick(price=94_000)
    assert len(ticker.tick(price=94_500, high=95_050)) == 1  # $94,500 < $94,715: back past margin
    assert len(ticker.tick(price=94_600, high=95_100)) == 1


# ---- near -------------------------------------------------------------------------------------


def test_near_fires_within_the_distance_and_rearms_beyond_twice_that_distance():
    ticker = Ticker(rule("near", 1.0))
    assert ticker.tick(price=90_000) == []  # 2.0 % below the short zone's low edge ($91,800)
    events = ticker.tick(price=91_000)  # 0.88 % away
    assert len(events) == 1
    assert "within 1% of the key short zone $91,800–$92,300" in events[0].text
    assert events[0].level == 91_800
    # Still within twice the distance (2 %), the zone drifting by a $100 bucket: silent.
    assert ticker.tick(price=90_200) == []
    assert ticker.tick(price=91_300, short=(91_700.0, 92_200.0)) == []
    assert ticker.tick(price=89_900) == []  # 2.1 % away: re-armed
    assert len(ticker.tick(price=91_100)) == 1


def test_near_counts_a_wick_towards_the_zone():
    ticker = Ticker(rule("near", 0.5))
    ticker.tick(price=90_000)
    events = ticker.tick(price=90_100, high=91_500)  # 0.33 % from the zone at the wick's top
    assert len(events) == 1 and events[0].level == 91_800


def test_near_watches_both_sides_without_ping_pong():
    ticker = Ticker(rule("near", 2.0))
    assert ticker.tick(price=95_000, short=None, long=None) == []
    # Squeezed between both key zones, each within 2 %: one alert per side, then silence.
    both = ticker.tick(price=89_000, short=(90_000.0, 90_500.0), long=(87_500.0, 88_000.0))
    assert sorted(event.level for event in both) == [88_000, 90_000]
    for _ in range(4):
        assert (
            ticker.tick(price=89_100, short=(90_000.0, 90_500.0), long=(87_500.0, 88_000.0)) == []
        )


# ---- ratio ------------------------------------------------------------------------------------


def test_ratio_fires_on_crossing_and_rearms_five_percent_back_inside():
    ticker = Ticker(rule("ratio", 1.5))
    assert ticker.tick(price=90_000, ratio=1.2) == []
    up = ticker.tick(price=90_000, ratio=1.55)
    assert len(up) == 1 and "1.55×" in up[0].text and "1.50×" in up[0].text
    assert ticker.tick(price=90_000, ratio=1.45) == []  # not below 1.425
    assert ticker.tick(price=90_000, ratio=1.6) == []
    assert ticker.tick(price=90_000, ratio=1.4) == []  # re-armed
    assert len(ticker.tick(price=90_000, ratio=1.52)) == 1


def test_ratio_falling_below_the_inverse_fires_for_longs():
    ticker = Ticker(rule("ratio", 1.5))
    ticker.tick(price=90_000, ratio=1.0)
    events = ticker.tick(price=90_000, ratio=0.6)  # below 1/1.5
    assert len(events) == 1 and "longs below" in events[0].text
    assert ticker.tick(price=90_000, ratio=0.65) == []


def test_a_rule_created_past_its_ratio_waits_for_the_next_crossing():
    ticker = Ticker(rule("ratio", 1.5))
    assert ticker.tick(price=90_000, ratio=1.8) == []
    assert ticker.tick(price=90_000, ratio=1.9) == []


def test_a_missing_ratio_never_fires_and_changes_nothing():
    ticker = Ticker(rule("ratio", 1.5))
    ticker.tick(price=90_000, ratio=1.2)
    stored = dict(ticker.states)
    assert ticker.tick(price=90_000, ratio=None) == []
    assert ticker.states == stored
    assert len(ticker.tick(price=90_000, ratio=1.7)) == 1


@pytest.mark.parametrize("margin_pct", [1.0, 5.0])
def test_the_configured_rearm_margin_decides_when_a_rule_rearms(margin_pct):
    def alerts_after_dip_to(low: float) -> list[AlertEvent]:
        """Fired at 100.5, then a dip to `low` closing back at 100.2 (above the level)."""
        rules, states, after_first = [rule("above", 100.0)], {}, []
        for price, dip in ((99.0, 99.0), (100.5, 100.5), (100.2, low), (100.4, 100.4)):
            events, changed = evaluate(rules, states, {"BTC": market(price, low=dip)}, NOW,
                                       margin_pct)  # fmt: skip
            states.update(changed)
            after_first.extend(event for event in events if price != 100.5)
        return after_first

    threshold = 100.0 * (1 - margin_pct / 100)
    assert alerts_after_dip_to(threshold + 0.01) == []  # just inside the margin: still fired
    assert len(alerts_after_dip_to(threshold - 0.01)) == 1  # past it: re-armed, fires again
