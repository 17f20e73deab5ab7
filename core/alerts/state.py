"""The per-rule memory of the alert engine, and its JSON form (opaque to the store).

Re-exported by core.alerts; see that module's docstring for what the fields mean to a trader.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache

STATE_VERSION = 1

Bounds = tuple[float, float]  # (low, high) of a zone, or of a single level (X, X)


@dataclass(frozen=True)
class RuleState:
    """What a rule remembers between ticks. Serialise with to_json(); from_json() never fails."""

    seen: bool = False  # evaluated once: the baseline is taken
    fired_up: float | None = None  # level crossed upward, not re-armed yet (breakout/above/ratio)
    fired_down: float | None = None  # level crossed downward, not re-armed yet
    near_up: Bounds | None = None  # near: short zone (above) the price came near, not re-armed
    near_down: Bounds | None = None  # near: long zone (below) the price came near, not re-armed
    watch_up: Bounds | None = None  # breakout: the key short zone of the last good tick
    watch_down: Bounds | None = None  # breakout: the key long zone of the last good tick
    # breakout: the USD the map gave the watched zones, so that an alert on a zone the refreshed
    # map no longer lists (the price walked through it) can still say how big it was
    watch_up_usd: float | None = None
    watch_down_usd: float | None = None
    # cluster: the big zones near the price at the last good tick (a zone overlapping one of
    # these is the same cluster, already told); absent in older states: none remembered
    clusters: tuple[Bounds, ...] = ()

    def to_json(self) -> str:
        """Compact, deterministic JSON: equal states give equal strings."""
        fields = {
            "v": STATE_VERSION,
            "s": self.seen,
            "u": self.fired_up,
            "d": self.fired_down,
            "nu": self.near_up,
            "nd": self.near_down,
            "wu": self.watch_up,
            "wd": self.watch_down,
            "wuu": self.watch_up_usd,
            "wdu": self.watch_down_usd,
            "cl": [list(bounds) for bounds in self.clusters] or None,
        }
        present = {
            key: value for key, value in fields.items() if value is not None and value is not False
        }
        return json.dumps(present, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> RuleState:
        """Parse a stored state; None, garbage, or a state of another version → a fresh state."""
        if not isinstance(text, str):
            return FRESH
        return parse_state(text)


FRESH = RuleState()


class _BadState(ValueError):
    pass


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _BadState
    return float(value)


def _optional_level(value: object) -> float | None:
    return None if value is None else _number(value)


def _optional_usd(value: object) -> float | None:
    """A zone's USD, or None. Only words depend on it: a bad one is dropped, not the whole state
    (a fresh state could repeat an alert)."""
    try:
        usd = _number(value)
    except _BadState:
        return None
    return usd if usd > 0 else None


def _optional_bounds(value: object) -> Bounds | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 2:
        raise _BadState
    low, high = _number(value[0]), _number(value[1])
    if low > high:
        raise _BadState
    return (low, high)


def _bounds_list(value: object) -> tuple[Bounds, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > 64:
        raise _BadState
    return tuple(b for b in (_optional_bounds(item) for item in value) if b is not None)


@lru_cache(maxsize=1 << 17)  # states repeat tick after tick: parse each distinct string once
def parse_state(text: str) -> RuleState:
    try:
        raw = json.loads(text)
        if not isinstance(raw, dict) or raw.get("v") != STATE_VERSION:
            return FRESH
        seen = raw.get("s", False)
        if not isinstance(seen, bool):
            return FRESH
        return RuleState(
            seen=seen,
            fired_up=_optional_level(raw.get("u")),
            fired_down=_optional_level(raw.get("d")),
            near_up=_optional_bounds(raw.get("nu")),
            near_down=_optional_bounds(raw.get("nd")),
            watch_up=_optional_bounds(raw.get("wu")),
            watch_down=_optional_bounds(raw.get("wd")),
            # absent in states written before the amounts were kept: None, the amount is unknown
            watch_up_usd=_optional_usd(raw.get("wuu")),
            watch_down_usd=_optional_usd(raw.get("wdu")),
            clusters=_bounds_list(raw.get("cl")),
        )
    except (ValueError, TypeError, OverflowError, RecursionError):  # + _BadState, JSONDecodeError
        return FRESH
