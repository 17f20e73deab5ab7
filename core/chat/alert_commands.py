"""Alert rules as a user manages them: /alert, /alerts, /delalert, and the Snooze and Mute
buttons under an alert."""

from __future__ import annotations

from datetime import timedelta

from core.alerts.kinds import describe_rule, rule_value
from core.chat.base import CommandGroup, reply, tells_if_resumed
from core.kernel import symbols
from core.kernel.errors import UnknownSymbol, UsageError
from core.kernel.fmt import duration as fmt_duration
from core.types import Caller, Message


class AlertCommands(CommandGroup):
    @tells_if_resumed
    async def add_alert(
        self, caller: Caller, symbol: str, kind: str, value: str | float | None
    ) -> Message:
        kind = kind.lower()
        parsed = rule_value(kind, value)
        known, unknown, note = await self.ctx.checked_symbols([symbol])
        if unknown:
            raise UnknownSymbol(unknown[0])
        key = self.ctx.chat_key(caller)
        sym = known[0]
        rules = self.ctx.store.rules_for(key, caller.user_id)
        for rule in rules:
            if rule.symbol == sym and rule.kind == kind and rule.value == parsed:
                return reply("You already have that alert", f"#{rule.id} {describe_rule(rule)}")
        if len(rules) >= self.ctx.settings.max_rules_per_user:
            raise UsageError(
                f"You have {len(rules)} alerts, the most allowed. Delete some with /delalert ID."
            )
        rule = self.ctx.store.add_rule(key, caller.user_id, sym, kind, parsed)
        lines = [
            f"#{rule.id} {describe_rule(rule)}",
            f"Checked every {fmt_duration(timedelta(seconds=self.ctx.settings.check_seconds))}.",
        ]
        if note:
            lines.append(note)
        return reply("Alert set", *lines)

    @tells_if_resumed
    async def alerts(self, caller: Caller) -> Message:
        key = self.ctx.chat_key(caller)
        rules = self.ctx.store.rules_for(key, caller.user_id)
        if not rules:
            return reply("No alerts", "Set one with /alert BTC breakout or /watch BTC.")
        now = self.ctx.clock()
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
        muted = self.ctx.store.muted_until(key)
        if muted and muted > now:
            lines.append(f"All alerts muted until {muted:%Y-%m-%d %H:%M} UTC (/unmute).")
        lines.append("Delete one with /delalert ID.")
        return Message(title=f"Your alerts ({len(rules)})", lines=tuple(lines))

    @tells_if_resumed
    async def delete_alert(self, caller: Caller, rule_id: int) -> Message:
        key = self.ctx.chat_key(caller)
        if not self.ctx.store.delete_rule(key, caller.user_id, int(rule_id)):
            raise UsageError(f"You have no alert #{int(rule_id)}. See /alerts.")
        return reply("Alert deleted", f"#{int(rule_id)} is gone.")

    @tells_if_resumed
    async def snooze(self, caller: Caller, rule_id: int, hours: float = 1) -> Message:
        key = self.ctx.chat_key(caller)
        rule = next(
            (r for r in self.ctx.store.rules_for(key, caller.user_id) if r.id == rule_id), None
        )
        if rule is None:
            raise UsageError("That alert no longer exists. See /alerts.")
        until = self.ctx.clock() + timedelta(hours=hours)
        self.ctx.store.snooze_rule(rule.id, until)
        return reply(
            "Snoozed", f"#{rule.id} {describe_rule(rule)} is quiet until {until:%H:%M} UTC."
        )

    @tells_if_resumed
    async def mute_symbol(self, caller: Caller, symbol: str, hours: float = 24) -> Message:
        key = self.ctx.chat_key(caller)
        sym = symbols.normalize(symbol)
        until = self.ctx.clock() + timedelta(hours=hours)
        rules = [r for r in self.ctx.store.rules_for(key, caller.user_id) if r.symbol == sym]
        for rule in rules:
            self.ctx.store.snooze_rule(rule.id, until)
        if not rules:
            return reply(f"No {sym} alerts to mute")
        return reply(
            f"{sym} muted",
            f"{len(rules)} {sym} alert(s) quiet until {until:%Y-%m-%d %H:%M} UTC "
            "(alerts you add later are not muted).",
            "/unmute turns them back on; /alerts lists them.",
        )
