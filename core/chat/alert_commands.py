"""Alert rules as a user manages them: /alert, /alerts, /delalert, and the Snooze and Mute
buttons under an alert.

Who may press what: a rule belongs to the user who set it, or to the chat itself when a channel
posted the command or an anonymous group admin sent it (the adapter then makes the chat the
acting user). Anyone sees an alert's buttons in a group; they act on the presser's own rules,
and on the chat's rules only for its administrators (`Caller.can_manage_chat`, or a bot admin).
A press on someone else's alert is refused and changes nothing. `press_needs_chat_rights` tells
an adapter, before the press, whether the presser's admin rights matter to it, so that the
platform is asked about them only then (Telegram's getChatMember costs a request).
"""

from __future__ import annotations

from datetime import timedelta

from core.alerts.kinds import describe_rule, rule_value
from core.chat.base import CommandGroup, reply, tells_if_resumed
from core.kernel import symbols
from core.kernel.errors import LiqwatchError, StoreError, UnknownSymbol, UsageError
from core.kernel.fmt import duration as fmt_duration
from core.types import Caller, Message, Rule

CHAT_RULES_ADMINS_ONLY = "Only this chat's administrators can {what} the chat's own alerts."
SOMEONE_ELSES = "That alert is someone else's: only they can snooze it."


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
        chats = self._chat_rules(key, caller)  # the chat's own, in a group or channel
        if not rules and not chats:
            return reply("No alerts", "Set one with /alert BTC breakout or /watch BTC.")
        now = self.ctx.clock()
        lines = [_listed(rule, now) for rule in rules]
        if chats:
            lines.append("This chat's alerts (its administrators can delete them):")
            lines.extend(_listed(rule, now) for rule in chats)
        if any(r.snoozed_until and r.snoozed_until > now for r in rules + chats):
            lines.append("/unmute turns snoozed alerts back on.")
        muted = self.ctx.store.muted_until(key)
        if muted and muted > now:
            lines.append(f"All alerts muted until {muted:%Y-%m-%d %H:%M} UTC (/unmute).")
        lines.append("Delete one with /delalert ID.")
        return Message(title=f"Your alerts ({len(rules)})", lines=tuple(lines))

    @tells_if_resumed
    async def delete_alert(self, caller: Caller, rule_id: int) -> Message:
        key = self.ctx.chat_key(caller)
        if self.ctx.store.delete_rule(key, caller.user_id, int(rule_id)):
            return reply("Alert deleted", f"#{int(rule_id)} is gone.")
        rule = self._rule_in_chat(key, int(rule_id))
        if rule is None or not _chat_owned(caller, rule):
            raise UsageError(f"You have no alert #{int(rule_id)}. See /alerts.")
        if not _manages(caller):
            raise LiqwatchError(CHAT_RULES_ADMINS_ONLY.format(what="delete"))
        self.ctx.store.delete_rule(key, caller.chat_id, rule.id)
        return reply("Alert deleted", f"#{rule.id} (the chat's own) is gone.")

    @tells_if_resumed
    async def snooze(self, caller: Caller, rule_id: int, hours: float = 1) -> Message:
        key = self.ctx.chat_key(caller)
        try:
            rule = self.ctx.store.rule(int(rule_id))
        except StoreError:
            raise UsageError("That alert no longer exists. See /alerts.") from None
        owned = rule.user_id == caller.user_id
        if rule.chat_key != key or not (owned or _chat_owned(caller, rule)):
            raise LiqwatchError(SOMEONE_ELSES)  # another member's, or another chat's
        if not owned and not _manages(caller):
            raise LiqwatchError(CHAT_RULES_ADMINS_ONLY.format(what="snooze"))
        until = self.ctx.clock() + timedelta(hours=hours)
        self.ctx.store.snooze_rule(rule.id, until)
        return reply(
            "Snoozed", f"#{rule.id} {describe_rule(rule)} is quiet until {until:%H:%M} UTC."
        )

    @tells_if_resumed
    async def mute_symbol(self, caller: Caller, symbol: str, hours: float = 24) -> Message:
        """The presser's own alerts on `symbol` in this chat, and the chat's own ones when the
        presser administers it; a member who has none of their own is refused."""
        key = self.ctx.chat_key(caller)
        sym = symbols.normalize(symbol)
        until = self.ctx.clock() + timedelta(hours=hours)
        rules = [r for r in self.ctx.store.rules_for(key, caller.user_id) if r.symbol == sym]
        chats = self._chat_rules(key, caller, sym)
        note = ()
        if chats and _manages(caller):
            rules += chats
        elif chats and not rules:
            raise LiqwatchError(CHAT_RULES_ADMINS_ONLY.format(what="mute"))
        elif chats:
            note = (f"The chat's own {sym} alerts stay on: only its administrators can mute them.",)
        for rule in rules:
            self.ctx.store.snooze_rule(rule.id, until)
        if not rules:
            return reply(f"No {sym} alerts to mute")
        return reply(
            f"{sym} muted",
            f"{len(rules)} {sym} alert(s) quiet until {until:%Y-%m-%d %H:%M} UTC "
            "(alerts you add later are not muted).",
            *note,
            "/unmute turns them back on; /alerts lists them.",
        )

    def press_needs_chat_rights(self, caller: Caller, action: str, arg: str) -> bool:
        """True when this press would act on the chat's own alerts and the caller's rights in
        the chat are not known yet: the adapter asks the platform, then presses. Reads only."""
        if _manages(caller) or caller.user_id == caller.chat_id or action not in _ON_RULES:
            return False
        chat = self.ctx.store.find_chat(caller.platform, caller.chat_id, caller.thread_id)
        if chat is None:
            return False
        if action in ("snooze", "delalert"):
            try:
                rule = self._rule_in_chat(chat["key"], int(arg))
            except ValueError:
                return False
            return rule is not None and _chat_owned(caller, rule)
        return bool(self._chat_rules(chat["key"], caller, symbols.normalize(arg)))

    def _rule_in_chat(self, chat_key: int, rule_id: int) -> Rule | None:
        try:
            rule = self.ctx.store.rule(rule_id)
        except StoreError:
            return None
        return rule if rule.chat_key == chat_key else None

    def _chat_rules(self, chat_key: int, caller: Caller, sym: str | None = None) -> list[Rule]:
        """The chat's own rules (on `sym`); none in a private chat: there the chat is the user."""
        if caller.user_id == caller.chat_id:
            return []
        rules = self.ctx.store.rules_for(chat_key, caller.chat_id)
        return [r for r in rules if sym is None or r.symbol == sym]


# The buttons that act on rules (core/chat/dispatch.py), and /delalert typed with a rule id.
_ON_RULES = {"snooze", "mute_symbol", "delalert"}


def _listed(rule: Rule, now) -> str:
    line = f"#{rule.id} {describe_rule(rule)}"
    if rule.paused:
        return line + " (paused)"
    if rule.snoozed_until and rule.snoozed_until > now:
        return line + f" (snoozed until {rule.snoozed_until:%Y-%m-%d %H:%M} UTC)"
    return line


def _chat_owned(caller: Caller, rule: Rule) -> bool:
    """Set by the chat itself: a channel's post or an anonymous admin (owner id = chat id)."""
    return rule.user_id == caller.chat_id != caller.user_id


def _manages(caller: Caller) -> bool:
    return caller.chat_kind == "private" or caller.can_manage_chat or caller.is_bot_admin
