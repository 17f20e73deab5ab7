"""The platform-neutral API every adapter calls.

It parses the one command grammar (core/commands.py), runs the command against the snapshot cache
and the store, and returns neutral Messages. It computes; it never formats for a platform.
Authorisation is the adapter's job: it passes the caller's rights in `Caller`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import dispatch, symbols
from .analysis import analyze
from .chart import render_chart
from .chat_settings import ChatSettings
from .commands import COMMANDS
from .config import Config
from .errors import LiqwatchError, SourceError, UnknownSymbol, UsageError
from .fmt import duration as fmt_duration
from .model import Analysis, Button, Caller, Message, Section, Snapshot, utcnow
from .report import report_message, watchlist_line
from .rules import describe_rule, rule_value
from .service_base import reply, tells_if_resumed
from .snapshots import SnapshotCache
from .store import Store
from .summaries import SummaryPlanner

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceSettings:
    window_pct: float = 0.0
    max_symbols_per_user: int = 20
    max_rules_per_user: int = 50
    check_seconds: float = 60.0

    @classmethod
    def from_config(cls, config: Config) -> ServiceSettings:
        alerts = config.section("alerts")
        return cls(
            window_pct=config.get("data", "window_pct"),
            max_symbols_per_user=alerts["max_symbols_per_user"],
            max_rules_per_user=alerts["max_rules_per_user"],
            check_seconds=alerts["check_seconds"],
        )


class Service(ChatSettings):
    def __init__(
        self,
        snapshots: SnapshotCache,
        store: Store,
        settings: ServiceSettings = ServiceSettings(),
        clock: Callable[[], datetime] = utcnow,
    ):
        self.snapshots = snapshots
        self.store = store
        self.settings = settings
        self.clock = clock
        self.summaries = SummaryPlanner(store)
        self._charts: OrderedDict[tuple, bytes] = OrderedDict()

    # ---- entry points for adapters -------------------------------------------------------

    async def handle(self, caller: Caller, text: str) -> list[Message]:
        """Run one command line. Bad input gets one short error Message and changes nothing."""
        return await dispatch.handle_line(self, caller, text)

    async def press(self, caller: Caller, action: str, args: tuple[str, ...]) -> list[Message]:
        """Run a button's action (Button.action with Button.args)."""
        return await dispatch.press_button(self, caller, action, args)

    # ---- reports -------------------------------------------------------------------------

    async def analysis(
        self, symbol: str, window_pct: float | None = None
    ) -> tuple[Snapshot, Analysis]:
        sym = symbols.normalize(symbol)
        snapshot = await self.snapshots.get(sym)
        window = self.settings.window_pct if window_pct is None else window_pct
        return snapshot, analyze(snapshot, window)

    async def report(
        self, symbol: str, window_pct: float | None = None, chart: bool = True
    ) -> Message:
        """The /liq report with buttons Refresh / Chart / Alert me on breakout."""
        snapshot, result = await self.analysis(symbol, window_pct)
        image = await self.chart(snapshot, result) if chart else None
        return report_message(snapshot, result, self.clock(), image)

    async def chart(self, snapshot: Snapshot, result: Analysis) -> bytes:
        """The PNG for a snapshot, rendered off the event loop once and then served from memory."""
        key = (snapshot.symbol, snapshot.source, snapshot.as_of, snapshot.price, result.window_pct)
        if key in self._charts:
            self._charts.move_to_end(key)
            return self._charts[key]
        image = await asyncio.to_thread(render_chart, snapshot, result)
        self._charts[key] = image
        while len(self._charts) > 32:
            self._charts.popitem(last=False)
        return image

    # ---- watchlist -----------------------------------------------------------------------

    def _chat(self, caller: Caller) -> int:
        """Register the caller's chat (re-activating a paused one); returns its key."""
        key = self.store.upsert_chat(
            caller.platform,
            caller.chat_id,
            kind=caller.chat_kind,
            thread_id=caller.thread_id,
            user_id=caller.user_id,
            fallback_chat_id=caller.fallback_chat_id,
        )
        return key

    async def _checked_symbols(self, raw: list[str]) -> tuple[list[str], list[str], str]:
        """Normalise and ask the source about each symbol: (known, unknown, note). A symbol the
        source could not be asked about (an outage) counts as known, and the note says so."""
        wanted = list(dict.fromkeys(symbols.normalize(s) for s in raw))
        results = await asyncio.gather(
            *(self.snapshots.get(s) for s in wanted), return_exceptions=True
        )
        known, unknown, unchecked = [], [], []
        for sym, result in zip(wanted, results, strict=True):
            if isinstance(result, UnknownSymbol):
                unknown.append(sym)
            elif isinstance(result, Snapshot):
                known.append(sym)
            elif isinstance(result, SourceError):
                known.append(sym)  # a source outage must not stop a user from watching
                unchecked.append(sym)
            else:
                raise result
        note = ""
        if unchecked:
            note = (
                f"Could not check {', '.join(unchecked)} with the data source right now; "
                "if the exchange does not list it, nothing will fire."
            )
        return known, unknown, note

    @tells_if_resumed
    async def watch(self, caller: Caller, symbol_list: list[str]) -> Message:
        known, unknown, note = await self._checked_symbols(symbol_list)
        if unknown:
            raise UnknownSymbol(", ".join(unknown))
        key = self._chat(caller)
        current = self.store.watchlist(key, caller.user_id)
        new = [s for s in known if s not in current]
        cap = self.settings.max_symbols_per_user
        if len(current) + len(new) > cap:
            raise UsageError(
                f"A watchlist holds at most {cap} symbols; you have {len(current)}. "
                "Remove some with /unwatch."
            )
        rules = self.store.rules_for(key, caller.user_id)
        have_breakout = {r.symbol for r in rules if r.kind == "breakout"}
        to_alert = [s for s in new if s not in have_breakout]
        if len(rules) + len(to_alert) > self.settings.max_rules_per_user:
            to_alert = []  # the watchlist still works; say so below
            note = (note + " " if note else "") + "Alert limit reached: no breakout alerts added."
        for sym in new:
            self.store.watch(key, caller.user_id, sym)
        for sym in to_alert:
            self.store.add_rule(key, caller.user_id, sym, "breakout", None)
        lines = []
        if new:
            lines.append(f"Watching {', '.join(new)}.")
        if to_alert:
            lines.append(f"Breakout alerts on for {', '.join(to_alert)} (see /alerts).")
        already = [s for s in known if s not in new]
        if already:
            lines.append(f"Already watching {', '.join(already)}.")
        if note:
            lines.append(note)
        return reply("Watchlist updated" if new else "Watchlist unchanged", *lines)

    @tells_if_resumed
    async def unwatch(self, caller: Caller, symbol_list: list[str]) -> Message:
        key = self._chat(caller)
        wanted = list(dict.fromkeys(symbols.normalize(s) for s in symbol_list))
        removed = [s for s in wanted if self.store.unwatch(key, caller.user_id, s)]
        dropped = 0
        for rule in self.store.rules_for(key, caller.user_id):
            if rule.symbol in removed and rule.kind == "breakout":
                dropped += self.store.delete_rule(key, caller.user_id, rule.id)
        missing = [s for s in wanted if s not in removed]
        lines = [f"Stopped watching {', '.join(removed)}."] if removed else []
        if dropped:
            lines.append(f"Removed {dropped} breakout alert{'s' * (dropped > 1)} with them.")
        if missing:
            lines.append(f"Not on your watchlist: {', '.join(missing)}.")
        return reply("Watchlist updated" if removed else "Watchlist unchanged", *lines)

    @tells_if_resumed
    async def watchlist(self, caller: Caller) -> Message:
        key = self._chat(caller)
        watched = self.store.watchlist(key, caller.user_id)
        if not watched:
            return reply("Your watchlist is empty", "Add symbols with /watch BTC ETH.")
        results = await asyncio.gather(*(self.analysis(s) for s in watched), return_exceptions=True)
        lines = []
        for sym, result in zip(watched, results, strict=True):
            if isinstance(result, BaseException):
                reason = str(result) if isinstance(result, LiqwatchError) else "no data"
                lines.append(f"{sym}: {reason}")
            else:
                lines.append(watchlist_line(sym, result[1]))
        buttons = tuple(Button(f"Chart {s}", "chart", (s,)) for s in watched[:3])
        return Message(title=f"Watchlist ({len(watched)})", lines=tuple(lines), buttons=buttons)

    # ---- alert rules ---------------------------------------------------------------------

    @tells_if_resumed
    async def add_alert(
        self, caller: Caller, symbol: str, kind: str, value: str | float | None
    ) -> Message:
        kind = kind.lower()
        parsed = rule_value(kind, value)
        known, unknown, note = await self._checked_symbols([symbol])
        if unknown:
            raise UnknownSymbol(unknown[0])
        key = self._chat(caller)
        sym = known[0]
        rules = self.store.rules_for(key, caller.user_id)
        for rule in rules:
            if rule.symbol == sym and rule.kind == kind and rule.value == parsed:
                return reply("You already have that alert", f"#{rule.id} {describe_rule(rule)}")
        if len(rules) >= self.settings.max_rules_per_user:
            raise UsageError(
                f"You have {len(rules)} alerts, the most allowed. Delete some with /delalert ID."
            )
        rule = self.store.add_rule(key, caller.user_id, sym, kind, parsed)
        lines = [
            f"#{rule.id} {describe_rule(rule)}",
            f"Checked every {fmt_duration(timedelta(seconds=self.settings.check_seconds))}.",
        ]
        if note:
            lines.append(note)
        return reply("Alert set", *lines)

    @tells_if_resumed
    async def alerts(self, caller: Caller) -> Message:
        key = self._chat(caller)
        rules = self.store.rules_for(key, caller.user_id)
        if not rules:
            return reply("No alerts", "Set one with /alert BTC breakout or /watch BTC.")
        now = self.clock()
        lines = []
        for rule in rules:
            line = f"#{rule.id} {describe_rule(rule)}"
            if rule.paused:
                line += " (paused)"
            elif rule.snoozed_until and rule.snoozed_until > now:
                line += f" (snoozed until {rule.snoozed_until:%Y-%m-%d %H:%M} UTC)"
            lines.append(line)
        if any(r.snoozed_until and r.snoozed_until > now for r in rules):
            lines.append("/unmute turns snoozed alerts back on.")
        muted = self.store.muted_until(key)
        if muted and muted > now:
            lines.append(f"All alerts muted until {muted:%Y-%m-%d %H:%M} UTC (/unmute).")
        lines.append("Delete one with /delalert ID.")
        return Message(title=f"Your alerts ({len(rules)})", lines=tuple(lines))

    @tells_if_resumed
    async def delete_alert(self, caller: Caller, rule_id: int) -> Message:
        key = self._chat(caller)
        if not self.store.delete_rule(key, caller.user_id, int(rule_id)):
            raise UsageError(f"You have no alert #{int(rule_id)}. See /alerts.")
        return reply("Alert deleted", f"#{int(rule_id)} is gone.")

    @tells_if_resumed
    async def snooze(self, caller: Caller, rule_id: int, hours: float = 1) -> Message:
        key = self._chat(caller)
        rule = next((r for r in self.store.rules_for(key, caller.user_id) if r.id == rule_id), None)
        if rule is None:
            raise UsageError("That alert no longer exists. See /alerts.")
        until = self.clock() + timedelta(hours=hours)
        self.store.snooze_rule(rule.id, until)
        return reply(
            "Snoozed", f"#{rule.id} {describe_rule(rule)} is quiet until {until:%H:%M} UTC."
        )

    @tells_if_resumed
    async def mute_symbol(self, caller: Caller, symbol: str, hours: float = 24) -> Message:
        key = self._chat(caller)
        sym = symbols.normalize(symbol)
        until = self.clock() + timedelta(hours=hours)
        rules = [r for r in self.store.rules_for(key, caller.user_id) if r.symbol == sym]
        for rule in rules:
            self.store.snooze_rule(rule.id, until)
        if not rules:
            return reply(f"No {sym} alerts to mute")
        return reply(
            f"{sym} muted",
            f"{len(rules)} {sym} alert(s) quiet until {until:%Y-%m-%d %H:%M} UTC "
            "(alerts you add later are not muted).",
            "/unmute turns them back on; /alerts lists them.",
        )

    # ---- misc ----------------------------------------------------------------------------

    def help(self) -> Message:
        lines = (
            "Liquidation maps: where leveraged longs and shorts would be force-closed, "
            "the imbalance between them, and alerts when price gets there.",
        )
        rows = tuple(f"{spec.usage} — {spec.description}. e.g. {spec.example}" for spec in COMMANDS)
        source = self.snapshots.source.name
        return Message(
            title="liqwatch",
            lines=lines,
            sections=(Section("Commands", rows),),
            footer=f"Data: {source}. Every figure is an estimate; not financial advice.",
            kind="help",
        )

    def known_symbols(self, prefix: str = "") -> list[str]:
        return self.snapshots.known_symbols(prefix, sorted(self.store.needed_symbols()))
