"""The periodic work behind alerts and summaries, called by the scheduler.

tick(): the symbols any rule, watchlist or summary needs → one fresh snapshot each (shared cache)
→ the 1-minute wick range since the last check → the pure alert engine → one message per chat,
written to the outbox in the same transaction as the rules' new state. A symbol whose source
failed is simply absent: its rules keep their state and nothing fires on stale data.

Each symbol has `[alerts] symbol_budget_seconds` to bring its snapshot and candles: the tick does
not wait for a slower one (one slow venue or symbol never delays everyone's alerts). Its reading
goes on in the background and is not used (it would be this tick's data arriving late); it is
not started again while it runs, and its wick mark does not advance, so the next tick that reads
it looks back from its last good check: a level crossed meanwhile still fires, once.

Across a restart: each symbol's last good check and the newest candle seen then (a WickMark) are
committed with the rule states and loaded when the Monitor is created, so the first tick of a new
process reads the wicks since the last check of the old one, as if it had never stopped: a wick
that crossed a level while the bot was down fires once, and the candle that was open at the last
check cannot bring back its pre-alert prices to re-arm and re-fire a rule.

The look-back is capped at MAX_LOOKBACK (60 minutes), after a long downtime or a long source
outage alike: the tick then reads the candles of the last hour only, for firing and re-arming
both, like one long check. What happened before that is not replayed (an hour-old wick is news
nobody wants), and no price from before the last check can enter, because every candle newer
than the remembered one began after that check. The engine's rule that a re-arm inside one tick
fires again only when the close is past the level keeps such a long check honest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.alerts.engine import MarketView, coalesce, evaluate
from core.alerts.kinds import notice
from core.delivery.summaries import Schedule, remembered
from core.kernel.clock import utcnow
from core.kernel.errors import LiqwatchError
from core.market.analysis import analyze
from core.market.reader import MarketReader
from core.render.alerts import alert_message
from core.render.context import with_summary_context
from core.render.summaries import summary_message
from core.store import Store, WickMark
from core.types import Candle, Snapshot

log = logging.getLogger(__name__)

ONE_MINUTE = timedelta(minutes=1)
MAX_LOOKBACK = timedelta(minutes=60)  # the oldest wick a tick reads, e.g. after a long downtime
SYMBOL_BUDGET_SECONDS = 20.0  # above the estimate's venue budget (8 s) plus the model's work

Reading = tuple[Snapshot, float, float, Candle | None]  # snapshot, high and low since, newest


@dataclass(frozen=True)
class TickStats:
    symbols: int
    fresh: int
    rules: int
    events: int
    messages: int
    late: int = 0  # symbols that did not answer within the budget (checked on a later tick)


class Monitor:
    def __init__(
        self,
        market: MarketReader,
        store: Store,
        check_seconds: float = 60.0,
        rearm_margin_pct: float = 0.3,
        window_pct: float = 0.0,
        clock: Callable[[], datetime] = utcnow,
        max_lookback: timedelta = MAX_LOOKBACK,
        symbol_budget_seconds: float = SYMBOL_BUDGET_SECONDS,
    ):
        self.market = market
        self.store = store
        self.snapshots = market.snapshots
        self.check_seconds = check_seconds
        self.rearm_margin_pct = rearm_margin_pct
        self.window_pct = window_pct
        self.clock = clock
        self.max_lookback = max_lookback
        self.symbol_budget = symbol_budget_seconds
        self._reading: dict[str, asyncio.Task] = {}  # a symbol's reading still under way
        self._late_since: dict[str, datetime] = {}  # symbols over budget, logged once each
        self.context = None  # core.market.context.ContextReader, set by the wiring
        self._last_check: dict[str, datetime] = {}
        self._last_tick: datetime | None = None
        self._seen_candle: dict[str, Candle] = {}  # the newest 1m candle at the last check
        # True when the live liquidation feeds run: ticks then carry each symbol's realised
        # liquidations of the last hour (the cascade kind); False: none, and nothing changes.
        self.realised = False
        # Where the previous process left off (see the module docstring).
        for symbol, mark in store.wick_marks().items():
            self._last_check[symbol] = mark.checked_at
            if mark.candle is not None:
                self._seen_candle[symbol] = mark.candle

    async def tick(self) -> TickStats:
        now = self.clock()
        needed = self.store.needed_symbols()
        # Data fetched since the previous check only: a map cached from before it would give the
        # engine an old price as this tick's close ("... and is back at <old price>").
        readings, late = await self._read_all(needed, now)
        markets: dict[str, MarketView] = {}
        newest_candles: dict[str, Candle] = {}
        windows = (
            self.store.liq_windows(list(readings), now - MAX_LOOKBACK, now) if self.realised else {}
        )
        for symbol, (snapshot, high, low, newest) in readings.items():
            price = snapshot.price
            if newest is not None:
                newest_candles[symbol] = newest
                if newest.open_time + 2 * ONE_MINUTE > now:  # the candle in progress: the latest
                    price = newest.close
                    high, low = max(high, price), min(low, price)
            markets[symbol] = MarketView(
                symbol=symbol,
                price=price,
                analysis=analyze(snapshot, self.window_pct),
                high_since=high,
                low_since=low,
                as_of=snapshot.as_of,
                liquidations=windows.get(symbol),
            )
        # Rules are read after the awaits above, so a rule deleted, snoozed or paused while the
        # data was on its way counts in this very tick.
        rules = self.store.active_rules()
        events, states = evaluate(
            rules, self.store.rule_states(), markets, now, self.rearm_margin_pct
        )
        messages = []
        for chat_key, chat_events in coalesce(events).items():
            messages.append(
                (
                    chat_key,
                    alert_message([notice(event) for event in chat_events]),
                    f"alert:{chat_key}:{now.isoformat()}",
                )
            )
        # Only symbols whose candles came advance their mark: for the others this tick saw the
        # price alone, so the next one looks back from the older mark, with its candle.
        marks = {symbol: WickMark(now, candle) for symbol, candle in newest_candles.items()}
        self.store.commit_tick(states, messages, marks)  # a muted chat's alerts are held
        for symbol in newest_candles:
            self._last_check[symbol] = now
        self._seen_candle.update(newest_candles)
        self._last_tick = now
        return TickStats(
            len(needed), len(readings), len(rules), len(events), len(messages), len(late)
        )

    async def _read_all(self, needed, now: datetime) -> tuple[dict[str, Reading], list[str]]:
        """Each symbol's fresh reading, within the budget: (readings, the symbols too late)."""
        newer_than = self._last_tick
        tasks: dict[str, asyncio.Task] = {}
        still_late = []
        for symbol in self.snapshots.checkable(needed):
            if symbol in self._reading:  # last tick's, still on its way: not twice at once
                still_late.append(symbol)
                continue
            task = asyncio.ensure_future(self._read(symbol, now, newer_than))
            tasks[symbol] = self._reading[symbol] = task
            task.add_done_callback(lambda done, s=symbol: self._read_done(s, done))
        if tasks:
            await asyncio.wait(tasks.values(), timeout=self.symbol_budget)
        readings: dict[str, Reading] = {}
        late = still_late
        for symbol, task in tasks.items():
            if not task.done():
                late.append(symbol)
            elif not task.cancelled() and task.exception() is None and task.result():
                readings[symbol] = task.result()
        for symbol in late:
            if symbol not in self._late_since:
                self._late_since[symbol] = now
                log.warning(
                    "%s: no data within %g s; its rules wait for a later tick (nothing is missed:"
                    " that tick reads the wicks since the last good check)",
                    symbol,
                    self.symbol_budget,
                )
        for symbol in readings:
            since = self._late_since.pop(symbol, None)
            if since is not None:
                log.info("%s: data again after %.0f s", symbol, (now - since).total_seconds())
        return readings, sorted(late)

    async def _read(self, symbol: str, now: datetime, newer_than) -> Reading | None:
        try:
            snapshot = await self.snapshots.get(symbol, allow_stale=False, newer_than=newer_than)
        except LiqwatchError:  # the cache logged it; the symbol sits this tick out
            return None
        high, low, newest = await self._wick_range(symbol, self._since(symbol, now), snapshot.price)
        return snapshot, high, low, newest

    async def aclose(self) -> None:
        """Stop the readings still running past their budget (before the store closes: a reading
        that finished would record its map there)."""
        running = list(self._reading.values())
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running)

    def _read_done(self, symbol: str, task: asyncio.Task) -> None:
        if self._reading.get(symbol) is task:
            del self._reading[symbol]
        if not task.cancelled() and task.exception() is not None:
            log.error("reading %s for the alert tick failed: %r", symbol, task.exception())

    def _since(self, symbol: str, now: datetime) -> datetime:
        """Where this tick's wick range starts: the last good check, but at most max_lookback
        ago (a symbol never checked: one check interval ago)."""
        last = self._last_check.get(symbol)
        if last is None:
            return now - timedelta(seconds=self.check_seconds)
        return max(min(last, now), now - self.max_lookback)  # min: a clock that went back

    async def _wick_range(
        self, symbol: str, since: datetime, price: float
    ) -> tuple[float, float, Candle | None]:
        """The high/low since the last check, from 1-minute candles, so that a wick between two
        checks still counts; plus the newest candle, remembered for the next check.

        A candle that was already open at the last check also holds prices from before it (say,
        the low before a breakout): from that candle only new extremes count, or the old low
        would re-arm a rule that just fired and fire it again. The remembered candle survives a
        restart (the store's wick marks); for a symbol never checked before nothing is remembered,
        so candles that began before `since` are left out. When `since` is capped (MAX_LOOKBACK),
        the candle holding it began after the remembered one, so after the last check: it counts.
        """
        try:
            candles = await self.snapshots.source.candles(symbol, since)
        except LiqwatchError as exc:
            log.info("%s: no 1m candles (%s); using the price alone", symbol, exc)
            return price, price, None
        seen = self._seen_candle.get(symbol)
        highs, lows = [price], [price]
        for candle in candles:
            if candle.open_time + ONE_MINUTE <= since:
                continue  # closed before the last check
            if seen is not None and candle.open_time == seen.open_time:
                if candle.high > seen.high:
                    highs.append(candle.high)
                if candle.low < seen.low:
                    lows.append(candle.low)
            elif candle.open_time >= since or (
                seen is not None and candle.open_time > seen.open_time
            ):
                highs.append(candle.high)
                lows.append(candle.low)
        newest = max(candles, key=lambda c: c.open_time, default=None)
        return max(highs), min(lows), newest

    async def _range_since(self, symbol: str, since: datetime, price: float) -> tuple[float, float]:
        """High and low since the previous summary (5-minute candles; the price alone if the
        source has none), so a key level broken and left again in between is still reported."""
        since = max(since, self.clock() - timedelta(days=2))
        try:
            candles = await self.snapshots.source.candles(symbol, since, "5m")
        except LiqwatchError as exc:
            log.info("%s: no candles since the last summary (%s)", symbol, exc)
            candles = []
        highs = [c.high for c in candles if c.open_time + timedelta(minutes=5) > since]
        lows = [c.low for c in candles if c.open_time + timedelta(minutes=5) > since]
        return max([price, *highs]), min([price, *lows])

    async def run_summary(self, summary_id: int) -> bool:
        """Post one summary now (called by its cron trigger). False if it no longer exists."""
        summary = next((s for s in self.store.summaries() if s["id"] == summary_id), None)
        if summary is None:
            return False
        schedule = Schedule(tuple(summary["symbols"]), summary["schedule"], summary["tz"])
        results = await self.market.readings(list(schedule.symbols))
        first = next(((s, a) for _, s, a in results if s is not None), None)
        image = await self.market.chart(*first) if first else None
        previous = summary.get("last_state") or {}
        ranges = {}
        for sym, snapshot, _ in results:
            if snapshot is not None and previous.get(sym) and summary.get("last_run_at"):
                ranges[sym] = await self._range_since(sym, summary["last_run_at"], snapshot.price)
        message = summary_message(schedule.text, results, previous, image, ranges)
        if self.context is not None:  # funding and OI of the symbols, two lines at most
            found = [await self.context.get(sym) for sym, snapshot, _ in results if snapshot]
            message = with_summary_context(message, [c for c in found if c is not None])
        now = self.clock()
        state = {sym: remembered(a) for sym, _, a in results if a is not None}
        self.store.enqueue(
            summary["chat_key"],
            message,
            dedup_key=f"summary:{summary_id}:{now:%Y%m%d%H%M}",
            kind="summary",
        )
        self.store.summary_done(
            summary_id,
            now,
            {s: v["ratio"] for s, v in state.items()},
            {s: v["price"] for s, v in state.items()},
            state=state,
        )
        return True
