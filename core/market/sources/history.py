"""One symbol's estimator input kept between refreshes, so a refresh downloads only what is new.

The estimate source needs `days` of klines and open interest (7 days × 5m: 8 requests). The past
does not change, so after the first full download a refresh asks for one page of each, starting at
an *anchor*: the last row that was already final when stored. The page must start with the anchor
and repeat it exactly (proof that nothing is missing between the stored rows and the new ones and
that the past still reads the same); the rows after the anchor (the unfinished candle) are
replaced. Then the window is trimmed exactly as a full download would cut it, so the estimator
sees the same rows a full download at the same moment would give it.

`plan_update` and `stitch` answer None when the pieces cannot be joined (a pause longer than one
page, a clock that went back, past rows that changed): the caller then downloads everything again.
No HTTP here: the estimate source does the fetching.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from core.market.sources.binance import (
    DAY_MS,
    HOUR_MS,
    KLINES_MAX_LIMIT,
    OPEN_INTEREST_DAYS,
    OPEN_INTEREST_MAX_LIMIT,
    Kline,
    OpenInterestPoint,
)

# A candle counts as final only this long after its close: our clock and Binance's may differ by
# a moment, and a candle Binance still served as unfinished must not become the anchor.
SKEW_GRACE_MS = 30_000

Row = TypeVar("Row", Kline, OpenInterestPoint)


@dataclass(frozen=True)
class PageLimits:
    """What one venue serves per request and keeps of its open-interest history (defaults:
    Binance). `oi_kept_days` or `oi_kept_rows` (OKX keeps the latest 1,440 entries); neither:
    the whole listing (Bybit)."""

    kline_rows: int = KLINES_MAX_LIMIT
    oi_rows: int = OPEN_INTEREST_MAX_LIMIT
    oi_kept_days: float | None = OPEN_INTEREST_DAYS
    oi_kept_rows: int | None = None

    def oi_kept_ms(self, step_ms: int) -> int | None:
        """How far back the venue's open-interest history reaches (None: no limit)."""
        spans = []
        if self.oi_kept_days is not None:
            spans.append(int(self.oi_kept_days * DAY_MS))
        if self.oi_kept_rows is not None:
            spans.append(self.oi_kept_rows * step_ms)
        return min(spans) if spans else None


BINANCE_LIMITS = PageLimits()


@dataclass(frozen=True)
class History:
    """The rows a full download returned at `fetched_at_ms` (the last kline may be unfinished)."""

    klines: tuple[Kline, ...]
    open_interest: tuple[OpenInterestPoint, ...]
    fetched_at_ms: int


@dataclass(frozen=True)
class UpdatePlan:
    """What one incremental refresh asks for: one page of each, from its anchor to now."""

    klines_from_ms: int  # open time of the anchor kline
    klines_rows: int  # rows from the anchor to the current candle: the page's limit
    open_interest_from_ms: int | None  # anchor point's time; None: no newer point can exist yet
    open_interest_rows: int = 0


def window_bounds(
    now_ms: int, days: float, step_ms: int, limits: PageLimits = BINANCE_LIMITS
) -> tuple[int, int]:
    """The rows a full download keeps at `now_ms`: klines opened after the first bound, open
    interest from the second, both up to now. Mirrors BinanceClient.klines_between and
    open_interest_between (which starts no earlier than the 30 days Binance keeps); the other
    venues' full downloads start open interest at the second bound too."""
    start = now_ms - int(days * DAY_MS)
    kept = limits.oi_kept_ms(step_ms)
    if kept is None:
        return start - step_ms, start
    oldest_kept = now_ms - kept + step_ms
    return start - step_ms, max(start, oldest_kept - oldest_kept % step_ms + step_ms)


def plan_update(
    history: History, now_ms: int, step_ms: int, limits: PageLimits = BINANCE_LIMITS
) -> UpdatePlan | None:
    """The pages that bring `history` up to `now_ms`, or None if one page each cannot."""
    if not history.klines or not history.open_interest or now_ms < history.fetched_at_ms:
        return None
    final_before = history.fetched_at_ms - SKEW_GRACE_MS
    anchor = next(
        (k for k in reversed(history.klines) if k.open_time_ms + step_ms <= final_before), None
    )
    if anchor is None:
        return None
    # The exact row count as the limit also keeps the request cheap: Binance weighs klines by it.
    kline_rows = _rows_between(anchor.open_time_ms, now_ms, step_ms)
    if kline_rows > limits.kline_rows:
        return None
    last_point = history.open_interest[-1].timestamp_ms
    if now_ms < last_point + step_ms:  # a point is stamped at its period's end: none is due yet
        return UpdatePlan(anchor.open_time_ms, kline_rows, None)
    point_rows = _rows_between(last_point, now_ms, step_ms)
    kept = limits.oi_kept_ms(step_ms)
    too_old = kept is not None and last_point < now_ms - kept + step_ms  # the venue refuses it
    if too_old or point_rows > limits.oi_rows:
        return None
    return UpdatePlan(anchor.open_time_ms, kline_rows, last_point, point_rows)


