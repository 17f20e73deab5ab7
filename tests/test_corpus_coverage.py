"""Every recorded real payload of Binance, Coinglass, Telegram and Discord (tests/data/real) is
run through the real code by at least one test, so a payload added later cannot sit unused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.corpus import corpus_files

TESTS = Path(__file__).resolve().parent
CHECKED = ("binance", "coinglass", "telegram", "discord")


@pytest.mark.parametrize("venue", CHECKED)
def test_every_recorded_payload_is_used_by_a_test(venue):
    sources = "\n".join(
        p.read_text(encoding="utf-8")
        for p in TESTS.rglob("*.py")
        if p.name != Path(__file__).name and "data" not in p.parts
    )
    unused = [name for name in corpus_files(venue) if name not in sources]
    assert corpus_files(venue) and unused == []
