"""A fake OKX v5 (USDT swaps) on 127.0.0.1, answering like the recorded real payloads.

Shapes follow tests/data/real/okx/ (OKX's docs at https://www.okx.com/docs-v5/en/):
- envelope `{"code":"0","msg":"","data":[...]}`, code a string (every file there);
- `/api/v5/public/instruments?instType=SWAP`: rows with `instId`, `ctType`, `ctVal`, `ctValCcy`,
  `settleCcy`, `state` (instruments_spot_docs.json fields; the inverse BTC-USD-SWAP row is served
  verbatim from instruments_swap_inverse_row_live.json; linear ctVal 0.01 BTC per the docs);
- `/api/v5/public/mark-price`: `data[0]` `{"instType","instId","markPx","ts"}`;
- `/api/v5/market/history-candles`: rows `[ts,o,h,l,c,vol,volCcy,volCcyQuote,confirm]` newest
  first, `after`/`before` exclusive, limit ≤ 300 (history_candles_docs.json notes);
- `/api/v5/rubik/stat/contracts/open-interest-history`: rows `[ts, oi, oiCcy, oiUsd]` newest
  first, `begin`/`end` exclusive, limit ≤ 100, only the latest 1,440 entries
  (open_interest_history_docs.json notes);
- `/api/v5/rubik/stat/taker-volume-contract`: rows `[ts, sellVol, buyVol]` (sell first), same
  paging and depth (taker_volume_contract_docs.json);
- `/api/v5/public/funding-rate`: `data[0]` with `fundingRate` (the coming settlement's rate),
  `fundingTime` (that settlement, ms: the next 8 h boundary here), `nextFundingTime` (the one
  after), strings, `method` "current_period" (funding_rate_docs.json); `funding_rate` sets it;
- an unknown instrument: HTTP 200 `{"code":"51001","msg":"Instrument ID, Instrument ID code or
  Spread ID doesn't exist.","data":[]}` (error_51000_parameter_error.json notes); a bad limit:
  HTTP 400 code 51000 (error_51000_parameter_error.json).
Faults: `rate_limit(path)` serves HTTP 429 `{"msg":"Too Many Requests","code":"50011"}`
(error_50011_rate_limit_429.json), plus `fail(...)` from VenueFake.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from werkzeug import Response

from tests.fakes.exchange_data import MINUTE_MS, Market
from tests.fakes.venue_base import VenueFake, grid_between, json_response, recorded_body

INSTRUMENTS = "/api/v5/public/instruments"
MARK_PRICE = "/api/v5/public/mark-price"
CANDLES = "/api/v5/market/history-candles"
OPEN_INTEREST = "/api/v5/rubik/stat/contracts/open-interest-history"
TAKER_VOLUME = "/api/v5/rubik/stat/taker-volume-contract"
FUNDING_RATE = "/api/v5/public/funding-rate"
FUNDING_MS = 8 * 60 * MINUTE_MS  # every 8 h (the docs: may be 6, 4, 2 or 1 h for some swaps)
BARS = {"1m": 1, "5m": 5, "15m": 15, "30m": 30, "1H": 60, "4H": 240}
KEPT_ENTRIES = 1440
CONTRACT_VALUE = {"BTC": 0.01, "ETH": 0.1}  # coins per contract (docs); others: 1


class FakeOkx(VenueFake):
    """See the module docstring."""

    funding_rate = 0.00012  # what /api/v5/public/funding-rate says, for every swap

    def routes(self) -> dict[str, Callable[[dict[str, str]], Response]]:
        return {
            INSTRUMENTS: self._instruments,
            MARK_PRICE: self._mark_price,
            CANDLES: self._candles,
            OPEN_INTEREST: self._open_interest,
            TAKER_VOLUME: self._taker_volume,
            FUNDING_RATE: self._funding_rate,
        }

    def not_found(self) -> Response:
        return json_response({"msg": "Not Found", "code": "404"}, 404)

    def rate_limit(self, path: str, times: int = 1) -> None:
        self.fail(path, 429, times=times, body=recorded_body("okx", "error_50011_rate_limit_429"))

    def contract_value(self, coin: str) -> float:
        return CONTRACT_VALUE.get(coin.upper(), 1.0)

    # ---- endpoints ---------------------------------------------------------------------

    def _ok(self, data: list) -> Response:
        return json_response({"code": "0", "msg": "", "data": data})

    def _error(self, code: str, message: str, status: int = 200) -> Response:
        return json_response({"code": code, "data": [], "msg": message}, status)

    def _market(self, query: dict[str, str]) -> tuple[str, Market] | Response:
        inst = query.get("instId", "")
        coin = inst[: -len("-USDT-SWAP")] if inst.endswith("-USDT-SWAP") else ""
        market = self.markets.get(coin)
        if market is None:
            return self._error(
                "51001", "Instrument ID, Instrument ID code or Spread ID doesn't exist."
            )
        return coin, market

    def _instruments(self, query: dict[str, str]) -> Response:
        if query.get("instType") != "SWAP":
            return self._error("51000", "Parameter instType error", 400)
        rows = [
            {"instId": f"{coin}-USDT-SWAP", "instType": "SWAP", "ctType": "linear",
             "ctVal": f"{self.contract_value(coin):g}", "ctValCcy": coin, "ctMult": "1",
             "settleCcy": "USDT", "state": "live", "lever": "100", "tickSz": "0.1",
             "lotSz": "0.01", "minSz": "0.01", "instFamily": f"{coin}-USDT"}
            for coin in self.markets
        ]  # fmt: skip
        rows.append(recorded_body("okx", "instruments_swap_inverse_row_live"))
        return self._ok(rows)

    def _mark_price(self, query: dict[str, str]) -> Response:
        found = self._market(query)
        if isinstance(found, Response):
            return found
        _, market = found
        now = self.now_ms()
        mark = market.price_at(now)
        return self._ok([{"instType": "SWAP", "instId": query["instId"], "markPx": f"{mark:.2f}",
                          "ts": str(now)}])  # fmt: skip

    def _funding_rate(self, query: dict[str, str]) -> Response:
        found = self._market(query)
        if isinstance(found, Response):
            return found
        now = self.now_ms()
        settles = now - now % FUNDING_MS + FUNDING_MS
        rate = f"{self.funding_rate:.10f}".rstrip("0")
        return self._ok([{"formulaType": "noRate", "fundingRate": rate,
                          "fundingTime": str(settles), "impactValue": "",
                          "instId": query["instId"], "instType": "SWAP", "interestRate": "",
                          "maxFundingRate": "0.00375", "method": "current_period",
                          "minFundingRate": "-0.00375", "nextFundingRate": "",
                          "nextFundingTime": str(settles + FUNDING_MS), "premium": "0",
                          "settFundingRate": "", "settState": "settled",
                          "ts": str(now)}])  # fmt: skip

    def _window(
        self, query: dict[str, str], low_key: str, high_key: str, step: int, most: int
    ) -> list[int] | Response:
        """Grid times strictly between the bounds, newest `limit` of them, newest first."""
        try:
            limit = int(query.get("limit", 100))
            now = self.now_ms()
            high = int(query[high_key]) if query.get(high_key) else now + 1
            low = int(query[low_key]) if query.get(low_key) else 0
        except ValueError:
            return self._error("51000", "Parameter param error", 400)
        if not 1 <= limit <= most:
            return self._error("51000", "Parameter limit error", 400)
        times = grid_between(low + 1, min(high - 1, now), step)
        return list(reversed(times[-limit:]))

    def _candles(self, query: dict[str, str]) -> Response:
        found = self._market(query)
        if isinstance(found, Response):
            return found
        coin, market = found
        minutes = BARS.get(query.get("bar", "1m"))
        if minutes is None:
            return self._error("51000", "Parameter bar error", 400)
        step = minutes * MINUTE_MS
        times = self._window(query, "before", "after", step, 300)
        if isinstance(times, Response):
            return times
        now = self.now_ms()
        rows = []
        for t in times:
            k = market.kline(t, minutes)
            coins = float(k[5])
            confirm = "1" if t + step <= now else "0"
            contracts = f"{coins / self.contract_value(coin):.2f}"
            rows.append([str(t), k[1], k[2], k[3], k[4], contracts, k[5], k[7], confirm])
        return self._ok(rows)

    def _stat_times(self, query: dict[str, str]) -> tuple[Market, str, int, list[int]] | Response:
        found = self._market(query)
        if isinstance(found, Response):
            return found
        coin, market = found
        minutes = BARS.get(query.get("period", "5m"))
        if minutes is None:
            return self._error("51000", "Parameter period error", 400)
        step = minutes * MINUTE_MS
        times = self._window(query, "begin", "end", step, 100)
        if isinstance(times, Response):
            return times
        last = self.now_ms() - self.now_ms() % step
        oldest = last - (KEPT_ENTRIES - 1) * step  # only the latest 1,440 entries are kept
        return market, coin, minutes, [t for t in times if t >= oldest]

    def _open_interest(self, query: dict[str, str]) -> Response:
        found = self._stat_times(query)
        if isinstance(found, Response):
            return found
        market, coin, _, times = found
        rows = []
        for t in times:
            usd = market.open_interest_usd(t)
            coins = usd / market.price_at(t)
            rows.append([str(t), f"{coins / self.contract_value(coin):.8f}", f"{coins:.8f}",
                         f"{usd:.8f}"])  # fmt: skip
        return self._ok(rows)

    def _taker_volume(self, query: dict[str, str]) -> Response:
        found = self._stat_times(query)
        if isinstance(found, Response):
            return found
        market, coin, minutes, times = found
        rows = []
        for t in times:  # the period that ends at t, like the open interest sampled at t
            k = market.kline(t - minutes * MINUTE_MS, minutes)
            coins, buy_coins = float(k[5]), float(k[9])
            per = self.contract_value(coin) if query.get("unit", "1") == "1" else 1.0
            rows.append([str(t), f"{(coins - buy_coins) / per:.4f}", f"{buy_coins / per:.4f}"])
        return self._ok(rows)


@pytest.fixture(name="okx")
def okx_fixture() -> Iterator[FakeOkx]:
    """A started FakeOkx (BTC at $90,131.71, ETH at $3,012.5), stopped after the test."""
    with FakeOkx() as fake:
        yield fake
