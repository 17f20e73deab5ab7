"""`liqwatch heatmap BTC --hours 24 --chart F [--json]` over the map history the bot recorded."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.__main__ import main
from core.store import Store
from core.types import Level, Snapshot


def record_a_day(db, now: datetime) -> None:
    with Store.open(db, clock=lambda: now) as store:
        for step in range(144):
            at = now - timedelta(minutes=10 * (143 - step))
            price = 90_000 + 20 * step
            levels = tuple(
                Level(float(p), long_usd=1e6 * (p < price), short_usd=2e6 * (p > price))
                for p in range(80_000, 100_001, 100)
            )
            store.record_map(Snapshot("BTC", float(price), levels, "estimate", at))


def config(tmp_path) -> str:
    path = tmp_path / "config.toml"
    path.write_text(f'[store]\npath = "{tmp_path / "bot.db"}"\n')
    return str(path)


def test_heatmap_writes_a_png_and_exits_0(tmp_path, capsys):
    record_a_day(tmp_path / "bot.db", datetime.now(UTC))
    out = tmp_path / "btc.png"
    code = main(
        ["heatmap", "BTC", "--hours", "24", "--chart", str(out), "--config", config(tmp_path)]
    )
    assert code == 0
    assert out.read_bytes().startswith(b"\x89PNG")
    assert "heatmap written to" in capsys.readouterr().out


def test_heatmap_json_is_times_prices_and_notional(tmp_path, capsys):
    record_a_day(tmp_path / "bot.db", datetime.now(UTC))
    assert main(["heatmap", "btc", "--hours", "6", "--json", "--config", config(tmp_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"times", "prices", "notional"} <= set(data)
    assert len(data["notional"]) == len(data["times"]) == 36
    assert all(len(row) == len(data["prices"]) for row in data["notional"])


def test_without_history_it_says_why_in_one_line(tmp_path, capsys):
    assert main(["heatmap", "BTC", "--config", config(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no database at" in err and "liqwatch run" in err
    Store.open(tmp_path / "bot.db").close()
    assert main(["heatmap", "BTC", "--config", config(tmp_path)]) == 1
    assert "0 recorded map(s) of BTC" in capsys.readouterr().err
