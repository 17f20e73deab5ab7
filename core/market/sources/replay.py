"""Replay source: liquidation maps (and optionally a scripted price path) from a JSON file.

For offline demos and tests: no network, no key. `SAMPLE_PATH` is the bundled sample, built from a
published market note (BTC at $90,131.71, $2.705B of shorts up to $94,681, $1.563B of longs down to
$86,137) and labelled as a sample, so every report made from it says so.

File format (UTF-8 JSON)::

    {
      "format": "liqwatch-replay/1",                  # optional, informative
      "meta": {                                       # optional
        "sample": true,                               # -> Snapshot.sample (default false)
        "label": "SAMPLE DATA ...",                   # -> Snapshot.note (default "")
        "description": "free text"
      },
      "symbols": {                                    # at least one; keys as users type them
        "BTC": {
          "price": 90131.71,                          # current price (> 0)
          "as_of": "now",                             # ISO-8601 (UTC if no zone) or "now", the
                                                      # default: presents the data as current
                                                      # (Snapshot.as_of = the clock's time)
          "context": {"high_7d": 93012, "low_7d": 85214, "change_24h_pct": 1.12},  # optional
          "path": {                                   # optional scripted price
            "step_seconds": 5,                        # each price holds this long (> 0)
            "prices": [90131.71, 90385, ...],         # at least one price (> 0)
            "then": "loop"                            # at the end: "hold" (default) or "loop"
          },
          "levels": [[price, long_usd, short_usd], ...],  # numbers >= 0, prices > 0 and distinct
          "venues": {"binance": 0.48, "bybit": 0.31}      # optional: how the levels split
                                                          # between venues (the /liq split line)
        }
      }
    }

The path starts playing when the source is created (on its clock, injectable for tests): from then
`snapshot().price` is the path's current price (the file's `price` only when there is no path; a
path should start at it), and `candles()` gives the OHLC of the path, so a breakout between two
checks shows in the candles' high or low. Before the start the price is the path's first price.
The levels are static: the replay does not consume levels the path crosses (a real map would, on
its next refresh).

Errors: an unreadable or invalid file raises ConfigError naming the file and the problem, when the
source is created; an unknown symbol raises UnknownSymbol.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from core.kernel.clock import Clock, utcnow
from core.kernel.config import Config, ConfigPart
from core.kernel.errors import ConfigError, LiqwatchError, SourceRejected, UnknownSymbol
from core.kernel.symbols import normalize
from core.market.sources.venue_registry import venue_label
from core.types import Candle, Level, PriceContext, Snapshot, VenueShare

SAMPLE_PATH = Path(__file__).resolve().parents[2] / "data" / "sample.json"

INTERVAL_SECONDS = {"1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600,
                    "2h": 7200, "4h": 14400, "1d": 86400}  # fmt: skip
MAX_CANDLES = 1500  # like Binance's klines limit: the newest ones are kept


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class PricePath:
    """A scripted price: `prices[k]` holds for `step_seconds` from start + k × step_seconds."""

    step_seconds: float
    prices: tuple[float, ...]
    then: Literal["hold", "loop"] = "hold"

    def price_at_step(self, step: int) -> float:
        if step <= 0:
            return self.prices[0]
        if self.then == "loop":
            return self.prices[step % len(self.prices)]
        return self.prices[min(step, len(self.prices) - 1)]

    def prices_between(self, first: int, last: int) -> list[float]:
        """Every price held during steps first..last (inclusive), in no particular order."""
        count = len(self.prices)
        seen = [self.prices[0]] if first < 0 else []
        first = max(first, 0)
        if last < first:
            return seen
        if self.then == "loop":
            if last - first + 1 >= count:
                return seen + list(self.prices)
            return seen + [self.prices[k % count] for k in range(first, last + 1)]
        return seen + list(self.prices[min(first, count - 1) : min(last, count - 1) + 1])


@dataclass(frozen=True)
class ReplaySymbol:
    """One symbol of a replay file, validated."""

    symbol: str
    price: float
    levels: tuple[Level, ...]  # ascending prices
    as_of: datetime | None  # None: "now"
    context: PriceContext | None
    path: PricePath | None
    venues: tuple[tuple[str, float], ...] = ()  # (venue, share of every level), shares sum to 1


class ReplaySource:
    """A Source (core.ports) over a replay file; see the module docstring for the format."""

    name = "replay"

    def __init__(self, path: str | Path, clock: Callable[[], datetime] | None = None):
        self.path = Path(path)
        self._clock = clock or utcnow
        self.sample, self.label, self._symbols = _load(self.path)
        self._started = self._now()  # the price path plays from here

    @property
    def symbols(self) -> tuple[str, ...]:
        """The symbols the file holds, in file order."""
        return tuple(self._symbols)

    async def snapshot(self, symbol: str) -> Snapshot:
        entry = self._entry(symbol)
        now = self._now()
        return Snapshot(
            symbol=entry.symbol,
            price=self._price_at(entry, now),
            levels=entry.levels,
            source=self.name,
            as_of=entry.as_of or now,
            context=entry.context,
            sample=self.sample,
            note=self.label,
            venues=_venue_shares(entry, self._price_at(entry, now)),
        )

    async def candles(self, symbol: str, since: datetime, interval: str = "1m") -> list[Candle]:
        """Candles of the replayed price from the one holding `since` to the one in progress,
        aligned on the interval like an exchange's (at most MAX_CANDLES, the newest)."""
        entry = self._entry(symbol)
        if interval not in INTERVAL_SECONDS:
            known = ", ".join(INTERVAL_SECONDS)
            raise SourceRejected(f"Unsupported candle interval {interval!r} (use {known}).")
        width = INTERVAL_SECONDS[interval]
        now = self._now().timestamp()
        first_open = math.floor(_as_utc(since).timestamp() / width) * width
        last_open = math.floor(now / width) * width
        first_open = max(first_open, last_open - (MAX_CANDLES - 1) * width)
        return [
            self._candle(entry, opens, min(opens + width, now), closed=opens + width <= now)
            for opens in range(int(first_open), int(last_open) + 1, width)
        ]

    async def aclose(self) -> None:
        """Nothing to release: the file was read when the source was created."""

    # ---- internals ----------------------------------------------------------------------------

    def _now(self) -> datetime:
        return _as_utc(self._clock())

    def _entry(self, symbol: str) -> ReplaySymbol:
        coin = normalize(symbol)
        if coin not in self._symbols:
            raise UnknownSymbol(coin)
        return self._symbols[coin]

    def _step(self, path: PricePath, moment: float) -> int:
        return math.floor((moment - self._started.timestamp()) / path.step_seconds)

    def _price_at(self, entry: ReplaySymbol, moment: datetime) -> float:
        if entry.path is None:
            return entry.price
        return entry.path.price_at_step(self._step(entry.path, moment.timestamp()))

    def _candle(self, entry: ReplaySymbol, start: float, end: float, closed: bool) -> Candle:
        """OHLC over [start, end): a closed candle ends just before `end`, an open one at `end`."""
        opened_at = datetime.fromtimestamp(start, UTC)
        path = entry.path
        if path is None:
            return Candle(opened_at, entry.price, entry.price, entry.price, entry.price)
        first = self._step(path, start)
        if closed:  # the last step that begins before `end` (one starting at `end` is the next's)
            last = math.ceil((end - self._started.timestamp()) / path.step_seconds) - 1
        else:
            last = self._step(path, end)
        held = path.prices_between(first, last)
        return Candle(
            opened_at,
            path.price_at_step(first),
            max(held),
            min(held),
            path.price_at_step(last),
        )


