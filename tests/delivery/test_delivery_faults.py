"""Delivery that neither repeats nor stalls: store faults retry the record, never the send;
permanent refusals and messages failing too often go to the dead letters, out of their chat's
way; a multi-part message resumes at its next part after a restart."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from core.delivery.deliverer import Deliverer, PartProgress
from core.delivery.journal import AcceptedJournal
from core.kernel.errors import MessageRejected, PlatformUnavailable
from core.store import Store
from core.types import ChatRef, Message

T0 = datetime(2025, 1, 2, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Platform:
    """Accepts everything but what `faults` says for a chat; sends `parts` parts per message
    through a PartProgress as the real senders do; `kill_after` parts it raises Killed."""

    def __init__(self, parts: int = 1) -> None:
        self.platform = "telegram"
        self.parts = parts
        self.sent: list[tuple[str, str, int]] = []  # (chat, title, part)
        self.faults: dict[str, list[BaseException]] = {}
        self.kill_after: int | None = None
        self.progress = PartProgress()

    async def send(self, chat: ChatRef, message: Message) -> None:
        queue = self.faults.get(chat.chat_id)
        if queue:
            raise queue.pop(0)
        for part in range(self.progress.done(chat.chat_id, message), self.parts):
            if self.kill_after is not None and len(self.sent) >= self.kill_after:
                raise Killed()
            self.sent.append((chat.chat_id, message.title, part + 1))
            self.progress.record(chat.chat_id, message, part + 1)
        self.progress.finish(chat.chat_id, message)


class Killed(BaseException):
    """kill -9 in the middle of a send: nothing after it runs."""


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path, clock):
    with Store.open(tmp_path / "outbox.db", clock=clock) as opened:
        yield opened


def queue(store: Store, chat_id: str, *titles: str) -> int:
    key = store.upsert_chat("telegram", chat_id)
    for title in titles:
        store.enqueue(key, Message(title, kind="alert"))
    return key


def failing(store: Store, method: str, error: Exception) -> list[int]:
    """Make `store.<method>` raise `error` while the returned list is non-empty."""
    switch = [1]
    real = getattr(store, method)

    def wrapped(*args, **kwargs):
        if switch:
            raise error
        return real(*args, **kwargs)

    setattr(store, method, wrapped)
    return switch


async def test_a_record_that_fails_after_the_send_retries_the_record_not_the_send(
    store, clock, caplog
):
    platform = Platform()
    deliverer = Deliverer(store, {"telegram": platform}, clock=clock)
    queue(store, "1", "BTC above $92,450")
    full = failing(store, "mark_sent", sqlite3.OperationalError("database or disk is full"))
    caplog.set_level(logging.WARNING, logger="core.delivery")
    for _ in range(30):  # thirty seconds of a full disk, one pass a second
        await deliverer.deliver_due()
        clock.advance(1)
    assert platform.sent == [("1", "BTC above $92,450", 1)]  # once, however long it lasts
    assert deliverer.unrecorded == 1
    full.clear()  # space again
    clock.advance(60)
    await deliverer.deliver_due()
    assert store.pending() == [] and deliverer.unrecorded == 0
    assert platform.sent == [("1", "BTC above $92,450", 1)]
    assert len([r for r in caplog.records if "store failed" in r.getMessage()]) == 1


async def test_a_locked_store_backs_off_the_whole_pass_with_a_doubling_wait(store, clock):
    platform = Platform()
    deliverer = Deliverer(store, {"telegram": platform}, clock=clock)
    queue(store, "1", "m1")
    tries = []

    def locked(*args, **kwargs):
        tries.append(clock())
        raise sqlite3.OperationalError("database is locked")

    real, store.due_messages = store.due_messages, locked  # type: ignore[method-assign]
    for _ in range(64):  # a minute of passes, one a second
        await deliverer.deliver_due()
        clock.advance(1)
    gaps = [(b - a).total_seconds() for a, b in zip(tries, tries[1:], strict=False)]
    assert gaps[:5] == [1, 2, 4, 5, 5] and len(tries) <= 15  # every 5 s at most, not 60 tries
    store.due_messages = real  # type: ignore[method-assign]
    clock.advance(60)
    assert (await deliverer.deliver_due()).sent == 1 and platform.sent == [("1", "m1", 1)]


async def test_a_permanent_refusal_goes_to_the_dead_letters_and_the_chat_moves_on(
    store, clock, caplog
):
    platform = Platform()
    deliverer = Deliverer(store, {"telegram": platform}, clock=clock)
    key = queue(store, "1", "malformed", "next alert")
    platform.faults["1"] = [MessageRejected("Discord 50035 Invalid Form Body")]
    caplog.set_level(logging.WARNING, logger="core.delivery")
    stats = await deliverer.deliver_due()
    assert (stats.dead, stats.sent) == (1, 1)
    assert platform.sent == [("1", "next alert", 1)]
    (dead,) = store.dead_letters(key)
    assert dead.message.title == "malformed" and "50035" in dead.reason
    assert store.pending() == []
    assert len([r for r in caplog.records if "dead letters" in r.getMessage()]) == 1


async def test_a_message_failing_max_attempts_times_is_buried_and_newer_ones_arrive(store, clock):
    platform = Platform()
    deliverer = Deliverer(store, {"telegram": platform}, clock=clock, max_attempts=3)
    key = queue(store, "1", "cursed", "fresh")
    platform.faults["1"] = [TimeoutError("slow")] * 10
    for _ in range(3):
        await deliverer.deliver_due()
        clock.advance(3600)
    platform.faults["1"] = []
    await deliverer.deliver_due()
    assert [t for _, t, _ in platform.sent] == ["fresh"]
    (dead,) = store.dead_letters(key)
    assert dead.attempts == 3 and "TimeoutError" in dead.reason


async def test_a_multi_part_message_cut_by_a_restart_resumes_at_the_next_part(tmp_path, clock):
    path = tmp_path / "parts.db"
    store = Store.open(path, clock=clock)
    queue(store, "1", "Daily summary")
    platform = Platform(parts=4)
    platform.kill_after = 2  # the process dies after two parts went out
    with pytest.raises(Killed):
        await Deliverer(store, {"telegram": platform}, clock=clock).deliver_due()
    store._db.conn.close()  # no orderly shutdown

    store = Store.open(path, clock=clock)  # the restart: a new process, a new sender
    again = Platform(parts=4)
    assert (await Deliverer(store, {"telegram": again}, clock=clock).deliver_due()).sent == 1
    store.close()
    assert [p for _, _, p in platform.sent] == [1, 2]
    assert [p for _, _, p in again.sent] == [3, 4]  # none lost, none twice


async def test_a_platform_that_is_down_is_waited_out_and_buries_nothing(store, clock):
    platform = Platform()
    deliverer = Deliverer(store, {"telegram": platform}, clock=clock, max_attempts=3)
    key = queue(store, "1", "during the outage")
    platform.faults["1"] = [PlatformUnavailable("telegram: NetworkError: Bad Gateway")] * 20
    for _ in range(20):  # hours of Telegram being down
        await deliverer.deliver_due()
        clock.advance(3600)
    platform.faults["1"] = []
    await deliverer.deliver_due()
    assert store.dead_letters(key) == []
    assert [t for _, t, _ in platform.sent] == ["during the outage"]


async def test_a_kill_during_a_store_outage_does_not_send_the_accepted_messages_again(
    tmp_path, clock
):
    path = tmp_path / "outage.db"
    store = Store.open(path, clock=clock)
    queue(store, "1", "sent while the disk was full")
    queue(store, "2", "also sent")
    platform = Platform()
    failing(store, "mark_sent", sqlite3.OperationalError("database or disk is full"))
    deliverer = Deliverer(store, {"telegram": platform}, clock=clock, max_concurrent_chats=1)
    await deliverer.deliver_due()
    assert len(platform.sent) == 1  # the pass stopped at the first failed record
    store._db.conn.close()  # kill -9 while the store still fails

    store = Store.open(path, clock=clock)  # the restart
    again = Platform()
    await Deliverer(store, {"telegram": again}, clock=clock).deliver_due()
    assert [t for _, t, _ in again.sent] == ["also sent"]  # the first one is not sent twice
    assert store.pending() == []
    assert AcceptedJournal(str(path)).load() == ({}, {})  # replayed, then cleared
    store.close()


def test_the_journal_never_needs_new_disk_space_once_reserved(tmp_path):
    """A full disk refuses a file that grows; the journal writes and clears in its reserve."""
    journal = AcceptedJournal(str(tmp_path / "full.db"), reserved=4096)
    journal.reserve()
    path = tmp_path / "full.db.accepted"
    assert path.stat().st_size == 4096 and path.stat().st_mode & 0o777 == 0o600
    for outbox_id in range(50):
        journal.add(outbox_id, T0)
    assert path.stat().st_size == 4096  # overwritten in place, not grown
    reopened = AcceptedJournal(str(tmp_path / "full.db"), reserved=4096)
    assert sorted(reopened.load()[0]) == list(range(50))  # a kill here replays all 50
    reopened.add(99, T0)  # after the entries, not over them
    assert 99 in AcceptedJournal(str(tmp_path / "full.db")).load()[0]
    reopened.clear()
    assert path.stat().st_size == 4096 and AcceptedJournal(str(path)[:-9]).load() == ({}, {})


async def test_a_kill_while_the_record_waits_on_a_locked_store_sends_nothing_twice(tmp_path, clock):
    """The database locked by another process: the record waits out the busy timeout (seconds).
    The accepted id is in the journal before that wait begins, so a kill during it repeats
    nothing after the restart."""
    path = tmp_path / "slow.db"
    store = Store.open(path, clock=clock)
    queue(store, "1", "accepted, then the record waited")
    platform = Platform()

    def killed_while_waiting(*args, **kwargs):
        raise Killed  # kill -9 in the middle of the busy wait

    # the first write after the send: the part's progress (then the record itself)
    store.record_parts = killed_while_waiting  # type: ignore[method-assign]
    with pytest.raises(Killed):
        await Deliverer(store, {"telegram": platform}, clock=clock).deliver_due()
    store._db.conn.close()
    assert len(platform.sent) == 1

    store = Store.open(path, clock=clock)  # the restart
    again = Platform()
    await Deliverer(store, {"telegram": again}, clock=clock).deliver_due()
    assert again.sent == [] and store.pending() == []  # recorded from the journal, not resent
    store.close()


async def test_a_kill_while_a_parts_record_waits_resumes_after_that_part(tmp_path, clock):
    path = tmp_path / "parts.db"
    store = Store.open(path, clock=clock)
    queue(store, "1", "a long summary")

    def killed_while_waiting(*args, **kwargs):
        raise Killed

    store.record_parts = killed_while_waiting  # type: ignore[method-assign]
    first = Platform(parts=3)
    with pytest.raises(Killed):
        await Deliverer(store, {"telegram": first}, clock=clock).deliver_due()
    store._db.conn.close()
    assert [part for _, _, part in first.sent] == [1]

    store = Store.open(path, clock=clock)
    again = Platform(parts=3)
    await Deliverer(store, {"telegram": again}, clock=clock).deliver_due()
    assert [part for _, _, part in again.sent] == [2, 3]  # part 1 not twice, none lost
    assert store.pending() == []
    store.close()
