"""Slash commands, buttons and autocomplete, driven with mocked discord.Interactions over a
stand-in service (the adapter only translates, so this covers it)."""

from __future__ import annotations

from types import SimpleNamespace
from unittest.mock import AsyncMock, MagicMock

import discord
import pytest
from discord import app_commands

from bot.discord_adapter.client import DiscordAdapter
from bot.discord_adapter.commands import CommandHandlers
from bot.discord_adapter.tree import build_tree
from bot.discord_adapter.views import decode_custom_id
from core.commands import COMMANDS
from core.errors import UnknownSymbol
from core.model import Button, Caller, Message, Section

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
USER_ID, GUILD_ID, CHANNEL_ID = 4242, 7070, 9090
KNOWN = ["BTC", "ETH", "SOL", "BNB", "XRP", "DOGE", "ETC", "1000PEPE"] + [
    f"B{n:02d}X" for n in range(40)
]


class StandInService:
    """The service's contract (core/service.py) with realistic answers, recording every call."""

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

    def known_symbols(self, prefix: str = "") -> list[str]:
        # Deliberately more than 25 and uncapped: the adapter must hold Discord's limit itself.
        return [s for s in KNOWN if s.startswith(prefix)]


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


@pytest.fixture
def service() -> StandInService:
    return StandInService()


@pytest.fixture
def handlers(service) -> CommandHandlers:
    return CommandHandlers(service, admins=["1"])


@pytest.fixture
def tree(handlers):
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


# ---- /liq -------------------------------------------------------------------------------------


async def test_liq_shows_the_report_as_an_embed_with_reading_fields_chart_and_buttons(
    tree, service
):
    interaction = make_interaction()

    await callback(tree, "liq")(interaction, "btc", None, True)

    interaction.response.defer.assert_awaited_once_with(thinking=True, ephemeral=False)
    assert service.calls == [("report", "btc", None, True)]
    (reply,) = sent(interaction)
    (embed,) = reply["embeds"]
    assert embed.title.startswith("BTC liquidation map")
    assert "1.73×" in embed.description and "squeeze risk up" in embed.description
    fields = {field.name: field.value for field in embed.fields}
    assert "$2.705B" in fields["Shorts above"] and "$94,681" in fields["Shorts above"]
    assert "$1.563B" in fields["Longs below"] and "$86,137" in fields["Longs below"]
    assert "replay (sample)" in embed.footer.text
    (chart,) = reply["files"]
    assert chart.filename == "chart.png" and chart.fp.read() == PNG
    assert embed.image.url == "attachment://chart.png"
    view = reply["view"]
    assert [item.label for item in view.children] == [
        "Refresh",
        "Chart",
        "Alert me on breakout",
    ]
    assert [decode_custom_id(item.custom_id) for item in view.children] == [
        ("refresh", ("BTC",)),
        ("chart", ("BTC",)),
        ("alert_breakout", ("BTC",)),
    ]
    assert view.timeout is None  # they keep working as long as the message exists


async def test_liq_without_chart_sends_no_attachment(tree, service):
    interaction = make_interaction()

    await callback(tree, "liq")(interaction, "ETH", 10.0, False)

    assert service.calls == [("report", "ETH", 10.0, False)]
    (reply,) = sent(interaction)
    assert "files" not in reply and reply["embeds"][0].image.url is None


async def test_unknown_symbol_gets_a_friendly_error_instead_of_a_crash(tree):
    interaction = make_interaction()

    await callback(tree, "liq")(interaction, "NOPE", None, True)

    (embed,) = sent(interaction)[0]["embeds"]
    assert "Unknown symbol: NOPE" in embed.title
    assert embed.colour == discord.Colour.red()


async def test_a_fault_inside_the_service_is_answered_and_logged(tree, service, caplog):
    service.fail_with = RuntimeError("database is locked")
    interaction = make_interaction()

    await callback(tree, "watchlist")(interaction)

    (embed,) = sent(interaction)[0]["embeds"]
    assert "Something went wrong" in embed.title
    assert "database is locked" in caplog.text


# ---- personal commands --------------------------------------------------------------------


PERSONAL = [
    ("watch", ("btc, eth sol",), ("watch", ["btc", "eth", "sol"]), "Watching BTC, ETH, SOL"),
    ("unwatch", ("eth",), ("unwatch", ["eth"]), "No longer watching eth"),
    ("watchlist", (), ("watchlist",), "Your watchlist"),
    ("alerts", (), ("alerts",), "Your alerts"),
    ("delalert", (3,), ("delete_alert", 3), "Alert #3 deleted"),
    ("mute", (" 2h ",), ("mute", "2h"), "Muted for 2h"),
    ("unmute", (), ("unmute",), "Unmuted"),
]


