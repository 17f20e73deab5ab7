"""What the fake exchange serves: simulated markets and Coinglass payloads (no HTTP here).

`Market` holds one symbol's price ticks and open-interest model and renders Binance kline rows;
`coinglass_rows` / `worked_example_map` build Coinglass aggregated-map rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MINUTE_MS = 60_000
DAY_MS = 1440 * MINUTE_MS
INTERVALS_MS = {
    "1m": 1, "3m": 3, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "2h": 120, "4h": 240,
    "6h": 360, "8h": 480, "12h": 720, "1d": 1440,
}  # fmt: skip
OI_PERIODS = ("5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d")
TICK_MS = 15_000
HISTORY_DAYS = 31

# The worked example of domain.md §1.
WORKED_PRICE = 90_131.71
WORKED_SHORT_TOTAL = 2_705_000_000
WORKED_SHORT_EDGE = 94_681
WORKED_LONG_TOTAL = 1_563_000_000
WORKED_LONG_EDGE = 86_137


def coinglass_rows(usd_by_price: dict[float, float], parts: int = 3) -> dict[str, list[list]]:
    """Coinglass-shaped rows: each price's USD split over `parts` rows `[price, usd, lev, null]`
    in whole dollars (so sums stay exact), the last row taking the remainder."""
    rows: dict[str, list[list]] = {}
    for price, usd in usd_by_price.items():
        share = int(usd) // parts
        amounts = [share] * (parts - 1) + [int(usd) - share * (parts - 1)]
        key = f"{price:g}" if float(price).is_integer() else str(price)
        rows[key] = [[price, a, lev, None] for a, lev in zip(amounts, (25, 50, 100), strict=False)]
    return rows


def worked_example_map() -> dict[str, list[list]]:
    """Rows for the worked example: shorts above $90,131.71 up to $94,681 totalling $2.705B,
    longs below down to $86,137 totalling $1.563B, the biggest clusters near $93,000/$88,000."""
    shorts = {90_500: 90e6, 91_000: 150e6, 91_500: 210e6, 92_000: 260e6, 92_500: 330e6,
              93_000: 560e6, 93_500: 420e6, 94_000: 300e6}  # fmt: skip
    shorts[WORKED_SHORT_EDGE] = WORKED_SHORT_TOTAL - sum(shorts.values())
    longs = {89_800: 80e6, 89_300: 120e6, 88_800: 190e6, 88_300: 330e6, 87_800: 410e6,
             87_300: 200e6, 86_800: 130e6}  # fmt: skip
    longs[WORKED_LONG_EDGE] = WORKED_LONG_TOTAL - sum(longs.values())
    return coinglass_rows({**shorts, **longs})


@dataclass
class Market:
    """One symbol's state: price ticks (ms, price) and the open-interest model."""

    times: np.ndarray
    prices: np.ndarray
    oi_usd: float  # at the end of the generated history
    oi_growth_pct_per_day: float
    history_end_ms: int
    quote_volume_per_minute: float = 2e6

    def price_at(self, t_ms: int) -> float:
        i = int(np.searchsorted(self.times, t_ms, "right")) - 1
        return float(self.prices[max(i, 0)])

    def kline(self, open_ms: int, minutes: int) -> list:
        end = open_ms + minutes * MINUTE_MS
        first = int(np.searchsorted(self.times, open_ms, "right"))
        last = int(np.searchsorted(self.times, end, "left"))  # a tick at `end` opens the next
        inside = self.prices[first:last] if last > first else np.empty(0)
        open_price = self.price_at(open_ms)
        high = max(open_price, float(inside.max())) if inside.size else open_price
        low = min(open_price, float(inside.min())) if inside.size else open_price
        close = float(inside[-1]) if inside.size else open_price
        quote = self.quote_volume_per_minute * minutes
        # Buyers lead when the price rose: taker-buy share follows the candle's direction.
        taker_share = 0.5 + float(np.clip((close / open_price - 1) * 50, -0.2, 0.2))
        return [
            open_ms, f"{open_price:.2f}", f"{high:.2f}", f"{low:.2f}", f"{close:.2f}",
            f"{quote / close:.3f}", end - 1, f"{quote:.2f}", int(quote / 5000),
            f"{quote * taker_share / close:.3f}", f"{quote * taker_share:.2f}", "0",
        ]  # fmt: skip

    def open_interest_usd(self, t_ms: int) -> float:
        days_before_end = (self.history_end_ms - t_ms) / DAY_MS
        trend = 1 - self.oi_growth_pct_per_day / 100 * days_before_end
        wave = 1 + 0.002 * np.sin(t_ms / (3 * 3600_000))
        return max(0.0, self.oi_usd * trend * wave)
