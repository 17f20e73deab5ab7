"""The periodic work behind alerts and summaries, called by the scheduler.

tick(): the symbols any rule, watchlist or summary needs → one fresh snapshot each (shared cache)
→ the 1-minute wick range since the last check → the pure alert engine → one message per chat,
written to the outbox in the same transaction as the rules' new state. A symbol whose source
failed is simply absent: its rules keep their state and nothing fires on stale data.

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
from core.types import Candle

log = logging.getLogger(__name__)

ONE_MINUTE = timedelta(minutes=1)
MAX_LOOKBACK = timedelta(minutes=60)  # the oldest wick a tick reads, e.g. after a long downtime


@dataclass(frozen=True)
class TickStats:
    symbols: int
    fresh: int
    rules: int
    events: int
    messages: int


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
    ):
        self.market = market
        self.store = store
        self.snapshots = market.snapshots
        self.check_seconds = check_seconds
        self.rearm_margin_pct = rearm_margin_pct
        self.window_pct = window_pct
        self.clock = clock
        self.max_lookback = max_lookback
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
        fresh = await self.snapshots.refresh(needed, newer_than=self._last_tick)
        markets: dict[str, MarketView] = {}
        newest_candles: dict[str, Candle] = {}
        windows = (
            self.store.liq_windows(list(fresh), now - MAX_LOOKBACK, now) if self.realised else {}
        )
        for symbol, snapshot in fresh.items():
            since = self._since(symbol, now)
            high, low, newest = await self._wick_range(symbol, since, snapshot.price)
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
        return TickStats(len(needed), len(fresh), len(rules), len(events), len(messages))

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
