"""`/alert BTC cascade 20M 5`: one alert when one side's realised liquidations within the window
reach the amount, naming the side, the total, the move and the largest print; silent while the
cascade goes on; again only after the window has quieted."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from core.alerts.kinds import describe_rule, rule_value
from core.alerts.kinds.cascade import parts
from core.kernel.errors import UsageError
from core.types import LiqMinute, LiqWindow
from tests.alerts_helpers import NOW, Ticker, market, rule


def minute(offset: int, usd: float, side="long", venue="bybit", low=89_000.0, high=90_500.0):
    when = (NOW + timedelta(minutes=offset)).replace(second=0)
    return LiqMinute(when, venue, side, usd, 10, usd / 4, low, low, high)


def view(ticker: Ticker, *minutes: LiqMinute, price: float = 89_200.0):
    # the tick's window ends at the ticker's next time (Ticker.tick adds a minute first)
    until = ticker.now + timedelta(minutes=1)
    return dataclasses.replace(market(price), liquidations=LiqWindow(until, tuple(minutes)))


def test_the_value_holds_usd_and_minutes():
    value = rule_value("cascade", "20M 5")
    assert parts(value) == (20e6, 5)
    assert parts(rule_value("cascade", "$1.5b 15m")) == (1.5e9, 15)
    assert parts(rule_value("cascade", "250K")) == (250e3, 5)  # five minutes by default
    assert "20.0M" in describe_rule(rule("cascade", value)) and "5 min" in describe_rule(
        rule("cascade", value)
    )
    for bad in ("20M 0", "20M 61", "20M 2.5", "nope 5", "5", "20M 5 7"):
        with pytest.raises(UsageError):
            rule_value("cascade", bad)


def test_fires_once_for_a_long_cascade_and_says_side_total_move_and_largest():
    ticker = Ticker(rule("cascade", rule_value("cascade", "20M 5")))
    assert ticker.tick(view(ticker, minute(0, 8e6))) == []
    (alert,) = ticker.tick(view(ticker, minute(0, 8e6), minute(1, 17e6)))
    assert alert.event.upward is False  # longs: the price fell through them
    text = alert.text
    assert "$25.0M of longs liquidated in the last 5 min" in text
    assert "$90,500 down to $89,000" in text and "largest $4.2M" in text
    # the cascade goes on: still one alert
    assert ticker.tick(view(ticker, minute(1, 17e6), minute(2, 9e6))) == []
    assert ticker.tick(view(ticker, minute(2, 9e6), minute(3, 9e6))) == []


def test_rearms_after_the_window_quiets_then_fires_again():
    ticker = Ticker(rule("cascade", rule_value("cascade", "20M 5")))
    assert len(ticker.tick(view(ticker, minute(0, 25e6)))) == 1
    # six minutes later the window holds nothing: re-armed; a new cascade alerts again
    ticker.now += timedelta(minutes=6)
    assert ticker.tick(view(ticker)) == []
    assert len(ticker.tick(view(ticker, minute(8, 22e6)))) == 1


def test_sides_are_independent_and_old_minutes_do_not_count():
    ticker = Ticker(rule("cascade", rule_value("cascade", "10M 2")))
    (alert,) = ticker.tick(
        view(ticker, minute(-5, 50e6), minute(1, 6e6, "short"), minute(1, 5e6, "short", "okx"))
    )
    assert alert.event.upward is True and "$11.0M of shorts" in alert.text


def test_no_realised_data_changes_nothing():
    ticker = Ticker(rule("cascade", rule_value("cascade", "20M 5")))
    assert len(ticker.tick(view(ticker, minute(0, 25e6)))) == 1
    state = dict(ticker.states)
    assert ticker.tick(market(89_000)) == []  # the feeds are off: no window at all
    assert ticker.states == state
