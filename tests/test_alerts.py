"""The alert engine as a trader meets it: one alert per crossing, wicks count, bad data is quiet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.alerts import (
    AlertEvent,
    MarketView,
    RuleState,
    alert_message,
    coalesce,
    digest_message,
    evaluate,
)
from core.model import Analysis, Message, Rule, Zone

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
MARGIN_PCT = 0.3

# The key zones of the worked examples: shorts above ~$92k, longs below ~$86k.
SHORT_ZONE = (91_800.0, 92_300.0)
LONG_ZONE = (86_000.0, 86_500.0)
HIGHER_SHORT_ZONE = (95_000.0, 95_400.0)  # what a refreshed map shows once SHORT_ZONE is broken


def make_zone(side: str, bounds: tuple[float, float] | None, usd: float) -> Zone | None:
    if bounds is None:
        return None
    low, high = bounds
    return Zone(side, low, high, (low + high) / 2, usd, 0.0)  # type: ignore[arg-type]


def market(
    price: float,
    high: float | None = None,
    low: float | None = None,
    short: tuple[float, float] | None = SHORT_ZONE,
    long: tuple[float, float] | None = LONG_ZONE,
    ratio: float | None = 1.0,
    symbol: str = "BTC",
    short_usd: float = 412.5e6,
    long_usd: float = 1.563e9,
) -> MarketView:
    key_short = make_zone("short", short, short_usd)
    key_long = make_zone("long", long, long_usd)
    zones = tuple(zone for zone in (key_short, key_long) if zone is not None)
    analysis = Analysis(
        symbol, price, 2.7e9, None, 1.5e9, None, ratio, zones, key_short, key_long,
        key_short, key_long, 0.0,
    )  # fmt: skip
    return MarketView(symbol, price, analysis, high or price, low or price, NOW)


def rule(kind: str, value: float | None = None, rule_id: int = 1, **fields) -> Rule:
    fields = {"chat_key": 10, "user_id": "u1", "symbol": "BTC", **fields}
    return Rule(id=rule_id, kind=kind, value=value, **fields)  # type: ignore[arg-type]


class Ticker:
    """Runs successive ticks like the scheduler: stored states fed back, one minute apart."""

    def __init__(self, *rules: Rule):
        self.rules = list(rules)
        self.states: dict[int, str] = {}
        self.now = NOW
        self.last_changed: dict[int, str] = {}

    def tick(self, *views: MarketView, **market_args) -> list[AlertEvent]:
        self.now += timedelta(minutes=1)
        markets = {view.symbol: view for view in views}
        if market_args:
            markets["BTC"] = market(**market_args)
        events, changed = evaluate(self.rules, self.states, markets, self.now, MARGIN_PCT)
        self.states.update(changed)
        self.last_changed = changed
        return events


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
    held: list[AlertEvent] = []
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
