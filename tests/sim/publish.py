"""What each venue publishes, in its own row shapes, plus a venue-neutral view of the same rows.

Native rows (lists and dicts of strings and ints, as the JSON would decode), full history, in the
venue's own order:

- Binance (oldest first): `klines` rows `[openTime, "o", "h", "l", "c", "vol", closeTime,
  "quoteVol", trades, "takerBuyBase", "takerBuyQuote", "0"]`; `openInterestHist` rows
  `{"symbol", "sumOpenInterest" (coins), "sumOpenInterestValue" (USD), "timestamp"}`, timestamp =
  the end of the 5-minute period (the next candle's open), only the latest 30 days.
- Bybit (newest first, `result.list` of v5): `kline` rows `[start, open, high, low, close, volume,
  turnover]` (no taker split); `open-interest` rows `{"openInterest" (coins), "timestamp"}`.
- OKX (newest first, `data` of v5): `history-candles` rows `[ts, o, h, l, c, vol (contracts),
  volCcy (coins), volCcyQuote (USDT), confirm]`; `open-interest-history` rows `[ts, oi
  (contracts), oiCcy (coins), oiUsd]`; `taker-volume-contract` rows `[ts, sellVol, buyVol]`
  (contracts, ts = the period's start); `instruments` with `ctVal`.

Open-interest samples are stamped with the instant they describe, the end of a candle, on every
venue (Binance documents it; for Bybit and OKX it is this simulator's reading, unverified).
Missing rows (a spec's gaps) are left out of the native rows and of `arrays`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from .flows import QUOTE_DECIMALS, VenueFlows
from .ledger import Positions, VenueBook
from .maps import LiqMap
from .paths import FIVE_MINUTES_MS, PricePath, tick_decimals
from .worlds import VenueSpec, WorldSpec

DAY_MS = 86_400_000
OI_DECIMALS = 8
BASE_DECIMALS = 3
BINANCE_OI_DAYS = 30
SYMBOLS = {"binance": "{coin}USDT", "bybit": "{coin}USDT", "okx": "{coin}-USDT-SWAP"}


@dataclass(frozen=True, eq=False)
class VenueArrays:
    """The venue's published candles that have an OI sample at their close (as the bot aligns
    them), as floats: what a reader of the native rows gets after parsing."""

    open_time_ms: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    taker_buy_share: np.ndarray  # nan where the venue publishes no taker split (Bybit)
    oi_contracts: np.ndarray  # in the venue's contracts (Binance, Bybit: coins; OKX: ctVal units)
    oi_usd: np.ndarray  # the venue's USD open interest
    quote_volume: np.ndarray  # traded USD per candle (Binance quoteVol, Bybit turnover, OKX
    #   volCcyQuote)

    contract_value: float = 1.0  # coins per contract

    def estimator_fields(self) -> dict[str, np.ndarray]:
        """Keyword arguments for core's CandleArrays (without importing core); open interest in
        contracts is given in coins (contracts × contract value), as CandleArrays wants it."""
        return {
            "open_time_ms": self.open_time_ms.astype(float),
            "high": self.high,
            "low": self.low,
            "close": self.close,
            "taker_buy_share": self.taker_buy_share,
            "oi_usd": self.oi_usd,
            "oi_contracts": self.oi_contracts * self.contract_value,
            "quote_volume": self.quote_volume,
        }


def _mask(count: int, gaps: tuple[tuple[int, int], ...]) -> np.ndarray:
    keep = np.ones(count, bool)
    for start, stop in gaps:
        keep[start:stop] = False
    return keep


@dataclass(eq=False)
class VenuePublication:
    spec: WorldSpec
    venue: VenueSpec
    path: PricePath
    flows: VenueFlows
    book: VenueBook  # the true OI series (not published as such)
    positions: Positions  # this venue's true positions (pair cohorts)
    liquidations: list[dict[str, Any]]  # prints: venue, symbol, side, price, qty, usd, time
    true_map: LiqMap

    @property
    def name(self) -> str:
        return self.venue.name

    @property
    def symbol(self) -> str:
        return SYMBOLS[self.name].format(coin=self.spec.symbol)

    @property
    def maintenance_margin(self) -> float:
        return self.venue.maintenance_margin

    @property
    def contract_value(self) -> float:
        return self.venue.contract_value

    # ---- published values as floats (the native strings format exactly these) ----------------

    @cached_property
    def _values(self) -> dict[str, np.ndarray]:
        price_at = (self.path.high + self.path.low + self.path.close) / 3
        coins = np.round(self.book.oi_coins, OI_DECIMALS)
        contracts = np.round(self.book.oi_coins / self.contract_value, OI_DECIMALS)
        if self.spec.oi_value == "entry":
            usd = np.round(self.book.oi_entry_usd, OI_DECIMALS)
        else:
            usd = np.round(coins * self.path.close, OI_DECIMALS)
        quote, taker_quote = self.flows.quote_volume, self.flows.taker_buy_quote
        base = np.round(quote / price_at, BASE_DECIMALS)
        taker_base = np.round(taker_quote / price_at, BASE_DECIMALS)
        okx_vol = np.round(quote / price_at / self.contract_value, 2)
        okx_buy = np.round(taker_quote / price_at / self.contract_value, 2)
        return {
            "coins": coins,
            "contracts": contracts,
            "usd": usd,
            "base": base,
            "taker_base": taker_base,
            "okx_vol": okx_vol,
            "okx_buy": okx_buy,
            "okx_sell": np.round(okx_vol - okx_buy, 2),
            "trades": np.maximum(1, np.rint(quote / 25_000)).astype(np.int64),
        }

    @cached_property
    def kline_rows(self) -> np.ndarray:
        return np.flatnonzero(_mask(len(self.path), self.venue.kline_gaps))

    @cached_property
    def oi_rows(self) -> np.ndarray:
        """Candles whose end-of-candle OI sample is published."""
        keep = _mask(len(self.path), self.venue.oi_gaps)
        if self.name == "binance":  # only the latest 30 days, counted back from the last sample
            stamps = self.path.open_time_ms + FIVE_MINUTES_MS
            keep &= stamps > stamps[-1] - BINANCE_OI_DAYS * DAY_MS
        return np.flatnonzero(keep)

    @cached_property
    def arrays(self) -> VenueArrays:
        rows = np.intersect1d(self.kline_rows, self.oi_rows)
        v = self._values
        if self.name == "binance":
            share = self.flows.taker_buy_share
        elif self.name == "okx":
            with np.errstate(divide="ignore", invalid="ignore"):
                total = v["okx_buy"] + v["okx_sell"]
                share = np.where(total > 0, v["okx_buy"] / total, 0.5)
        else:
            share = np.full(len(self.path), np.nan)
        oi = v["contracts"] if self.name == "okx" else v["coins"]
        p = self.path
        return VenueArrays(
            p.open_time_ms[rows],
            p.high[rows],
            p.low[rows],
            p.close[rows],
            share[rows],
            oi[rows],
            v["usd"][rows],
            self.flows.quote_volume[rows],
            self.contract_value,
        )

    # ---- native rows ---------------------------------------------------------------------------

    @cached_property
    def native(self) -> dict[str, list[Any]]:
        return {"binance": self._binance, "bybit": self._bybit, "okx": self._okx}[self.name]()

    def _price_strings(self, decimals: int) -> list[list[str]]:
        p = self.path
        return [
            [f"{x:.{decimals}f}" for x in column.tolist()]
            for column in (p.open, p.high, p.low, p.close)
        ]

    def _binance(self) -> dict[str, list[Any]]:
        p, v, f = self.path, self._values, self.flows
        o, h, low, c = self._price_strings(max(2, tick_decimals(self.spec.tick)))
        times = p.open_time_ms.tolist()
        q, b = f"{{:.{QUOTE_DECIMALS}f}}", f"{{:.{BASE_DECIMALS}f}}"
        base, taker_base = v["base"].tolist(), v["taker_base"].tolist()
        quote, taker_quote = f.quote_volume.tolist(), f.taker_buy_quote.tolist()
        trades = v["trades"].tolist()
        klines = [
            [
                times[i],
                o[i],
                h[i],
                low[i],
                c[i],
                b.format(base[i]),
                times[i] + FIVE_MINUTES_MS - 1,
                q.format(quote[i]),
                trades[i],
                b.format(taker_base[i]),
                q.format(taker_quote[i]),
                "0",
            ]
            for i in self.kline_rows.tolist()
        ]
        coins, usd = v["coins"].tolist(), v["usd"].tolist()
        open_interest = [
            {
                "symbol": self.symbol,
                "sumOpenInterest": f"{coins[i]:.{OI_DECIMALS}f}",
                "sumOpenInterestValue": f"{usd[i]:.{OI_DECIMALS}f}",
                "timestamp": times[i] + FIVE_MINUTES_MS,
            }
            for i in self.oi_rows.tolist()
        ]
        return {"klines": klines, "openInterestHist": open_interest}

    def _bybit(self) -> dict[str, list[Any]]:
        p, v, f = self.path, self._values, self.flows
        o, h, low, c = self._price_strings(tick_decimals(self.spec.tick))
        times = p.open_time_ms.tolist()
        base, quote = v["base"].tolist(), f.quote_volume.tolist()
        kline = [
            [
                str(times[i]),
                o[i],
                h[i],
                low[i],
                c[i],
                f"{base[i]:.{BASE_DECIMALS}f}",
                f"{quote[i]:.{QUOTE_DECIMALS}f}",
            ]
            for i in self.kline_rows.tolist()[::-1]
        ]
        coins = v["coins"].tolist()
        open_interest = [
            {
                "openInterest": f"{coins[i]:.{OI_DECIMALS}f}",
                "timestamp": str(times[i] + FIVE_MINUTES_MS),
            }
            for i in self.oi_rows.tolist()[::-1]
        ]
        return {"kline": kline, "open-interest": open_interest}

    def _okx(self) -> dict[str, list[Any]]:
        p, v, f = self.path, self._values, self.flows
        o, h, low, c = self._price_strings(tick_decimals(self.spec.tick))
        times = p.open_time_ms.tolist()
        vol, base, quote = v["okx_vol"].tolist(), v["base"].tolist(), f.quote_volume.tolist()
        candles = [
            [
                str(times[i]),
                o[i],
                h[i],
                low[i],
                c[i],
                f"{vol[i]:.2f}",
                f"{base[i]:.{BASE_DECIMALS}f}",
                f"{quote[i]:.{QUOTE_DECIMALS}f}",
                "1",
            ]
            for i in self.kline_rows.tolist()[::-1]
        ]
        contracts, coins, usd = (v[k].tolist() for k in ("contracts", "coins", "usd"))
        d = OI_DECIMALS
        open_interest = [
            [
                str(times[i] + FIVE_MINUTES_MS),
                f"{contracts[i]:.{d}f}",
                f"{coins[i]:.{d}f}",
                f"{usd[i]:.{d}f}",
            ]
            for i in self.oi_rows.tolist()[::-1]
        ]
        buy, sell = v["okx_buy"].tolist(), v["okx_sell"].tolist()
        taker = [
            [str(times[i]), f"{sell[i]:.2f}", f"{buy[i]:.2f}"]
            for i in self.kline_rows.tolist()[::-1]
        ]
        instrument = {
            "instType": "SWAP",
            "instId": self.symbol,
            "ctVal": f"{self.contract_value:g}",
            "ctValCcy": self.spec.symbol,
            "settleCcy": "USDT",
            "tickSz": f"{self.spec.tick:g}",
        }
        return {
            "history-candles": candles,
            "open-interest-history": open_interest,
            "taker-volume-contract": taker,
            "instruments": [instrument],
        }


# Envelopes, for fakes that serve these rows over HTTP.
def bybit_envelope(result: dict[str, Any], time_ms: int) -> dict[str, Any]:
    return {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": time_ms}


def okx_envelope(data: list[Any]) -> dict[str, Any]:
    return {"code": "0", "msg": "", "data": data}
