"""`liqwatch doctor`: one table, a fix on every failed row, exit 1 when broken, secrets never shown.
Run against the loopback fakes: Bot API, Discord REST and the exchange."""

from __future__ import annotations

import sqlite3

import pytest

from bot.__main__ import main
from core.chat.commands import COMMANDS
from core.store import Store
from tests.fakes.discord_api import TOKEN as DISCORD_TOKEN
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.telegram_api import FakeTelegramAPI


@pytest.fixture
async def telegram():
    api = FakeTelegramAPI()
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
async def discord_api():
    fake = FakeDiscord()
    await fake.server.start_server()
    yield fake
    await fake.server.close()


def write_config(tmp_path, exchange, telegram, discord_api, extra: str = "") -> str:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[data]\nvenues = ["binance"]\n[sources.binance]\nbase_url = "{exchange.url}"\n'
        f'[store]\npath = "{tmp_path / "bot.db"}"\n'
        f'[telegram]\napi_base_url = "{telegram.api_base_url}"\n'
        f'[discord]\napi_base_url = "{discord_api.api}"\n' + extra
    )
    return str(path)


def rows(output: str) -> dict[str, str]:
    """CHECK → the rest of its line."""
    found = {}
    for line in output.splitlines()[1:]:
        if "  " in line:
            check, rest = line.split("  ", 1)
            found[check.strip()] = rest.strip()
    return found


async def run_doctor(config: str, capsys, monkeypatch, **env) -> tuple[int, str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    import asyncio

    code = await asyncio.to_thread(main, ["doctor", "--config", config])
    return code, capsys.readouterr().out


async def test_a_healthy_setup_is_all_ok(
    exchange, telegram, discord_api, tmp_path, capsys, monkeypatch
):
    discord_api.global_commands = [spec.name for spec in COMMANDS]
    Store.open(tmp_path / "bot.db").close()
    config = write_config(tmp_path, exchange, telegram, discord_api)
    code, out = await run_doctor(
        config, capsys, monkeypatch, TELEGRAM_TOKEN=telegram.token, DISCORD_TOKEN=DISCORD_TOKEN
    )
    found = rows(out)
    assert code == 0, out
    assert found["telegram"].startswith("ok") and "@liqwatch_test_bot" in found["telegram"]
    assert found["discord commands"].startswith("ok")
    assert found["venue binance"].startswith("ok") and " ms" in found["venue binance"]
    assert found["database"].startswith("ok") and "integrity ok" in found["database"]
    assert "All good." in out
    assert telegram.token not in out and telegram.token.split(":")[1] not in out
    assert DISCORD_TOKEN not in out


async def test_every_failure_has_its_fix_and_the_exit_code_is_1(
    exchange, telegram, discord_api, tmp_path, capsys, monkeypatch
):
    # synced before /heatmap and /top came
    discord_api.global_commands = [s.name for s in COMMANDS if s.name not in ("heatmap", "top")]
    db = tmp_path / "bot.db"
    Store.open(db).close()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE schema_version SET version = 999")
    conn.commit()
    conn.close()
    exchange.stop()  # the venue is down
    wrong = "999:WRONG-token-0123456789abcdef"
    config = write_config(tmp_path, exchange, telegram, discord_api)
    code, out = await run_doctor(
        config, capsys, monkeypatch, TELEGRAM_TOKEN=wrong, DISCORD_TOKEN=DISCORD_TOKEN
    )
    found = rows(out)
    assert code == 1
    assert found["telegram"].startswith("FAIL") and "@BotFather" in found["telegram"]
    assert (
        found["discord commands"].startswith("FAIL") and "discord-sync" in found["discord commands"]
    )
    assert "heatmap" in found["discord commands"]
    assert found["venue binance"].startswith("FAIL") and "base_url" in found["venue binance"]
    assert found["database"].startswith("FAIL") and "upgrade liqwatch" in found["database"]
    assert wrong not in out and "WRONG-token" not in out


async def test_a_broken_config_is_a_failed_row_not_a_traceback(tmp_path, capsys, monkeypatch):
    path = tmp_path / "config.toml"
    path.write_text('[telegram]\nmode = "webhook"\npublic_url = "https://x.example/hook"\n')
    code, out = await run_doctor(str(path), capsys, monkeypatch)
    assert code == 1
    assert rows(out)["config"].startswith("FAIL") and "secret_token" in out
