"""Outbox delivery: send what is due through each platform's Sender, and record the outcome.

Guarantees, given that a message is written to the outbox in the same transaction as its cause:
- never lost: a message leaves the queue only when its platform accepted it. Failures retry with
  backoff for as long as it takes; an unreachable chat keeps its messages (they go out if the chat
  comes back); a platform without a sender leaves its messages queued, and is not even fetched,
  so that however many of them wait, every other platform's chats still get theirs.
- never twice, with one unavoidable window: the platform accepted the message, and the process
  dies (kill -9, power cut) before the answer reaches the journal, microseconds after it arrives.
  After the restart the message is still unsent in the outbox and goes out again. Chats are
  served side by side, but the requests that reach a platform take turns (wire.py,
  `[delivery] in_flight`, 1 by default), so a kill catches at most one such message per
  platform; Discord channel posts carry the row's nonce and Discord drops the repeat itself.
  Telegram offers no such key.
  A record that fails or waits (disk full, database locked) is NOT that window: the accepted id
  is in memory and in `<db>.accepted` before the record is tried, and only the record is
  retried, never the send, in this process or the next after a kill; every pass stops and backs
  off (1 s doubling to 5 s) while the store fails, logged once per outage (records.py).
  A multi-part message resumes at the part after the last one accepted, across restarts too
  (`parts_done` in the outbox, see parts.py).
- never stuck: a message the platform refuses for good (MessageRejected: a non-429 4xx) or that
  failed `max_attempts` times moves to the dead letters with its reason (logged once), and the
  chat's newer messages go on. The platform being down (PlatformUnavailable: network, 5xx, a
  revoked token) is waited out however long it lasts: it never buries a message.
- per chat in order: a chat's messages go one after another, and a message waiting for a retry
  holds back the newer ones of its chat (for at most its `max_attempts`). Different chats are
  served concurrently, a few at a time, so one slow or failing chat never delays everyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.delivery.parts import PartProgress, resuming
from core.delivery.ports import Sender
from core.delivery.records import STORE_ERRORS, Records
from core.delivery.wire import DeliveryWire, sending
from core.kernel.clock import utcnow
from core.kernel.config import ConfigPart
from core.kernel.errors import (
    ChatMoved,
    ChatUnreachable,
    DeliveryRetryAfter,
    MessageRejected,
    PlatformUnavailable,
)
from core.store import OutboxItem, Store
from core.types import Message

__all__ = ["CONFIG", "Deliverer", "DeliveryStats", "PartProgress", "backoff_seconds"]

log = logging.getLogger(__name__)

BACKOFF_FIRST_SECONDS = 5.0
BACKOFF_MAX_SECONDS = 600.0
# Chats sent to at once. Each waits its own pacing (1 message/s for a private chat on Telegram),
# so 4 would cap delivery near 4 messages/s; the platform's global limit (29/s) stays the
# sender's. The requests themselves take turns on the wire (DEFAULT_IN_FLIGHT per platform): the
# most messages a kill -9 can catch in the send-then-record window.
DEFAULT_CONCURRENT = 16
DEFAULT_IN_FLIGHT = 1
DEFAULT_MAX_ATTEMPTS = 8  # 5 s + 10 s + ... + 320 s: about ten minutes of retries, then dead

DigestMaker = Callable[[int, list[Message]], Message]


def backoff_seconds(failures: int) -> float:
    """Wait after the n-th failure of a message: 5 s, 10 s, 20 s, ... at most 10 minutes."""
    exponent = min(max(failures, 1) - 1, 16)  # bounded: 2**16 * 5 s is far past the cap anyway
    return min(BACKOFF_FIRST_SECONDS * 2**exponent, BACKOFF_MAX_SECONDS)


@dataclass(frozen=True)
class DeliveryStats:
    """What one pass did."""

    sent: int = 0
    rate_limited: int = 0  # the platform asked to wait (not a failure)
    failed: int = 0  # will be retried with backoff
    unreachable_chats: tuple[int, ...] = ()  # chat keys deactivated in this pass
    # Left queued: their platform's sender went away during the pass. (Platforms that have no
    # sender when the pass starts are not fetched at all, so they are not counted here.)
    without_sender: int = 0
    released_mutes: int = 0  # chats whose held alerts became one digest
    dead: int = 0  # moved to the dead letters (refused for good, or failed too often)
    store_failed: bool = False  # the store failed: the pass stopped; the next one backs off


@dataclass
class _Tally:
    sent: int = 0
    rate_limited: int = 0
    failed: int = 0
    unreachable: list[int] = field(default_factory=list)
    without_sender: int = 0
    dead: int = 0
    store_failed: bool = False

    def freeze(self, released_mutes: int) -> DeliveryStats:
        return DeliveryStats(
            self.sent,
            self.rate_limited,
            self.failed,
            tuple(self.unreachable),
            self.without_sender,
            released_mutes,
            self.dead,
            self.store_failed,
        )


LATE_AFTER = timedelta(minutes=5)


def late_note(item: OutboxItem, now: datetime) -> Message:
    """An alert or summary that waited (chat unreachable, platform down) says when it was raised,
    so an hour-old "BTC is above $91,934" is not read as news. The note does not depend on `now`:
    a retried message must stay the same message (senders track its parts by it)."""
    if item.message.kind not in ("alert", "summary") or now - item.created_at < LATE_AFTER:
        return item.message
    note = f"Delayed: raised {item.created_at:%Y-%m-%d %H:%M} UTC; prices have moved since."
    return dataclasses.replace(item.message, lines=(note, *item.message.lines))


def release_held_as_one(
    store: Store, chat_key: int, digest: Callable[[list[Message]], Message]
) -> int:
    """End a chat's hold: its held alerts are replaced by one digest message queued now (in one
    transaction). Returns how many were held."""
    held = [item.message for item in store.held_messages(chat_key)]
    store.release_held(chat_key, digest(held) if held else None)
    return len(held)


class Deliverer:
    """Sends the outbox. `deliver_due()` is one pass (an APScheduler job); `run()` loops.

    Mutes: with `digest(chat_key, held_messages) -> Message`, each pass also ends expired mutes,
    replacing a chat's held alerts by that one message. Without it, mutes are left to their owner
    (the alert monitor's job), so that held alerts are never released one by one behind its back.
    """

    def __init__(
        self,
        store: Store,
        senders: Mapping[str, Sender],
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        *,
        max_concurrent_chats: int = DEFAULT_CONCURRENT,
        batch_size: int = 100,
        digest: DigestMaker | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        in_flight: int = DEFAULT_IN_FLIGHT,
    ):
        self._store = store
        self._senders = senders  # live view: adapters register their senders at start
        self._clock = clock or utcnow
        self._sleep = sleep
        self._slots = asyncio.Semaphore(max(1, max_concurrent_chats))
        self._batch_size = batch_size
        self._digest = digest
        # Chats with a pass sending to them right now. Passes overlap (the alert tick delivers at
        # once while the 1 s delivery job runs, and a send can wait out a flood limit for
        # seconds): a second pass must not send the same unsent message again meanwhile.
        self._busy_chats: set[int] = set()
        self.max_attempts = max(1, int(max_attempts))
        self.wire = DeliveryWire(in_flight)
        self._records = Records(store, self._clock)  # what was accepted, recorded come what may

    @property
    def unrecorded(self) -> int:
        """Messages the platform accepted whose record is still to be written."""
        return self._records.unrecorded

    async def deliver_due(self, now: datetime | None = None) -> DeliveryStats:
        """One pass over what is due now: send, mark, reschedule. Never raises for a message;
        a store error ends the pass (returned as `store_failed`) and the next passes back off."""
        now = now or self._clock()
        if self._records.backing_off(now):
            return DeliveryStats(store_failed=True)
        try:
            self._records.replay()
            released = self._release_expired_mutes(now, self._digest) if self._digest else 0
            # Only platforms that can be sent to now: the mapping is live (adapters register
            # their senders at start); fetching unsendable messages would fill the batch.
            due = self._store.due_messages(now, self._batch_size, set(self._senders))
        except STORE_ERRORS as error:
            self._records.fault(error)
            return DeliveryStats(store_failed=True)
        self._records.retry_at = None  # it answers again; set anew if it fails during this pass
        by_chat: dict[int, list[OutboxItem]] = {}
        for item in due:
            if item.chat_key not in self._busy_chats:
                by_chat.setdefault(item.chat_key, []).append(item)
        # Claimed with no await since the query; each chat is released once its outcomes are
        # recorded, so a later pass sees those outcomes, never the stale "unsent".
        claimed = set(by_chat)
        self._busy_chats |= claimed

        def release(chat_key: int) -> None:
            if chat_key in claimed:  # only this pass's claim, never a later pass's
                claimed.discard(chat_key)
                self._busy_chats.discard(chat_key)

        async def deliver_chat(items: list[OutboxItem]) -> None:
            try:
                await self._deliver_chat(items, tally)
            finally:
                release(items[0].chat_key)

        tally = _Tally()
        try:
            await asyncio.gather(*(deliver_chat(items) for items in by_chat.values()))
        finally:
            for chat_key in list(claimed):  # a task cancelled before it ran
                release(chat_key)
        if not tally.store_failed:
            self._records.ok()
        self._records.pass_done()
        return tally.freeze(released)

    async def run(self, stop: asyncio.Event, interval_seconds: float = 1.0) -> None:
        """Deliver until `stop` is set. A failed pass (database locked...) is logged, not fatal."""
        while not stop.is_set():
            try:
                await self.deliver_due()
            except Exception:
                log.exception("outbox delivery pass failed; trying again")
            if stop.is_set():
                break
            if self._sleep is not None:
                await self._sleep(interval_seconds)
            else:  # wake at once on stop rather than at the end of the interval
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval_seconds)

    def _release_expired_mutes(self, now: datetime, digest: DigestMaker) -> int:
        released = 0
        for chat_key in self._store.expired_mutes(now):
            try:
                release_held_as_one(self._store, chat_key, functools.partial(digest, chat_key))
                released += 1
            except Exception:
                log.exception("could not release the held alerts of chat %s", chat_key)
        return released

    async def _deliver_chat(self, items: list[OutboxItem], tally: _Tally) -> None:
        async with self._slots:
            try:
                for item in items:
                    if tally.store_failed or self._records.retry_at is not None:
                        break  # the store is failing (seen by any pass): wait for the backoff
                    if not await self._deliver_one(item, tally, waiting=len(items)):
                        break  # keep the chat's order: the rest waits behind this one
            except STORE_ERRORS as error:
                # Recording an outcome failed: a message the platform accepted is remembered
                # (never sent again); the others stay as they were and are retried.
                tally.store_failed = True
                self._records.fault(error)
            except Exception:
                log.exception("delivery to chat %s stopped", items[0].chat_key)

    async def _deliver_one(self, item: OutboxItem, tally: _Tally, waiting: int) -> bool:
        """Send one message; True if the chat's next message may follow in this pass."""
        if self._records.already_sent(item.id):  # only its record had failed: recorded now
            tally.sent += 1
            return True
        sender = self._senders.get(item.chat.platform)
        if sender is None:
            tally.without_sender += waiting
            return False
        try:
            key = f"{item.id}-{int(item.created_at.timestamp()) % 100_000}"  # a nonce's worth
            with (
                resuming(item.parts_done, self._records.part_saver(item.id)),
                sending(item.chat.platform, key, self.wire),
            ):
                await sender.send(item.chat, late_note(item, self._clock()))
        except DeliveryRetryAfter as wait:
            retry_at = self._clock() + timedelta(seconds=wait.seconds)
            self._store.postpone(item.id, retry_at, f"rate limited: retry after {wait.seconds:g}s")
            tally.rate_limited += 1
            return False
        except ChatMoved as moved:
            self._store.move_chat(item.chat.platform, item.chat.chat_id, moved.new_chat_id)
            log.info(
                "%s chat %s moved to %s", item.chat.platform, item.chat.chat_id, moved.new_chat_id
            )
            if not moved.delivered:  # due again at once, to the new id
                self._store.postpone(item.id, self._clock(), "chat moved")
                return False
        except ChatUnreachable as gone:
            self._store.deactivate_chat(item.chat_key)
            tally.unreachable.append(item.chat_key)
            log.info(
                "%s chat %s is unreachable (%s): deactivated, its messages kept",
                item.chat.platform,
                item.chat.chat_id,
                gone,
            )
            return False
        except asyncio.CancelledError:
            raise
        except MessageRejected as refused:
            self._bury(item, f"refused: {refused}", tally)
            return True  # the chat's newer messages are not held back by this one
        except Exception as error:
            failures = item.attempts + 1
            reason = f"{type(error).__name__}: {error}"
            # The platform being down is nobody's message's fault: waited out, never buried.
            if failures >= self.max_attempts and not isinstance(error, PlatformUnavailable):
                self._bury(item, f"failed {failures} times, last: {reason}", tally, failures)
                return True
            retry_at = self._clock() + timedelta(seconds=backoff_seconds(failures))
            self._store.mark_failed(item.id, reason, retry_at)
            tally.failed += 1
            if item.attempts == 0:  # once per message: a dead platform must not flood the log
                log.warning(
                    "sending outbox message %s to %s chat %s failed (%s); retrying with backoff",
                    item.id,
                    item.chat.platform,
                    item.chat.chat_id,
                    reason,
                )
            return False
        # Noted and recorded right after the platform accepted, with no await in between: the
        # whole "could be sent twice" window described at the top.
        self._records.sent(item.id)
        tally.sent += 1
        return True

    def _bury(self, item: OutboxItem, reason: str, tally: _Tally, attempts: int | None = None):
        """To the dead letters, logged once (the row leaves the outbox, so this is its only
        line)."""
        self._store.dead_letter(item.id, reason, attempts)
        tally.dead += 1
        log.warning(
            "outbox message %s (%s) to %s chat %s moved to the dead letters: %s",
            item.id,
            item.message.kind,
            item.chat.platform,
            item.chat.chat_id,
            reason[:300],
        )


CONFIG = ConfigPart(
    {
        "delivery": {
            "max_attempts": DEFAULT_MAX_ATTEMPTS,
            "concurrent_chats": DEFAULT_CONCURRENT,
            "in_flight": DEFAULT_IN_FLIGHT,
        }
    }
)
