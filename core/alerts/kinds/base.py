"""What an alert kind is: how users type it, how it reads, and what one step of it does.

A kind is one module holding one `AlertKind` (two for the twin price levels); the registry in
`core/alerts/kinds/__init__.py` lists them. `/alert`'s usage line, Discord's choices and /help
are all derived from the registry, so a new kind is one module plus one registry line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.alerts.state import Bounds, RuleState
from core.alerts.tick import SymbolTick, finite_positive
from core.kernel import fmt, parse
from core.kernel.errors import UsageError
from core.types import AlertEvent, Rule


@dataclass(frozen=True)
class Fire:
    """The facts of one alert, before the engine adds whom it is for (see core.types.AlertEvent)."""

    level: float | None
    upward: bool = True
    zone: Bounds | None = None
    zone_usd: float | None = None
    extreme: float | None = None
    threshold: float | None = None
    measured: float | None = None
    first_look: bool = False


Step = tuple[RuleState, list[Fire]]
# (value, state, tick, re-arm margin as a fraction) -> (new state, fires)
StepFunction = Callable[[float | None, RuleState, SymbolTick, float], Step]


@dataclass(frozen=True)
class AlertKind:
    name: str  # as typed: /alert BTC <name> ...
    syntax: str  # `near PCT`: the usage fragment
    hint: str  # one line for pickers (Discord's choices): what it watches for
    describe: Callable[[Rule], str]  # `BTC within 1.5% of a key zone` (/alerts, confirmations)
    step: StepFunction  # the maths: facts only
    text: Callable[[AlertEvent], str]  # the sentence a trader reads when it fires
    parse_value: Callable[[str], float] | None = None  # None: the kind takes no value
    max_value: float | None = None  # values beyond this cannot be evaluated (skipped, no crash)

    def parse(self, value: str | float | None, usage: str) -> float | None:
        """The value as typed → the stored value; UsageError naming the right usage."""
        given = value not in (None, "")
        if self.parse_value is None:
            if given:
                raise UsageError(f"{self.name} takes no value. Usage: {usage}")
            return None
        if not given:
            raise UsageError(f"{self.name} needs a value. Usage: {usage}")
        return self.parse_value(str(value))

    def can_evaluate(self, value: object) -> bool:
        """A stored value the step can use (a database edited by hand must not crash a tick)."""
        if self.parse_value is None:
            return True
        if not finite_positive(value):
            return False
        return self.max_value is None or value <= self.max_value


def number(what: str, low: float, high: float) -> Callable[[str], float]:
    """A value parser for numbers within [low, high] (core.kernel.parse.number)."""
    return lambda text: parse.number(text, what, low, high)


def zone_phrase(side: str, zone: Bounds, usd: float | None) -> str:
    """`the key short zone $91,800–$92,300 ($412.5M of shorts)`; the amount only when known."""
    low, high = zone
    text = f"the key {side} zone {fmt.price(low)}–{fmt.price(high)}"
    if usd is not None and usd > 0:
        text += f" ({fmt.money(usd)} of {side}s)"
    return text
