"""The map history: each refreshed map kept compactly, one row per symbol and refresh, for the
heatmap (how a map evolved) and anything else that compares a map with its past.

A row holds the levels as arrays in one BLOB: prices as float32 and each side's USD as uint16
fractions of the row's largest level (the heatmap colours by notional; 1/65,535 of the biggest
bucket is far below what a colour can show), zlib-compressed. A BTC map of ~400 buckets takes
about 2 KB. Maps are recorded at most once per `every_minutes` per symbol (the cache refreshes
far more often) and pruned after `keep_days`.
"""

from __future__ import annotations

import logging
import math
import zlib
from datetime import datetime, timedelta

import numpy as np

from core.kernel.config import ConfigPart
from core.store.base import StoreBase
from core.store.codec import db_time, py_time
from core.types import MapFrame, Snapshot

log = logging.getLogger(__name__)

FORMAT = 1  # the BLOB layout below; a row of another format is skipped, never misread
_QUANT = 65535
PRUNE_EVERY = timedelta(hours=1)


def encode_levels(prices: np.ndarray, long_usd: np.ndarray, short_usd: np.ndarray) -> bytes:
    """[n: uint32][prices: n float32][long: n uint16][short: n uint16], zlib level 6."""
    n = len(prices)
    peak = float(max(long_usd.max(initial=0.0), short_usd.max(initial=0.0)))
    scale = _QUANT / peak if peak > 0 else 0.0
    body = b"".join(
        (
            np.uint32(n).tobytes(),
            prices.astype("<f4").tobytes(),
            np.rint(long_usd * scale).astype("<u2").tobytes(),
            np.rint(short_usd * scale).astype("<u2").tobytes(),
        )
    )
    return zlib.compress(body, 6)


