"""The one formatter: money never reads '$999,960,000' or '1000.0M'."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.kernel import fmt


@pytest.mark.parametrize(
    "usd, shown",
    [
        (2.705e9, "$2.71B"),
        (412.5e6, "$412.5M"),
        (999_960_000, "$1.00B"),
        (999_960, "$1.0M"),
        (999.6, "$1.0K"),
        (950, "$950"),
        (-1.2e6, "-$1.2M"),
        (float("nan"), "—"),
        (None, "—"),
    ],
)
def test_money_rounds_up_into_the_next_unit(usd, shown):
    assert fmt.money(usd) == shown


@given(st.floats(min_value=1_000, max_value=999e12))
def test_money_keeps_at_most_three_digits_before_the_point(usd):
    shown = fmt.money(usd)
    assert re.fullmatch(r"\$\d{1,3}\.\d{1,2}[KMBT]", shown), shown
