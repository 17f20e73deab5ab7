"""Outbox delivery: sent once, retry_after honoured, blocked chats dropped, errors backed off."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from core.delivery.deliverer import Deliverer, backoff_seconds
from core.kernel.errors import ChatUnreachable, DeliveryRetryAfter
from core.store import Store
from core.types import ChatRef, Message

T0 = datetime(2025, 1, 2, 12, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class RecordingSender:
    """A platform that accepts everything, except what `faults` says for a chat (in order)."""

    def __init__(self, platform: str = "telegram") -> None:
        self.platform = platform
        self.sent: list[tuple[str, str]] = []  # (chat_id, title)
        self.faults: dict[str, list[BaseException]] = {}

    async def send(self, chat: ChatRef, message: Message) -> None:
        queue = self.faults.get(chat.chat_id)
        if queue:
            raise queue.pop(0)
        self.sent.append((chat.chat_id, message.title))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path, clock):
    with Store.open(tmp_path / "outbox.db", clock=clock) as opened:
        yield opened


@pytest.fixture
def telegram() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
def deliverer(store, telegram, clock) -> Deliverer:
    return Deliverer(store, {"telegram": telegram}, clock=clock)


def queue(store: Store, chat_id: str, *titles: str, platform: str = "telegram") -> int:
    key = store.upsert_chat(platform, chat_id)
    for title in titles:
        store.enqueue(key, Message(title, kind="alert"))
    return key


async def test_due_messages_are_sent_in_order_and_never_twice(store, deliverer, telegram):
    queue(store, "1", "first", "second")
    queue(store, "2", "other chat")
    stats = await deliverer.deliver_due()
    assert stats.sent == 3
    assert [t for c, t in telegram.sent if c == "1"] == ["first", "second"]
    assert ("2", "other chat") in telegram.sent
    assert (await deliverer.deliver_due()).sent == 0
    assert len(telegram.sent) == 3 and store.pending() == []


async def test_retry_after_is_honoured_exactly_and_is_not_a_failure(
    store, deliverer, telegram, clock
):
    queue(store, "1", "rate limited", "behind it")
    telegram.faults["1"] = [DeliveryRetryAfter(7)]
    stats = await deliverer.deliver_due()
    assert (stats.rate_limited, stats.failed, stats.sent) == (1, 0, 0)
    waiting = store.pending()[0]
    assert waiting.attempts == 0  # a rate limit is not the message's failure
    assert waiting.due_at == T0 + timedelta(seconds=7)

    clock.advance(6.9)
    assert (await deliverer.deliver_due()).sent == 0  # still waiting, and the next one waits too
    clock.advance(0.1)
    assert (await deliverer.deliver_due()).sent == 2
    assert telegram.sent == [("1", "rate limited"), ("1", "behind it")]


async def test_a_chat_that_blocked_the_bot_is_deactivated_and_others_still_get_theirs(
    store, deliverer, telegram
):
    blocked = queue(store, "blocked", "a1", "a2")
    rule = store.add_rule(blocked, "u", "BTC", "breakout", None)
    queue(store, "fine", "b1")
    telegram.faults["blocked"] = [ChatUnreachable("Forbidden: bot was blocked by the user")]

    stats = await deliverer.deliver_due()
    assert stats.unreachable_chats == (blocked,)
    assert telegram.sent == [("fine", "b1")]
    assert not store.chat(blocked)["active"]
    assert rule.id not in [r.id for r in store.active_rules()]
    # Its messages are kept, not sent...
    assert [i.message.title for i in store.pending(blocked)] == ["a1", "a2"]
    assert (await deliverer.deliver_due()).sent == 0
    # ...and go out in order when the user comes back.
    store.upsert_chat("telegram", "blocked")
    await deliverer.deliver_due()
    assert telegram.sent[1:] == [("blocked", "a1"), ("blocked", "a2")]


async def test_an_alert_that_waited_says_when_it_was_raised(store, clock):
    seen: list[Message] = []

    class Keeper:
        platform = "telegram"

        async def send(self, chat: ChatRef, message: Message) -> None:
            seen.append(message)

    key = store.upsert_chat("telegram", "back")
    store.enqueue(key, Message("BTC above $91,934", lines=("now $92,853",), kind="alert"))
    store.deactivate_chat(key)  # the user had blocked the bot
    clock.advance(3600)
    store.upsert_chat("telegram", "back")  # ...and came back an hour later
    await Deliverer(store, {"telegram": Keeper()}, clock=clock).deliver_due()
    (late,) = seen
    assert late.lines[0] == "Delayed: raised 2025-01-02 12:00 UTC; prices have moved since."
    assert late.lines[1:] == ("now $92,853",)


async def test_failures_back_off_exponentially_log_once_and_never_lose_the_message(
    store, telegram, clock, caplog
):
    # Within its attempts a message is retried (beyond them: tests/delivery/test_dead_letters.py).
    deliverer = Deliverer(store, {"telegram": telegram}, clock=clock, max_attempts=20)
    queue(store, "flaky", "important")
    queue(store, "fine", "meanwhile")
    telegram.faults["flaky"] = [ConnectionError("reset by peer") for _ in range(9)]
    caplog.set_level(logging.WARNING, logger="core.delivery")

    waits = []
    first = await deliverer.deliver_due()
    assert (first.failed, first.sent) == (1, 1)
    for _ in range(8):
        [item] = store.pending()
        waits.append((item.due_at - clock()).total_seconds())
        clock.now = item.due_at - timedelta(microseconds=1)
        assert (await deliverer.deliver_due()).failed == 0  # not due before its time
        clock.now = item.due_at
        assert (await deliverer.deliver_due()).failed == 1
    assert waits == [5, 10, 20, 40, 80, 160, 320, 600]
    assert store.pending()[0].attempts == 9

    clock.advance(600)
    assert (await deliverer.deliver_due()).sent == 1
    assert telegram.sent == [("fine", "meanwhile"), ("flaky", "important")]
    failures_logged = [
        r for r in caplog.records if "important" in r.getMessage() or "flaky" in r.getMessage()
    ]
    assert len(failures_logged) == 1


def test_backoff_starts_at_five_seconds_and_is_capped_at_ten_minutes():
    assert [backoff_seconds(n) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert backoff_seconds(8) == 600 and backoff_seconds(10_000) == 600


async def test_a_failed_message_holds_back_the_rest_of_its_chat_only(
    store, deliverer, telegram, clock
):
    queue(store, "1", "m1", "m2", "m3")
    queue(store, "2", "n1")
    telegram.faults["1"] = [TimeoutError("slow")]
    await deliverer.deliver_due()
    assert telegram.sent == [("2", "n1")]
    clock.advance(5)
    await deliverer.deliver_due()
    assert telegram.sent[1:] == [("1", "m1"), ("1", "m2"), ("1", "m3")]


async def test_messages_for_a_platform_without_a_sender_stay_queued(store, deliverer, telegram):
    queue(store, "d1", "for discord", platform="discord")
    queue(store, "t1", "for telegram")
    stats = await deliverer.deliver_due()
    assert stats.sent == 1 and telegram.sent == [("t1", "for telegram")]
    assert [i.message.title for i in store.pending()] == ["for discord"]
    discord = RecordingSender("discord")
    later = Deliverer(store, {"telegram": telegram, "discord": discord})
    await later.deliver_due()
    assert discord.sent == [("d1", "for discord")]


async def test_chats_are_served_concurrently_but_within_the_bound(store, clock):
    class GatedSender:
        platform = "telegram"

        def __init__(self) -> None:
            self.active = 0
            self.peak = 0
            self.sent: list[str] = []
            self.release = asyncio.Event()
            self.waiting = asyncio.Event()

        async def send(self, chat: ChatRef, message: Message) -> None:
            self.active += 1
            self.peak = max(self.peak, self.active)
            if self.active == 2:
                self.waiting.set()
            await self.release.wait()
            self.sent.append(message.title)
            self.active -= 1

    sender = GatedSender()
    for n in range(6):
        queue(store, f"chat{n}", f"m{n}a", f"m{n}b")
    deliverer = Deliverer(store, {"telegram": sender}, clock=clock, max_concurrent_chats=2)
    passing = asyncio.create_task(deliverer.deliver_due())
    await sender.waiting.wait()  # two chats are in flight at once
    sender.release.set()
    stats = await passing
    assert stats.sent == 12 and sender.peak == 2
    for n in range(6):  # per chat, in order
        assert sender.sent.index(f"m{n}a") < sender.sent.index(f"m{n}b")


async def test_expired_mute_turns_held_alerts_into_one_digest(store, telegram, clock):
    key = queue(store, "1")
    store.set_muted_until(key, T0 + timedelta(hours=1))
    for title in ("BTC breakout", "ETH near zone"):
        store.enqueue(key, Message(title, kind="alert"))

    def digest(chat_key: int, held: list[Message]) -> Message:
        return Message(f"{len(held)} alerts while muted", lines=tuple(m.title for m in held))

    deliverer = Deliverer(store, {"telegram": telegram}, clock=clock, digest=digest)
    assert (await deliverer.deliver_due()).sent == 0
    clock.advance(3600)
    stats = await deliverer.deliver_due()
    assert (stats.released_mutes, stats.sent) == (1, 1)
    assert telegram.sent == [("1", "2 alerts while muted")]


async def test_without_a_digest_maker_held_alerts_wait_for_the_mute_owner(store, deliverer, clock):
    key = queue(store, "1")
    store.set_muted_until(key, T0 + timedelta(minutes=1))
    store.enqueue(key, Message("held", kind="alert"))
    clock.advance(120)
    stats = await deliverer.deliver_due()
    assert (stats.released_mutes, stats.sent) == (0, 0)
    assert [i.message.title for i in store.held_messages(key)] == ["held"]


async def test_run_keeps_delivering_until_stopped(store, telegram, clock):
    queue(store, "1", "first")
    stop = asyncio.Event()
    passes = []

    async def next_pass(seconds: float) -> None:
        passes.append(seconds)
        if len(passes) == 1:
            queue(store, "1", "arrived later")
        else:
            stop.set()

    deliverer = Deliverer(store, {"telegram": telegram}, clock=clock, sleep=next_pass)
    await deliverer.run(stop, interval_seconds=0.5)
    assert telegram.sent == [("1", "first"), ("1", "arrived later")]
    assert passes == [0.5, 0.5]


async def test_a_broken_store_does_not_stop_the_delivery_loop(store, telegram, clock, caplog):
    queue(store, "1", "hello")
    stop = asyncio.Event()
    calls = {"n": 0}
    real_due = store.due_messages

    def flaky_due(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("database is locked")
        return real_due(*args, **kwargs)

    store.due_messages = flaky_due

    async def after_pass(_seconds: float) -> None:
        if telegram.sent:
            stop.set()

    deliverer = Deliverer(store, {"telegram": telegram}, clock=clock, sleep=after_pass)
    await deliverer.run(stop)
    assert telegram.sent == [("1", "hello")] and calls["n"] == 2
    assert "delivery pass failed" in caplog.text
