"""A bounded memory of things said lately ("this symbol is unknown"), each forgotten after a
while, so that what changed in the world (a new listing) comes back by itself."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any


class ExpiringSet:
    """Keys remembered for `ttl` by `clock` (datetimes with a timedelta, or seconds with a
    float: anything whose difference compares with `ttl`); at most `limit`, the oldest going
    first (users can type any name)."""

    def __init__(self, ttl: Any, clock: Callable[[], Any], limit: int = 1000):
        self.ttl = ttl
        self._clock = clock
        self._limit = limit
        self._since: dict[Hashable, Any] = {}

    def add(self, key: Hashable) -> None:
        self._since.pop(key, None)  # re-said: now the newest
        if len(self._since) >= self._limit:
            self._since.pop(next(iter(self._since)))
        self._since[key] = self._clock()

    def __contains__(self, key: Hashable) -> bool:
        since = self._since.get(key)
        if since is None:
            return False
        if self._clock() - since >= self.ttl:
            del self._since[key]
            return False
        return True
