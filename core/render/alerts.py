"""Alert messages: one chat's alerts of a tick as one message, and the digest after a mute.

The sentences come with each Notice (its alert kind wrote it); this module composes them.
Everything here is pure: plain values in, plain values out, no clock reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from core.kernel import fmt
from core.types import Button, Message, Notice

# A chat message with a wall of buttons is unreadable; Telegram and Discord both cope with these.
MAX_SNOOZE_BUTTONS = 3
MAX_MUTE_BUTTONS = 3

# ---- messages --------------------------------------------------------------------------------


def _distinct(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def alert_message(events: Sequence[Notice]) -> Message:
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
    events_or_messages: Iterable[Notice | Message],
    muted_from: datetime | None,
    muted_to: datetime | None,
) -> Message:
    """Everything held while a chat was muted, as ONE message: `🔕 While muted (2h): 3 alerts`.

    Notices become a line each, prefixed with their UTC time and in time order; held Messages
    (already rendered alerts) contribute their lines in the order given, after the events.
    Nothing is dropped: a platform adapter splits the message if its length limit forces it.
    An unknown start or end of the mute (None) just leaves the duration out.
    """
    events: list[Notice] = []
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
