"""The per-user command budget (`[alerts] commands_per_minute`), shared by every chat adapter.

Platform-neutral: a user is any string key the adapter chooses, the clock is injectable so tests
move time instead of waiting for it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Literal

Verdict = Literal["ok", "warn", "drop"]

WINDOW_SECONDS = 60.0
PRUNE_EVERY_CHECKS = 1000


class CommandRateLimit:
    """At most `per_minute` commands per user in any 60 s; the first one over gets a warning.

    `check` answers "ok" (serve it), "warn" (the first command over the budget: tell the user
    once) or "drop" (over again: the adapter decides whether to answer at all). `per_minute` of
    0 or less means no limit.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        self.per_minute = per_minute
        self._clock = clock
        self._recent: dict[str, deque[float]] = {}
        self._warned: set[str] = set()
        self._checks = 0

    def check(self, key: str) -> Verdict:
        if self.per_minute <= 0:
            return "ok"
        self._checks += 1
        if self._checks % PRUNE_EVERY_CHECKS == 0:
            self.prune()  # callers need not remember to: memory stays flat on its own
        now = self._clock()
        recent = self._recent.setdefault(key, deque())
        while recent and recent[0] <= now - WINDOW_SECONDS:
            recent.popleft()
        if len(recent) < self.per_minute:
            recent.append(now)
            self._warned.discard(key)
            return "ok"
        if key in self._warned:
            return "drop"
        self._warned.add(key)
        return "warn"

    def prune(self) -> None:
        """Forget users idle for a minute (keeps memory flat on a busy bot)."""
        now = self._clock()
        self._recent = {k: q for k, q in self._recent.items() if q and q[-1] > now - WINDOW_SECONDS}
        self._warned &= set(self._recent)
