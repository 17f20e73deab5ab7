"""The alert engine, pure: rules + their stored state + this tick's markets → events + new state.

No I/O and no clock reads: `now` is an argument, and the same input always gives the same output.
The store keeps each rule's state as the opaque JSON string `RuleState.to_json()` returns.

Facts, not sentences: an AlertEvent says what crossed what; each kind's module in
core/alerts/kinds/ (which also holds that kind's own semantics) says it in words.

Semantics (what a trader gets):

- **Wick-aware.** `MarketView.high_since` / `low_since` are the 1-minute wick range since the
  previous good check (across a restart too: the monitor stores its last check, and looks back
  at most an hour). A level reached by a wick counts even if the price closed back: `above X`
  fires when high_since >= X. The text then says "wicked/traded above ... and is back at ...".
- **One alert per crossing (hysteresis).** After a rule fires it is *fired* for that level and
  stays silent until it re-arms:
  - price levels (breakout, above, below): the price goes back past the level by a margin of
    `rearm_margin_pct` % of the level, on the other side (for `above X`: a low <= X·(1 − m));
  - `near PCT`: the price (its close) is again more than 2·PCT % away from the zone that fired;
  - `ratio R`: the ratio comes back inside by 5 % (below R·0.95, or above (1/R)·1.05).
  Order inside one tick is unknown from a high/low pair, so the engine only uses orders it can
  prove: a rule that re-arms during a tick fires again in that same tick only if the *close* is
  past the level (the close comes last), and a rule that fires re-arms in the same tick only if the
  close is already back past the margin. A price hovering on a level gives one alert, not fifty.
- **breakout**: upward, the price clears the key short zone (`Analysis.key_short`): the level is the
  zone's **high** (its far edge: the whole cluster of shorts is liquidated). Downward, it clears the
  key long zone: the level is that zone's **low**. The key zones move as maps refresh, and a broken
  zone leaves the map or changes side, so the state remembers the key zones of the last good tick
  and checks both those and the current ones. While fired upward at level H, only a zone lying
  wholly above H (a different, higher cluster) can fire again before the re-arm; a zone that merely
  drifted by a bucket is the same zone.
- **near PCT**: the wick comes within PCT % (of the price) of the nearest edge of a key zone, or
  enters it. Each side (the key short zone above, the key long zone below) has its own hysteresis,
  so a price squeezed between both gives one alert per side. While fired on a side, only a zone
  wholly beyond the fired one (further out) can fire before the re-arm: two zones taking turns as
  the biggest must not ping-pong.
- **ratio R**: the imbalance reaches R upward (shorts dominate) or falls below 1/R (longs dominate);
  R < 1 is read as 1/R. A None ratio (an empty side) never fires and changes nothing. The ratio
  has no wick: it is compared as the analysis gives it at each tick.
- **First evaluation** of a new rule. `breakout` and `ratio` only record a baseline (the current
  key zones; a threshold already crossed counts as fired): `/watch` creates breakout rules and must
  not greet anyone with a stale alert. `above`, `below` and `near` fire at once if their condition
  already holds at the current price (not the wick, which may predate the rule): the user named the
  number and expects to hear "BTC is already above $90,000" once, not silence.
- **Snoozed or paused** rules run exactly like the others and their state moves, but their events
  are dropped: a crossing during the snooze counts as fired, so the end of the snooze does not bring
  a stale alert; the next alert needs a re-arm, as after any other alert.
- **No market, no change**: a rule whose symbol has no `MarketView` (the source failed, the data
  was stale or broken: non-positive or non-finite price) produces nothing and keeps its state, so
  the next good tick is compared with the last good state. The caller should then give that tick
  the wick range since the last *good* check.
- **Order and determinism**: events come in the order of `rules` (a rule crossing both ways in
  one tick gives two events); `fired_at` is `now`.
- **Never crashes** on bad input: a garbage state is a fresh state, a rule with a missing or absurd
  value (None, NaN, negative) is skipped, and one broken rule never stops the others.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from core.alerts.kinds import KINDS, Fire
from core.alerts.state import FRESH, RuleState, parse_state
from core.alerts.tick import SymbolTick, build_tick
from core.types import AlertEvent, Analysis, LiqWindow, Rule

__all__ = ["AlertEvent", "MarketView", "RuleState", "coalesce", "evaluate"]

DEFAULT_REARM_MARGIN_PCT = 0.3


@dataclass(frozen=True)
class MarketView:
    """One symbol at this tick: the price, its analysis, and the wick range since the last check."""

    symbol: str
    price: float
    analysis: Analysis
    high_since: float  # 1-minute wick range since the previous check (equal to price when unknown)
    low_since: float
    as_of: datetime
    liquidations: LiqWindow | None = None  # realised, minute by minute (the cascade kind)


def coalesce(events: Iterable[AlertEvent]) -> dict[int, list[AlertEvent]]:
    """Group events by chat: chats in order of their first event, events in their given order."""
    by_chat: dict[int, list[AlertEvent]] = {}
    for event in events:
        by_chat.setdefault(event.chat_key, []).append(event)
    return by_chat


def _margin_fraction(rearm_margin_pct: float) -> float:
    try:
        ok = math.isfinite(rearm_margin_pct) and rearm_margin_pct >= 0
    except (TypeError, OverflowError):
        ok = False
    return min(rearm_margin_pct if ok else DEFAULT_REARM_MARGIN_PCT, 50.0) / 100


def _silenced(rule: Rule, now: datetime) -> bool:
    """Paused, or snoozed until after `now` (a naive time is read as UTC, never a crash)."""
    if rule.paused:
        return True
    until = rule.snoozed_until
    if until is None:
        return False
    try:
        return until > now
    except TypeError:  # one side naive, the other aware
        until = until if until.tzinfo else until.replace(tzinfo=UTC)
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
        return until > now


def _ticks(markets: Mapping[str, MarketView]) -> dict[str, SymbolTick]:
    ticks: dict[str, SymbolTick] = {}
    for symbol, view in markets.items():
        tick = build_tick(view)
        if tick is not None:
            ticks[symbol] = tick
            ticks.setdefault(str(symbol).upper(), tick)
    return ticks


def evaluate(
    rules: Sequence[Rule],
    states: Mapping[int, str | RuleState],
    markets: Mapping[str, MarketView],
    now: datetime,
    rearm_margin_pct: float = DEFAULT_REARM_MARGIN_PCT,
) -> tuple[list[AlertEvent], dict[int, str]]:
    """Evaluate every rule once → (events in rule order, new JSON states of the rules that changed).

    `states` may hold stored JSON strings or RuleState objects (faster: no parsing); a rule with
    no state starts fresh. Rules on symbols missing from `markets` are left untouched.
    """
    m = _margin_fraction(rearm_margin_pct)
    ticks = _ticks(markets)
    events: list[AlertEvent] = []
    changed: dict[int, str] = {}
    # Rules of one symbol with the same kind, value and state have the same outcome: compute it
    # once per tick (breakout rules of a symbol typically share one state string).
    outcomes: dict[tuple, tuple[RuleState, list[Fire], bool] | None] = {}
    kinds = KINDS
    json_of: dict[RuleState, str] = {}
    for rule in rules:
        tick = ticks.get(rule.symbol)
        if tick is None:
            continue  # no good data for this symbol: keep the last good state
        raw = states.get(rule.id)
        kind, value = rule.kind, rule.value
        try:
            if type(raw) is str:
                state = parse_state(raw)
            else:
                state = raw if isinstance(raw, RuleState) else FRESH
            if kind == "above" or kind == "below":
                # Fast path: most level rules sit armed on the far side or fired without re-arm.
                if state.seen and value is not None:
                    if kind == "above":
                        fired = state.fired_up
                        if fired is None:
                            if tick.high < value:
                                continue
                        elif fired >= value and tick.low > fired - abs(fired) * m:
                            continue
                    else:
                        fired = state.fired_down
                        if fired is None:
                            if tick.low > value:
                                continue
                        elif fired <= value and tick.high < fired + abs(fired) * m:
                            continue
                result = _step(kinds, kind, value, state, tick, m)
                outcome = None if result is None else (*result, result[0] != state)
            else:
                key = (tick.symbol, kind, value, raw if type(raw) is str else state)
                if key in outcomes:
                    outcome = outcomes[key]
                else:
                    result = _step(kinds, kind, value, state, tick, m)
                    outcome = None if result is None else (*result, result[0] != state)
                    outcomes[key] = outcome
        except (TypeError, ValueError, AttributeError, ArithmeticError):
            continue  # a malformed rule (e.g. a text value) must not stop everyone else's alerts
        if outcome is None:
            continue
        new_state, fires, state_changed = outcome
        if state_changed:
            text = json_of.get(new_state)
            if text is None:
                text = json_of[new_state] = new_state.to_json()
            changed[rule.id] = text
        if fires and not _silenced(rule, now):
            for fire in fires:
                events.append(
                    AlertEvent(
                        rule_id=rule.id,
                        chat_key=rule.chat_key,
                        user_id=rule.user_id,
                        symbol=tick.symbol,
                        kind=kind,
                        price=tick.price,
                        level=fire.level,
                        fired_at=now,
                        upward=fire.upward,
                        zone=fire.zone,
                        zone_usd=fire.zone_usd,
                        extreme=fire.extreme,
                        threshold=fire.threshold,
                        measured=fire.measured,
                        first_look=fire.first_look,
                    )
                )
    return events, changed


def _step(kinds, name: str, value, state: RuleState, tick: SymbolTick, m: float):
    """One rule's step; None for a rule that cannot be evaluated (unknown kind, bad value)."""
    kind = kinds.get(name)
    if kind is None or not kind.can_evaluate(value):
        return None
    return kind.step(value, state, tick, m)
