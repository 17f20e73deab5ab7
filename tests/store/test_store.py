"""The SQLite store: migrations, hostile input, lossless messages."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.kernel.errors import StoreError
from core.store import LATEST_VERSION, Store
from core.types import Button, ChatRef, Message, Section
from tests.store_helpers import T0, alert, clock_fixture, store_fixture  # noqa: F401  (fixtures)

HOSTILE = "'; DROP TABLE rules; --"


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
