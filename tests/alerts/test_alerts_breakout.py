"""Breakout alerts as a trader meets them: one alert per crossing of a key zone, wicks count, the
zone remembered while the map moves on."""

from __future__ import annotations

from tests.alerts_helpers import HIGHER_SHORT_ZONE, SHORT_ZONE, Ticker, rule

# ---- breakout ---------------------------------------------------------------------------------


def test_breakout_fires_once_while_price_hovers():
    ticker = Ticker(rule("breakout"))
    assert ticker.tick(price=90_131.71) == []
    fired = ticker.tick(price=92_450)  # through the zone's high, $92,300
    # Hovering around the broken level, within the 0.3 % margin (~$277): the map shows the
    # broken zone again whenever the price is back under it, the higher zone when above.
    hover = [92_250, 92_350, 92_100, 92_400, 92_200, 92_330, 92_050, 92_420]
    later = [
        ticker.tick(price=p, short=SHORT_ZONE if p < 92_300 else HIGHER_SHORT_ZONE) for p in hover
    ]
    assert len(fired) == 1
    assert all(events == [] for events in later)
    text = fired[0].text
    assert "BTC broke above the key short zone $91,800–$92,300" in text
    assert "$412.5M" in text and "$92,450" in text
    assert fired[0].level == 92_300 and fired[0].kind == "breakout"


def test_breakout_rearms_after_the_margin_and_fires_again():
    ticker = Ticker(rule("breakout"))
    ticker.tick(price=90_000)
    assert len(ticker.tick(price=92_450)) == 1
    assert ticker.tick(price=91_950) == []  # back below $92,300 − 0.3 % ($92,023): re-armed
    again = ticker.tick(price=92_500)
    assert len(again) == 1 and again[0].level == 92_300


def test_breakout_through_a_zone_the_price_walked_into_fires_on_its_way_out():
    # Inside the zone, the map only counts the zone's part above the price, so another cluster
    # ranks as the key zone; the zone being walked through is still the level to break.
    ticker = Ticker(rule("breakout"))
    ticker.tick(price=91_000)
    assert ticker.tick(price=92_100, short=HIGHER_SHORT_ZONE) == []  # inside $91,800–$92,300
    fired = ticker.tick(price=92_368, short=HIGHER_SHORT_ZONE)
    assert len(fired) == 1 and fired[0].level == 92_300


def test_breakout_downward_through_the_key_long_zone():
    ticker = Ticker(rule("breakout"))
    ticker.tick(price=88_000)
    events = ticker.tick(price=85_800)
    assert len(events) == 1
    assert "broke below the key long zone $86,000–$86,500" in events[0].text
    assert events[0].level == 86_000


def test_breakout_counts_the_zone_of_the_last_tick_when_the_refreshed_map_moved_on():
    ticker = Ticker(rule("breakout"))
    ticker.tick(price=91_000)
    # The price ran through the key zone; the new map no longer has it above the price.
    events = ticker.tick(price=93_000, short=HIGHER_SHORT_ZONE)
    assert [event.level for event in events] == [92_300]


def test_a_breakout_on_a_zone_the_map_no_longer_lists_still_names_its_size():
    ticker = Ticker(rule("breakout"))
    ticker.tick(price=91_000, short_usd=996.1e6)
    # Walking through the zone: the map now ranks the higher cluster (with its own amount).
    assert ticker.tick(price=92_100, short=HIGHER_SHORT_ZONE, short_usd=88e6) == []
    [event] = ticker.tick(price=92_368, short=HIGHER_SHORT_ZONE, short_usd=88e6)
    assert "the key short zone $91,800–$92,300 ($996.1M of shorts)" in event.text


def test_a_downward_breakout_on_a_remembered_long_zone_names_its_size():
    ticker = Ticker(rule("breakout"))
    ticker.tick(price=88_000, long_usd=1.2e9)
    [event] = ticker.tick(price=85_500, long=(83_000.0, 83_400.0), long_usd=5e8)
    assert "the key long zone $86,000–$86,500 ($1.20B of longs)" in event.text


def test_a_breakout_state_stored_before_amounts_were_kept_still_works_without_the_amount():
    ticker = Ticker(rule("breakout"))
    # As an older liqwatch stored it: watching the short zone, no amount.
    ticker.states = {1: '{"s":true,"v":1,"wd":[86000.0,86500.0],"wu":[91800.0,92300.0]}'}
    [event] = ticker.tick(price=93_000, short=HIGHER_SHORT_ZONE)
    assert "broke above the key short zone $91,800–$92,300: now $93,000" in event.text
    assert ticker.tick(price=93_100, short=HIGHER_SHORT_ZONE) == []  # once, as ever


def test_small_moves_of_a_zone_amount_do_not_rewrite_every_breakout_state():
    ticker = Ticker(rule("breakout"))
    ticker.tick(price=90_000, short_usd=400e6)
    ticker.tick(price=90_100, short_usd=410e6)  # a refreshed map: the amount moved 2.5 %
    assert ticker.last_changed == {}
    ticker.tick(price=90_200, short_usd=600e6)  # the cluster grew: remembered anew
    assert 1 in ticker.last_changed
    [event] = ticker.tick(price=92_400, short=HIGHER_SHORT_ZONE)
    assert "($600.0M of shorts)" in event.text


def test_a_wick_crossing_between_checks_fires_even_if_the_price_closed_back():
    ticker = Ticker(rule("breakout"), rule("above", 95_000, rule_id=2))
    ticker.tick(price=91_000)
    events = ticker.tick(price=91_500, high=95_100)
    assert {event.rule_id for event in events} == {1, 2}
    breakout = next(event for event in events if event.rule_id == 1)
    assert "$95,100" in breakout.text and "$91,500" in breakout.text  # the wick and the close


def test_a_new_breakout_rule_only_records_a_baseline():
    ticker = Ticker(rule("breakout"))
    assert ticker.tick(price=91_000, high=99_000, low=80_000) == []
    assert 1 in ticker.last_changed  # the baseline is stored


def test_a_breakout_through_a_higher_zone_fires_without_waiting_for_a_rearm():
    ticker = Ticker(rule("breakout"))
    ticker.tick(price=91_000)
    ticker.tick(price=92_500, short=HIGHER_SHORT_ZONE)
    events = ticker.tick(price=95_600, short=(97_000.0, 97_500.0))
    assert [event.level for event in events] == [95_400]
