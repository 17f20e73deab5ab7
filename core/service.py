"""The platform-neutral API every adapter calls.

It parses the one command grammar (core/commands.py), runs the command against the snapshot cache
and the store, and returns neutral Messages. It computes; it never formats for a platform.
Authorisation is the adapter's job: it passes the caller's rights in `Caller`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import inspect
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import dispatch, parsing, symbols
from .analysis import analyze
from .chart import render_chart
from .commands import BY_NAME, COMMANDS
from .config import Config
from .errors import LiqwatchError, SourceError, UnknownSymbol, UsageError
from .fmt import duration as fmt_duration
from .model import Analysis, Button, Caller, Message, Section, Snapshot
from .monitor import release_mute
from .report import report_message, watchlist_line
from .rules import describe_rule, rule_value
from .snapshots import SnapshotCache, utcnow
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


RESUMED_NOTE = "Note: I could not reach you before, so your alerts were paused. They are back on."


def tells_if_resumed(method):
    """Wrap a per-chat command: if it re-activates a paused chat, its reply says so."""

    @functools.wraps(method)
    async def wrapper(self: Service, caller: Caller, *args, **kwargs) -> Message:
        chat = self.store.find_chat(caller.platform, caller.chat_id, caller.thread_id)
        result = method(self, caller, *args, **kwargs)
        message = await result if inspect.isawaitable(result) else result
        if chat is not None and not chat["active"]:
            message = dataclasses.replace(message, lines=(*message.lines, RESUMED_NOTE))
            self.summaries.changed()  # its summaries run again
        return message

    return wrapper


def _require_chat_rights(caller: Caller, what: str) -> None:
    """Chat-wide settings (summaries, mute) in a group or channel are for its administrators."""
    if caller.chat_kind != "private" and not (caller.can_manage_chat or caller.is_bot_admin):
        raise LiqwatchError(f"Only this chat's administrators can {what}.")


def reply(title: str, *lines: str, buttons: tuple[Button, ...] = ()) -> Message:
    return Message(title=title, lines=tuple(lines), buttons=buttons)


class Service:
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

    # ---- mute ----------------------------------------------------------------------------

    @tells_if_resumed
    async def mute(self, caller: Caller, text: str) -> Message:
        _require_chat_rights(caller, "mute its alerts")
        span = parsing.duration(text)
        key = self._chat(caller)
        until = self.clock() + span
        self.store.set_muted_until(key, until)
        return reply(
            f"Muted for {fmt_duration(span)}",
            f"Until {until:%Y-%m-%d %H:%M} UTC. Alerts are held, not dropped, and arrive "
            "as one digest when the mute ends (or on /unmute).",
        )

    @tells_if_resumed
    async def unmute(self, caller: Caller) -> Message:
        _require_chat_rights(caller, "unmute its alerts")
        key = self._chat(caller)
        now = self.clock()
        held = release_mute(self.store, key, now)
        snoozed = [
            r for r in self.store.rules_for(key, caller.user_id)
            if r.snoozed_until and r.snoozed_until > now
        ]  # fmt: skip
        for rule in snoozed:  # "Snooze 1h" and "Mute BTC" are lifted too
            self.store.snooze_rule(rule.id, None)
        lines = []
        if snoozed:
            lines.append(f"{len(snoozed)} snoozed alert(s) are back on.")
        if held is None and not snoozed:
            return reply("Not muted", "Alerts are on.")
        if held:
            lines.append(f"{held} held alert message(s) follow as one digest.")
        return reply("Unmuted", "Alerts are on again.", *lines)

    # ---- summaries -----------------------------------------------------------------------

    @tells_if_resumed
    async def set_summary(self, caller: Caller, args: list[str]) -> Message:
        _require_chat_rights(caller, "change its summaries")
        usage = BY_NAME["summary"].usage
        current = self._current_summary(caller)
        if not args:
            now = f"Now: {current}." if current else "This chat has no summary."
            return reply("Summaries", now, f"Usage: {usage}")
        if [a.lower() for a in args] == ["off"]:
            chat = self.store.find_chat(caller.platform, caller.chat_id, caller.thread_id)
            if chat is None or not self.store.delete_summary(chat["key"]):
                return reply("No summary to stop")
            self.summaries.changed()
            return reply("Summaries off", "This chat will get no more scheduled summaries.")
        schedule = self.summaries.parse(args)
        if not schedule.symbols:
            raise UsageError(f"Name at least one symbol. Usage: {usage}")
        if len(schedule.symbols) > 10:
            raise UsageError("A summary covers at most 10 symbols.")
        known, unknown, note = await self._checked_symbols(list(schedule.symbols))
        if unknown:
            raise UnknownSymbol(", ".join(unknown))
        key = self._chat(caller)
        self.store.set_summary(key, known, schedule.text, schedule.tz)
        self.summaries.changed()
        nxt = schedule.next_run(self.clock())
        when = f", next at {nxt:%Y-%m-%d %H:%M} {schedule.tz}" if nxt else ""
        lines = [f"{', '.join(known)} {schedule.text} ({schedule.tz}){when}."]
        if current:
            lines.append(f"Replaces: {current}.")
        if note:
            lines.append(note)
        lines.append("Stop with /summary off.")
        return reply("Summary scheduled", *lines)

    def _current_summary(self, caller: Caller) -> str:
        chat = self.store.find_chat(caller.platform, caller.chat_id, caller.thread_id)
        if chat is None:
            return ""
        for summary in self.store.summaries():
            if summary["chat_key"] == chat["key"]:
                names = ", ".join(summary["symbols"])
                return f"{names} {summary['schedule']} ({summary['tz']})"
        return ""

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

    def set_chat_active(self, platform: str, chat_id: str, active: bool) -> None:
        changed = self.store.set_chat_active(platform, chat_id, active)
        state = "re-activated" if active else "deactivated"
        log.info("%s chat %s %s (%d row)", platform, chat_id, state, changed)
        if changed:
            self.summaries.changed()  # a chat's summaries stop and start with it

    def chat_moved(self, platform: str, old_chat_id: str, new_chat_id: str) -> None:
        """A chat got a new id (a Telegram group upgraded to a supergroup): keep its things."""
        if old_chat_id == new_chat_id:
            return
        moved = self.store.move_chat(platform, old_chat_id, new_chat_id)
        if moved:
            log.info("%s chat %s is now %s", platform, old_chat_id, new_chat_id)
            self.summaries.changed()

    def known_symbols(self, prefix: str = "") -> list[str]:
        return self.snapshots.known_symbols(prefix, sorted(self.store.needed_symbols()))
