"""Watchlists: /watch, /unwatch, /watchlist (a watched symbol also gets a breakout alert)."""

from __future__ import annotations

import asyncio

from core.chat.base import CommandGroup, reply, tells_if_resumed
from core.kernel import symbols
from core.kernel.errors import LiqwatchError, UnknownSymbol, UsageError
from core.render.report import watchlist_line
from core.types import Button, Caller, Message


class Watchlists(CommandGroup):
    @tells_if_resumed
    async def watch(self, caller: Caller, symbol_list: list[str]) -> Message:
        known, unknown, note = await self.ctx.checked_symbols(symbol_list)
        if unknown:
            raise UnknownSymbol(", ".join(unknown))
        key = self.ctx.chat_key(caller)
        current = self.ctx.store.watchlist(key, caller.user_id)
        new = [s for s in known if s not in current]
        cap = self.ctx.settings.max_symbols_per_user
        if len(current) + len(new) > cap:
            raise UsageError(
                f"A watchlist holds at most {cap} symbols; you have {len(current)}. "
                "Remove some with /unwatch."
            )
        rules = self.ctx.store.rules_for(key, caller.user_id)
        have_breakout = {r.symbol for r in rules if r.kind == "breakout"}
        to_alert = [s for s in new if s not in have_breakout]
        if len(rules) + len(to_alert) > self.ctx.settings.max_rules_per_user:
            to_alert = []  # the watchlist still works; say so below
            note = (note + " " if note else "") + "Alert limit reached: no breakout alerts added."
        for sym in new:
            self.ctx.store.watch(key, caller.user_id, sym)
        for sym in to_alert:
            self.ctx.store.add_rule(key, caller.user_id, sym, "breakout", None)
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
        key = self.ctx.chat_key(caller)
        wanted = list(dict.fromkeys(symbols.normalize(s) for s in symbol_list))
        removed = [s for s in wanted if self.ctx.store.unwatch(key, caller.user_id, s)]
        dropped = 0
        for rule in self.ctx.store.rules_for(key, caller.user_id):
            if rule.symbol in removed and rule.kind == "breakout":
                dropped += self.ctx.store.delete_rule(key, caller.user_id, rule.id)
        missing = [s for s in wanted if s not in removed]
        lines = [f"Stopped watching {', '.join(removed)}."] if removed else []
        if dropped:
            lines.append(f"Removed {dropped} breakout alert{'s' * (dropped > 1)} with them.")
        if missing:
            lines.append(f"Not on your watchlist: {', '.join(missing)}.")
        return reply("Watchlist updated" if removed else "Watchlist unchanged", *lines)

    @tells_if_resumed
    async def watchlist(self, caller: Caller) -> Message:
        key = self.ctx.chat_key(caller)
        watched = self.ctx.store.watchlist(key, caller.user_id)
        if not watched:
            return reply("Your watchlist is empty", "Add symbols with /watch BTC ETH.")
        results = await asyncio.gather(
            *(self.ctx.market.analysis(s) for s in watched), return_exceptions=True
        )
        lines = []
        for sym, result in zip(watched, results, strict=True):
            if isinstance(result, BaseException):
                reason = str(result) if isinstance(result, LiqwatchError) else "no data"
                lines.append(f"{sym}: {reason}")
            else:
                lines.append(watchlist_line(sym, result[1]))
        buttons = tuple(Button(f"Chart {s}", "chart", (s,)) for s in watched[:3])
        return Message(title=f"Watchlist ({len(watched)})", lines=tuple(lines), buttons=buttons)