@pytest.mark.parametrize(("command", "args", "expected_call", "shown"), PERSONAL)
async def test_personal_commands_act_for_the_user_and_answer_only_them_in_a_server(
    tree, service, command, args, expected_call, shown
):
    interaction = make_interaction()

    await callback(tree, command)(interaction, *args)

    (call,) = service.calls
    name, caller, *rest = call
    assert (name, *rest) == expected_call
    assert caller == Caller(
        platform="discord",
        chat_id=f"user:{USER_ID}",
        user_id=str(USER_ID),
        chat_kind="private",
        can_manage_chat=True,
        is_bot_admin=False,
        fallback_chat_id=str(CHANNEL_ID),  # where alerts go if the user's DMs are closed
    )
    interaction.response.defer.assert_awaited_once_with(thinking=True, ephemeral=True)
    (reply,) = sent(interaction)
    assert reply["ephemeral"] is True
    assert shown in reply["embeds"][0].title


async def test_in_direct_messages_answers_are_plain_and_there_is_no_fallback_channel(tree, service):
    interaction = make_interaction(in_server=False)

    await callback(tree, "watch")(interaction, "BTC")

    caller = service.calls[0][1]
    assert caller.chat_id == f"user:{USER_ID}" and caller.fallback_chat_id is None
    assert sent(interaction)[0]["ephemeral"] is False


async def test_alert_passes_the_chosen_kind_and_value(tree, service):
    interaction = make_interaction()
    near = app_commands.Choice(name="near: price comes within VALUE % of a key zone", value="near")

    await callback(tree, "alert")(interaction, "eth", near, 1.5)

    (call,) = service.calls
    assert call[0] == "add_alert" and call[2:] == ("eth", "near", 1.5)
    assert "ETH near 1.5" in sent(interaction)[0]["embeds"][0].title


async def test_bot_admins_from_config_are_marked_as_such(service):
    client = discord.Client(intents=discord.Intents.default())
    tree = build_tree(client, CommandHandlers(service, admins=[USER_ID]))  # ints in TOML

    await callback(tree, "alerts")(make_interaction())

    assert service.calls[0][1].is_bot_admin is True


# ---- /summary -----------------------------------------------------------------------------


async def test_summary_by_a_server_manager_is_set_for_this_channel(tree, service):
    interaction = make_interaction(manage_guild=True)

    await callback(tree, "summary")(interaction, "BTC ETH every 4h")

    (call,) = service.calls
    name, caller, args = call
    assert name == "set_summary" and args == ["BTC", "ETH", "every", "4h"]
    assert caller.chat_id == f"channel:{CHANNEL_ID}" and caller.chat_kind == "group"
    assert caller.can_manage_chat is True
    assert service.summaries == {f"channel:{CHANNEL_ID}": ["BTC", "ETH", "every", "4h"]}
    assert sent(interaction)[0]["ephemeral"] is False  # the channel sees its new setting


async def test_summary_without_manage_server_is_refused_and_changes_nothing(tree, service):
    interaction = make_interaction(manage_guild=False)

    await callback(tree, "summary")(interaction, "BTC every 4h")

    assert service.calls == [] and service.summaries == {}
    (reply,) = sent(interaction)
    assert reply["ephemeral"] is True
    assert "Manage Server" in reply["embeds"][0].description


async def test_summary_in_direct_messages_is_refused_politely(tree, service):
    interaction = make_interaction(in_server=False)

    await callback(tree, "summary")(interaction, "BTC every 4h")

    assert service.calls == []
    assert "server channels" in sent(interaction)[0]["embeds"][0].title


async def test_a_bot_admin_may_set_a_summary_without_manage_server(tree, service):
    interaction = make_interaction(manage_guild=False, user_id=1)

    await callback(tree, "summary")(interaction, "off")

    assert service.summaries == {f"channel:{CHANNEL_ID}": ["off"]}


# ---- /help ------------------------------------------------------------------------------------


async def test_help_answers_at_once_with_every_command(tree):
    interaction = make_interaction(in_server=False)

    await callback(tree, "help")(interaction)

    interaction.response.defer.assert_not_awaited()
    (reply,) = sent(interaction)
    text = reply["embeds"][0].fields[0].value
    for spec in COMMANDS:
        assert f"/{spec.name}" in text


# ---- buttons ----------------------------------------------------------------------------------


async def test_refresh_button_updates_the_report_in_place(tree, handlers, service):
    interaction = make_interaction()
    await callback(tree, "liq")(interaction, "BTC", None, True)
    view = sent(interaction)[0]["view"]
    press = make_interaction()

    refresh = next(item for item in view.children if item.label == "Refresh")
    await press_button(handlers, refresh, press)

    assert service.calls[-2][0] == "press" and service.calls[-2][2:] == ("refresh", ("BTC",))
    press.response.defer.assert_awaited_once_with()
    edit = press.edit_original_response.await_args.kwargs
    assert edit["embeds"][0].title.startswith("BTC liquidation map")
    assert [f.filename for f in edit["attachments"]] == ["chart.png"]
    assert sent(press) == []  # nothing new posted: the same message now shows fresh data


