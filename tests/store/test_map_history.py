"""The map history: each refresh kept compactly, throttled, pruned after the retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from core.store import LATEST_VERSION, Store
from core.types import Level, Snapshot

T0 = datetime(2025, 1, 5, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def btc_map(as_of: datetime, price: float = 90_000.0, levels: int = 400) -> Snapshot:
    prices = np.round(np.linspace(price * 0.8, price * 1.2, levels), -1)
    usd = np.random.default_rng(1).gamma(2.0, 1.0, levels) * 1e6
    return Snapshot(
        "BTC",
        price,
        tuple(
            Level(p, long_usd=u if p < price else 0.0, short_usd=u if p > price else 0.0)
            for p, u in zip(prices.tolist(), usd.tolist(), strict=True)
        ),
        "estimate",
        as_of,
    )


def test_a_recorded_map_comes_back_with_its_levels_and_price(tmp_path):
    with Store.open(tmp_path / "db.sqlite", clock=Clock()) as store:
        assert store.schema_version == LATEST_VERSION
        snapshot = btc_map(T0)
        assert store.record_map(snapshot)
        [frame] = store.map_frames("BTC", T0 - timedelta(hours=1))
    assert frame.taken_at == T0 and frame.price == 90_000.0 and frame.source == "estimate"
    want_long = np.array([lv.long_usd for lv in snapshot.levels])
    want_short = np.array([lv.short_usd for lv in snapshot.levels])
    np.testing.assert_allclose(frame.prices, [lv.price for lv in snapshot.levels], rtol=1e-6)
    # USD kept to 1/65,535 of the map's biggest level: invisible in a heatmap's colour
    peak = max(want_long.max(), want_short.max())
    assert np.abs(frame.long_usd - want_long).max() <= peak / 65535
    assert np.abs(frame.short_usd - want_short).max() <= peak / 65535
    assert abs(frame.long_usd.sum() - want_long.sum()) / want_long.sum() < 1e-4


def test_a_400_bucket_map_takes_a_few_kilobytes(tmp_path):
    with Store.open(tmp_path / "db.sqlite", clock=Clock()) as store:
        store.record_map(btc_map(T0))
        rows, size = store.map_history_size()
    assert rows == 1 and size < 4_000


def test_refreshes_closer_than_the_interval_keep_one_map(tmp_path):
    clock = Clock()
    with Store.open(tmp_path / "db.sqlite", clock=clock) as store:
        store.set_map_history(every_minutes=10, keep_days=14)
        kept = [store.record_map(btc_map(T0 + timedelta(minutes=m))) for m in range(0, 31)]
        assert sum(kept) == 4  # minutes 0, 10, 20, 30
        frames = store.map_frames("BTC", T0)
    assert [f.taken_at.minute for f in frames] == [0, 10, 20, 30]


def test_the_interval_holds_across_a_restart(tmp_path):
    path = tmp_path / "db.sqlite"
    with Store.open(path, clock=Clock()) as store:
        store.record_map(btc_map(T0))
    with Store.open(path, clock=Clock()) as store:
        assert not store.record_map(btc_map(T0 + timedelta(minutes=3)))
        assert store.record_map(btc_map(T0 + timedelta(minutes=10)))


def test_maps_older_than_the_retention_are_pruned(tmp_path):
    clock = Clock()
    with Store.open(tmp_path / "db.sqlite", clock=clock) as store:
        store.set_map_history(every_minutes=60, keep_days=14)
        for day in range(20):
            clock.now = T0 + timedelta(days=day)
            store.record_map(btc_map(clock.now))
        frames = store.map_frames("BTC", T0 - timedelta(days=1))
    # pruned while recording: only the last 14 days (and the map exactly 14 days old) remain
    assert len(frames) == 15
    assert frames[0].taken_at == T0 + timedelta(days=5)


def test_an_empty_or_broken_map_is_not_recorded(tmp_path):
    with Store.open(tmp_path / "db.sqlite", clock=Clock()) as store:
        empty = Snapshot("BTC", 90_000.0, (), "estimate", T0)
        broken = Snapshot("BTC", float("nan"), btc_map(T0).levels, "estimate", T0)
        assert not store.record_map(empty)
        assert not store.record_map(broken)
        assert store.map_frames("BTC", T0 - timedelta(days=1)) == []


def test_two_sources_maps_are_never_mixed(tmp_path):
    with Store.open(tmp_path / "db.sqlite", clock=Clock()) as store:
        store.record_map(btc_map(T0))
        other = btc_map(T0 + timedelta(minutes=20))
        store.record_map(Snapshot("BTC", 1.0, other.levels, "coinglass", other.as_of))
        frames = store.map_frames("BTC", T0 - timedelta(hours=1))
    assert [f.source for f in frames] == ["coinglass"]
