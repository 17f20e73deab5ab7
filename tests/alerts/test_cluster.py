"""`/alert BTC cluster USD [PCT]`: a new big zone near the price alerts once, not every refresh."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from core.alerts.engine import MarketView, evaluate
from core.alerts.kinds import KINDS, notice, rule_value
from core.alerts.kinds.cluster import usd_and_pct
from core.alerts.state import RuleState
from core.kernel.errors import UsageError
from core.market.analysis import analyze
from core.types import Level, Rule, Snapshot
from tests.service_helpers import make_app_fixture, say  # noqa: F401  (the make_app fixture)

NOW = datetime(2025, 1, 5, 12, 0, tzinfo=UTC)
PRICE = 50_000.0


def snapshot(clusters: dict[float, float], price: float = PRICE) -> Snapshot:
    """Thin levels ($0.5–1.5M) every $100 from -10 % to +10 %, plus clusters {price: USD}."""
    levels = []
    for n, p in enumerate(range(45_000, 55_001, 100)):
        usd = clusters.get(float(p), 1e6 + 5e5 * math.sin(n * 1.7))
        if p < price:
            levels.append(Level(float(p), long_usd=usd))
        elif p > price:
            levels.append(Level(float(p), short_usd=usd))
    return Snapshot("BTC", price, tuple(levels), "estimate", NOW)


class Rules:
    """One cluster rule ticking over a sequence of maps, as the monitor would run it."""

    def __init__(self, typed: str) -> None:
        self.rule = Rule(1, 1, "u", "BTC", "cluster", rule_value("cluster", typed))
        self.state: str | None = None

    def tick(self, snap: Snapshot) -> list[str]:
        view = MarketView(
            symbol="BTC", price=snap.price, analysis=analyze(snap), high_since=snap.price,
            low_since=snap.price, as_of=snap.as_of,
        )  # fmt: skip
        events, states = evaluate([self.rule], {1: self.state}, {"BTC": view}, NOW, 0.3)
        self.state = states.get(1, self.state)
        return [notice(e).text for e in events]


def test_a_new_cluster_near_the_price_alerts_once_while_it_stays():
    rules = Rules("50M")
    assert rules.tick(snapshot({})) == []  # the baseline
    fired = rules.tick(snapshot({51_000.0: 60e6}))
    assert len(fired) == 1
    assert "new $" in fired[0] and "short cluster" in fired[0] and "$51,000" in fired[0]
    assert "2.0% above" in fired[0]
    for _ in range(5):  # it stays, a refresh at a time
        assert rules.tick(snapshot({51_000.0: 60e6})) == []
    # it drifts by a bucket and grows: still the same cluster
    assert rules.tick(snapshot({51_100.0: 80e6})) == []


def test_a_zone_growing_past_the_threshold_alerts():
    rules = Rules("50M")
    rules.tick(snapshot({48_500.0: 30e6}))
    assert rules.tick(snapshot({48_500.0: 40e6})) == []
    [fired] = rules.tick(snapshot({48_500.0: 70e6}))
    assert "long cluster" in fired and "below" in fired


def test_clusters_beyond_the_distance_do_not_alert():
    rules = Rules("50M 3")
    rules.tick(snapshot({}))
    assert rules.tick(snapshot({53_000.0: 90e6})) == []  # 6 % away
    assert len(rules.tick(snapshot({53_000.0: 90e6, 51_200.0: 90e6}))) == 1  # 2.4 % away


def test_a_cluster_already_there_when_the_rule_is_set_is_not_news():
    rules = Rules("50M")
    assert rules.tick(snapshot({51_000.0: 60e6})) == []
    assert rules.tick(snapshot({51_000.0: 60e6})) == []


def test_a_cluster_that_left_and_came_back_alerts_again():
    rules = Rules("50M")
    rules.tick(snapshot({}))
    assert len(rules.tick(snapshot({51_000.0: 60e6}))) == 1
    assert rules.tick(snapshot({})) == []  # swept
    assert len(rules.tick(snapshot({51_000.0: 60e6}))) == 1


def test_typed_values_and_what_the_rule_says():
    assert usd_and_pct(rule_value("cluster", "50M")) == (50e6, 5.0)
    assert usd_and_pct(rule_value("cluster", "2.5b 1.5")) == (2.5e9, 1.5)
    assert usd_and_pct(rule_value("cluster", "$75,000,000 10%")) == (75e6, 10.0)
    rule = Rule(3, 1, "u", "ETH", "cluster", rule_value("cluster", "20M 3"))
    assert KINDS["cluster"].describe(rule) == "ETH new cluster of $20.0M+ within 3% of the price"
    for bad in ("lots", "50M 90", "5", "50M 3 4", ""):
        with pytest.raises(UsageError):
            rule_value("cluster", bad)


def test_state_keeps_the_clusters_and_reads_older_states():
    state = RuleState(seen=True, clusters=((51_000.0, 51_100.0),))
    assert RuleState.from_json(state.to_json()) == state
    old = '{"s":true,"v":1}'  # written before clusters were remembered
    assert RuleState.from_json(old) == RuleState(seen=True)


async def test_alert_command_takes_usd_and_pct(make_app):
    app, _, _ = make_app()
    text, [reply] = await say(app, "/alert BTC cluster 50M 3")
    assert reply.title == "Alert set", text
    assert "BTC new cluster of $50.0M+ within 3% of the price" in text
    text, _ = await say(app, "/alerts")
    assert "new cluster of $50.0M+" in text
    text, [bad] = await say(app, "/alert BTC cluster")
    assert bad.kind == "error" and "cluster USD [PCT]" in text
