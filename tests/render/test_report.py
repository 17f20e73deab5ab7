"""Report: the worked example reads exactly as the market note, in text and JSON; every edge case
reads as words, never inf/nan; sample data always says so."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from core.kernel import fmt
from core.market.analysis import analyze
from core.render.report import (
    error_message,
    reading,
    report_json,
    report_message,
    watchlist_line,
)
from core.render.summaries import summary_section
from core.types import Button, Level, PriceContext, Snapshot

AS_OF = datetime(2025, 1, 5, 12, 0, tzinfo=UTC)
NOW = AS_OF + timedelta(minutes=3)

# The market note of domain.md §1.
PRICE = 90_131.71
SHORT_EDGE, SHORT_TOTAL = 94_681.0, 2.705e9
LONG_EDGE, LONG_TOTAL = 86_137.0, 1.563e9
HIGH_7D, LOW_7D = 93_012.0, 91_965.0


def spread(start: float, stop: float, total: float, peak_at: float) -> list[tuple[float, float]]:
    """Levels every $100 from start to stop (both included) whose USD sums to `total`, with a
    wall around `peak_at` so the map has a clear key zone."""
    step = 100.0 if stop > start else -100.0
    prices = [start + i * step for i in range(int((stop - start) / step) + 1)]
    if prices[-1] != stop:
        prices.append(stop)
    weights = [1.0 + (20.0 if abs(p - peak_at) <= 200 else 0.0) for p in prices]
    scale = total / sum(weights)
    return [(p, w * scale) for p, w in zip(prices, weights, strict=True)]


def worked_example(sample: bool = False, context: PriceContext | None = None) -> Snapshot:
    shorts = [Level(p, short_usd=u) for p, u in spread(90_200, SHORT_EDGE, SHORT_TOTAL, 92_500)]
    longs = [Level(p, long_usd=u) for p, u in spread(90_100, LONG_EDGE, LONG_TOTAL, 88_000)]
    return Snapshot(
        symbol="BTC",
        price=PRICE,
        levels=tuple(sorted(longs + shorts, key=lambda lv: lv.price)),
        source="replay" if sample else "coinglass",
        as_of=AS_OF,
        context=context or PriceContext(high_7d=HIGH_7D, low_7d=LOW_7D, change_24h_pct=-1.5),
        sample=sample,
        note="sample built from a Coinglass market note" if sample else "",
    )


def two_level(short_usd: float, long_usd: float, price: float = 100.0, **extra) -> Snapshot:
    levels = []
    if long_usd:
        levels.append(Level(95.0, long_usd=long_usd))
    if short_usd:
        levels.append(Level(105.0, short_usd=short_usd))
    return Snapshot("ETH", price, tuple(levels), "estimate", AS_OF, **extra)


def test_worked_example_reads_exactly_like_the_market_note():
    snapshot = worked_example()
    message = report_message(snapshot, analyze(snapshot), NOW)
    assert message.kind == "report"
    assert message.title == "BTC $90,131.71 · liquidation map"
    assert message.lines[:3] == (
        "Breaking $94,681 (+5.05%) liquidates $2.705B of shorts",
        "Falling to $86,137 (-4.43%) liquidates $1.563B of longs",
        "Shorts above are 1.73× the longs below",
    )
    assert "Shorts dominate above: squeeze risk up" in message.lines


def test_worked_example_figures_follow_from_the_input_not_from_constants():
    snapshot = worked_example()
    text = report_message(snapshot, analyze(snapshot), NOW).text()
    for expected in (
        fmt.money_precise(SHORT_TOTAL),
        fmt.money_precise(LONG_TOTAL),
        fmt.ratio(SHORT_TOTAL / LONG_TOTAL),
        fmt.pct((SHORT_EDGE - PRICE) / PRICE * 100),
        fmt.pct((LONG_EDGE - PRICE) / PRICE * 100),
    ):
        assert expected in text


def test_json_holds_the_worked_example_figures_and_is_strict_json():
    snapshot = worked_example()
    data = report_json(snapshot, analyze(snapshot))
    assert data["symbol"] == "BTC" and data["source"] == "coinglass"
    assert data["price"] == PRICE
    assert data["as_of"] == "2025-01-05T12:00:00+00:00"
    assert data["short_above_usd"] == pytest.approx(SHORT_TOTAL)
    assert data["long_below_usd"] == pytest.approx(LONG_TOTAL)
    assert (data["short_edge"], data["long_edge"]) == (SHORT_EDGE, LONG_EDGE)
    assert data["ratio"] == pytest.approx(SHORT_TOTAL / LONG_TOTAL)
    assert data["sample"] is False and data["window_pct"] == 0
    assert data["context"]["high_7d"] == HIGH_7D
    assert {z["side"] for z in data["zones"]} == {"short", "long"}
    for zone in data["zones"]:
        assert set(zone) == {"side", "low", "high", "peak", "usd", "distance_pct"}
    json.dumps(data, allow_nan=False)  # raises on NaN/inf


def test_json_of_a_one_sided_map_has_null_ratio_and_edge():
    snapshot = two_level(short_usd=5e6, long_usd=0)
    data = json.loads(json.dumps(report_json(snapshot, analyze(snapshot)), allow_nan=False))
    assert data["ratio"] is None and data["long_edge"] is None and data["key_long"] is None


def test_key_zones_section_names_range_peak_usd_and_distance_per_side():
    snapshot = worked_example()
    analysis = analyze(snapshot)
    message = report_message(snapshot, analysis, NOW)
    zones = next(s for s in message.sections if s.name == "Key zones")
    key_short, key_long = analysis.key_short, analysis.key_long
    assert key_short is not None and key_long is not None
    short_line = next(line for line in zones.lines if "key level" in line and "Shorts" in line)
    for part in (fmt.price(key_short.low), fmt.price(key_short.high), fmt.price(key_short.peak),
                 fmt.money(key_short.usd), fmt.pct(key_short.distance_pct)):  # fmt: skip
        assert part in short_line
    assert any("Longs" in line and fmt.pct(key_long.distance_pct) in line for line in zones.lines)


def test_context_says_the_7_day_range_and_where_the_price_sits_in_it():
    snapshot = two_level(5e6, 5e6, price=95.0, context=PriceContext(100.0, 90.0))
    message = report_message(snapshot, analyze(snapshot), NOW)
    context = next(s for s in message.sections if s.name == "Context")
    assert "7-day high $100 · low $90" in context.lines
    assert any("50%" in line for line in context.lines)


def test_context_says_when_the_price_left_the_7_day_range():
    snapshot = worked_example()  # the note's price is below the note's 7-day low
    message = report_message(snapshot, analyze(snapshot), NOW)
    context = next(s for s in message.sections if s.name == "Context")
    assert any("below the 7-day low" in line for line in context.lines)


def test_no_context_section_without_price_context():
    snapshot = two_level(5e6, 5e6)
    message = report_message(snapshot, analyze(snapshot), NOW)
    assert [s.name for s in message.sections] == ["Key zones"]


def test_footer_names_the_source_and_the_age_of_the_data():
    snapshot = worked_example()
    footer = report_message(snapshot, analyze(snapshot), NOW).footer
    assert "coinglass" in footer and "3 min old" in footer and "2025-01-05 12:00 UTC" in footer


def test_sample_data_is_labelled_in_the_title_and_the_footer():
    snapshot = worked_example(sample=True)
    message = report_message(snapshot, analyze(snapshot), NOW)
    assert "SAMPLE" in message.title.upper()
    assert "SAMPLE" in message.footer.upper() and snapshot.note in message.footer
    live = report_message(worked_example(), analyze(worked_example()), NOW)
    assert "SAMPLE" not in live.text().upper()


def test_report_offers_refresh_chart_and_breakout_alert_buttons():
    snapshot = worked_example()
    message = report_message(snapshot, analyze(snapshot), NOW, image=b"\x89PNG")
    assert message.buttons == (
        Button("Refresh", "refresh", ("BTC",)),
        Button("Chart", "chart", ("BTC",)),
        Button("Alert me on breakout", "alert_breakout", ("BTC",)),
    )
    assert message.image == b"\x89PNG"


@pytest.mark.parametrize(
    "shorts, longs, words",
    [
        (2.0, 1.0, "shorts dominate above: squeeze risk up"),
        (1.25, 1.0, "shorts dominate above"),
        (1.2, 1.0, "balanced"),
        (1.0, 1.2, "balanced"),
        (1.0, 1.25, "longs dominate below: flush risk down"),
        (1.0, 0.0, "no longs below the price"),
        (0.0, 1.0, "no shorts above the price"),
        (0.0, 0.0, "no liquidations on either side"),
    ],
)
def test_reading_in_words_follows_the_ratio(shorts, longs, words):
    assert words in reading(analyze(two_level(shorts * 1e6, longs * 1e6)))


def test_one_sided_and_empty_maps_read_in_words_without_inf_or_nan():
    for snapshot in (two_level(5e6, 0), two_level(0, 5e6), two_level(0, 0)):
        text = report_message(snapshot, analyze(snapshot), NOW).text()
        for junk in ("inf", "nan", "None", "—"):
            assert junk not in text
    text = report_message(two_level(5e6, 0), analyze(two_level(5e6, 0)), NOW).text()
    assert "No longs below the price in this map" in text
    assert "Longs: no zone below the price" in text


def test_when_longs_outweigh_shorts_the_imbalance_is_said_from_the_long_side():
    snapshot = two_level(short_usd=1e6, long_usd=2e6)
    message = report_message(snapshot, analyze(snapshot), NOW)
    assert "Longs below are 2.00× the shorts above (ratio 0.50×)" in message.lines


def test_a_window_is_named_in_the_report():
    snapshot = worked_example()
    message = report_message(snapshot, analyze(snapshot, window_pct=3), NOW)
    assert "Window: ±3% of the price" in message.lines


def test_error_message_is_one_uniform_line():
    message = error_message("Unknown symbol: XYZ. Try BTC, ETH or SOL.")
    assert message.kind == "error"
    assert message.text() == "Unknown symbol: XYZ. Try BTC, ETH or SOL."


def test_watchlist_line_shows_price_ratio_and_nearest_zones_with_distances():
    snapshot = worked_example()
    analysis = analyze(snapshot)
    line = watchlist_line("BTC", analysis)
    assert "\n" not in line
    assert line.startswith("BTC $90,132")
    assert fmt.ratio(analysis.ratio) in line
    assert analysis.nearest_short and fmt.pct(analysis.nearest_short.distance_pct) in line
    assert analysis.nearest_long and fmt.pct(analysis.nearest_long.distance_pct) in line


def test_watchlist_line_of_a_one_sided_map_says_which_side_has_no_zone():
    line = watchlist_line("ETH", analyze(two_level(5e6, 0)))
    assert "no zone below" in line and "inf" not in line


def test_summary_section_shows_change_ratio_move_zones_and_crossings():
    snapshot = worked_example()
    analysis = analyze(snapshot)
    assert analysis.ratio is not None
    section = summary_section("BTC", snapshot, analysis, 1.5, ["$92,500 (key short level)"])
    text = "\n".join(section.lines)
    assert section.name == "BTC"
    assert "-1.50% 24h" in text
    assert f"was 1.50×, {analysis.ratio - 1.5:+.2f}" in text
    assert "Key short zone" in text and "Key long zone" in text
    assert "$92,500 (key short level)" in text


def test_summary_section_without_previous_ratio_or_crossings():
    snapshot = worked_example(sample=True)
    section = summary_section("BTC", snapshot, analyze(snapshot), None, [])
    assert "SAMPLE" in section.name
    assert "No key level crossed since the previous summary" in section.lines
    assert not any("was" in line for line in section.lines)
