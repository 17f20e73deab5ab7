"""Shared by the Discord adapter tests: a stand-in service, mocked discord.Interactions, the
`service`/`handlers`/`tree` fixtures, and the messages the senders deliver (SUMMARY, ALERT).

Fixtures are provided by importing them (pytest finds them by their `name=`):

    from tests.discord_helpers import handlers_fixture, service_fixture, tree_fixture  # noqa: F401
"""

from __future__ import annotations

from types import SimpleNamespace
from unittest.mock import AsyncMock, MagicMock

import discord
import pytest

from bot.discord_adapter.commands import CommandHandlers
from bot.discord_adapter.tree import build_tree
from core.chat.commands import COMMANDS
from core.kernel.errors import UnknownSymbol
from core.types import Button, Caller, Message, Section

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
USER_ID, GUILD_ID, CHANNEL_ID = 4242, 7070, 9090
KNOWN = ["BTC", "ETH", "SOL", "BNB", "XRP", "DOGE", "ETC", "1000PEPE"] + [
    f"B{n:02d}X" for n in range(40)
]


class StandInService:
    """The service's contract (core.chat.api.ChatService) with realistic answers, recording every
    call (tests/test_chat_api.py holds it to the Protocol)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.summaries: dict[str, list[str]] = {}
        self.fail_with: Exception | None = None

    def _record(self, *call) -> None:
        self.calls.append(call)
        if self.fail_with is not None:
            raise self.fail_with

    async def report(self, symbol: str, window_pct: float | None = None, chart: bool = True):
        self._record("report", symbol, window_pct, chart)
        if symbol.upper() not in KNOWN:
            raise UnknownSymbol(symbol)
        return Message(
            title=f"{symbol.upper()} liquidation map · $90,131.71",
            lines=("Shorts above are 1.73× the longs below: squeeze risk up.",),
            sections=(
                Section("Shorts above", ("$2.705B up to $94,681 (+5.05%)",)),
                Section("Longs below", ("$1.563B down to $86,137 (-4.43%)",)),
            ),
            footer="Source: replay (sample) · 3 min old",
            image=PNG if chart else None,
            buttons=(
                Button("Refresh", "refresh", (symbol.upper(),)),
                Button("Chart", "chart", (symbol.upper(),)),
                Button("Alert me on breakout", "alert_breakout", (symbol.upper(),)),
            ),
            kind="report",
        )

    async def watch(self, caller: Caller, symbols: list[str]) -> Message:
        self._record("watch", caller, symbols)
        return Message(title=f"Watching {', '.join(s.upper() for s in symbols)}")

    async def unwatch(self, caller: Caller, symbols: list[str]) -> Message:
        self._record("unwatch", caller, symbols)
        return Message(title=f"No longer watching {', '.join(symbols)}")

    async def watchlist(self, caller: Caller) -> Message:
        self._record("watchlist", caller)
        return Message(title="Your watchlist", lines=("BTC 1.73× · shorts dominate above",))

    async def add_alert(self, caller: Caller, symbol: str, kind: str, value: float | None):
        self._record("add_alert", caller, symbol, kind, value)
        return Message(title=f"Alert #3 set: {symbol.upper()} {kind} {value}")

    async def alerts(self, caller: Caller) -> Message:
        self._record("alerts", caller)
        return Message(title="Your alerts", lines=("#3 BTC near 1.5%",))

    async def delete_alert(self, caller: Caller, rule_id: int) -> Message:
        self._record("delete_alert", caller, rule_id)
        return Message(title=f"Alert #{rule_id} deleted")

    async def mute(self, caller: Caller, duration: str) -> Message:
        self._record("mute", caller, duration)
        return Message(title=f"Muted for {duration}")

    async def unmute(self, caller: Caller) -> Message:
        self._record("unmute", caller)
        return Message(title="Unmuted: 2 held alerts follow")

    async def set_summary(self, caller: Caller, args: list[str]) -> Message:
        self._record("set_summary", caller, args)
        self.summaries[caller.chat_id] = args
        return Message(title="Summary set", lines=(" ".join(args),), kind="summary")

    async def press(self, caller: Caller, action: str, args: tuple[str, ...]) -> list[Message]:
        self._record("press", caller, action, args)
        if action == "refresh":
            return [await self.report(args[0])]
        return [Message(title=f"Breakout alert set for {args[0]}")]

    def help(self) -> Message:
        self._record("help")
        lines = tuple(f"{c.usage}: {c.description}" for c in COMMANDS)
        return Message(title="liqwatch", sections=(Section("Commands", lines),), kind="help")

    def press_needs_chat_rights(self, caller: Caller, action: str, args: tuple[str, ...]) -> bool:
        return False  # the stand-in has no chat-owned alerts

    def command_needs_chat_rights(self, caller: Caller, text: str) -> bool:
        return False

    def known_symbols(self, prefix: str = "") -> list[str]:
        # Deliberately more than 25 and uncapped: the adapter must hold Discord's limit itself.
        return [s for s in KNOWN if s.startswith(prefix)]

    async def run(self, caller: Caller, name: str, **options) -> list[Message]:
        """The typed call of core.chat.api.ChatService, routed to the methods above (whose
        records the tests read): the options are those of core.chat.dispatch.COMMAND_TABLE."""
        calls = {
            "liq": lambda: self.report(options["symbol"], options.get("window"), options["chart"]),
            "watch": lambda: self.watch(caller, options["symbols"]),
            "unwatch": lambda: self.unwatch(caller, options["symbols"]),
            "watchlist": lambda: self.watchlist(caller),
            "alert": lambda: self.add_alert(
                caller, options["symbol"], options["kind"], options.get("value")
            ),
            "alerts": lambda: self.alerts(caller),
            "delalert": lambda: self.delete_alert(caller, options["alert_id"]),
            "mute": lambda: self.mute(caller, options["duration"]),
            "unmute": lambda: self.unmute(caller),
            "summary": lambda: self.set_summary(caller, options["setting"]),
        }
        if name not in calls:  # a command with no method here (/heatmap, /top): kept as typed
            self._record("run", caller, name, options)
            return [Message(title=f"Done: {name}")]
        return [await calls[name]()]

    async def handle(self, caller: Caller, text: str) -> list[Message]:
        self._record("handle", caller, text)
        return [Message(title=f"Handled {text[:40]}")]

    def set_chat_active(self, platform: str, chat_id: str, active: bool) -> None:
        self._record("set_chat_active", platform, chat_id, active)

    def chat_moved(self, platform: str, old_chat_id: str, new_chat_id: str) -> None:
        self._record("chat_moved", platform, old_chat_id, new_chat_id)


def make_interaction(*, in_server: bool = True, manage_guild: bool = False, user_id=USER_ID):
    """A discord.Interaction as the callbacks see it: response and followup are AsyncMocks."""
    permissions = SimpleNamespace(manage_guild=manage_guild)
    user = (
        SimpleNamespace(id=user_id, guild_permissions=permissions)
        if in_server
        else SimpleNamespace(id=user_id)  # a discord.User in DMs: no guild permissions
    )
    response = SimpleNamespace(
        defer=AsyncMock(),
        send_message=AsyncMock(),
        is_done=MagicMock(return_value=False),
    )
    return SimpleNamespace(
        user=user,
        # As in the INTERACTION_CREATE payload: the member's resolved rights and the bot's own.
        permissions=discord.Permissions(manage_guild=manage_guild),
        app_permissions=discord.Permissions(
            view_channel=True, send_messages=True, embed_links=True
        ),
        channel=None,
        guild_id=GUILD_ID if in_server else None,
        guild=SimpleNamespace(id=GUILD_ID) if in_server else None,
        channel_id=CHANNEL_ID,
        response=response,
        followup=SimpleNamespace(send=AsyncMock()),
        edit_original_response=AsyncMock(),
    )


def sent(interaction) -> list[dict]:
    """Every send's keyword arguments, response first, then followups, in order."""
    calls = interaction.response.send_message.await_args_list
    calls += interaction.followup.send.await_args_list
    return [call.kwargs for call in calls]


