"""Staying far from Discord's penalties: the IP block and the invalid-request limit.

- A 429 with no `retry_after` and no rate-limit headers is not a bucket limit but a temporary IP
  block by Cloudflare (tests/data/real/discord/error_429_cloudflare_1015_plain_text.json: the
  body is the plain text "error code: 1015"). Knocking again soon extends it, so every send
  waits: 1 minute, doubling per repeat, at most 15 minutes, until one send goes through.
- Discord bans an IP for an hour after 10,000 invalid requests (401, 403, 429 other than a
  shared-resource 429) in 10 minutes. `InvalidRequests` counts them over a sliding 10 minutes;
  past `budget` (1,000 by default: a tenth of the limit) sends pause until the window cools.

Both answer with the wait as seconds, which the sender raises as DeliveryRetryAfter, so the
outbox postpones the message without counting a failure, and nothing reaches Discord meanwhile.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)

WINDOW_SECONDS = 600.0
DEFAULT_BUDGET = 1000
BLOCK_FIRST_SECONDS = 60.0
BLOCK_MAX_SECONDS = 900.0


class InvalidRequests:
    """Invalid responses over the last 10 minutes, and the pause once past the budget."""

    def __init__(self, budget: int = DEFAULT_BUDGET, clock: Callable[[], float] = time.monotonic):
        self.budget = budget
        self._clock = clock
        self._seen: deque[float] = deque()
        self._warned = False

    def _prune(self, now: float) -> None:
        while self._seen and self._seen[0] <= now - WINDOW_SECONDS:
            self._seen.popleft()

    def count(self, status: int, scope: str | None = None) -> None:
        if status in (401, 403) or (status == 429 and scope != "shared"):
            now = self._clock()
            self._seen.append(now)
            self._prune(now)

    @property
    def in_window(self) -> int:
        self._prune(self._clock())
        return len(self._seen)

    def wait(self) -> float:
        """0, or the seconds until the window holds fewer than `budget` invalid requests."""
        now = self._clock()
        self._prune(now)
        if len(self._seen) < self.budget:
            self._warned = False
            return 0.0
        if not self._warned:
            self._warned = True
            log.warning(
                "discord: %d invalid requests in 10 minutes; pausing sends to stay far from the "
                "10,000 that ban the IP",
                len(self._seen),
            )
        oldest_to_drop = self._seen[len(self._seen) - self.budget]
        return max(1.0, oldest_to_drop + WINDOW_SECONDS - now)


class IpBlock:
    """The temporary IP block: exponential, capped; cleared by the first send that succeeds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._until = 0.0
        self._repeats = 0

    def blocked(self) -> float:
        return max(0.0, self._until - self._clock())

    def hit(self) -> float:
        wait = min(BLOCK_FIRST_SECONDS * 2**self._repeats, BLOCK_MAX_SECONDS)
        self._repeats += 1
        self._until = self._clock() + wait
        log.warning("discord: 429 without retry_after (an IP block); no sends for %.0f s", wait)
        return wait

    def cleared(self) -> None:
        if self._repeats:
            log.info("discord: sends go through again after an IP block")
        self._repeats = 0
        self._until = 0.0
