"""Realised liquidations in the store: each print once, minute aggregates that add up, gaps,
retention, and a writer that keeps the stream off the disk and writes its batch on a clean stop."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.store import LATEST_VERSION
from core.store.print_writer import PrintWriter
from core.types import LiqPrint
from tests.store_helpers import T0, clock_fixture, store_fixture  # noqa: F401


def liq(usd=100_000.0, side="long", venue="binance", symbol="BTC", seconds=0.0, price=90_000.0):
    return LiqPrint(venue, symbol, side, price, usd / price, usd, T0 + timedelta(seconds=seconds))


def test_a_resent_print_is_stored_and_counted_once(store):
    batch = [liq(seconds=1), liq(200_000, seconds=2)]
    assert store.add_prints(batch) == 2
    assert store.add_prints(batch + [liq(50_000, seconds=3)]) == 1  # the venue resent two
    (minute,) = store.liq_minutes("BTC", T0)
    assert (minute.usd, minute.count, minute.largest_usd) == (350_000, 3, 200_000)
    assert store.liq_print_count() == 3
    assert store.schema_version == LATEST_VERSION


def test_minutes_split_by_venue_side_and_minute_with_price_range(store):
    store.add_prints(
        [
            liq(seconds=5, price=91_000),
            liq(seconds=50, price=89_000),
            liq(side="short", seconds=10),
            liq(venue="bybit", seconds=20),
            liq(seconds=65),
        ]
    )
    rows = {(m.minute, m.venue, m.side): m for m in store.liq_minutes("BTC", T0)}
    first = rows[(T0, "binance", "long")]
    assert (first.count, first.low, first.high) == (2, 89_000, 91_000)
    assert rows[(T0, "binance", "short")].count == 1
    assert rows[(T0, "bybit", "long")].count == 1
    assert rows[(T0 + timedelta(minutes=1), "binance", "long")].count == 1
    largest = store.largest_liq_prints("BTC", T0, limit=1)
    assert len(largest) == 1


def test_gaps_open_once_close_and_overlap_queries(store):
    store.gap_started("bybit", T0, "ConnectionClosed")
    store.gap_started("bybit", T0 + timedelta(seconds=30), "again")  # already open: kept
    (gap,) = store.liq_gaps(T0 - timedelta(hours=1))
    assert gap.end is None and gap.start == T0
    store.gap_ended("bybit", T0 + timedelta(minutes=2))
    (gap,) = store.liq_gaps(T0 - timedelta(hours=1))
    assert gap.end == T0 + timedelta(minutes=2)
    assert store.liq_gaps(T0 + timedelta(minutes=3)) == []


def test_prune_removes_what_is_past_the_retention(store):
    store.add_prints([liq(seconds=0), liq(seconds=86_400 * 31)])
    assert store.prune_liquidations(T0 + timedelta(days=30)) == 1
    assert store.liq_print_count() == 1
    assert [m.minute for m in store.liq_minutes("BTC", T0)] == [T0 + timedelta(days=31)]


def test_writer_batches_off_the_loop_and_a_clean_stop_writes_the_batch_in_flight(tmp_path, store):
    writer = PrintWriter(store.path, flush_seconds=60)  # it would wait a minute before writing
    writer.start()
    writer.put([liq(seconds=n) for n in range(100)])
    writer.gap_started("okx", T0)
    writer.stop()  # Ctrl-C, SIGTERM, /quit: the batch in flight is written
    assert store.liq_print_count() == 100
    assert [g.venue for g in store.liq_gaps(T0)] == ["okx"]
    assert writer.stored == 100 and writer.latencies


def test_writer_flush_waits_for_what_was_queued(store):
    writer = PrintWriter(store.path, flush_seconds=0.01)
    writer.start()
    try:
        writer.put([liq(seconds=1)])
        writer.put([liq(seconds=1)])  # a resend within the same moment
        assert writer.flush()
        assert store.liq_print_count() == 1 and writer.duplicates == 1
    finally:
        writer.stop()


def test_feeds_start_from_now_and_follow_their_cursor(store):
    store.add_prints([liq(seconds=1)])
    chat = store.upsert_chat("telegram", "-100", kind="group")
    feed = store.set_liq_feed(chat, ["BTC"], 50_000)
    store.add_prints([liq(40_000, seconds=2), liq(60_000, seconds=3), liq(symbol="ETH", seconds=4)])
    found = store.liq_prints_after(feed.cursor, feed.symbols, feed.min_usd)
    assert [p.usd for _, p in found] == [60_000]
    store.advance_liq_feed(chat, found[-1][0])
    assert store.liq_feeds()[0].cursor == found[-1][0]
    assert store.feed_symbols() == {"BTC"}
    assert store.delete_liq_feed(chat) and store.liq_feeds() == []


def test_memory_database_is_refused_by_the_writer():
    with pytest.raises(Exception, match="file"):
        PrintWriter(":memory:")
