"""A fake Hyperliquid info API on 127.0.0.1: `POST /info` dispatching on the body's "type".

Shapes follow the recorded replies in tests/data/real/hyperliquid/ (the real payload wins):
- clearinghouseState: clearinghouse_state_docs_isolated.json (the GitBook example) and
  clearinghouse_state_sdk_cassette_2023.json (a mainnet reply: `liquidationPx: null` on a healthy
  cross long, a far liquidation price on cross shorts); strings for every number but leverage;
- metaAndAssetCtxs: meta_and_asset_ctxs_docs.json, `[{"universe": [...]}, [ctx, ...]]` parallel;
- candleSnapshot: candle_snapshot_sdk_cassette.json, oldest first, `t`/`T` ints, prices strings;
- a body the API cannot read (unknown type, a user that is not 0x + 40 hex, no JSON) gets HTTP
  422 with the plain-text body of error_422_deserialize.json;
- `rate_limit(times, retry_after)`: HTTP 429 with an empty body (no 429 body was found recorded:
  the client must not depend on one).

    with FakeHyperliquid() as hl:
        hl.set_coin("BTC", mark=90_000, open_interest=1_000)
        hl.set_wallet(ADDRESS, [position("BTC", 0.5, entry=88_000, liq=80_000, mark=90_000)])
        client = HyperliquidClient(hl.url)
        hl.weight()      # request weight the fake was sent (the docs' weights)
"""

from __future__ import annotations

import json
import threading
from collections import Counter, deque
from pathlib import Path
from typing import Any

from werkzeug import Request, Response

from tests.fakes.exchange import _Server

REAL = Path(__file__).parents[1] / "data" / "real" / "hyperliquid"
WEIGHTS = {"clearinghouseState": 2, "metaAndAssetCtxs": 20, "candleSnapshot": 20}


def recorded(name: str) -> Any:
    """The body of a recorded reply (tests/data/real/hyperliquid/<name>.json)."""
    return json.loads((REAL / f"{name}.json").read_text())["body"]


DESERIALIZE_ERROR = recorded("error_422_deserialize")  # plain text, not JSON


def position(
    coin: str,
    size: float,
    *,
    entry: float,
    liq: float | None,
    mark: float,
    leverage: int = 20,
    margin: str = "cross",
) -> dict[str, Any]:
    """One `assetPositions[]` entry in the docs' shape (strings, leverage an int)."""
    value = abs(size) * mark
    lev: dict[str, Any] = {"type": margin, "value": leverage}
    if margin == "isolated":
        lev["rawUsd"] = f"{-value + value / leverage:.6f}"
    return {
        "position": {
            "coin": coin,
            "cumFunding": {"allTime": "0.0", "sinceChange": "0.0", "sinceOpen": "0.0"},
            "entryPx": f"{entry}",
            "leverage": lev,
            "liquidationPx": None if liq is None else f"{liq}",
            "marginUsed": f"{value / leverage:.6f}",
            "maxLeverage": 50,
            "positionValue": f"{value:.6f}",
            "returnOnEquity": "0.0",
            "szi": f"{size}",
            "unrealizedPnl": f"{(mark - entry) * size:.6f}",
        },
        "type": "oneWay",
    }