@pytest.fixture(name="service")
def service_fixture() -> StandInService:
    return StandInService()


@pytest.fixture(name="handlers")
def handlers_fixture(service) -> CommandHandlers:
    return CommandHandlers(service, admins=["1"])


@pytest.fixture(name="tree")
def tree_fixture(handlers):
    client = discord.Client(intents=discord.Intents.default())
    return build_tree(client, handlers)


async def press_button(handlers: CommandHandlers, component: discord.ui.Item, interaction) -> None:
    """Press a sent button as discord.py does for a registered DynamicItem: the custom_id is
    matched against the listener's template, the listener built from it, its callback run.
    Nothing from the sending side is used but the button itself (what Discord sends back)."""
    listener = handlers.button_listener
    match = listener.__discord_ui_compiled_template__.fullmatch(component.custom_id)
    assert match is not None, f"no listener for {component.custom_id!r}"
    item = await listener.from_custom_id(interaction, component, match)
    await item.callback(interaction)


def callback(tree, name: str):
    return tree.get_command(name).callback


class StepClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def slow_down_notice(interaction) -> str | None:
    """The notice's text if this interaction was answered with the slow-down notice only."""
    replies = sent(interaction)
    if len(replies) != 1 or not replies[0].get("ephemeral"):
        return None
    title = replies[0]["embeds"][0].title
    return title if title.startswith("Slow down") else None


# ---- messages the senders deliver ------------------------------------------------------------

SUMMARY = Message(
    title="Summary · BTC, ETH",
    lines=("BTC: shorts above 1.73× longs below: squeeze risk up.",),
    sections=(Section("BTC", ("$2.705B above, $1.563B below",)),),
    footer="Source: estimate · 1 min old",
    kind="summary",
)
ALERT = Message(
    title="BTC broke above $94,681",
    lines=("$2.705B of shorts were in the way.",),
    buttons=(Button("Snooze 1h", "snooze", ("3",)), Button("Mute BTC", "mute_symbol", ("BTC",))),
    kind="alert",
)
