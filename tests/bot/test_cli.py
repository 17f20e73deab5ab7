"""`liqwatch liq` as a trader runs it: the worked example over real HTTP, JSON and text, errors."""

from __future__ import annotations

import json

import pytest

from bot.__main__ import main
from tests.fakes.exchange import FakeExchange
from tests.fakes.exchange_data import (
    WORKED_LONG_EDGE,
    WORKED_LONG_TOTAL,
    WORKED_SHORT_EDGE,
    WORKED_SHORT_TOTAL,
    worked_example_map,
)


@pytest.fixture
def coinglass_config(exchange: FakeExchange, tmp_path, monkeypatch):
    exchange.set_coinglass_map("BTC", worked_example_map())
    path = tmp_path / "config.toml"
    path.write_text(
        f'[data]\nsource = "coinglass"\n'
        f'[sources.binance]\nbase_url = "{exchange.url}"\n'
        f'[sources.coinglass]\nbase_url = "{exchange.url}"\n'
        f'[store]\npath = "{tmp_path / "db.sqlite"}"\n'
    )
    monkeypatch.setenv("COINGLASS_API_KEY", exchange.coinglass_key)
    return path


def test_worked_example_as_json(coinglass_config, capsys):
    assert main(["liq", "BTC", "--config", str(coinglass_config), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["symbol"] == "BTC" and report["source"] == "coinglass"
    assert report["price"] == pytest.approx(90_131.71)
    assert report["short_above_usd"] == pytest.approx(WORKED_SHORT_TOTAL)
    assert report["short_edge"] == WORKED_SHORT_EDGE
    assert report["long_below_usd"] == pytest.approx(WORKED_LONG_TOTAL)
    assert report["long_edge"] == WORKED_LONG_EDGE
    assert round(report["ratio"], 2) == 1.73
    assert {z["side"] for z in report["zones"]} == {"short", "long"}
    for zone in report["zones"]:
        assert set(zone) >= {"side", "low", "high", "peak", "usd", "distance_pct"}


def test_worked_example_as_text_reads_like_the_market_note(coinglass_config, capsys, tmp_path):
    chart = tmp_path / "btc.png"
    argv = ["liq", "btcusdt", "--config", str(coinglass_config), "--chart", str(chart)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "$90,131.71" in text
    assert "Breaking $94,681 (+5.05%) liquidates $2.705B of shorts" in text
    assert "Falling to $86,137 (-4.43%) liquidates $1.563B of longs" in text
    assert "1.73×" in text
    assert "coinglass" in text.lower()
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_unknown_symbol_is_one_line_on_stderr(exchange, tmp_path, capsys):
    path = tmp_path / "config.toml"
    venues = '[data]\nvenues = ["binance"]\n'  # the fake serves Binance only
    path.write_text(f'{venues}[sources.binance]\nbase_url = "{exchange.url}"\n')
    assert main(["liq", "NOPECOIN", "--config", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "Unknown symbol: NOPECOIN" in captured.err


def test_plan_too_low_is_explained(coinglass_config, exchange, capsys):
    exchange.upgrade_plan()
    assert main(["liq", "BTC", "--config", str(coinglass_config)]) == 1
    err = capsys.readouterr().err
    assert "Upgrade plan" in err and "Professional" in err
    assert exchange.coinglass_key not in err


def test_bad_config_names_key_and_file(tmp_path, capsys):
    path = tmp_path / "config.toml"
    path.write_text('[data]\nsource = "magic"\n')
    assert main(["liq", "BTC", "--config", str(path)]) == 1
    err = capsys.readouterr().err
    assert "[data] source" in err and str(path) in err


def test_sample_replay_is_labelled_as_sample(capsys):
    assert main(["liq", "BTC", "--source", "replay", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["sample"] is True and "SAMPLE" in report["note"].upper()
    assert main(["liq", "BTC", "--source", "replay"]) == 0
    assert capsys.readouterr().out.upper().count("SAMPLE") >= 2


@pytest.mark.parametrize(
    "chart, expected", [("/nonexistent/dir/x.png", "no such directory"), ("x.svg", "PNG")]
)
def test_a_bad_chart_path_is_one_line_before_any_work(tmp_path, capsys, chart, expected):
    assert main(["liq", "BTC", "--source", "replay", "--chart", chart]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err
