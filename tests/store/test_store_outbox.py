"""The store's outbox: atomic and idempotent ticks, due order, retries, mutes and their digest."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.kernel.errors import StoreError
from core.types import Message
from tests.store_helpers import T0, alert, clock_fixture, store_fixture  # noqa: F401  (fixtures)

# ---- commit_tick --------------------------------------------------------------------------------


def test_commit_tick_writes_states_and_messages_together(store):
    key = store.upsert_chat("telegram", "1")
    rule = store.add_rule(key, "u", "BTC", "breakout", None)
    ids = store.commit_tick({rule.id: '{"fired": 1}'}, [(key, alert(), "r1:t1")])
    assert len(ids) == 1
    assert store.rule_states() == {rule.id: '{"fired": 1}'}
    assert [i.message for i in store.due_messages()] == [alert()]


def test_commit_tick_that_fails_midway_leaves_neither_states_nor_messages(store):
    key = store.upsert_chat("telegram", "1")
    rule = store.add_rule(key, "u", "BTC", "breakout", None)
    store.commit_tick({rule.id: "before"}, [])
    with pytest.raises(StoreError):
        store.commit_tick(
            {rule.id: "after"},
            [(key, alert("first"), "t2:a"), (404, alert("to a chat that does not exist"), "t2:b")],
        )
    assert store.rule_states() == {rule.id: "before"}
    assert store.pending() == []
    # The same tick, fixed, goes through: the failed attempt left no dedup key behind.
    store.commit_tick({rule.id: "after"}, [(key, alert("first"), "t2:a")])
    assert [i.message.title for i in store.due_messages()] == ["first"]


def test_rerunning_a_tick_with_the_same_dedup_keys_queues_nothing_twice(store):
    key = store.upsert_chat("telegram", "1")
    rule = store.add_rule(key, "u", "BTC", "breakout", None)
    tick = ({rule.id: "s1"}, [(key, alert("a"), "t7:a"), (key, alert("b"), "t7:b")])
    assert len(store.commit_tick(*tick)) == 2
    assert store.commit_tick(*tick) == []
    assert [i.message.title for i in store.pending()] == ["a", "b"]
    # Messages without a dedup key are never merged.
    store.commit_tick({}, [(key, alert("c"), None), (key, alert("c"), None)])
    assert [i.message.title for i in store.pending()] == ["a", "b", "c", "c"]


# ---- outbox --------------------------------------------------------------------------------


def test_due_messages_are_oldest_first_due_only_and_for_active_chats(store, clock):
    one = store.upsert_chat("telegram", "1")
    two = store.upsert_chat("telegram", "2")
    store.enqueue(one, alert("first"))
    store.enqueue(two, alert("later"), due_at=T0 + timedelta(minutes=5))
    store.enqueue(two, alert("second"))
    gone = store.upsert_chat("discord", "3")
    store.enqueue(gone, alert("to a chat that left"))
    store.deactivate_chat(gone)
    assert [i.message.title for i in store.due_messages()] == ["first", "second"]
    assert [i.message.title for i in store.due_messages(limit=1)] == ["first"]
    later = T0 + timedelta(minutes=5)
    assert [i.message.title for i in store.due_messages(later)] == ["first", "later", "second"]
    assert len(store.pending()) == 4  # the inactive chat's message is kept


def test_a_message_waiting_for_a_retry_holds_back_the_newer_ones_of_its_chat(store, clock):
    key = store.upsert_chat("telegram", "1")
    other = store.upsert_chat("telegram", "2")
    first = store.enqueue(key, alert("first"))
    store.enqueue(key, alert("second"))
    store.enqueue(other, alert("elsewhere"))
    store.mark_failed(first, "boom", T0 + timedelta(seconds=5))
    assert [i.message.title for i in store.due_messages()] == ["elsewhere"]
    later = T0 + timedelta(seconds=5)
    assert [i.message.title for i in store.due_messages(later)] == ["first", "second", "elsewhere"]
    assert store.due_messages(later)[0].attempts == 1


def test_muted_alerts_are_held_and_come_back_as_one_digest(store, clock):
    key = store.upsert_chat("telegram", "1")
    store.enqueue(key, alert("queued before the mute"))
    store.set_muted_until(key, T0 + timedelta(hours=2))
    assert store.hold_for_mute(key) == 1
    store.commit_tick({}, [(key, alert("during the mute"), "t1")])
    store.enqueue(key, Message("a reply still goes out"))
    assert [i.message.title for i in store.due_messages()] == ["a reply still goes out"]
    assert store.expired_mutes(clock()) == []

    clock.advance(2 * 3600)
    assert store.expired_mutes(clock()) == [key]
    held = store.held_messages(key)
    assert [i.message.title for i in held] == ["queued before the mute", "during the mute"]
    digest = Message("While you were away", lines=tuple(i.message.title for i in held))
    store.release_held(key, digest)
    assert [i.message for i in store.due_messages()][-1] == digest
    assert store.held_messages(key) == [] and store.expired_mutes(clock()) == []


def test_releasing_a_mute_without_a_digest_keeps_every_held_alert(store):
    key = store.upsert_chat("telegram", "1")
    store.set_muted_until(key, T0 + timedelta(hours=1))
    store.enqueue(key, alert("a"))
    store.enqueue(key, alert("b"))
    store.set_muted_until(key, None)
    store.release_held(key, None)
    assert [i.message.title for i in store.due_messages()] == ["a", "b"]


def test_a_sent_message_is_never_due_again(store, clock):
    key = store.upsert_chat("telegram", "1")
    outbox_id = store.enqueue(key, alert())
    store.mark_sent(outbox_id, clock())
    clock.advance(3600)
    assert store.due_messages() == [] and store.pending() == []
