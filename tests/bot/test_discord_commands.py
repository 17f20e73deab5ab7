"""Slash commands, driven with mocked discord.Interactions over a stand-in service (the adapter
only translates, so this covers it). Buttons pressed on a report are here too; autocomplete and the
command budget have their own files."""

from __future__ import annotations

import discord
import pytest
from discord import app_commands

from bot.discord_adapter.commands import CommandHandlers
from bot.discord_adapter.tree import build_tree
from bot.discord_adapter.views import decode_custom_id
from core.chat.commands import COMMANDS
from core.types import Caller
from tests.discord_helpers import (  # noqa: F401  (*_fixture: the service/handlers/tree fixtures)
    CHANNEL_ID,
    PNG,
    USER_ID,
    callback,
    handlers_fixture,
    make_interaction,
    press_button,
    sent,
    service_fixture,
    tree_fixture,
)

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
    # the command list fills more than one field (1,024 characters each) as commands grow
    text = "\n".join(field.value for embed in reply["embeds"] for field in embed.fields)
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
