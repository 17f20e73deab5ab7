"""Config: defaults, the file, environment secrets, and clear refusals."""

from __future__ import annotations

import pytest

from bot import config
from core.kernel.errors import ConfigError


def write(tmp_path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_defaults_use_free_estimate(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = config.load(env={})
    assert cfg.get("data", "source") == "estimate"
    assert cfg.get("sources.binance", "base_url") == "https://fapi.binance.com"
    assert cfg.path is None


def test_file_values_and_env_secret(tmp_path):
    path = write(
        tmp_path,
        '[data]\nsource = "coinglass"\nwindow_pct = 10\n[sources.coinglass]\nrange = "7d"\n',
    )
    cfg = config.load(path, env={"COINGLASS_API_KEY": "k-123"})
    assert cfg.get("data", "source") == "coinglass"
    assert cfg.get("data", "window_pct") == 10.0
    assert cfg.get("sources.coinglass", "api_key") == "k-123"
    assert cfg.secrets() == ["k-123"]


@pytest.mark.parametrize(
    "text, names",
    [
        ("[data]\nsorce = 'estimate'\n", ["sorce", "[data]"]),
        ("[data]\nsource = 'magic'\n", ["[data] source", "magic"]),
        ("[data]\ncache_seconds = 'soon'\n", ["[data] cache_seconds", "number"]),
        ("[sources.kraken]\nbase_url = 'x'\n", ["[sources.kraken]"]),
        ("[sources.coinglass]\nrange = '2d'\n", ["[sources.coinglass] range"]),
        ("[telegram]\nadmins = ['@me']\n", ["[telegram] admins", "numeric"]),
        ("[telegram]\nallowed_chats = [1.5]\n", ["[telegram] allowed_chats"]),
        ("[estimator]\nweights = [1.0]\n", ["[estimator] weights"]),
        ("this is = not toml [", ["not valid TOML"]),
    ],
)
def test_bad_config_is_refused_naming_key_and_file(tmp_path, text, names):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        config.load(path, env={})
    message = str(err.value)
    assert str(path) in message
    for name in names:
        assert name in message


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        config.load(tmp_path / "nope.toml", env={})


def test_summaries_need_a_schedule_and_a_target(tmp_path):
    path = write(tmp_path, "[[summaries]]\nsymbols = ['BTC']\nevery = '4h'\n")
    with pytest.raises(ConfigError, match="webhook_url or telegram_chat"):
        config.load(path, env={})
    path = write(
        tmp_path,
        "[[summaries]]\nsymbols = ['BTC']\nevery = '4h'\nwebhook_url = 'http://127.0.0.1:1/hook'\n",
    )
    assert config.load(path, env={}).summaries[0]["every"] == "4h"


def test_override_is_validated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = config.load(env={})
    cfg.set("data", "window_pct", 5)
    assert cfg.get("data", "window_pct") == 5.0
    with pytest.raises(ConfigError, match="source"):
        cfg.set("data", "source", "nope")


def test_example_config_loads_and_documents_every_key():
    from pathlib import Path

    example = Path(__file__).parents[2] / "config.example.toml"
    cfg = config.load(example, env={})
    assert cfg.get("data", "source") == "estimate"
    text = example.read_text()
    for section, keys in config.SCHEMA.sections.items():
        assert f"[{section}]" in text, section
        for key in keys:
            assert f"\n{key} = " in text, f"[{section}] {key} is not documented"
