"""`cluster USD [PCT]`: a zone of at least USD appears (or grows past USD) within PCT % of the
price (default 5 %), compared with the previous maps.

One alert per cluster: the rule remembers the big zones near the price at its last good tick
(RuleState.clusters); a zone that overlaps one of them, give or take a bucket (a cluster drifts
and widens between refreshes), is the same cluster and stays quiet. Only a zone that was not
there, or was smaller than USD, fires. A new rule takes the map as it finds it (no alert for
clusters that were already there: it watches for *new* ones).

The rule's one stored number holds both values: whole USD plus PCT/100 as the fraction
(`50_000_000.05` = $50M within 5 %); `usd_and_pct` reads it back. Exact up to trillions.
"""

from __future__ import annotations

import math

from core.alerts.kinds.base import AlertKind, Fire, Step
from core.alerts.state import Bounds, RuleState
from core.alerts.tick import SymbolTick, gap_pct
from core.kernel import fmt, parse
from core.kernel.errors import UsageError
from core.types import AlertEvent, Rule

DEFAULT_PCT = 5.0
MIN_USD, MAX_USD = 10_000.0, 1e12
MIN_PCT, MAX_PCT = 0.1, 49.9
SAME_CLUSTER_SLACK = 0.002  # zones closer than 0.2 % of the price are one cluster
USAGE_HINT = "e.g. /alert BTC cluster 50M or /alert BTC cluster 50M 3"


def encode(usd: float, pct: float) -> float:
    return float(round(usd)) + round(pct, 1) / 100


def usd_and_pct(value: float) -> tuple[float, float]:
    usd = math.floor(value)
    pct = round((value - usd) * 100, 1)
    return float(usd), pct or DEFAULT_PCT


def parse_value(text: str) -> float:
    words = text.split()
    if not 1 <= len(words) <= 2:
        raise UsageError(f"cluster takes USD and an optional %: {USAGE_HINT}.")
    pct = parse.number(words[1], "distance %", MIN_PCT, MAX_PCT) if len(words) == 2 else None
    usd = parse.money_amount(words[0], "cluster size", MIN_USD, MAX_USD)
    return encode(usd, DEFAULT_PCT if pct is None else pct)


def _same(zone: Bounds, known: tuple[Bounds, ...], price: float) -> bool:
    slack = price * SAME_CLUSTER_SLACK
    return any(zone[0] <= k[1] + slack and k[0] - slack <= zone[1] for k in known)


def step(value: float | None, state: RuleState, tick: SymbolTick, m: float) -> Step:
    usd, pct = usd_and_pct(float(value))
    price = tick.price
    near = tuple(
        sorted(
            bounds
            for bounds, size in tick.usd.items()
            if size >= usd and gap_pct(bounds, price, price, price) <= pct
        )
    )
    fires = []
    if state.seen:
        for bounds in near:
            if _same(bounds, state.clusters, price):
                continue  # the cluster we already told about (or one that was there already)
            upward = bounds[0] > price
            fires.append(
                Fire(
                    bounds[0] if upward else bounds[1],
                    upward=upward,
                    zone=bounds,
                    zone_usd=tick.usd[bounds],
                    threshold=usd,
                    measured=gap_pct(bounds, price, price, price),
                )
            )
    return RuleState(seen=True, clusters=near), fires


def text(event: AlertEvent) -> str:
    low, high = event.zone or (event.level, event.level)
    side, where = ("short", "above") if event.upward else ("long", "below")
    distance = event.measured if event.measured is not None else 0.0
    return (
        f"{event.symbol}: a new {fmt.money(event.zone_usd)} {side} cluster at "
        f"{fmt.price(low)}–{fmt.price(high)}, {distance:.1f}% {where} the price "
        f"({fmt.price(event.price)}); your threshold {fmt.money(event.threshold)}"
    )


def describe(rule: Rule) -> str:
    usd, pct = usd_and_pct(float(rule.value))
    return f"{rule.symbol} new cluster of {fmt.money(usd)}+ within {pct:g}% of the price"


KIND = AlertKind(
    name="cluster",
    syntax="cluster USD [PCT]",
    hint="cluster: a new zone of VALUE USD forms near the price",
    describe=describe,
    step=step,
    text=text,
    parse_value=parse_value,
)
