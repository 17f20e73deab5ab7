"""Commands that change a whole chat: mute and unmute, scheduled summaries, and the chat registry
(a chat that blocked the bot, came back, or changed its id). Part of the Service."""

from __future__ import annotations

import logging

from core.alerts.mute import release_mute
from core.chat.base import CommandGroup, reply, require_chat_rights, tells_if_resumed
from core.chat.commands import BY_NAME
from core.kernel import parse as parsing
from core.kernel.errors import UnknownSymbol, UsageError
from core.kernel.fmt import duration as fmt_duration
from core.types import Caller, Message

log = logging.getLogger(__name__)


class ChatSettings(CommandGroup):
    """Mute, summaries and the chat registry, over the shared ChatContext."""

    # ---- mute ----------------------------------------------------------------------------

    @tells_if_resumed
    async def mute(self, caller: Caller, text: str) -> Message:
        require_chat_rights(caller, "mute its alerts")
        span = parsing.duration(text)
        key = self.ctx.chat_key(caller)
        until = self.ctx.clock() + span
        self.ctx.store.set_muted_until(key, until)
        return reply(
            f"Muted for {fmt_duration(span)}",
            f"Until {until:%Y-%m-%d %H:%M} UTC. Alerts are held, not dropped, and arrive "
            "as one digest when the mute ends (or on /unmute).",
        )

    @tells_if_resumed
    async def unmute(self, caller: Caller) -> Message:
        require_chat_rights(caller, "unmute its alerts")
        key = self.ctx.chat_key(caller)
        now = self.ctx.clock()
        held = release_mute(self.ctx.store, key, now)
        snoozed = [
            r for r in self.ctx.store.rules_for(key, caller.user_id)
            if r.snoozed_until and r.snoozed_until > now
        ]  # fmt: skip
        for rule in snoozed:  # "Snooze 1h" and "Mute BTC" are lifted too
            self.ctx.store.snooze_rule(rule.id, None)
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
        require_chat_rights(caller, "change its summaries")
        usage = BY_NAME["summary"].usage
        current = self._current_summary(caller)
        if not args:
            now = f"Now: {current}." if current else "This chat has no summary."
            return reply("Summaries", now, f"Usage: {usage}")
        if [a.lower() for a in args] == ["off"]:
            chat = self.ctx.store.find_chat(caller.platform, caller.chat_id, caller.thread_id)
            if chat is None or not self.ctx.store.delete_summary(chat["key"]):
                return reply("No summary to stop")
            self.ctx.summaries.changed()
            return reply("Summaries off", "This chat will get no more scheduled summaries.")
        schedule = self.ctx.summaries.parse(args)
        if not schedule.symbols:
            raise UsageError(f"Name at least one symbol. Usage: {usage}")
        if len(schedule.symbols) > 10:
            raise UsageError("A summary covers at most 10 symbols.")
        known, unknown, note = await self.ctx.checked_symbols(list(schedule.symbols))
        if unknown:
            raise UnknownSymbol(", ".join(unknown))
        key = self.ctx.chat_key(caller)
        self.ctx.store.set_summary(key, known, schedule.text, schedule.tz)
        self.ctx.summaries.changed()
        nxt = schedule.next_run(self.ctx.clock())
        when = f", next at {nxt:%Y-%m-%d %H:%M} {schedule.tz}" if nxt else ""
        lines = [f"{', '.join(known)} {schedule.text} ({schedule.tz}){when}."]
        if current:
            lines.append(f"Replaces: {current}.")
        if note:
            lines.append(note)
        lines.append("Stop with /summary off.")
        return reply("Summary scheduled", *lines)

    def _current_summary(self, caller: Caller) -> str:
        chat = self.ctx.store.find_chat(caller.platform, caller.chat_id, caller.thread_id)
        if chat is None:
            return ""
        for summary in self.ctx.store.summaries():
            if summary["chat_key"] == chat["key"]:
                names = ", ".join(summary["symbols"])
                return f"{names} {summary['schedule']} ({summary['tz']})"
        return ""

    def set_chat_active(self, platform: str, chat_id: str, active: bool) -> None:
        changed = self.ctx.store.set_chat_active(platform, chat_id, active)
        state = "re-activated" if active else "deactivated"
        log.info("%s chat %s %s (%d row)", platform, chat_id, state, changed)
        if changed:
            self.ctx.summaries.changed()  # a chat's summaries stop and start with it

    def chat_moved(self, platform: str, old_chat_id: str, new_chat_id: str) -> None:
        """A chat got a new id (a Telegram group upgraded to a supergroup): keep its things."""
        if old_chat_id == new_chat_id:
            return
        moved = self.ctx.store.move_chat(platform, old_chat_id, new_chat_id)
        if moved:
            log.info("%s chat %s is now %s", platform, old_chat_id, new_chat_id)
            self.ctx.summaries.changed()
