"""Review fixes: a platform without a sender starves nobody, the config's [[summaries]] stay in
step with the file, and a deleted alert's id never reaches a new alert."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest

from bot.app import build
from bot.discord_adapter.webhook import webhook_chat_id
from core.delivery.deliverer import Deliverer
from core.delivery.summaries import SUMMARY_KEYS
from core.store import LATEST_VERSION, Store
from core.store.schema import MIGRATIONS
from core.types import Caller, ChatRef, Message
from tests.helpers import ManualClock, app_config, write_replay

T0 = datetime(2025, 1, 2, 12, 0, tzinfo=UTC)


class Recorder:
    def __init__(self, platform: str) -> None:
        self.platform = platform
        self.sent: list[tuple[str, str]] = []  # (chat_id, title)

    async def send(self, chat: ChatRef, message: Message) -> None:
        self.sent.append((chat.chat_id, message.title))


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "liqwatch.db", clock=lambda: T0) as opened:
        yield opened


# ---- 1. a platform without a sender ----------------------------------------------------------


async def test_a_backlog_for_a_platform_without_a_sender_does_not_delay_other_chats(store):
    # More unsendable messages than one delivery batch holds, all older than the alert.
    for n in range(150):
        hook = store.upsert_chat("webhook", f"http://127.0.0.1:1/hook/{n % 3}", kind="channel")
        store.enqueue(hook, Message(f"summary {n}", kind="summary"))
    chat = store.upsert_chat("telegram", "42")
    store.enqueue(chat, Message("BTC broke $94,681", kind="alert"))
    telegram = Recorder("telegram")

    stats = await Deliverer(store, {"telegram": telegram}, clock=lambda: T0).deliver_due()

    assert telegram.sent == [("42", "BTC broke $94,681")]
    assert stats.sent == 1
    assert len(store.pending()) == 150  # the webhook's messages still wait, none dropped


async def test_a_sender_registered_after_start_gets_its_waiting_messages(store):
    hook = store.upsert_chat("webhook", "http://127.0.0.1:1/hook", kind="channel")
    store.enqueue(hook, Message("queued before the sender came", kind="summary"))
    senders: dict = {}
    deliverer = Deliverer(store, senders, clock=lambda: T0)
    assert (await deliverer.deliver_due()).sent == 0

    webhook = Recorder("webhook")
    senders["webhook"] = webhook  # as App.add_sender does once an adapter started
    assert (await deliverer.deliver_due()).sent == 1
    assert webhook.sent == [("http://127.0.0.1:1/hook", "queued before the sender came")]


def test_due_messages_for_given_platforms_leave_out_the_others(store):
    for platform in ("console", "discord", "telegram"):
        store.enqueue(store.upsert_chat(platform, "1"), Message(f"to {platform}", kind="alert"))
    titles = [i.message.title for i in store.due_messages(limit=2, platforms={"telegram"})]
    assert titles == ["to telegram"]
    assert store.due_messages(platforms=set()) == []
    both = store.due_messages(platforms=["discord", "telegram"])
    assert [i.chat.platform for i in both] == ["discord", "telegram"]
    assert len(store.due_messages()) == 3  # no filter: every platform


# ---- 2. [[summaries]] follow the config file ---------------------------------------------------

HOOK_OLD = "http://127.0.0.1:1/api/webhooks/1/old-token"
HOOK_NEW = "http://127.0.0.1:1/api/webhooks/2/new-token"  # another webhook
GROUP = Caller(platform="telegram", chat_id="-100777", user_id="u1", chat_kind="group")


def entry(**values) -> dict:
    return {**SUMMARY_KEYS, **values}


async def start(tmp_path, summaries: list[dict], clock: ManualClock):
    """`liqwatch run` starting with this config (same database every time)."""
    replay = tmp_path / "replay.json"
    if not replay.exists():
        write_replay(replay, [50_000, 50_100])
    config = app_config(tmp_path, replay)
    config.summaries = summaries
    return build(config, clock=clock)


def targets(app) -> dict[tuple[str, str], list[str]]:
    return {(s["chat"].platform, s["chat"].chat_id): s["symbols"] for s in app.store.summaries()}


async def test_removed_or_moved_config_summaries_stop_and_a_chats_own_summary_stays(tmp_path):
    clock = ManualClock()
    app = await start(
        tmp_path,
        [
            entry(symbols=["BTC"], every="4h", webhook_url=HOOK_OLD),
            entry(symbols=["ETH"], daily="08:00", telegram_chat="-100555"),
        ],
        clock,
    )
    try:
        await app.service.handle(GROUP, "/summary BTC ETH every 1h")  # the chat's own
        assert targets(app) == {
            ("webhook", webhook_chat_id(HOOK_OLD)): ["BTC"],
            ("telegram", "-100555"): ["ETH"],
            ("telegram", "-100777"): ["BTC", "ETH"],
        }
    finally:
        await app.aclose()

    # The operator moves the webhook to a new URL and drops the Telegram entry.
    app = await start(tmp_path, [entry(symbols=["BTC"], every="4h", webhook_url=HOOK_NEW)], clock)
    try:
        assert targets(app) == {
            ("webhook", webhook_chat_id(HOOK_NEW)): ["BTC"],
            ("telegram", "-100777"): ["BTC", "ETH"],
        }
        # The old URL gets nothing more, not even what it still had queued.
        old_hook = app.store.find_chat("webhook", webhook_chat_id(HOOK_OLD))
        assert not old_hook["active"]
        app.store.enqueue(old_hook["key"], Message("late", kind="summary"))
        assert app.store.due_messages(platforms={"webhook"}) == []
    finally:
        await app.aclose()

    # With no [[summaries]] left, only the chat's own summary remains.
    app = await start(tmp_path, [], clock)
    try:
        assert targets(app) == {("telegram", "-100777"): ["BTC", "ETH"]}
    finally:
        await app.aclose()


async def test_an_unchanged_config_summary_keeps_its_id_and_history_across_restarts(tmp_path):
    clock = ManualClock()
    config_entry = entry(symbols=["BTC"], every="4h", webhook_url=HOOK_OLD)
    app = await start(tmp_path, [config_entry], clock)
    try:
        [summary] = app.store.summaries()
        app.store.summary_done(summary["id"], clock(), state={"BTC": {"ratio": 1.5}})
    finally:
        await app.aclose()
    app = await start(tmp_path, [config_entry], clock)
    try:
        [again] = app.store.summaries()
        assert again["id"] == summary["id"]
        assert again["last_run_at"] == clock() and again["last_ratios"] == {"BTC": 1.5}
    finally:
        await app.aclose()


def test_only_config_summaries_are_deleted_by_the_config_sync(store):
    own = store.upsert_chat("telegram", "1")
    configured = store.upsert_chat("telegram", "2", kind="channel")
    stays = store.upsert_chat("telegram", "3", kind="channel")
    store.set_summary(own, ["BTC"], "every 4h", "UTC")
    store.set_summary(configured, ["ETH"], "every 4h", "UTC", origin="config")
    kept = store.set_summary(stays, ["SOL"], "every 4h", "UTC", origin="config")
    assert store.delete_config_summaries_except([kept]) == [configured]
    assert {s["chat_key"] for s in store.summaries()} == {own, stays}
    assert store.delete_config_summaries_except([]) == [stays]
    assert [s["chat_key"] for s in store.summaries()] == [own]


# ---- 3. rule ids are never reused -------------------------------------------------------------

ME = Caller(platform="console", chat_id="c1", user_id="u1")


def test_a_deleted_alerts_id_is_not_given_to_the_next_one(store):
    chat = store.upsert_chat("telegram", "1")
    first = store.add_rule(chat, "u1", "BTC", "above", 60_000)
    newest = store.add_rule(chat, "u1", "BTC", "below", 40_000)
    assert store.delete_rule(chat, "u1", newest.id)
    added = store.add_rule(chat, "u1", "ETH", "breakout", None)
    assert added.id not in (first.id, newest.id)
    assert added.id > newest.id


def test_rule_ids_stay_unique_after_the_database_is_reopened(tmp_path):
    path = tmp_path / "liqwatch.db"
    with Store.open(path) as store:
        chat = store.upsert_chat("telegram", "1")
        rule = store.add_rule(chat, "u1", "BTC", "above", 60_000)
        store.delete_rule(chat, "u1", rule.id)
    with Store.open(path) as store:
        assert store.add_rule(chat, "u1", "BTC", "above", 60_000).id > rule.id


async def test_an_old_snooze_button_does_not_snooze_the_alert_set_after_a_delete(tmp_path):
    clock = ManualClock()
    app = await start(tmp_path, [], clock)
    try:
        await app.service.handle(ME, "/alert BTC above 60000")
        [old] = app.store.rules_for(app.store.find_chat("console", "c1")["key"], "u1")
        await app.service.handle(ME, f"/delalert {old.id}")
        await app.service.handle(ME, "/alert BTC below 40000")
        [new] = app.store.rules_for(app.store.find_chat("console", "c1")["key"], "u1")
        assert new.id != old.id
        # the first alert message's button
        (answer,) = await app.service.press(ME, "snooze", (str(old.id),))
        assert answer.kind == "error" and "no longer exists" in answer.text()
        assert app.store.rule(new.id).snoozed_until is None
    finally:
        await app.aclose()


def create_v4_database(path) -> None:
    """A database as release v4 left it, built with the released migrations (frozen) plus rows."""
    conn = sqlite3.connect(path)
    for migration in MIGRATIONS[:4]:
        for statement in migration:
            conn.execute(statement)
    conn.execute("UPDATE schema_version SET version = 4")
    created = "2024-06-01T00:00:00.000000+00:00"
    conn.executemany(
        "INSERT INTO chats (key, platform, chat_id, kind, created_at) VALUES (?, ?, ?, ?, ?)",
        [
            (7, "telegram", "-100123", "group", created),
            (8, "webhook", HOOK_OLD, "channel", created),
        ],
    )
    conn.executemany(
        "INSERT INTO rules (id, chat_key, user_id, symbol, kind, value, created_at, state_json,"
        " snoozed_until, paused) VALUES (?, 7, 'u1', ?, ?, ?, ?, ?, ?, ?)",
        [
            (2, "BTC", "above", 100000.0, created, '{"armed": true}', None, 0),
            (5, "ETH", "breakout", None, created, None, "2024-06-02T00:00:00.000000+00:00", 1),
        ],
    )
    # Rule 9 was deleted; the alert it raised (with its Snooze button) is still in the chat.
    payload = json.dumps(
        {
            "title": "BTC breakout",
            "lines": [],
            "sections": [],
            "footer": "Alert #9 · /delalert 9 to remove it",
            "buttons": [{"label": "Snooze 1h", "action": "snooze", "args": ["9"]}],
            "kind": "alert",
        }
    )
    conn.execute(
        "INSERT INTO outbox (chat_key, kind, payload, created_at, due_at, sent_at)"
        " VALUES (7, 'alert', ?, ?, ?, ?)",
        (payload, created, created, created),
    )
    conn.executemany(
        "INSERT INTO summaries (chat_key, symbols, schedule) VALUES (?, ?, ?)",
        [(7, '["BTC"]', "every 4h"), (8, '["ETH"]', "daily 08:00")],
    )
    conn.commit()
    conn.close()


def test_a_v4_database_upgrades_keeping_its_rules_and_new_ids_pass_every_old_one(tmp_path):
    path = tmp_path / "v4.db"
    create_v4_database(path)
    with Store.open(path, clock=lambda: T0) as store:
        assert store.schema_version == LATEST_VERSION >= 5
        rules = store.rules_for(7, "u1")
        assert [(r.id, r.symbol, r.kind, r.value, r.paused) for r in rules] == [
            (2, "BTC", "above", 100000.0, False),
            (5, "ETH", "breakout", None, True),
        ]
        assert rules[1].snoozed_until == datetime(2024, 6, 2, tzinfo=UTC)
        assert store.rule_states() == {2: '{"armed": true}'}
        # Past the highest id kept (5) and the deleted one an old message still names (9).
        assert store.add_rule(7, "u1", "SOL", "above", 200.0).id == 10
        # Old summaries: the webhook's came from the config, the chat's is the chat's own.
        assert store.delete_config_summaries_except([]) == [8]
        assert [s["chat_key"] for s in store.summaries()] == [7]
    with Store.open(path) as again:  # nothing left to do on the second open
        assert again.schema_version == LATEST_VERSION
        assert [r.id for r in again.rules_for(7, "u1")] == [2, 5, 10]

    # The owner index and the cascade from chats survived the rebuild.
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = ON")
    indexes = conn.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'rules'").fetchall()
    assert ("rules_owner",) in indexes
    conn.execute("DELETE FROM chats WHERE key = 7")
    assert conn.execute("SELECT count(*) FROM rules").fetchone() == (0,)
    conn.close()


def test_a_v4_database_with_no_rules_starts_ids_at_one(tmp_path):
    path = tmp_path / "v4-empty.db"
    conn = sqlite3.connect(path)
    for migration in MIGRATIONS[:4]:
        for statement in migration:
            conn.execute(statement)
    conn.execute("UPDATE schema_version SET version = 4")
    conn.commit()
    conn.close()
    with Store.open(path, clock=lambda: T0) as store:
        chat = store.upsert_chat("telegram", "1")
        assert store.add_rule(chat, "u1", "BTC", "above", 1.0).id == 1