class FakeHyperliquid:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._coins: dict[str, dict[str, str]] = {}
        self._wallets: dict[str, list[dict[str, Any]]] = {}
        self._faults: deque[tuple[int, float | None]] = deque()
        self.requests: list[dict[str, Any]] = []
        self._server = _Server(self._handle)

    # ---- lifecycle ----------------------------------------------------------------------

    def start(self) -> FakeHyperliquid:
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server.is_running():
            server = self._server.server
            self._server.stop()
            if server is not None:
                server.server_close()

    def __enter__(self) -> FakeHyperliquid:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    # ---- the market -------------------------------------------------------------------

    def set_coin(self, coin: str, mark: float, open_interest: float, funding: float = 1.25e-5):
        with self._lock:
            self._coins[coin] = {
                "dayNtlVlm": "1169046.29406",
                "funding": f"{funding}",
                "impactPxs": [f"{mark * 0.9999}", f"{mark * 1.0001}"],
                "markPx": f"{mark}",
                "midPx": f"{mark}",
                "openInterest": f"{open_interest}",
                "oraclePx": f"{mark}",
                "premium": "0.0",
                "prevDayPx": f"{mark}",
            }

    def set_wallet(self, address: str, positions: list[dict[str, Any]]) -> None:
        with self._lock:
            self._wallets[address.lower()] = positions

    def rate_limit(self, times: int = 1, retry_after: float | None = None) -> None:
        with self._lock:
            self._faults.extend([(429, retry_after)] * times)

    def fail(self, status: int = 500, times: int = 1) -> None:
        with self._lock:
            self._faults.extend([(status, None)] * times)

    def count(self, kind: str) -> int:
        return sum(1 for r in self.requests if r.get("type") == kind)

    def weight(self) -> int:
        return sum(WEIGHTS.get(r.get("type"), 20) for r in self.requests)

    # ---- the server ---------------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        if request.path != "/info" or request.method != "POST":
            return Response("Not Found", status=404, content_type="text/plain")
        try:
            body = json.loads(request.get_data() or b"null")
        except ValueError:
            body = None
        with self._lock:
            if isinstance(body, dict):
                self.requests.append(body)
            if self._faults:
                status, retry_after = self._faults.popleft()
                headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
                return Response(b"", status=status, headers=headers)
            answer = self._answer(body)
        if answer is _UNREADABLE:
            return Response(DESERIALIZE_ERROR, status=422, content_type="text/plain")
        return Response(json.dumps(answer), status=200, content_type="application/json")

    def _answer(self, body: Any) -> Any:
        if not isinstance(body, dict):
            return _UNREADABLE
        kind = body.get("type")
        if kind == "clearinghouseState":
            user = body.get("user")
            if not _is_address(user):
                return _UNREADABLE
            return _state(self._wallets.get(user.lower(), []))
        if kind == "metaAndAssetCtxs":
            universe = [
                {"name": c, "szDecimals": 5, "maxLeverage": 50, "onlyIsolated": False}
                for c in self._coins
            ]
            return [{"universe": universe}, list(self._coins.values())]
        if kind == "candleSnapshot":
            return self._candles(body.get("req"))
        return _UNREADABLE

    def _candles(self, req: Any) -> Any:
        if not isinstance(req, dict) or req.get("coin") not in self._coins:
            return [] if isinstance(req, dict) else _UNREADABLE
        step = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000}[req["interval"]]
        mark = self._coins[req["coin"]]["markPx"]
        start = int(req["startTime"]) // step * step
        rows = []
        for t in range(start, int(req["endTime"]) + 1, step)[-5000:]:
            rows.append({"T": t + step - 1, "c": mark, "h": mark, "i": req["interval"], "l": mark,
                         "n": 1, "o": mark, "s": req["coin"], "t": t, "v": "1.0"})  # fmt: skip
        return rows


_UNREADABLE = object()


def _is_address(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 42 or not value.startswith("0x"):
        return False
    return all(c in "0123456789abcdefABCDEF" for c in value[2:])


def _state(positions: list[dict[str, Any]]) -> dict[str, Any]:
    total = sum(float(p["position"]["positionValue"]) for p in positions)
    summary = {
        "accountValue": "13109.482328",
        "totalMarginUsed": "0.0",
        "totalNtlPos": f"{total:.6f}",
        "totalRawUsd": "13009.454678",
    }
    return {
        "assetPositions": positions,
        "crossMaintenanceMarginUsed": "0.0",
        "crossMarginSummary": dict(summary),
        "marginSummary": summary,
        "time": 1708622398623,
        "withdrawable": "13104.514502",
    }


def weights_by_type(requests: list[dict[str, Any]]) -> Counter:
    return Counter(r.get("type") for r in requests)