def decode_levels(blob: bytes, peak_usd: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    raw = zlib.decompress(blob)
    n = int(np.frombuffer(raw[:4], "<u4")[0])
    if len(raw) != 4 + 8 * n:
        raise ValueError("truncated map row")
    prices = np.frombuffer(raw, "<f4", n, 4).astype(float)
    unit = peak_usd / _QUANT
    long_usd = np.frombuffer(raw, "<u2", n, 4 + 4 * n).astype(float) * unit
    short_usd = np.frombuffer(raw, "<u2", n, 4 + 6 * n).astype(float) * unit
    return prices, long_usd, short_usd


def _arrays(snapshot: Snapshot) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = [
        (lv.price, max(lv.long_usd, 0.0), max(lv.short_usd, 0.0))
        for lv in snapshot.levels
        if math.isfinite(lv.price) and math.isfinite(lv.long_usd) and math.isfinite(lv.short_usd)
    ]
    rows = [r for r in rows if r[0] > 0 and (r[1] > 0 or r[2] > 0)]
    rows.sort()
    if not rows:
        return np.empty(0), np.empty(0), np.empty(0)
    table = np.array(rows, dtype=float)
    return table[:, 0], table[:, 1], table[:, 2]


class MapHistoryStore(StoreBase):
    """Record maps (`record_map`, the snapshot cache's callback) and read them back."""

    history_every = timedelta(minutes=10)
    history_keep = timedelta(days=14)

    def set_map_history(self, every_minutes: float, keep_days: float) -> None:
        self.history_every = timedelta(minutes=every_minutes)
        self.history_keep = timedelta(days=keep_days)

    def record_map(self, snapshot: Snapshot) -> bool:
        """Keep this map if the symbol's last kept one is at least `every` older; prune hourly.
        True if a row was written. Never raises for a bad map (it is logged and skipped)."""
        recorded = self._recorded_maps()
        key = (snapshot.symbol, snapshot.source)
        taken = snapshot.as_of
        last = recorded.get(key)
        if last is None:
            row = self._row(
                "SELECT max(taken_at) AS t FROM map_history WHERE symbol = ? AND source = ?", key
            )
            last = py_time(row["t"]) if row and row["t"] else None
        if last is not None and taken - last < self.history_every and taken >= last:
            return False
        prices, long_usd, short_usd = _arrays(snapshot)
        if not len(prices) or not (math.isfinite(snapshot.price) and snapshot.price > 0):
            return False
        peak = float(max(long_usd.max(), short_usd.max()))
        with self._transaction():
            self._write(
                "INSERT INTO map_history (symbol, source, taken_at, price, peak_usd, format,"
                " levels) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    *key,
                    db_time(taken),
                    float(snapshot.price),
                    peak,
                    FORMAT,
                    encode_levels(prices, long_usd, short_usd),
                ),
            )
        recorded[key] = taken
        self._maybe_prune()
        return True

    def _recorded_maps(self) -> dict[tuple[str, str], datetime]:
        """(symbol, source) → time of its newest kept map, learnt from the table on first use."""
        if not hasattr(self, "_map_recorded"):
            self._map_recorded: dict[tuple[str, str], datetime] = {}
        return self._map_recorded

    def _maybe_prune(self) -> None:
        now = self._now()
        last = getattr(self, "_map_pruned_at", None)
        if last is None or now - last >= PRUNE_EVERY:
            self._map_pruned_at = now
            removed = self.prune_map_history()
            if removed:
                log.info("map history: pruned %d maps older than %s", removed, self.history_keep)

    def prune_map_history(self) -> int:
        """Delete maps older than the retention; returns how many."""
        cutoff = db_time(self._now() - self.history_keep)
        with self._transaction():
            cursor = self._write("DELETE FROM map_history WHERE taken_at < ?", (cutoff,))
        return cursor.rowcount or 0

    def map_frames(
        self, symbol: str, since: datetime, until: datetime | None = None, source: str | None = None
    ) -> list[MapFrame]:
        """The symbol's kept maps in [since, until], oldest first (one source: the given one,
        else the one with the newest map, so two sources' maps are never mixed)."""
        if source is None:
            row = self._row(
                "SELECT source FROM map_history WHERE symbol = ? ORDER BY taken_at DESC LIMIT 1",
                (symbol,),
            )
            if row is None:
                return []
            source = row["source"]
        end = db_time(until) if until is not None else "9999"
        frames = []
        for row in self._rows(
            "SELECT * FROM map_history WHERE symbol = ? AND source = ? AND taken_at >= ?"
            " AND taken_at <= ? ORDER BY taken_at",
            (symbol, source, db_time(since), end),
        ):
            if row["format"] != FORMAT:
                continue
            try:
                prices, long_usd, short_usd = decode_levels(row["levels"], row["peak_usd"])
            except (zlib.error, ValueError, TypeError):
                log.warning("map history: unreadable row %s skipped", row["id"])
                continue
            frames.append(
                MapFrame(
                    symbol,
                    source,
                    py_time(row["taken_at"]),
                    row["price"],
                    prices,
                    long_usd,
                    short_usd,
                )
            )
        return frames

    def map_history_symbols(self) -> list[str]:
        return [r["symbol"] for r in self._rows("SELECT DISTINCT symbol FROM map_history")]

    def map_history_size(self) -> tuple[int, int]:
        """(rows, bytes of level data) kept: for `liqwatch doctor`."""
        row = self._row(
            "SELECT count(*) AS n, ifnull(sum(length(levels)), 0) AS b FROM map_history"
        )
        return (int(row["n"]), int(row["b"])) if row else (0, 0)


def _check(values, bad) -> None:
    history = values["history"]
    if not 1 <= history["every_minutes"] <= 24 * 60:
        raise bad("history", "every_minutes", "must be between 1 and 1440")
    if not 0.1 <= history["keep_days"] <= 365:
        raise bad("history", "keep_days", "must be between 0.1 and 365")


CONFIG = ConfigPart({"history": {"every_minutes": 10.0, "keep_days": 14.0}}, check=_check)
