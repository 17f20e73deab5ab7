"""One process per database; write transactions wait their turn; failures are StoreErrors; the
files are the owner's only."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import stat
import subprocess
import sys
import threading

import pytest

from core.kernel.errors import StoreError, StoreUnavailable
from core.store import Store
from core.store.base import BUSY_TIMEOUT_MS
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.procs import ROOT, BotProcess, WatchedExchange, write_config


async def test_a_second_liqwatch_run_on_the_same_store_refuses_with_one_line(tmp_path):
    exchange = WatchedExchange().start()
    telegram = FakeTelegramAPI()
    await telegram.start()
    db = tmp_path / "liqwatch.db"
    config = write_config(tmp_path, exchange, telegram.api_base_url, db)
    first = BotProcess.start(config, telegram.token, tmp_path / "first.log")
    try:
        await telegram.wait_received("getUpdates", timeout=30)  # the first one is up
        second = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot", "run", "--config", str(config)],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT), "TELEGRAM_TOKEN": telegram.token},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode != 0
        lines = [line for line in second.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, second.stderr
        assert "already running" in lines[0] and str(first.process.pid) in lines[0]
        assert "Traceback" not in second.stderr
        assert first.running  # the first one is untouched
    finally:
        first.kill()
        await telegram.stop()
        exchange.stop()


def test_the_lock_is_released_on_close_and_by_a_killed_process(tmp_path):
    path = tmp_path / "s.db"
    store = Store.open(path, exclusive=True)
    with pytest.raises(StoreError, match="already running"):
        Store.open(path, exclusive=True)
    Store.open(path).close()  # inspection (`liqwatch db`) is never refused
    store.close()
    Store.open(path, exclusive=True).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl,os,sys,time; fd=os.open(sys.argv[1],os.O_RDWR|"
         "os.O_CREAT); fcntl.flock(fd,fcntl.LOCK_EX); print('held',flush=True); time.sleep(60)",
         f"{path}.lock"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(StoreError):
        Store.open(path, exclusive=True)
    holder.kill()
    holder.wait()
    Store.open(path, exclusive=True).close()  # kill -9 leaves no stale lock


def test_database_wal_and_lock_files_are_the_owners_only(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "private.db"
        with Store.open(path, exclusive=True) as store:
            store.upsert_chat("telegram", "1")
            for suffix in ("", "-wal", "-shm", ".lock"):
                mode = stat.S_IMODE(os.stat(f"{path}{suffix}").st_mode)
                assert mode == 0o600, (suffix, oct(mode))
    finally:
        os.umask(old)


def test_a_write_waits_for_another_writer_then_goes_through(tmp_path):
    path = tmp_path / "busy.db"
    with Store.open(path) as store:
        key = store.upsert_chat("telegram", "1")
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")  # another process is writing for 0.3 s
        release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
        release.start()
        try:
            # BEGIN IMMEDIATE takes the lock first, so the busy timeout applies: it waits.
            assert store.commit_tick({}, [(key, _message(), "k1")]) != []
        finally:
            release.join()
            other.close()


def test_a_database_locked_past_the_timeout_is_a_store_error_saying_so(tmp_path, monkeypatch):
    monkeypatch.setattr("core.store.base.BUSY_TIMEOUT_MS", 200)
    path = tmp_path / "locked.db"
    with Store.open(path) as store:
        key = store.upsert_chat("telegram", "1")
        store._db.conn.execute("PRAGMA busy_timeout = 200")
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreError, match="locked by another process") as raised:
                store.commit_tick({}, [(key, _message(), "k2")])
            assert not isinstance(raised.value, sqlite3.Error)
            with pytest.raises(StoreError, match="locked"):
                store.mark_sent(1, store._now())
        finally:
            other.execute("ROLLBACK")
            other.close()
    assert BUSY_TIMEOUT_MS >= 1000  # the real timeout is seconds, not this test's 200 ms


def _message():
    from core.types import Message

    return Message("BTC above $92,450", kind="alert")


def test_an_older_database_keeps_no_webhook_token_after_the_upgrade(tmp_path):
    """Webhook chats used to be keyed by their URL (token included); the upgrade keys them by the
    webhook id, and the token is nowhere in the file afterwards."""
    from core.store.schema import DELIVERY, MIGRATIONS

    path = tmp_path / "old.db"
    before = MIGRATIONS.index(DELIVERY)
    conn = sqlite3.connect(path)
    for migration in MIGRATIONS[:before]:
        for step in migration:
            step(conn) if callable(step) else conn.execute(step)
    conn.execute("UPDATE schema_version SET version = ?", (before,))
    url = "https://discord.com/api/webhooks/123456/TOKEN-SECRET?thread_id=77"
    conn.execute(
        "INSERT INTO chats (platform, chat_id, kind, created_at) VALUES ('webhook', ?, 'channel',"
        " '2025-01-01T00:00:00+00:00')",
        (url,),
    )
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        assert store.find_chat("webhook", "wh:123456/77") is not None
    for suffix in ("", "-wal"):
        if os.path.exists(f"{path}{suffix}"):
            assert b"TOKEN-SECRET" not in open(f"{path}{suffix}", "rb").read()


def test_the_bot_waits_at_start_for_a_database_another_process_has_locked(
    tmp_path, monkeypatch, caplog
):
    """A backup tool holds the write lock as the bot (re)starts: `build` waits for it (logged
    once) instead of dying; with no wait allowed it is a StoreUnavailable saying why."""
    from bot import config as config_module
    from bot.app import build

    monkeypatch.setattr("core.store.base.BUSY_TIMEOUT_MS", 100)
    path = tmp_path / "busy.db"
    cfg = config_module.load(None, env={}, use_cwd=False)
    cfg.override({("store", "path"): str(path), ("data", "source"): "replay"})
    Store.open(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    slept: list[float] = []

    def wait(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 3:
            other.execute("ROLLBACK")  # the other process lets go

    try:
        cfg.override({("store", "open_wait_seconds"): 0.0})
        with pytest.raises(StoreUnavailable, match="locked by another process"):
            build(cfg, sleep=wait)
        assert slept == []
        cfg.override({("store", "open_wait_seconds"): 60.0})
        with caplog.at_level(logging.WARNING, logger="bot.app"):
            app = build(cfg, sleep=wait)  # the failed start let go of its process lock too
        app.store.upsert_chat("telegram", "1")  # and it writes
        app.store.close()
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()
    assert slept == [1.0, 2.0, 4.0]
    assert sum("Waiting for it" in r.getMessage() for r in caplog.records) == 1
