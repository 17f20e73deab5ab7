"""What Discord receives from liqwatch, checked against Discord's limits: embeds made from neutral
Messages (right at the limits, and over them) and the slash-command payload that a sync sends."""

from __future__ import annotations

import json
import re

import discord
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug import Response

from bot.discord_adapter import DiscordAdapter, invite_url, sync_commands
from bot.discord_adapter.commands import CommandHandlers
from bot.discord_adapter.render import (
    CHART_FILENAME,
    DESCRIPTION_LIMIT,
    EMBEDS_PER_MESSAGE,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    FIELDS_PER_EMBED,
    FOOTER_LIMIT,
    TITLE_LIMIT,
    TOTAL_PER_MESSAGE,
    Page,
    chart_file,
    render,
)
from bot.discord_adapter.tree import build_tree, command_payloads
from core.alerts.kinds import KIND_NAMES
from core.chat.commands import COMMANDS
from core.kernel.errors import ConfigError
from core.types import Button, Message, Section

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

REPORT = Message(
    title="BTC liquidation map · $90,131.71",
    lines=("Shorts above are 1.73× the longs below: squeeze risk up.",),
    sections=(
        Section("Shorts above", ("$2.705B up to $94,681 (+5.05%)",)),
        Section("Longs below", ("$1.563B down to $86,137 (-4.43%)",)),
    ),
    footer="Source: coinglass · 2 min old",
    image=PNG,
    buttons=(Button("Refresh", "refresh", ("BTC",)), Button("Chart", "chart", ("BTC",))),
    kind="report",
)


def assert_within_discord_limits(page: Page) -> None:
    assert 1 <= len(page.embeds) <= EMBEDS_PER_MESSAGE
    assert page.size() <= TOTAL_PER_MESSAGE
    for embed in page.embeds:
        assert len(embed.title or "") <= TITLE_LIMIT
        assert len(embed.description or "") <= DESCRIPTION_LIMIT
        assert len(embed.fields) <= FIELDS_PER_EMBED
        for field in embed.fields:
            assert 1 <= len(field.name) <= FIELD_NAME_LIMIT and field.name.strip()
            assert 1 <= len(field.value) <= FIELD_VALUE_LIMIT and field.value.strip()
        assert len(embed.footer.text or "") <= FOOTER_LIMIT
        assert embed.to_dict()  # Discord refuses an empty embed


def all_embeds(pages: list[Page]) -> list[discord.Embed]:
    return [embed for page in pages for embed in page.embeds]


def test_report_becomes_one_embed_with_title_reading_fields_footer_and_chart():
    pages = render(REPORT)

    assert len(pages) == 1
    (embed,) = pages[0].embeds
    assert embed.title == "BTC liquidation map · $90,131.71"
    assert "squeeze risk up" in embed.description
    assert [(f.name, f.value) for f in embed.fields] == [
        ("Shorts above", "$2.705B up to $94,681 (+5.05%)"),
        ("Longs below", "$1.563B down to $86,137 (-4.43%)"),
    ]
    assert embed.footer.text == "Source: coinglass · 2 min old"
    assert embed.image.url == f"attachment://{CHART_FILENAME}"
    assert pages[0].with_chart and pages[0].with_buttons


def test_chart_is_an_attachment_named_as_the_embed_expects():
    attachment = chart_file(REPORT)

    assert attachment is not None and attachment.filename == CHART_FILENAME
    assert attachment.fp.read() == PNG
    assert chart_file(Message(title="no chart")) is None
    assert render(Message(title="no chart"))[0].embeds[0].image.url is None


def test_colour_tells_an_alert_from_a_report_and_an_error():
    colours = {
        kind: render(Message(title="x", kind=kind))[0].embeds[0].colour
        for kind in ("report", "alert", "error", "summary")
    }
    assert len(set(colours.values())) == 4
    assert colours["error"] == discord.Colour.red()


def test_markdown_and_mentions_in_plain_text_are_shown_literally():
    message = Message(title="*not bold*", lines=("__init__ @everyone `code`",))

    embed = render(message)[0].embeds[0]

    assert embed.title == r"\*not bold\*"
    assert embed.description == "\\_\\_init\\_\\_ @\u200beveryone \\`code\\`"


def test_title_of_exactly_256_characters_is_kept_and_longer_is_cut_with_an_ellipsis():
    exact = render(Message(title="T" * TITLE_LIMIT))[0].embeds[0]
    longer = render(Message(title="T" * (TITLE_LIMIT + 1)))[0].embeds[0]

    assert exact.title == "T" * TITLE_LIMIT
    assert len(longer.title) == TITLE_LIMIT and longer.title.endswith("…")


