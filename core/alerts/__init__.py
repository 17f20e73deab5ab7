"""Alerts: the pure engine (facts), the kinds users hold, and the periodic checks behind them.

from core.alerts import MarketView, evaluate, coalesce, notice, KINDS
"""

from core.alerts.engine import MarketView, RuleState, coalesce, evaluate
from core.alerts.kinds import ALERT_USAGE, KIND_NAMES, KINDS, describe_rule, notice, rule_value

__all__ = [
    "ALERT_USAGE",
    "KINDS",
    "KIND_NAMES",
    "MarketView",
    "RuleState",
    "coalesce",
    "describe_rule",
    "evaluate",
    "notice",
    "rule_value",
]
