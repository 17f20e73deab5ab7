"""The database schema as an ordered list of migrations.

Migration N (1-based) takes a database at version N-1 to version N. `Store.open` applies the
missing ones in order, each in its own transaction together with the version bump, so an older
database upgrades in place and a crash mid-upgrade leaves the previous version intact.
Never edit a released migration: append a new one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

# A migration step: SQL, or a function for what SQL alone cannot do portably (e.g. reading JSON
# without relying on SQLite's optional JSON functions). Both run in the migration's transaction.
Step = str | Callable[[sqlite3.Connection], None]

# v1: the first release: chats, watchlists, rules with the engine's state, and the outbox.
V1 = (
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    "INSERT INTO schema_version (version) VALUES (0)",
    """CREATE TABLE chats (
        key INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        chat_id TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT 'private' CHECK (kind IN ('private', 'group', 'channel')),
        thread_id TEXT,
        user_id TEXT,
        active INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL
    )""",
    # NULL thread ids would never collide in a plain UNIQUE constraint: index the coalesced value.
    "CREATE UNIQUE INDEX chats_address ON chats (platform, chat_id, ifnull(thread_id, ''))",
    """CREATE TABLE watchlist (
        chat_key INTEGER NOT NULL REFERENCES chats (key) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        symbol TEXT NOT NULL,
        UNIQUE (chat_key, user_id, symbol)
    )""",
    """CREATE TABLE rules (
        id INTEGER PRIMARY KEY,
        chat_key INTEGER NOT NULL REFERENCES chats (key) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        symbol TEXT NOT NULL,
        kind TEXT NOT NULL,
        value REAL,
        created_at TEXT NOT NULL,
        state_json TEXT
    )""",
    """CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        chat_key INTEGER NOT NULL REFERENCES chats (key) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        image BLOB,
        dedup_key TEXT UNIQUE,
        created_at TEXT NOT NULL,
        due_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        sent_at TEXT
    )""",
    "CREATE INDEX outbox_pending ON outbox (due_at) WHERE sent_at IS NULL",
)

# v2: muting (held messages), snooze/pause, delivery errors, DM fallback, time zones, summaries.
V2 = (
    "ALTER TABLE chats ADD COLUMN fallback_chat_id TEXT",
    "ALTER TABLE chats ADD COLUMN tz TEXT NOT NULL DEFAULT 'UTC'",
    "ALTER TABLE chats ADD COLUMN muted_until TEXT",
    "ALTER TABLE rules ADD COLUMN snoozed_until TEXT",
    "ALTER TABLE rules ADD COLUMN paused INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX rules_owner ON rules (chat_key, user_id)",
    "ALTER TABLE outbox ADD COLUMN held INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE outbox ADD COLUMN last_error TEXT",
    "CREATE INDEX outbox_by_chat ON outbox (chat_key, id) WHERE sent_at IS NULL",
    """CREATE TABLE summaries (
        id INTEGER PRIMARY KEY,
        chat_key INTEGER NOT NULL UNIQUE REFERENCES chats (key) ON DELETE CASCADE,
        symbols TEXT NOT NULL,
        schedule TEXT NOT NULL,
        tz TEXT NOT NULL DEFAULT 'UTC',
        last_run_at TEXT,
        last_ratios TEXT NOT NULL DEFAULT '{}',
        last_prices TEXT NOT NULL DEFAULT '{}'
    )""",
)

# v3: what a summary showed per symbol (ratio, price, key levels), to say what moved since then.
V3 = ("ALTER TABLE summaries ADD COLUMN last_state TEXT NOT NULL DEFAULT '{}'",)

# v4: per symbol, the last good alert check and the newest 1-minute candle seen at it, so that a
# restarted monitor reads the wicks since that check (written with the rule states, in one tick).
V4 = (
    """CREATE TABLE wick_marks (
        symbol TEXT PRIMARY KEY,
        checked_at TEXT NOT NULL,
        candle_open_time TEXT,
        candle_open REAL,
        candle_high REAL,
        candle_low REAL,
        candle_close REAL
    )""",
)


def _seed_rule_ids(conn: sqlite3.Connection) -> None:
    """New rule ids continue after every id a chat may still act on: the highest rule kept, and
    the highest one a queued or sent message's Snooze button names, so that a rule deleted
    before this upgrade cannot lend its id to a new one either."""
    highest = conn.execute("SELECT ifnull(max(id), 0) FROM rules").fetchone()[0]
    named_rows = conn.execute("SELECT payload FROM outbox WHERE payload LIKE '%\"snooze\"%'")
    for (payload,) in named_rows:
        try:
            buttons = json.loads(payload).get("buttons", [])
            named = [int(b["args"][0]) for b in buttons if b.get("action") == "snooze"]
            named = [n for n in named if 0 < n < 2**62]  # a rowid, never past SQLite's range
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            continue  # an unreadable old row: it names no id we could honour anyway
        highest = max([highest, *named])
    conn.execute("DELETE FROM sqlite_sequence WHERE name = 'rules'")
    conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('rules', ?)", (highest,))


# v5: (a) rule ids are never reused: a deleted alert's id, still carried by its old messages'
# Snooze buttons and "/delalert N" footers, must not reach a newer rule. SQLite can only add
# AUTOINCREMENT by rebuilding the table: same columns, rows, ids, states, foreign key and index.
# (b) a summary knows who set it: 'chat' (/summary, and every row from before v5) or 'config'
# ([[summaries]], which the config owns: an entry removed from the file stops). Webhook chats
# exist only through the config, so their old rows are the config's.
V5: tuple[Step, ...] = (
    """CREATE TABLE rules_v5 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        chat_key INTEGER NOT NULL REFERENCES chats (key) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        symbol TEXT NOT NULL,
        kind TEXT NOT NULL,
        value REAL,
        created_at TEXT NOT NULL,
        state_json TEXT,
        snoozed_until TEXT,
        paused INTEGER NOT NULL DEFAULT 0
    )""",
    "INSERT INTO rules_v5 (id, chat_key, user_id, symbol, kind, value, created_at, state_json,"
    " snoozed_until, paused) SELECT id, chat_key, user_id, symbol, kind, value, created_at,"
    " state_json, snoozed_until, paused FROM rules",
    # Nothing references rules, so dropping it cascades nowhere.
    "DROP TABLE rules",
    "ALTER TABLE rules_v5 RENAME TO rules",
    "CREATE INDEX rules_owner ON rules (chat_key, user_id)",
    _seed_rule_ids,
    "ALTER TABLE summaries ADD COLUMN origin TEXT NOT NULL DEFAULT 'chat'"
    " CHECK (origin IN ('chat', 'config'))",
    "UPDATE summaries SET origin = 'config'"
    " WHERE chat_key IN (SELECT key FROM chats WHERE platform = 'webhook')",
)

# Map history (core/store/map_history.py): one compact row per symbol, source and kept refresh.
MAP_HISTORY = (
    """CREATE TABLE map_history (
        id INTEGER PRIMARY KEY,
        symbol TEXT NOT NULL,
        source TEXT NOT NULL,
        taken_at TEXT NOT NULL,
        price REAL NOT NULL,
        peak_usd REAL NOT NULL,
        format INTEGER NOT NULL,
        levels BLOB NOT NULL
    )""",
    "CREATE INDEX map_history_by_symbol ON map_history (symbol, source, taken_at)",
    "CREATE INDEX map_history_by_time ON map_history (taken_at)",
)

# Realised liquidations (core/store/liquidations.py): every print once (a venue's resend after a
# reconnect is the same row: the unique index ignores it), per-minute aggregates kept by a trigger
# (only rows really inserted count), the streams' gaps, and the chats' liquidation feeds.
# Times are epoch milliseconds (a print's time as the venue gives it; minute = its minute's start).
LIQUIDATIONS = (
    """CREATE TABLE liq_prints (
        id INTEGER PRIMARY KEY,
        venue TEXT NOT NULL,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL CHECK (side IN ('long', 'short')),
        price REAL NOT NULL,
        qty REAL NOT NULL,
        usd REAL NOT NULL,
        ts INTEGER NOT NULL
    )""",
    "CREATE UNIQUE INDEX liq_prints_once ON liq_prints (venue, symbol, ts, side, price, qty)",
    "CREATE INDEX liq_prints_by_symbol ON liq_prints (symbol, ts)",
    "CREATE INDEX liq_prints_by_time ON liq_prints (ts)",
    """CREATE TABLE liq_minutes (
        symbol TEXT NOT NULL,
        minute INTEGER NOT NULL,
        venue TEXT NOT NULL,
        side TEXT NOT NULL,
        usd REAL NOT NULL,
        count INTEGER NOT NULL,
        largest_usd REAL NOT NULL,
        largest_price REAL NOT NULL,
        low REAL NOT NULL,
        high REAL NOT NULL,
        PRIMARY KEY (symbol, minute, venue, side)
    ) WITHOUT ROWID""",
    "CREATE INDEX liq_minutes_by_time ON liq_minutes (minute)",
    """CREATE TRIGGER liq_prints_per_minute AFTER INSERT ON liq_prints BEGIN
        INSERT INTO liq_minutes (symbol, minute, venue, side, usd, count, largest_usd,
            largest_price, low, high)
        VALUES (NEW.symbol, NEW.ts - NEW.ts % 60000, NEW.venue, NEW.side, NEW.usd, 1, NEW.usd,
            NEW.price, NEW.price, NEW.price)
        ON CONFLICT (symbol, minute, venue, side) DO UPDATE SET
            usd = usd + excluded.usd,
            count = count + 1,
            largest_price = CASE WHEN excluded.largest_usd > largest_usd
                THEN excluded.largest_price ELSE largest_price END,
            largest_usd = max(largest_usd, excluded.largest_usd),
            low = min(low, excluded.low),
            high = max(high, excluded.high);
    END""",
    """CREATE TABLE liq_gaps (
        venue TEXT NOT NULL,
        started INTEGER NOT NULL,
        ended INTEGER,
        reason TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (venue, started)
    )""",
    """CREATE TABLE liq_feeds (
        chat_key INTEGER PRIMARY KEY REFERENCES chats (key) ON DELETE CASCADE,
        symbols TEXT NOT NULL,
        min_usd REAL NOT NULL,
        cursor INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    )""",
)


def _webhook_ids(conn: sqlite3.Connection) -> None:
    """Webhook chats were keyed by their URL, token included: key them by `wh:ID` (the public
    webhook id, plus `/THREAD`), as bot/discord_adapter/webhook.py's webhook_chat_id does; the
    URL stays in the config only. A duplicate (same id twice) keeps the first row."""
    rows = conn.execute(
        "SELECT key, chat_id FROM chats WHERE platform = 'webhook' AND chat_id LIKE 'http%'"
    ).fetchall()
    for key, url in rows:
        parts = urlsplit(url)
        segments = [s for s in parts.path.split("/") if s]
        hook = segments[segments.index("webhooks") + 1] if "webhooks" in segments[:-1] else "?"
        thread = parse_qs(parts.query).get("thread_id", [""])[0]
        new_id = f"wh:{hook}" + (f"/{thread}" if thread else "")
        conn.execute("UPDATE OR IGNORE chats SET chat_id = ? WHERE key = ?", (new_id, key))
        conn.execute(
            "UPDATE chats SET chat_id = ? WHERE key = ? AND chat_id LIKE 'http%'",
            (f"wh:redacted-{key}", key),
        )


# Delivery (core/store/outbox.py, core/store/dead_letters.py): how many parts of a multi-part
# message the platform accepted (a restart resumes at the next part), and the dead letters:
# messages that failed for good or too often, kept with their reason, out of their chat's way.
DELIVERY = (
    "ALTER TABLE outbox ADD COLUMN parts_done INTEGER NOT NULL DEFAULT 0",
    """CREATE TABLE dead_letters (
        id INTEGER PRIMARY KEY,
        chat_key INTEGER NOT NULL REFERENCES chats (key) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        image BLOB,
        created_at TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        reason TEXT NOT NULL,
        dead_at TEXT NOT NULL
    )""",
    _webhook_ids,
)

# Hyperliquid wallets (core/store/wallets.py): the latest reading of each configured or watched
# wallet, and the chats' /wallet watches (one per chat, with its alert state).
WALLETS = (
    """CREATE TABLE hl_wallets (
        address TEXT PRIMARY KEY,
        configured INTEGER NOT NULL DEFAULT 0,
        read_at TEXT,
        account_usd REAL,
        positions TEXT,
        error TEXT
    )""",
    """CREATE TABLE wallet_watches (
        chat_key INTEGER PRIMARY KEY REFERENCES chats (key) ON DELETE CASCADE,
        address TEXT NOT NULL,
        pct REAL NOT NULL,
        state TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX wallet_watches_by_address ON wallet_watches (address)",
)

MIGRATIONS: tuple[tuple[Step, ...], ...] = (
    V1,
    V2,
    V3,
    V4,
    V5,
    MAP_HISTORY,
    LIQUIDATIONS,
    DELIVERY,
    WALLETS,
)
LATEST_VERSION = len(MIGRATIONS)