def test_cutting_never_leaves_half_an_escape_behind():
    title = "a" * (TITLE_LIMIT - 2) + "*" * 10  # each * becomes \* when escaped

    cut = render(Message(title=title))[0].embeds[0].title

    assert len(cut) <= TITLE_LIMIT
    body = cut.removesuffix("…")
    trailing_backslashes = len(body) - len(body.rstrip("\\"))
    assert trailing_backslashes % 2 == 0


def test_description_of_exactly_4096_characters_fits_one_embed():
    lines = ("x" * 2047, "y" * 2048)  # 2047 + newline + 2048 = 4096

    pages = render(Message(title="t", lines=lines))

    assert len(all_embeds(pages)) == 1
    assert len(pages[0].embeds[0].description) == DESCRIPTION_LIMIT


def test_longer_description_continues_in_a_second_embed_at_a_line_break():
    lines = tuple(f"line {n:04d} " + "z" * 90 for n in range(60))  # about 6000 characters

    pages = render(Message(title="t", lines=lines))

    embeds = all_embeds(pages)
    assert len(embeds) >= 2
    assert "\n".join(e.description for e in embeds) == "\n".join(lines)
    for page in pages:
        assert_within_discord_limits(page)


def test_twenty_five_sections_fit_one_embed_and_the_twenty_sixth_opens_another():
    def message(n: int) -> Message:
        return Message(title="t", sections=tuple(Section(f"S{i}", ("v",)) for i in range(n)))

    assert [len(e.fields) for e in all_embeds(render(message(25)))] == [25]
    assert [len(e.fields) for e in all_embeds(render(message(26)))] == [25, 1]


def test_field_value_of_exactly_1024_is_kept_and_a_longer_one_continues_in_the_next_field():
    exact = render(Message(title="t", sections=(Section("Zones", ("v" * 1024,)),)))
    lines = tuple(f"zone {n}: " + "w" * 100 for n in range(20))
    longer = render(Message(title="t", sections=(Section("Zones", lines),)))

    assert [len(f.value) for f in all_embeds(exact)[0].fields] == [1024]
    fields = [f for e in all_embeds(longer) for f in e.fields]
    assert fields[0].name == "Zones" and all(f.name == "Zones (cont.)" for f in fields[1:])
    assert "\n".join(f.value for f in fields) == "\n".join(lines)


def test_field_name_and_footer_are_cut_at_their_limits():
    message = Message(
        title="t",
        sections=(Section("N" * 300, ("v",)),),
        footer="F" * FOOTER_LIMIT + "overflow",
    )

    embed = render(message)[0].embeds[0]

    assert len(embed.fields[0].name) == FIELD_NAME_LIMIT
    assert len(embed.footer.text) == FOOTER_LIMIT


def test_a_message_over_6000_characters_becomes_several_discord_messages():
    sections = tuple(Section(f"Zone {i}", ("q" * 1000,)) for i in range(12))  # ~12,000 chars

    pages = render(
        Message(title="Summary", sections=sections, footer="src", buttons=REPORT.buttons)
    )

    assert len(pages) >= 2
    for page in pages:
        assert_within_discord_limits(page)
    assert [p.with_buttons for p in pages] == [False] * (len(pages) - 1) + [True]
    assert all_embeds(pages)[0].title == "Summary"
    assert all_embeds(pages)[-1].footer.text == "src"
    assert sum(len(e.fields) for e in all_embeds(pages)) == 12


def test_an_empty_message_still_renders_something_discord_accepts():
    (page,) = render(Message(title=""))

    assert_within_discord_limits(page)


text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=1500)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=st.text(max_size=400),
    lines=st.lists(text, max_size=8),
    sections=st.lists(st.tuples(st.text(max_size=300), st.lists(text, max_size=4)), max_size=30),
    footer=st.text(max_size=2500),
)
def test_any_message_fits_discord_limits(title, lines, sections, footer):
    message = Message(
        title=title,
        lines=tuple(lines),
        sections=tuple(Section(name, tuple(body)) for name, body in sections),
        footer=footer,
    )

    pages = render(message)

    for page in pages:
        assert_within_discord_limits(page)
    fields = sum(len(e.fields) for e in all_embeds(pages))
    assert fields >= len(sections)  # no section is dropped


