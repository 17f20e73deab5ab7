"""The SQLite store: migrations, hostile input, lossless messages, atomic and idempotent ticks."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import StoreError
from core.model import Button, ChatRef, Message, Section
from core.store import LATEST_VERSION, Store

T0 = datetime(2025, 1, 2, 12, 0, tzinfo=UTC)
HOSTILE = "'; DROP TABLE rules; --"


class FakeClock:
    def __init__(self, now: datetime = T0):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path, clock):
    with Store.open(tmp_path / "liqwatch.db", clock=clock) as opened:
        yield opened


def alert(title: str = "BTC broke $94,681") -> Message:
    return Message(title=title, lines=("Shorts above: $2.71B",), kind="alert")


# ---- opening and migrations -----------------------------------------------------------------


def create_v1_database(path) -> None:
    """A database as the first release wrote it, built by hand (not with the current code)."""
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE schema_version (version INTEGER NOT NULL);
        INSERT INTO schema_version VALUES (1);
        CREATE TABLE chats (key INTEGER PRIMARY KEY, platform TEXT NOT NULL,
            chat_id TEXT NOT NULL, kind TEXT NOT NULL DEFAULT 'private'
            CHECK (kind IN ('private', 'group', 'channel')), thread_id TEXT, user_id TEXT,
            active INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL);
        CREATE UNIQUE INDEX chats_address ON chats (platform, chat_id, ifnull(thread_id, ''));
        CREATE TABLE watchlist (chat_key INTEGER NOT NULL REFERENCES chats (key)
            ON DELETE CASCADE, user_id TEXT NOT NULL, symbol TEXT NOT NULL,
            UNIQUE (chat_key, user_id, symbol));
        CREATE TABLE rules (id INTEGER PRIMARY KEY, chat_key INTEGER NOT NULL
            REFERENCES chats (key) ON DELETE CASCADE, user_id TEXT NOT NULL,
            symbol TEXT NOT NULL, kind TEXT NOT NULL, value REAL, created_at TEXT NOT NULL,
            state_json TEXT);
        CREATE TABLE outbox (id INTEGER PRIMARY KEY, chat_key INTEGER NOT NULL
            REFERENCES chats (key) ON DELETE CASCADE, kind TEXT NOT NULL, payload TEXT NOT NULL,
            image BLOB, dedup_key TEXT UNIQUE, created_at TEXT NOT NULL, due_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, sent_at TEXT);
        CREATE INDEX outbox_pending ON outbox (due_at) WHERE sent_at IS NULL;

        INSERT INTO chats VALUES (7, 'telegram', '-100123', 'group', NULL, 'u1', 1,
            '2024-06-01T00:00:00.000000+00:00');
        INSERT INTO watchlist VALUES (7, 'u1', 'BTC'), (7, 'u1', 'ETH');
        INSERT INTO rules VALUES (3, 7, 'u1', 'BTC', 'above', 100000.0,
            '2024-06-01T00:00:00.000000+00:00', '{"armed": true}');
        INSERT INTO outbox VALUES (1, 7, 'alert',
            '{"title": "queued before the upgrade", "lines": ["l1"], "sections": [],
              "footer": "", "buttons": [], "kind": "alert"}',
            NULL, 'rule3:tick9', '2024-06-01T00:00:00.000000+00:00',
            '2024-06-01T00:00:00.000000+00:00', 0, NULL);
        """
    )
    conn.commit()
    conn.close()


def test_an_old_v1_database_is_upgraded_in_place_and_keeps_its_data(tmp_path, clock):
    path = tmp_path / "old.db"
    create_v1_database(path)

    with Store.open(path, clock=clock) as store:
        assert store.schema_version == LATEST_VERSION > 1
        assert store.watchlist(7, "u1") == ["BTC", "ETH"]
        [rule] = store.rules_for(7, "u1")
        assert (rule.id, rule.symbol, rule.kind, rule.value, rule.paused) == (
            3,
            "BTC",
            "above",
            100000.0,
            False,
        )
        assert store.rule_states() == {3: '{"armed": true}'}
        [queued] = store.due_messages()
        assert queued.message.title == "queued before the upgrade"
        assert queued.chat == ChatRef("telegram", "-100123", user_id="u1")
        # What v2 added works on the old rows.
        store.set_muted_until(7, T0 + timedelta(hours=1))
        assert store.muted_until(7) == T0 + timedelta(hours=1)
        assert store.enqueue(7, alert(), dedup_key="rule3:tick9") is None  # old dedup key holds
        store.set_summary(7, ["BTC"], "every 4h", "Europe/Berlin")
        assert store.needed_symbols() == {"BTC", "ETH"}
        # No alert check recorded yet (v4): the monitor starts as it always did.
        assert store.wick_marks() == {}

    with Store.open(path, clock=clock) as again:  # a second open has nothing left to do
        assert again.schema_version == LATEST_VERSION
        assert again.chat(7)["tz"] == "UTC"


