"""The store's chats, watchlists, alert rules and summaries."""

from __future__ import annotations

from datetime import timedelta

from core.types import ChatRef
from tests.store_helpers import T0, clock_fixture, store_fixture  # noqa: F401  (fixtures)

# ---- chats, watchlists, rules ----------------------------------------------------------------


def test_a_chat_is_one_row_per_thread_and_comes_back_when_it_returns(store):
    group = store.upsert_chat("telegram", "-100", kind="group")
    topic = store.upsert_chat("telegram", "-100", kind="group", thread_id="5")
    assert group != topic
    assert store.upsert_chat("telegram", "-100", kind="group") == group  # NULL thread: same row
    assert store.set_chat_active("telegram", "-100", False) == 2
    assert not store.chat(group)["active"] and not store.chat(topic)["active"]
    assert store.upsert_chat("telegram", "-100", kind="group", user_id="u9") == group
    assert store.chat(group)["active"] and not store.chat(topic)["active"]
    assert store.chat_ref(group) == ChatRef("telegram", "-100", user_id="u9")


def test_watch_says_whether_it_changed_anything(store):
    key = store.upsert_chat("console", "c")
    assert store.watch(key, "u", "BTC") is True
    assert store.watch(key, "u", "BTC") is False
    assert store.watch(key, "u", "ETH") is True
    assert store.watchlist(key, "u") == ["BTC", "ETH"]
    assert store.unwatch(key, "u", "BTC") is True
    assert store.unwatch(key, "u", "BTC") is False
    assert store.watchlist(key, "u") == ["ETH"]


def test_a_chat_that_left_stops_needing_symbols_and_its_rules_stop(store):
    here = store.upsert_chat("telegram", "1")
    gone = store.upsert_chat("discord", "2")
    store.watch(here, "u", "BTC")
    store.watch(gone, "u", "DOGE")
    kept = store.add_rule(here, "u", "ETH", "ratio", 1.5)
    store.add_rule(gone, "u", "SOL", "breakout", None)
    store.set_summary(gone, ["XRP"], "daily 08:00", "UTC")
    store.deactivate_chat(gone)
    assert store.watched_symbols() == {"BTC"}
    assert store.rules_symbols() == {"ETH"}
    assert [r.id for r in store.active_rules()] == [kept.id]
    assert store.needed_symbols() == {"BTC", "ETH"}
    assert store.summaries() == []


def test_only_the_owner_deletes_a_rule_and_paused_rules_are_not_evaluated(store, clock):
    key = store.upsert_chat("telegram", "-1", kind="group")
    mine = store.add_rule(key, "alice", "BTC", "above", 100_000)
    theirs = store.add_rule(key, "bob", "BTC", "below", 80_000)
    assert mine.created_at == T0 and store.count_rules(key, "alice") == 1
    assert store.delete_rule(key, "bob", mine.id) is False
    store.set_rule_paused(theirs.id, True)
    store.snooze_rule(mine.id, T0 + timedelta(hours=1))
    assert [r.id for r in store.active_rules()] == [mine.id]
    assert store.rules_for(key, "alice")[0].snoozed_until == T0 + timedelta(hours=1)
    assert store.rules_for(key, "bob")[0].paused
    assert store.delete_rule(key, "alice", mine.id) is True
    assert store.active_rules() == []


# ---- summaries -----------------------------------------------------------------------------


def test_a_chat_has_one_summary_that_remembers_what_it_last_showed(store, clock):
    key = store.upsert_chat("telegram", "-1", kind="channel")
    first = store.set_summary(key, ["BTC", "ETH"], "every 4h", "UTC")
    assert store.set_summary(key, ["SOL"], "daily 08:00", "Asia/Tokyo") == first
    store.summary_done(first, clock(), {"SOL": 1.73, "BAD": float("inf")}, {"SOL": 181.5})
    [summary] = store.summaries()
    assert summary["symbols"] == ["SOL"] and summary["schedule"] == "daily 08:00"
    assert summary["tz"] == "Asia/Tokyo" and summary["last_run_at"] == T0
    assert summary["last_ratios"] == {"SOL": 1.73, "BAD": None}
    assert summary["last_prices"] == {"SOL": 181.5}
    assert summary["chat"].chat_id == "-1"
    assert summary["last_state"] == {}
    shown = {"BTC": {"ratio": 1.2, "price": 90_131.71, "key_short": 94_681.0, "key_long": None}}
    store.summary_done(first, clock(), state=shown)
    [summary] = store.summaries()
    assert summary["last_state"] == shown
    assert summary["last_ratios"] == {"BTC": 1.2} and summary["last_prices"] == {"BTC": 90_131.71}
    assert store.delete_summary(key) is True and store.delete_summary(key) is False
    assert store.summaries() == []