# ---- the slash-command payload ----------------------------------------------------------------


@pytest.fixture
def tree():
    client = discord.Client(intents=discord.Intents.default())
    return build_tree(client, CommandHandlers(service=None))  # defining commands needs no service


def test_symbol_parameters_are_autocompleted(tree):
    options = {p["name"]: p for p in tree.get_command("liq").to_dict(tree)["options"]}
    assert options["symbol"].get("autocomplete") is True


# ---- the command tree as Discord receives it --------------------------------------------------

NAME = re.compile(r"^[-_a-z0-9]{1,32}$")


def test_every_command_payload_is_within_discords_limits(tree):
    payloads = command_payloads(tree)

    assert {p["name"] for p in payloads} == {spec.name for spec in COMMANDS}
    for payload in payloads:
        assert NAME.match(payload["name"]), payload["name"]
        assert 1 <= len(payload["description"]) <= 100
        assert len(payload["options"]) <= 25
        for option in payload["options"]:
            assert NAME.match(option["name"]), option["name"]
            assert 1 <= len(option["description"]) <= 100
            assert option["description"] != "…", f"/{payload['name']} {option['name']}"
            assert len(option.get("choices", [])) <= 25
            for choice in option.get("choices", []):
                assert 1 <= len(choice["name"]) <= 100


def test_descriptions_come_from_the_shared_command_table(tree):
    for spec in COMMANDS:
        assert tree.get_command(spec.name).description == spec.description


def test_alert_kind_offers_every_rule_kind(tree):
    (kind,) = [o for o in tree.get_command("alert").to_dict(tree)["options"] if o["name"] == "kind"]
    assert [c["value"] for c in kind["choices"]] == list(KIND_NAMES)  # from the registry


def test_summary_is_hidden_by_default_from_members_without_manage_server(tree):
    payload = tree.get_command("summary").to_dict(tree)
    assert payload["default_member_permissions"] == discord.Permissions(manage_guild=True).value


# ---- the client -------------------------------------------------------------------------------


def test_adapter_uses_default_intents_without_message_content():
    adapter = DiscordAdapter(None, {"token": "", "admins": []})

    assert adapter.client.intents.message_content is False
    assert adapter.sender.platform == "discord"
    assert {c.name for c in adapter.tree.get_commands()} == {spec.name for spec in COMMANDS}


async def test_start_without_a_token_says_which_setting_is_missing():
    adapter = DiscordAdapter(None, {"token": "", "admins": []})

    with pytest.raises(ConfigError, match=r"\[discord\] token"):
        await adapter.start()
    await adapter.stop()


async def test_discord_sync_pushes_every_command_to_the_guild(httpserver, monkeypatch):
    """`liqwatch discord-sync --guild ID` against a loopback stand-in for Discord's REST API."""
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)  # restored after
    bot_user = {"id": "11", "username": "liqwatch", "discriminator": "0", "avatar": None}
    app_info = {
        "id": "22",
        "name": "liqwatch",
        "icon": None,
        "description": "",
        "bot_public": True,
        "bot_require_code_grant": False,
        "verify_key": "00",
        "flags": 0,
        "owner": bot_user,
    }
    received: list = []

    def put_commands(request):
        commands = request.get_json()
        received.extend(commands)
        answer = [
            {**c, "id": str(100 + n), "application_id": "22", "version": "1"}
            for n, c in enumerate(commands)
        ]
        return Response(json.dumps(answer), content_type="application/json")

    httpserver.expect_request("/api/v10/users/@me").respond_with_json(bot_user)
    httpserver.expect_request("/api/v10/oauth2/applications/@me").respond_with_json(app_info)
    httpserver.expect_request(
        "/api/v10/applications/22/guilds/5555/commands", method="PUT"
    ).respond_with_handler(put_commands)

    count = await sync_commands("tok", 5555, api_base_url=httpserver.url_for("/api/v10"))

    assert count == len(COMMANDS)
    assert {c["name"] for c in received} == {spec.name for spec in COMMANDS}


def test_invite_link_asks_for_commands_and_only_the_permissions_the_bot_uses():
    url = invite_url(1234)

    assert "client_id=1234" in url
    assert "scope=bot+applications.commands" in url
    granted = discord.Permissions(int(re.search(r"permissions=(\d+)", url).group(1)))
    assert granted.send_messages and granted.embed_links and granted.attach_files
    assert not granted.administrator and not granted.mention_everyone
    assert not granted.manage_messages