# ---- loading and validation -----------------------------------------------------------------


def _load(path: Path) -> tuple[bool, str, dict[str, ReplaySymbol]]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"replay file {path}: cannot be read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"replay file {path}: not valid JSON ({exc})") from None

    def bad(where: str, why: str) -> ConfigError:
        return ConfigError(f"replay file {path}: {where} {why}")

    if not isinstance(raw, dict):
        raise bad("the top level", "must be an object with a 'symbols' object")
    meta = raw.get("meta", {})
    if not isinstance(meta, dict):
        raise bad("meta", "must be an object")
    sample = meta.get("sample", False)
    label = meta.get("label", "")
    if not isinstance(sample, bool):
        raise bad("meta.sample", "must be true or false")
    if not isinstance(label, str):
        raise bad("meta.label", "must be a string")
    body = raw.get("symbols")
    if not isinstance(body, dict) or not body:
        raise bad("symbols", "must be an object with at least one symbol")
    symbols: dict[str, ReplaySymbol] = {}
    for key, entry in body.items():
        try:
            coin = normalize(str(key))
        except LiqwatchError:
            raise bad(f"symbols.{key}", "is not a symbol") from None
        if coin in symbols:
            raise bad(f"symbols.{key}", f"repeats {coin}")
        symbols[coin] = _symbol(coin, entry, f"symbols.{key}", bad)
    return sample, label, symbols