def stitch(
    history: History,
    plan: UpdatePlan,
    kline_page: Sequence[Kline],
    open_interest_page: Sequence[OpenInterestPoint],
    now_ms: int,
    days: float,
    step_ms: int,
    limits: PageLimits = BINANCE_LIMITS,
) -> History | None:
    """`history` with the pages joined on and the window trimmed as at `now_ms`; None when a
    page does not start with its anchor exactly as stored (a gap, or the past changed)."""
    klines = _join(history.klines, kline_page, plan.klines_from_ms, _open_time)
    points = (
        list(history.open_interest)
        if plan.open_interest_from_ms is None
        else _join(
            history.open_interest, open_interest_page, plan.open_interest_from_ms, _timestamp
        )
    )
    if klines is None or points is None:
        return None
    klines_after, points_from = window_bounds(now_ms, days, step_ms, limits)
    return History(
        klines=tuple(k for k in klines if klines_after < k.open_time_ms <= now_ms),
        open_interest=tuple(p for p in points if points_from <= p.timestamp_ms <= now_ms),
        fetched_at_ms=now_ms,
    )


def _join(
    stored: Sequence[Row], page: Sequence[Row], anchor_ms: int, time_of: Callable[[Row], int]
) -> list[Row] | None:
    """Stored rows before the anchor + the page (deduplicated by time, the last copy winning, as
    the paginated download does), if the page starts with the stored anchor row unchanged."""
    fresh = {time_of(row): row for row in page}
    stored_anchor = next((row for row in stored if time_of(row) == anchor_ms), None)
    if not fresh or min(fresh) != anchor_ms or fresh[anchor_ms] != stored_anchor:
        return None
    kept = [row for row in stored if time_of(row) < anchor_ms]
    return kept + [fresh[t] for t in sorted(fresh)]


def _open_time(kline: Kline) -> int:
    return kline.open_time_ms


def _timestamp(point: OpenInterestPoint) -> int:
    return point.timestamp_ms


def _rows_between(first_ms: int, now_ms: int, step_ms: int) -> int:
    """Grid rows from the one at `first_ms` up to the one holding `now_ms`, both included."""
    return (now_ms - first_ms) // step_ms + 1


class HistoryStore:
    """Histories per symbol, forgetting symbols not asked for in `idle_ms` (and the least recently
    asked beyond `max_symbols`), so memory stays at one window per watched symbol."""

    def __init__(self, *, idle_ms: int = HOUR_MS, max_symbols: int = 200):
        self.idle_ms = idle_ms
        self.max_symbols = max_symbols
        self._entries: OrderedDict[str, tuple[History, int]] = OrderedDict()

    def get(self, symbol: str, now_ms: int) -> History | None:
        """The stored history of `symbol` (counts as asking for it), after forgetting idle ones."""
        self._forget_idle(now_ms)
        entry = self._entries.get(symbol)
        if entry is None:
            return None
        self._entries[symbol] = (entry[0], now_ms)
        self._entries.move_to_end(symbol)
        return entry[0]

    def put(self, symbol: str, history: History, now_ms: int) -> None:
        """Keep `history` unless a newer one is already stored (two refreshes that overlapped)."""
        current = self._entries.get(symbol)
        if current is not None and current[0].fetched_at_ms > history.fetched_at_ms:
            return
        self._entries[symbol] = (history, now_ms)
        self._entries.move_to_end(symbol)
        while len(self._entries) > self.max_symbols:
            self._entries.popitem(last=False)

    def symbols(self) -> list[str]:
        return list(self._entries)

    def _forget_idle(self, now_ms: int) -> None:
        idle = [s for s, (_, used) in self._entries.items() if used < now_ms - self.idle_ms]
        for symbol in idle:
            del self._entries[symbol]
