"""The /wallet alert rule on its own (pure) and its commit (state and alerts together, once)."""

from __future__ import annotations

from datetime import UTC, datetime

from core.alerts.wallet_watch import WalletWatcher, check_watch
from core.store import Store
from core.types import WalletPosition, WalletReading

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ADDRESS = "0x" + "5e" * 20


def reading(*positions: WalletPosition) -> WalletReading:
    return WalletReading(ADDRESS, NOW, positions)


def long_at(mark: float, liq: float | None = 100.0, coin: str = "BTC") -> WalletPosition:
    return WalletPosition(coin, 1.0, 110.0, liq, 10, "isolated", mark)


def short_at(mark: float, liq: float = 100.0) -> WalletPosition:
    return WalletPosition("ETH", -1.0, 90.0, liq, 10, "cross", mark)


def walk(pct: float, marks: list[float], make=long_at) -> list[list[int]]:
    """The stages fired at each mark in turn."""
    state: dict = {}
    fired = []
    for mark in marks:
        state, crossings = check_watch(pct, state, reading(make(mark)))
        fired.append([c.stage for c in crossings])
    return fired


def test_a_long_alerts_at_pct_then_at_half_and_re_arms_once_clearly_away():
    # liquidation at 100: 10 % away at 111.1, 5 % at 105.3, 2.5 % at 102.6
    marks = [112, 104.9, 104, 102.4, 102, 103, 104, 107, 104.9]
    assert walk(5, marks) == [[], [1], [], [2], [], [], [], [], [1]]


def test_a_jump_straight_past_half_the_distance_alerts_once_with_the_closer_stage():
    assert walk(5, [112, 101, 100.5]) == [[], [2], []]


def test_a_short_counts_its_distance_upwards():
    assert walk(5, [90, 95.5, 98], make=lambda m: short_at(m)) == [[], [1], [2]]


def test_positions_without_a_liquidation_price_never_alert():
    assert walk(5, [101, 100.1], make=lambda m: long_at(m, liq=None)) == [[], []]


def test_each_position_has_its_own_stage_and_the_alert_numbers_never_repeat():
    state, first = check_watch(5, {}, reading(long_at(104.9), long_at(104.9, coin="SOL")))
    assert [(c.position.coin, c.seq) for c in first] == [("BTC", 1), ("SOL", 2)]
    state, after_close = check_watch(5, state, reading(long_at(104.9)))  # SOL closed
    assert after_close == [] and "SOL:long" not in state
    state, reopened = check_watch(5, state, reading(long_at(104.9), long_at(104.9, coin="SOL")))
    assert [(c.position.coin, c.seq) for c in reopened] == [("SOL", 3)]


class NoClient:
    async def clearinghouse_state(self, address):  # pragma: no cover - never called here
        raise AssertionError


def test_a_check_repeated_on_the_same_state_queues_its_alert_once(tmp_path):
    store = Store.open(tmp_path / "db.sqlite", clock=lambda: NOW)
    try:
        chat = store.upsert_chat("console", "c1", kind="private", user_id="u1")
        watch = store.set_wallet_watch(chat, ADDRESS, 5)
        job = WalletWatcher(NoClient(), store, clock=lambda: NOW)  # type: ignore[arg-type]
        assert job._check(watch, reading(long_at(104.9))) == 1
        assert job._check(watch, reading(long_at(104.9))) == 0  # a re-run: the dedup key holds
        assert len(store.pending(chat)) == 1
        assert store.wallet_watch(chat).state == {"BTC:long": 1, "seq": 1}
    finally:
        store.close()


def test_a_chat_that_is_deleted_takes_its_watch_and_the_reading_with_it(tmp_path):
    store = Store.open(tmp_path / "db.sqlite", clock=lambda: NOW)
    try:
        chat = store.upsert_chat("console", "c1", kind="private", user_id="u1")
        store.set_wallet_watch(chat, ADDRESS, 5)
        store.save_wallet_reading(reading(long_at(120)))
        store.save_wallet_reading(WalletReading("0x" + "99" * 20, NOW))  # nobody wants it
        assert store.wallet_reading("0x" + "99" * 20) is None
        store.set_wallet_universe([])  # the config changed: unused readings are forgotten
        assert store.wallet_reading(ADDRESS) is not None  # still watched
        store.delete_wallet_watch(chat)
        assert store.wallet_reading(ADDRESS) is None
    finally:
        store.close()
