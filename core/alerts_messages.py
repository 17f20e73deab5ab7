"""What alerts say: the one-sentence texts of alert events, and the chat messages built from them.

Split from core/alerts.py along the seam "deciding" (engine) vs "saying" (words and messages).
Everything here is pure: plain values in, plain values out, no clock reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from . import fmt
from .model import Button, Message

if TYPE_CHECKING:  # only for type hints: core.alerts imports this module
    from .alerts import AlertEvent

# A chat message with a wall of buttons is unreadable; Telegram and Discord both cope with these.
MAX_SNOOZE_BUTTONS = 3
MAX_MUTE_BUTTONS = 3

ZoneBounds = tuple[float, float]  # (low, high)


# ---- sentences -------------------------------------------------------------------------------


def zone_phrase(side: str, low: float, high: float, usd: float | None) -> str:
    """`the key short zone $91,800–$92,300 ($412.5M of shorts)`; the amount only when known."""
    text = f"the key {side} zone {fmt.price(low)}–{fmt.price(high)}"
    if usd is not None and usd > 0:
        text += f" ({fmt.money(usd)} of {side}s)"
    return text


def breakout_text(
    symbol: str, upward: bool, zone: ZoneBounds, usd: float | None, price: float, extreme: float
) -> str:
    """A key zone broken; says so plainly when only a wick went through and the price came back."""
    side = "short" if upward else "long"
    low, high = zone
    where = zone_phrase(side, low, high, usd)
    direction = "above" if upward else "below"
    still_through = price >= high if upward else price <= low
    if still_through:
        return f"{symbol} broke {direction} {where}: now {fmt.price(price)}"
    word = "high" if upward else "low"
    return (
        f"{symbol} wicked {direction} {where} ({word} {fmt.price(extreme)}) "
        f"and is back at {fmt.price(price)}"
    )


def near_text(
    symbol: str, threshold_pct: float, side: str, zone: ZoneBounds, usd: float | None, price: float
) -> str:
    """The price came within the threshold of a key zone; says where it is now."""
    low, high = zone
    if low <= price <= high:
        where_now = "inside the zone"
    else:
        gap = (low - price) if price < low else (price - high)
        where_now = f"{abs(gap) / price * 100:.2f}% away"
    return (
        f"{symbol} came within {threshold_pct:g}% of {zone_phrase(side, low, high, usd)}: "
        f"now {fmt.price(price)}, {where_now}"
    )


def ratio_text(symbol: str, upward: bool, ratio: float, threshold: float, price: float) -> str:
    """The imbalance crossed the threshold: which side dominates and what it means."""
    if upward:
        return (
            f"{symbol} shorts above are now {fmt.ratio(ratio)} the longs below "
            f"(crossed {fmt.ratio(threshold)}): squeeze risk upward; now {fmt.price(price)}"
        )
    return (
        f"{symbol} longs below now outweigh shorts above: ratio {fmt.ratio(ratio)} "
        f"(fell below {fmt.ratio(threshold)}): flush risk downward; now {fmt.price(price)}"
    )


def level_text(
    symbol: str, above: bool, level: float, price: float, extreme: float, first_look: bool
) -> str:
    """A plain price level reached: by the close, by a wick only, or already when the rule began."""
    direction = "above" if above else "below"
    holds = price >= level if above else price <= level
    if first_look:
        return f"{symbol} is already {direction} {fmt.price(level)}: now {fmt.price(price)}"
    if holds:
        return f"{symbol} is {direction} {fmt.price(level)}: now {fmt.price(price)}"
    word = "high" if above else "low"
    return (
        f"{symbol} traded {direction} {fmt.price(level)} ({word} {fmt.price(extreme)}) "
        f"and is back at {fmt.price(price)}"
    )


# ---- messages --------------------------------------------------------------------------------


def coalesce(events: Iterable[AlertEvent]) -> dict[int, list[AlertEvent]]:
    """Group events by chat: chats in order of their first event, events in their given order."""
    by_chat: dict[int, list[AlertEvent]] = {}
    for event in events:
        by_chat.setdefault(event.chat_key, []).append(event)
    return by_chat


def _distinct(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def alert_message(events: Sequence[AlertEvent]) -> Message:
    """One chat's alerts of one tick as ONE message (kind="alert"), with Snooze and Mute buttons.

    One event: title `🔔 BTC breakout`, buttons `Snooze 1h` and `Mute BTC`. Several: title
    `🔔 3 alerts`, each line names its rule id so that the Snooze buttons can say which is which.
    """
    if not events:
        raise ValueError("alert_message needs at least one event")
    rule_ids = _distinct(str(event.rule_id) for event in events)
    symbols = _distinct(event.symbol for event in events)
    if len(events) == 1:
        only = events[0]
        title = f"🔔 {only.symbol} {only.kind}"
        lines = (only.text,)
        snooze = [Button("Snooze 1h", "snooze", (rule_ids[0],))]
        footer = f"Alert #{only.rule_id} · /delalert {only.rule_id} to remove it"
    else:
        title = f"🔔 {len(events)} alerts"
        lines = tuple(f"#{event.rule_id} {event.text}" for event in events)
        snooze = [
            Button(f"Snooze #{rule_id} 1h", "snooze", (rule_id,))
            for rule_id in rule_ids[:MAX_SNOOZE_BUTTONS]
        ]
        footer = "/alerts lists your alerts; /delalert ID removes one"
    mute = [Button(f"Mute {symbol}", "mute_symbol", (symbol,)) for symbol in symbols]
    return Message(
        title=title,
        lines=lines,
        footer=footer,
        buttons=tuple(snooze + mute[:MAX_MUTE_BUTTONS]),
        kind="alert",
    )


def _clock(moment: datetime, with_date: bool) -> str:
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%b %d %H:%M" if with_date else "%H:%M")


def digest_message(
    events_or_messages: Iterable[AlertEvent | Message],
    muted_from: datetime | None,
    muted_to: datetime | None,
) -> Message:
    """Everything held while a chat was muted, as ONE message: `🔕 While muted (2h): 3 alerts`.

    AlertEvents become a line each, prefixed with their UTC time and in time order; held Messages
    (already rendered alerts) contribute their lines in the order given, after the events.
    Nothing is dropped: a platform adapter splits the message if its length limit forces it.
    An unknown start or end of the mute (None) just leaves the duration out.
    """
    events: list[AlertEvent] = []
    message_lines: list[str] = []
    for item in events_or_messages:
        if isinstance(item, Message):
            message_lines.extend(item.lines or ((item.title,) if item.title else ()))
        else:
            events.append(item)
    known = muted_from is not None and muted_to is not None
    with_date = known and (
        (muted_to - muted_from).total_seconds() >= 86_400 or muted_from.date() != muted_to.date()
    )
    # Stable sort: same-time events keep their order from the engine (rule order).
    events.sort(key=lambda event: event.fired_at)
    lines = [f"{_clock(event.fired_at, with_date)} {event.text}" for event in events]
    lines.extend(message_lines)
    count = len(lines)
    noun = "alert" if count == 1 else "alerts"
    span = f" ({fmt.duration(muted_to - muted_from)})" if known else ""
    title = f"🔕 While muted{span}: {count if count else 'no'} {noun}"
    if known:
        footer = f"Muted {_clock(muted_from, with_date)}–{_clock(muted_to, with_date)} UTC"
    elif muted_to is not None:
        footer = f"Mute ended {_clock(muted_to, False)} UTC"
    else:
        footer = ""
    return Message(title=title, lines=tuple(lines), footer=footer, kind="alert")
