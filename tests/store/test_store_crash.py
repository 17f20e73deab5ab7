"""kill -9 in the middle of writing: every committed tick is whole, nothing is half-written, and
what was queued but not sent is still due after the restart."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from core.delivery.deliverer import Deliverer
from core.store import Store
from core.types import ChatRef, Message

REPO = Path(__file__).resolve().parents[2]
RULES = 5
PER_TICK = 3
BODY = "liquidations " * 1500  # ~20 KB per message: transactions take long enough to be hit
IMAGE = bytes(range(256)) * 200

# The writer: resumes after the last committed tick, commits ticks (rule states + messages in one
# transaction), marks the previous tick's messages sent (as delivery would), and reports each
# commit on stdout.
WRITER = """
import json, sys
from datetime import UTC, datetime
from core.types import Message
from core.store import Store
store = Store.open(sys.argv[1])
body, image = sys.argv[2], bytes(range(256)) * 200
rules = [r.id for r in store.active_rules()]
tick = max((json.loads(s)["tick"] for s in store.rule_states().values()), default=0)
# What a previous run left unsent is "delivered" after this run's first commit.
previous = [item.id for item in store.pending() if item.message.title.startswith("tick ")]
for _ in range(5000):  # bounded: stops by itself if nobody kills it
    tick += 1
    states = {rule_id: json.dumps({"tick": tick, "pad": "x" * 2000}) for rule_id in rules}
    messages = [(1, Message(f"tick {tick}", lines=(body,), image=image, kind="alert"),
                 f"tick{tick}:{i}") for i in range(PER_TICK)]
    print("begin", tick, flush=True)
    queued = store.commit_tick(states, messages)
    print("done", tick, flush=True)
    for outbox_id in previous:
        store.mark_sent(outbox_id, datetime.now(UTC))
    previous = queued
""".replace("PER_TICK", str(PER_TICK))


def run_writer_and_kill(path: Path, ticks_before_kill: int, during_commit: bool) -> int:
    """Start the writer and SIGKILL it once it has committed that many ticks: either just as it
    begins the next commit (so the kill lands inside the transaction) or just after a commit.
    Returns the last tick the writer reported committed."""
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), BODY],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    committed, commits_this_run = 0, 0
    target_phase = "begin" if during_commit else "done"
    try:
        while True:
            line = child.stdout.readline()  # waits on the child's own report, no sleeping
            assert line, "the writer stopped before it was killed"
            phase, tick = line.split()
            if phase == "done":
                committed, commits_this_run = int(tick), commits_this_run + 1
            if commits_this_run >= ticks_before_kill and phase == target_phase:
                child.send_signal(signal.SIGKILL)
                break
    finally:
        child.kill()
        child.wait(timeout=10)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    return committed


def check_consistent(store: Store, reported: int) -> int:
    """Every committed tick whole; returns the last committed tick."""
    assert store.pragma("integrity_check") == "ok"
    ticks = {json.loads(state)["tick"] for state in store.rule_states().values()}
    assert len(ticks) == 1, f"rules from different ticks: {ticks}"  # one tick = one transaction
    [last] = ticks
    assert last >= reported  # a tick the writer saw committed stays committed

    first_unsent = store.pending()[0].message
    raw = sqlite3.connect(store.path)  # read the rows as they are on disk, around the Store
    raw.row_factory = sqlite3.Row
    rows = raw.execute(
        "SELECT payload, image, dedup_key, sent_at FROM outbox WHERE id > 1"
    ).fetchall()
    raw.close()
    assert len(rows) == last * PER_TICK  # all of every tick, nothing of an unfinished one
    for row in rows:
        tick = int(row["dedup_key"].split(":")[0].removeprefix("tick"))
        assert 1 <= tick <= last
        assert json.loads(row["payload"])["lines"] == [BODY] and row["image"] == IMAGE
    # Ticks two behind the last were marked sent; the last tick's messages wait to be sent.
    by_tick = {}
    for row in rows:
        by_tick.setdefault(row["dedup_key"].split(":")[0], []).append(row["sent_at"])
    for n in range(1, last - 1):
        assert all(by_tick[f"tick{n}"]), f"tick {n} lost its sent marks"
    assert not any(by_tick[f"tick{last}"])
    assert first_unsent.title == "queued before the first crash"
    return last


async def test_killed_writer_leaves_whole_ticks_and_unsent_messages_still_due(tmp_path):
    path = tmp_path / "crash.db"
    with Store.open(path) as store:
        key = store.upsert_chat("telegram", "chat-1")
        assert key == 1  # the writer addresses this chat
        for n in range(RULES):
            store.add_rule(key, "u", "BTC", "above", 90_000 + n)
        store.enqueue(key, Message("queued before the first crash", kind="alert"), "pending")

    last = 0
    # Four kills, inside a commit or between commits; each restart resumes on the same database.
    for round_ticks, during_commit in ((15, True), (10, False), (12, True), (8, True)):
        reported = run_writer_and_kill(path, round_ticks, during_commit)
        with Store.open(path) as store:
            assert reported > last  # the writer resumed after the previous crash
            last = check_consistent(store, reported)

    # After the restart, delivery sends exactly what was queued and not yet sent, once.
    class Recorder:
        platform = "telegram"

        def __init__(self) -> None:
            self.titles: list[str] = []

        async def send(self, chat: ChatRef, message: Message) -> None:
            self.titles.append(message.title)

    with Store.open(path) as store:
        unsent = [item.message.title for item in store.pending()]
        due = [item.message.title for item in store.due_messages(limit=1000)]
        assert due == unsent and "queued before the first crash" in due
        recorder = Recorder()
        await Deliverer(store, {"telegram": recorder}, batch_size=1000).deliver_due()
        assert recorder.titles == unsent
        assert f"tick {last}" in recorder.titles and f"tick {last - 3}" not in recorder.titles
        assert store.pending() == []