def _number(
    value: Any,
    where: str,
    bad: Callable[[str, str], ConfigError],
    minimum: float | None,
    strict: bool = False,
) -> float:
    """A finite JSON number (not a bool), at least / above `minimum`."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok and minimum is not None:
        ok = value > minimum if strict else value >= minimum
    if not ok:
        limit = "" if minimum is None else f" {'above' if strict else 'at least'} {minimum:g}"
        raise bad(where, f"must be a finite number{limit}, not {value!r}")
    return float(value)


def _symbol(coin: str, entry: Any, where: str, bad) -> ReplaySymbol:
    if not isinstance(entry, dict):
        raise bad(where, "must be an object")
    price = _number(entry.get("price"), f"{where}.price", bad, 0, strict=True)

    as_of_text = entry.get("as_of", "now")
    as_of: datetime | None = None
    if as_of_text != "now":
        try:
            as_of = _as_utc(datetime.fromisoformat(as_of_text))
        except (TypeError, ValueError):
            why = f'must be an ISO-8601 time or "now", not {as_of_text!r}'
            raise bad(f"{where}.as_of", why) from None

    context = None
    if entry.get("context") is not None:
        ctx = entry["context"]
        if not isinstance(ctx, dict):
            raise bad(f"{where}.context", "must be an object")
        change = ctx.get("change_24h_pct")
        context = PriceContext(
            high_7d=_number(ctx.get("high_7d"), f"{where}.context.high_7d", bad, 0, strict=True),
            low_7d=_number(ctx.get("low_7d"), f"{where}.context.low_7d", bad, 0, strict=True),
            change_24h_pct=None
            if change is None
            else _number(change, f"{where}.context.change_24h_pct", bad, None),
        )

    raw_levels = entry.get("levels")
    if not isinstance(raw_levels, list):
        raise bad(f"{where}.levels", "must be a list of [price, long_usd, short_usd]")
    levels: dict[float, Level] = {}
    for n, row in enumerate(raw_levels):
        at = f"{where}.levels[{n}]"
        if not isinstance(row, list) or len(row) != 3:
            raise bad(at, f"must be [price, long_usd, short_usd], not {row!r}")
        level = Level(
            price=_number(row[0], f"{at} price", bad, 0, strict=True),
            long_usd=_number(row[1], f"{at} long_usd", bad, 0),
            short_usd=_number(row[2], f"{at} short_usd", bad, 0),
        )
        if level.price in levels:
            raise bad(at, f"repeats the price {row[0]!r}")
        levels[level.price] = level

    return ReplaySymbol(
        symbol=coin,
        price=price,
        levels=tuple(sorted(levels.values(), key=lambda lv: lv.price)),
        as_of=as_of,
        context=context,
        path=_path(entry.get("path"), f"{where}.path", bad),
        venues=_venues(entry.get("venues"), f"{where}.venues", bad),
    )


def _venue_shares(entry: ReplaySymbol, price: float) -> tuple[VenueShare, ...]:
    """Each venue's part of the map: every level scaled by the venue's share, split at `price`."""
    shares = []
    for name, share in entry.venues:
        levels = tuple(
            Level(lv.price, lv.long_usd * share, lv.short_usd * share) for lv in entry.levels
        )
        shares.append(
            VenueShare(
                name,
                venue_label(name),
                "ok",
                long_usd=sum(lv.long_usd for lv in levels if lv.price < price),
                short_usd=sum(lv.short_usd for lv in levels if lv.price > price),
                levels=levels,
            )
        )
    return tuple(shares)


def _venues(raw: Any, where: str, bad) -> tuple[tuple[str, float], ...]:
    """`{"binance": 0.48, "bybit": 0.31}` → shares normalised to sum to 1 (optional)."""
    if raw is None:
        return ()
    if not isinstance(raw, dict) or not raw:
        raise bad(where, 'must be an object like {"binance": 0.5, "okx": 0.5}')
    weights = {
        name: _number(value, f"{where}.{name}", bad, 0, strict=True) for name, value in raw.items()
    }
    total = sum(weights.values())
    return tuple((str(name), weight / total) for name, weight in weights.items())


def _path(raw: Any, where: str, bad) -> PricePath | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise bad(where, "must be an object with step_seconds and prices")
    step = _number(raw.get("step_seconds"), f"{where}.step_seconds", bad, 0, strict=True)
    prices = raw.get("prices")
    if not isinstance(prices, list) or not prices:
        raise bad(f"{where}.prices", "must be a list of at least one price")
    then = raw.get("then", "hold")
    if then not in ("hold", "loop"):
        raise bad(f"{where}.then", f'must be "hold" or "loop", not {then!r}')
    return PricePath(
        step_seconds=step,
        prices=tuple(
            _number(p, f"{where}.prices[{n}]", bad, 0, strict=True) for n, p in enumerate(prices)
        ),
        then=then,
    )


CONFIG = ConfigPart({"sources.replay": {"path": ""}})


def from_config(config: Config, clock: Clock | None = None) -> ReplaySource:
    # No path: the bundled sample, wherever liqwatch is installed.
    return ReplaySource(config.get("sources.replay", "path") or SAMPLE_PATH, clock)
