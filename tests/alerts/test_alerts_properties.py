"""Alert rules over any price path: never two alerts without a re-arm between, never a crash."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from core.alerts.engine import MarketView
from tests.alerts_helpers import MARGIN_PCT, NOW, Ticker, market, rule

# ---- the hysteresis property ------------------------------------------------------------------

UP_LEVEL, DOWN_LEVEL = 100.0, 97.0
steps = st.lists(
    st.tuples(st.floats(95, 104), st.floats(0, 1.5), st.floats(0, 1.5), st.floats(0.4, 3.0)),
    min_size=2,
    max_size=30,
)


def run_path(kind: str, value: float | None, path, **zones):
    """Feed a price path (close, wick up, wick down, ratio) → per tick (close, high, low, ratio,
    events). The wick range always includes the way from the previous close to this one."""
    ticker, previous, ticks = Ticker(rule(kind, value)), None, []
    for close, wick_up, wick_down, ratio in path:
        start = close if previous is None else previous
        high, low = max(start, close) + wick_up, min(start, close) - wick_down
        events = ticker.tick(market(close, high, low, ratio=ratio, **zones))
        ticks.append((close, high, low, ratio, events))
        previous = close
    return ticks


def assert_rearm_between_fires(ticks, rearmed_at) -> None:
    """Between two alerts for the same level, some tick must show the rule re-armed."""
    fired_at: dict[float, int] = {}
    for index, (*_, events) in enumerate(ticks):
        for event in events:
            if event.level in fired_at:
                last = fired_at[event.level]
                evidence = (
                    rearmed_at(ticks[k], event.level, k == last) for k in range(last, index + 1)
                )
                assert any(evidence), f"fired twice at {event.level} with no re-arm between"
            fired_at[event.level] = index


@settings(max_examples=150, deadline=None)
@given(steps, st.sampled_from(["above", "below", "breakout"]))
def test_a_price_rule_never_fires_twice_without_a_rearm_between(path, kind):
    level = {"above": UP_LEVEL, "below": DOWN_LEVEL, "breakout": None}[kind]
    zones = {"short": (99.5, UP_LEVEL), "long": (DOWN_LEVEL, 97.5)}
    ticks = run_path(kind, level, path, **zones)

    def rearmed_at(tick, fired_level, is_fire_tick):
        close, high, low = tick[:3]
        margin = fired_level * MARGIN_PCT / 100
        # On the tick that fired, only the close (which comes after the wick) proves a way back.
        if fired_level == UP_LEVEL:
            return (close if is_fire_tick else low) <= fired_level - margin
        return (close if is_fire_tick else high) >= fired_level + margin

    assert_rearm_between_fires(ticks, rearmed_at)


@settings(max_examples=150, deadline=None)
@given(steps)
def test_a_ratio_rule_never_fires_twice_without_a_rearm_between(path):
    ticks = run_path("ratio", 1.5, path)

    def rearmed_at(tick, fired_level, is_fire_tick):
        ratio = tick[3]
        if is_fire_tick:
            return False
        return ratio <= fired_level * 0.95 if fired_level > 1 else ratio >= fired_level * 1.05

    assert_rearm_between_fires(ticks, rearmed_at)


@settings(max_examples=150, deadline=None)
@given(steps)
def test_a_near_rule_never_fires_twice_without_a_rearm_between(path):
    short, long = (101.0, 101.5), (98.5, 99.0)
    ticks = run_path("near", 0.5, path, short=short, long=long)

    def rearmed_at(tick, fired_level, is_fire_tick):
        close = tick[0]
        low, high = short if fired_level == short[0] else long
        return max(0.0, low - close, close - high) / close * 100 > 1.0  # twice the 0.5 %

    assert_rearm_between_fires(ticks, rearmed_at)


any_number = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none(), st.integers())


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(any_number, any_number, any_number, any_number, any_number), min_size=1,
             max_size=5),
    st.sampled_from(["breakout", "near", "ratio", "above", "below"]),
    any_number,
)  # fmt: skip
def test_no_market_numbers_or_rule_values_can_crash_a_tick(path, kind, value):
    ticker = Ticker(rule(kind, value))
    for price, high, low, zone_edge, ratio in path:
        short = None if zone_edge is None else (zone_edge, zone_edge)
        plain = market(100, ratio=None).analysis
        odd_wicks = MarketView("BTC", price, plain, high, low, NOW)  # type: ignore[arg-type]
        odd_zones = replace(market(100, short=short, ratio=ratio), price=price)  # type: ignore[arg-type]
        for events in (ticker.tick(odd_wicks), ticker.tick(odd_zones)):
            assert all(isinstance(event.text, str) and event.text for event in events)


# ---- liveness: a crossing does fire -------------------------------------------------------------
# The properties above hold for an engine that never fires at all. These say the other half: a
# price that reaches the level fires, at the latest on the tick it gets there.


@settings(max_examples=200, deadline=None)
@given(steps, st.sampled_from(["above", "below"]))
def test_a_price_that_reaches_the_level_fires_by_that_tick(path, kind):
    level = UP_LEVEL if kind == "above" else DOWN_LEVEL
    ticks = run_path(kind, level, path)

    def reached(index: int, slack: float) -> bool:
        """The level is reached on this tick (by more than `slack` of it; -slack: touched)."""
        close, high, low = ticks[index][:3]
        # The first look judges the current price only (the wick may predate the rule).
        up, down = (close, close) if index == 0 else (high, low)
        return up > level * (1 + slack) if kind == "above" else down < level * (1 - slack)

    clearly = next((i for i in range(len(ticks)) if reached(i, 1e-9)), None)
    touched = next((i for i in range(len(ticks)) if reached(i, -1e-9)), None)
    fired = [i for i, tick in enumerate(ticks) if tick[4]]
    if touched is None:
        assert fired == [], "fired although the price never reached the level"
    else:
        assert not fired or fired[0] >= touched, "fired before the price got to the level"
    if clearly is not None:
        assert fired and fired[0] <= clearly, f"reached {level} at tick {clearly}, no alert"


@settings(max_examples=100, deadline=None)
@given(st.floats(95, 99.5), st.floats(100.5, 104), st.integers(1, 5))
def test_a_rule_rearmed_by_a_way_back_fires_again_on_the_next_crossing(low, high, rounds):
    """Up through the level, back below it by more than the re-arm margin, up again: one alert
    per crossing, `rounds` times."""
    path = []
    for _ in range(rounds):
        path += [(low, 0, 0, 1.0), (high, 0, 0, 1.0)]
    ticks = run_path("above", UP_LEVEL, path)
    assert sum(len(tick[4]) for tick in ticks) == rounds
