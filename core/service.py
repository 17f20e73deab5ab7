"""The platform-neutral API every adapter calls. Returns neutral Messages; computes, never formats
for a platform. Authorisation is the adapter's job: it passes the caller's rights in `Caller`.

(Skeleton: signatures are the contract the adapters code against.)
"""

from __future__ import annotations

from .model import Caller, Message


class Service:
    async def handle(self, caller: Caller, text: str) -> list[Message]:
        """Parse one command line (`/liq BTC 10`, `/alert eth near 1.5`...) and run it.

        Bad input gets one short Message (kind="error") with the right usage and changes nothing.
        Text that is not a command returns [] in groups and a hint in private chats.
        """
        raise NotImplementedError

    async def press(self, caller: Caller, action: str, args: tuple[str, ...]) -> list[Message]:
        """Run a button's action (Button.action / Button.args), e.g. ("refresh", ("BTC",))."""
        raise NotImplementedError

    async def report(self, symbol: str, window_pct: float | None = None, chart: bool = True
                     ) -> Message:
        """The /liq report (kind="report") with buttons Refresh / Chart / Alert me on breakout."""
        raise NotImplementedError

    async def watch(self, caller: Caller, symbols: list[str]) -> Message: ...
    async def unwatch(self, caller: Caller, symbols: list[str]) -> Message: ...
    async def watchlist(self, caller: Caller) -> Message: ...
    async def add_alert(self, caller: Caller, symbol: str, kind: str, value: float | None
                        ) -> Message: ...
    async def alerts(self, caller: Caller) -> Message: ...
    async def delete_alert(self, caller: Caller, rule_id: int) -> Message: ...
    async def mute(self, caller: Caller, duration: str) -> Message: ...
    async def unmute(self, caller: Caller) -> Message: ...
    async def set_summary(self, caller: Caller, args: list[str]) -> Message:
        """`args` as typed after /summary: ["BTC", "ETH", "every", "4h"] or ["off"]."""
        ...

    def help(self) -> Message: ...

    def set_chat_active(self, platform: str, chat_id: str, active: bool) -> None:
        """A chat blocked/removed the bot (False) or re-added it (True)."""

    def known_symbols(self, prefix: str = "") -> list[str]:
        """Symbols for autocomplete, best first (at most 25)."""
        raise NotImplementedError
