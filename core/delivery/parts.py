"""Progress through a message sent in several parts (a chart, then a long text), kept across
retries and restarts, so that a retry sends only the parts the platform has not accepted yet.

A Sender records each accepted part in its `PartProgress`; the Deliverer, around each send,
says how far the outbox row got (`resuming(done, save)`): the sender then skips those parts and
every newly accepted part is written to the outbox row too (`parts_done`), so a restart in the
middle of a long summary resumes at the next part. Outside a delivery (a command's reply) the
progress is only kept in memory, bounded.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from core.types import Message

log = logging.getLogger(__name__)


@dataclass
class _Resume:
    done: int
    save: Callable[[int], None]


_CURRENT: ContextVar[_Resume | None] = ContextVar("liqwatch_part_resume", default=None)


@contextmanager
def resuming(done: int, save: Callable[[int], None]) -> Iterator[None]:
    """Within this block, a sender's PartProgress starts at `done` parts and reports each newly
    accepted part count to `save` (which must not raise; failures are logged and ignored: the
    memory keeps the count until the process ends)."""
    token = _CURRENT.set(_Resume(done, save))
    try:
        yield
    finally:
        _CURRENT.reset(token)


class PartProgress:
    """How many parts of a multi-part message a platform accepted, per (target, message)."""

    def __init__(self, limit: int = 512):
        self._limit = limit
        self._done: OrderedDict[tuple, int] = OrderedDict()

    @staticmethod
    def _key(target: str, message: Message) -> tuple:
        return (target, hash(message))

    def done(self, target: str, message: Message) -> int:
        resume = _CURRENT.get()
        persisted = resume.done if resume is not None else 0
        return max(self._done.get(self._key(target, message), 0), persisted)

    def record(self, target: str, message: Message, parts: int) -> None:
        key = self._key(target, message)
        self._done[key] = parts
        self._done.move_to_end(key)
        while len(self._done) > self._limit:
            self._done.popitem(last=False)
        resume = _CURRENT.get()
        if resume is not None and parts > resume.done:
            resume.done = parts
            try:
                resume.save(parts)
            except Exception as error:  # the store is down: memory still skips them this run
                log.warning("could not record %d sent parts: %s", parts, error)

    def finish(self, target: str, message: Message) -> None:
        self._done.pop(self._key(target, message), None)
