"""`cascade USD MINUTES`: one side's realised liquidations within the last N minutes reach USD.

e.g. `/alert BTC cascade 20M 5`: fires when $20M of BTC longs (or of shorts) were liquidated
within the last 5 minutes, across the venues' streams. It says the side, the total, the prices
the prints went through (the move) and the largest print. Each side has its own hysteresis: once
fired, that side re-arms when its window has quieted to below QUIET_FRACTION (half) of USD, so a
cascade that goes on for ten minutes gives one alert, not one per tick.

The window is whole minutes of the stored per-minute aggregates: the minute in progress and the
N−1 before it. No data (the feeds are off, or the tick has no window for the symbol) changes
nothing. Like `above`/`below`, a new rule fires at once if the window already holds a cascade:
the user named the amount and wants to hear that it is happening.

A rule holds one number: USD and MINUTES are packed as MINUTES·10¹² + whole dollars (exact in a
float for any amount below $100B and windows up to an hour); `parts()` unpacks them. The event
carries the minutes in `level`, USD in `threshold`, the side's total in `measured`, the prints'
price range in `zone`, the largest print's USD in `zone_usd` and its price in `extreme`.
"""

from __future__ import annotations

from datetime import timedelta

from core.alerts.kinds.base import AlertKind, Fire, Step
from core.alerts.state import RuleState
from core.alerts.tick import SymbolTick
from core.kernel import fmt, parse
from core.kernel.errors import UsageError
from core.types import AlertEvent, Rule

WINDOW_UNIT = 1e12
MIN_USD, MAX_USD = 10_000.0, 99e9
MAX_MINUTES = 60
DEFAULT_MINUTES = 5
QUIET_FRACTION = 0.5


def pack(usd: float, minutes: int) -> float:
    return minutes * WINDOW_UNIT + round(usd)


def parts(value: float) -> tuple[float, int]:
    """The stored value → (USD, minutes)."""
    minutes = int(value // WINDOW_UNIT)
    return value - minutes * WINDOW_UNIT, minutes


def parse_cascade(text: str) -> float:
    words = text.split()
    if not 1 <= len(words) <= 2:
        raise UsageError("A cascade alert takes an amount and minutes, e.g. cascade 20M 5.")
    usd = parse.money_amount(words[0], "cascade amount", MIN_USD, MAX_USD)
    minutes = DEFAULT_MINUTES
    if len(words) == 2:
        raw = words[1].lower().removesuffix("min").removesuffix("m")
        minutes_value = parse.number(raw, "minutes", 1, MAX_MINUTES)
        if minutes_value != int(minutes_value):
            raise UsageError("Cascade minutes are whole minutes, e.g. 5.")
        minutes = int(minutes_value)
    return pack(usd, minutes)


def _window(tick: SymbolTick, minutes: int) -> dict[str, dict] | None:
    window = tick.liqs
    if window is None:
        return None
    last = window.until.replace(second=0, microsecond=0)
    start = last - timedelta(minutes=minutes - 1)
    sides: dict[str, dict] = {}
    for m in window.minutes:
        if not start <= m.minute <= last:
            continue
        side = sides.setdefault(
            m.side, {"usd": 0.0, "largest": 0.0, "largest_price": 0.0, "low": None, "high": None}
        )
        side["usd"] += m.usd
        if m.largest_usd > side["largest"]:
            side["largest"], side["largest_price"] = m.largest_usd, m.largest_price
        side["low"] = m.low if side["low"] is None else min(side["low"], m.low)
        side["high"] = m.high if side["high"] is None else max(side["high"], m.high)
    return sides


def step(value: float | None, state: RuleState, tick: SymbolTick, m: float) -> Step:
    usd, minutes = parts(float(value))
    if minutes < 1 or usd <= 0:
        return state, []
    sides = _window(tick, minutes)
    if sides is None:
        return state, []  # no realised data at this tick: nothing changes
    fired = {"long": state.fired_down, "short": state.fired_up}
    fires: list[Fire] = []
    for side in ("long", "short"):
        figures = sides.get(side)
        total = figures["usd"] if figures else 0.0
        if fired[side] is not None and total < usd * QUIET_FRACTION:
            fired[side] = None  # the window has quieted: re-armed
        if fired[side] is None and total >= usd and figures:
            fired[side] = usd
            fires.append(
                Fire(
                    float(minutes),
                    upward=side == "short",  # shorts squeezed as the price rises
                    zone=(figures["low"], figures["high"]),
                    zone_usd=figures["largest"],
                    extreme=figures["largest_price"],
                    threshold=usd,
                    measured=total,
                    first_look=not state.seen,
                )
            )
    new = RuleState(seen=True, fired_up=fired["short"], fired_down=fired["long"])
    return new, fires


def text(event: AlertEvent) -> str:
    side = "shorts" if event.upward else "longs"
    minutes = int(event.level or 0)
    low, high = event.zone or (event.price, event.price)
    move = (
        f"prints from {fmt.price(low)} up to {fmt.price(high)}"
        if event.upward
        else f"prints from {fmt.price(high)} down to {fmt.price(low)}"
    )
    return (
        f"{event.symbol} liquidation cascade: {fmt.money(event.measured)} of {side} liquidated "
        f"in the last {minutes} min (alert at {fmt.money(event.threshold)}); {move}; largest "
        f"{fmt.money(event.zone_usd)} at {fmt.price(event.extreme)}; now {fmt.price(event.price)}"
    )


def describe(rule: Rule) -> str:
    usd, minutes = parts(float(rule.value))
    return f"{rule.symbol} cascade: {fmt.money(usd)} of one side liquidated within {minutes} min"


KIND = AlertKind(
    name="cascade",
    syntax="cascade USD MINUTES",
    hint="cascade: one side's liquidations reach USD within MINUTES",
    describe=describe,
    step=step,
    text=text,
    parse_value=parse_cascade,
    max_value=pack(MAX_USD, MAX_MINUTES),
)