async def test_alert_button_acts_for_whoever_pressed_it_and_answers_privately(
    tree, handlers, service
):
    interaction = make_interaction()
    await callback(tree, "liq")(interaction, "SOL", None, True)
    view = sent(interaction)[0]["view"]
    press = make_interaction(user_id=777)

    button = next(item for item in view.children if item.label == "Alert me on breakout")
    await press_button(handlers, button, press)

    name, caller, action, args = service.calls[-1]
    assert (name, action, args) == ("press", "alert_breakout", ("SOL",))
    assert caller.chat_id == "user:777"
    (reply,) = sent(press)
    assert reply["ephemeral"] is True
    assert "Breakout alert set for SOL" in reply["embeds"][0].title


# ---- autocomplete -----------------------------------------------------------------------------


async def test_symbol_autocomplete_offers_at_most_25_matching_symbols(service):
    handlers = CommandHandlers(service)

    choices = await handlers.complete_symbol(make_interaction(), "b")

    assert 0 < len(choices) <= 25
    assert all(choice.value.startswith("B") for choice in choices)
    assert choices[0].value == "BTC"  # the service's best-first order is kept


async def test_symbol_autocomplete_understands_a_dollar_prefix_and_unknown_text(service):
    handlers = CommandHandlers(service)

    assert [c.value for c in await handlers.complete_symbol(make_interaction(), "$et")] == [
        "ETH",
        "ETC",
    ]
    assert await handlers.complete_symbol(make_interaction(), "zzz") == []


async def test_watch_autocomplete_completes_the_last_symbol_of_a_list(service):
    handlers = CommandHandlers(service)

    choices = await handlers.complete_symbols(make_interaction(), "BTC et")

    assert [c.value for c in choices] == ["BTC ETH", "BTC ETC"]


async def test_autocomplete_answers_empty_when_the_service_fails(service):
    service.known_symbols = MagicMock(side_effect=RuntimeError("boom"))

    assert await CommandHandlers(service).complete_symbol(make_interaction(), "b") == []


# ---- command budget ([alerts] commands_per_minute) --------------------------------------------


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


async def test_a_flood_of_liq_is_cut_off_after_the_budget_and_served_again_a_minute_later(service):
    clock = StepClock()
    tree = build_tree(
        discord.Client(intents=discord.Intents.default()),
        CommandHandlers(service, commands_per_minute=3, clock=clock),
    )
    liq = callback(tree, "liq")

    flood = [make_interaction() for _ in range(6)]
    for interaction in flood:
        await liq(interaction, "BTC", None, False)
        clock.now += 1

    assert [call[0] for call in service.calls] == ["report"] * 3
    assert all(slow_down_notice(i) is None for i in flood[:3])
    # Every command over the budget is still answered (Discord wants an answer within 3 s), at
    # once and only to this user, without a "thinking…" defer and without the service.
    for refused in flood[3:]:
        assert slow_down_notice(refused) == "Slow down: at most 3 commands a minute."
        refused.response.defer.assert_not_awaited()

    other = make_interaction(user_id=5151)
    await liq(other, "ETH", None, False)
    assert service.calls[-1] == ("report", "ETH", None, False)
    assert slow_down_notice(other) is None

    clock.now += 60  # the first of the flood's served commands is a minute old now
    again = make_interaction()
    await liq(again, "SOL", None, False)
    assert service.calls[-1] == ("report", "SOL", None, False)
    assert "SOL liquidation map" in sent(again)[0]["embeds"][0].title


async def test_button_presses_and_other_commands_spend_the_same_budget(service):
    handlers = CommandHandlers(service, commands_per_minute=2, clock=StepClock())
    tree = build_tree(discord.Client(intents=discord.Intents.default()), handlers)
    shown = make_interaction()
    await callback(tree, "liq")(shown, "SOL", None, True)
    await callback(tree, "watchlist")(make_interaction())
    calls_before = len(service.calls)

    button = next(i for i in sent(shown)[0]["view"].children if i.label == "Alert me on breakout")
    press = make_interaction()
    await press_button(handlers, button, press)
    help_asked = make_interaction()
    await callback(tree, "help")(help_asked)

    assert len(service.calls) == calls_before
    assert slow_down_notice(press) == "Slow down: at most 2 commands a minute."
    assert slow_down_notice(help_asked) == "Slow down: at most 2 commands a minute."


async def test_the_adapter_applies_the_configured_budget(service):
    adapter = DiscordAdapter(service, {}, commands_per_minute=1, clock=StepClock())
    watchlist = callback(adapter.tree, "watchlist")

    first, second = make_interaction(), make_interaction()
    await watchlist(first)
    await watchlist(second)

    assert [call[0] for call in service.calls] == ["watchlist"]
    assert slow_down_notice(second) == "Slow down: at most 1 command a minute."


async def test_a_budget_of_zero_means_no_limit(service):
    tree = build_tree(
        discord.Client(intents=discord.Intents.default()),
        CommandHandlers(service, commands_per_minute=0, clock=StepClock()),
    )

    for _ in range(50):
        await callback(tree, "alerts")(make_interaction())

    assert len(service.calls) == 50