def test_a_new_database_uses_wal_and_enforces_foreign_keys(store):
    assert store.pragma("journal_mode") == "wal"
    assert store.pragma("foreign_keys") == 1
    assert store.pragma("busy_timeout") >= 1000
    with pytest.raises(StoreError):
        store.enqueue(999, alert())  # no such chat


def test_a_database_from_a_newer_liqwatch_is_refused_with_a_clear_error(tmp_path):
    path = tmp_path / "future.db"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = ?", (LATEST_VERSION + 1,))
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer liqwatch"):
        Store.open(path)


def test_a_file_that_is_not_a_database_is_refused_with_a_clear_error(tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 100)
    with pytest.raises(StoreError, match="not a usable liqwatch database"):
        Store.open(path)
    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE invoices (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not one liqwatch created"):
        Store.open(foreign)


# ---- hostile input ----------------------------------------------------------------------------


def test_hostile_strings_are_stored_as_data_and_come_back_unchanged(store):
    long_text = "x" * 10_240
    html = '<b>bold</b> <a href="javascript:alert(1)">&amp;</a> </code>'
    key = store.upsert_chat("telegram", HOSTILE, kind="group", thread_id=html, user_id=long_text)
    assert store.watch(key, HOSTILE, HOSTILE)
    rule = store.add_rule(key, HOSTILE, long_text, "near", 1.5)
    store.commit_tick({rule.id: HOSTILE}, [(key, Message(HOSTILE, lines=(long_text, html)), html)])

    assert store.find_chat("telegram", HOSTILE, html)["user_id"] == long_text
    assert store.watchlist(key, HOSTILE) == [HOSTILE]
    assert store.rules_for(key, HOSTILE) == [rule]
    assert store.rule_states() == {rule.id: HOSTILE}
    [item] = store.due_messages()
    assert item.message == Message(HOSTILE, lines=(long_text, html))
    assert item.chat.thread_id == html
    assert store.delete_rule(key, HOSTILE, rule.id)
    assert store.rules_for(key, HOSTILE) == []  # the table is still there, and works


def test_bad_values_get_a_clear_store_error_and_change_nothing(store):
    key = store.upsert_chat("console", "c1")
    with pytest.raises(StoreError, match="kind"):
        store.add_rule(key, "u", "BTC", "sideways", None)
    with pytest.raises(StoreError, match="finite"):
        store.add_rule(key, "u", "BTC", "above", float("nan"))
    with pytest.raises(StoreError, match="chat kind"):
        store.upsert_chat("console", "c2", kind="supergroup")
    with pytest.raises(StoreError):
        store.enqueue(key, "just a string")  # type: ignore[arg-type]
    assert store.count_rules(key, "u") == 0
    assert store.find_chat("console", "c2") is None


# ---- messages round-trip ----------------------------------------------------------------------

texts = st.text(max_size=40)
messages = st.builds(
    Message,
    title=texts,
    lines=st.lists(texts, max_size=4).map(tuple),
    sections=st.lists(
        st.builds(Section, texts, st.lists(texts, max_size=3).map(tuple)), max_size=3
    ).map(tuple),
    footer=texts,
    image=st.none() | st.binary(max_size=200),
    buttons=st.lists(
        st.builds(Button, texts, texts, st.lists(texts, max_size=2).map(tuple)), max_size=3
    ).map(tuple),
    kind=st.sampled_from(["reply", "report", "alert", "summary", "error", "help"]),
)


@settings(max_examples=60, deadline=None)
@given(message=messages)
def test_any_message_comes_back_from_the_outbox_exactly_as_queued(tmp_path_factory, message):
    with Store.open(tmp_path_factory.mktemp("rt") / "db") as store:
        key = store.upsert_chat("discord", "42")
        store.enqueue(key, message, kind="reply")
        [item] = store.due_messages()
        assert item.message == message
        assert isinstance(item.message.lines, tuple)


def test_a_chart_image_with_nul_bytes_survives_the_outbox(store):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40
    key = store.upsert_chat("telegram", "1")
    store.enqueue(key, Message("chart", image=png))
    assert store.due_messages()[0].message.image == png


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
