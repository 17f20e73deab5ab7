"""The Hyperliquid wallet job: read wallets round-robin within the weight budget, keep the
readings, and alert the chats whose watched wallet nears a liquidation price.

Each run (every `[sources.hyperliquid] refresh_seconds`) reads at most `wallet_reads_per_minute`
x refresh_seconds / 60 wallets (clearinghouseState weighs 2 of the IP's 1,200 a minute; the
client's limiter holds the budget whatever else reads meanwhile): every watched wallet first, so
alerts work on readings at most one run old, then the configured wallets whose reading is the
oldest. A universe of N configured wallets is therefore read in full every
N / (wallet_reads_per_minute - watched) minutes; the observed map says how old its readings are.

Alerts (`/wallet 0x… PCT`): a position whose mark price comes within PCT % of its liquidation
price alerts once (stage 1), and once more within PCT / 2 % (stage 2). A stage re-arms when the
distance is back above REARM x its line (adding margin moves the liquidation price away), so a
price hovering on a line does not alert at every run. The new state and the alerts are committed
together, each alert with a dedup key, so a run repeated after a crash sends nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.kernel.clock import utcnow
from core.kernel.config import Config
from core.kernel.errors import LiqwatchError, SourceUnavailable
from core.market.sources.hyperliquid import HyperliquidClient
from core.render.wallet import wallet_alert
from core.store import Store
from core.store.wallets import WalletWatch
from core.types import Message, WalletPosition, WalletReading

log = logging.getLogger(__name__)

REARM = 1.25
READ_CONCURRENCY = 8


@dataclass(frozen=True)
class WalletRun:
    read: int = 0
    failed: int = 0
    alerts: int = 0


@dataclass(frozen=True)
class Crossing:
    position: WalletPosition
    distance: float
    stage: int  # 1: within pct; 2: within pct / 2
    seq: int  # the watch's alert number, for the dedup key


def position_key(position: WalletPosition) -> str:
    return f"{position.coin}:{position.side}"


def check_watch(
    pct: float, state: dict[str, Any], reading: WalletReading
) -> tuple[dict[str, Any], list[Crossing]]:
    """The crossings of this reading and the new state (pure). State: {"seq": alerts so far,
    "<coin>:<side>": stage reached}; positions that closed leave it."""
    seq = int(state.get("seq", 0))
    new_state: dict[str, Any] = {}
    crossings = []
    for position in reading.positions:
        key = position_key(position)
        stage = int(state.get(key, 0))
        distance = position.distance_pct
        level = 0
        if distance is not None:
            level = 2 if distance <= pct / 2 else 1 if distance <= pct else 0
        if level > stage:
            seq += 1
            crossings.append(Crossing(position, distance, level, seq))  # type: ignore[arg-type]
            stage = level
        else:
            far = distance is None or distance > (pct if stage == 1 else pct / 2) * REARM
            if stage and far:
                stage = level  # re-armed: the next approach alerts again
        if stage:
            new_state[key] = stage
    new_state["seq"] = seq
    return new_state, crossings


class WalletWatcher:
    """The job (`run`) and the immediate read /wallet does (`read_now`)."""

    def __init__(
        self,
        client: HyperliquidClient,
        store: Store,
        *,
        reads_per_minute: int = 240,
        refresh_seconds: float = 60.0,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.client = client
        self.store = store
        self.reads_per_minute = reads_per_minute
        self.refresh_seconds = refresh_seconds
        self._clock = clock
        self._failing = ""  # the reasons of the last failed run, logged once until they change

    @classmethod
    def from_config(
        cls,
        config: Config,
        client: HyperliquidClient,
        store: Store,
        clock: Callable[[], datetime] = utcnow,
    ) -> WalletWatcher:
        section = config.section("sources.hyperliquid")
        store.set_wallet_universe(w.strip().lower() for w in section["wallets"])
        return cls(
            client,
            store,
            reads_per_minute=section["wallet_reads_per_minute"],
            refresh_seconds=section["refresh_seconds"],
            clock=clock,
        )

    @property
    def reads_per_run(self) -> int:
        return max(1, int(self.reads_per_minute * self.refresh_seconds / 60))

    async def run(self) -> WalletRun:
        budget = self.reads_per_run
        watched = self.store.watched_wallets()[:budget]
        due = self.store.wallets_due(budget - len(watched), exclude=watched)
        readings = await self._read_all([*watched, *due])
        alerts = 0
        for watch in self.store.wallet_watches():
            reading = readings.get(watch.address)
            if reading is not None:
                alerts += self._check(watch, reading)
        failed = len(watched) + len(due) - len(readings)
        return WalletRun(read=len(readings), failed=failed, alerts=alerts)

    async def read_now(self, address: str, watch: WalletWatch | None = None) -> WalletReading:
        """Read one wallet at once and keep the reading (it must be configured or watched).
        With the `watch` just set, the stages its positions already reached count as told (the
        reply lists them), so the job alerts only on what comes next."""
        reading = await self.client.clearinghouse_state(address)
        self.store.save_wallet_reading(reading)
        if watch is not None and watch.address == reading.address:
            state, _ = check_watch(watch.pct, watch.state, reading)
            self.store.commit_wallet_check(watch, state, [])
        return reading

    async def _read_all(self, addresses: Sequence[str]) -> dict[str, WalletReading]:
        """Read the wallets, READ_CONCURRENCY at a time. Once a read finds the venue out (an
        outage, 429s that outlast the retries), the reads not started yet wait for the next run:
        knocking on a failing API only makes the outage longer."""
        gate = asyncio.Semaphore(READ_CONCURRENCY)
        outage: list[SourceUnavailable] = []

        async def one(address: str) -> WalletReading | None:
            async with gate:
                if outage:
                    return None
                try:
                    return await self.client.clearinghouse_state(address)
                except SourceUnavailable as exc:
                    outage.append(exc)
                    raise

        results = await asyncio.gather(*(one(a) for a in addresses), return_exceptions=True)
        readings: dict[str, WalletReading] = {}
        reasons: dict[str, int] = {}
        for address, result in zip(addresses, results, strict=True):
            if result is None:
                continue  # skipped: the venue was out
            if isinstance(result, WalletReading):
                self.store.save_wallet_reading(result)
                readings[address] = result
            elif isinstance(result, LiqwatchError):
                self.store.save_wallet_error(address, str(result))
                reasons[str(result)] = reasons.get(str(result), 0) + 1
            elif isinstance(result, Exception):
                log.error("reading wallet %s… failed", address[:6], exc_info=result)
                reasons["internal error"] = reasons.get("internal error", 0) + 1
            else:
                raise result  # cancelled
        failing = "; ".join(sorted(reasons))
        if failing and failing != self._failing:  # once per outage, not once per wallet or run
            said = "; ".join(f"{n} x {reason}" for reason, n in reasons.items())
            log.warning("wallet refresh: %d of %d reads failed: %s", sum(reasons.values()),
                        len(addresses), said)  # fmt: skip
        elif self._failing and not failing:
            log.info("wallet refresh: every read answers again")
        self._failing = failing
        return readings

    def _check(self, watch: WalletWatch, reading: WalletReading) -> int:
        state, crossings = check_watch(watch.pct, watch.state, reading)
        if state == watch.state and not crossings:
            return 0
        stamp = watch.created_at.isoformat() if watch.created_at else ""
        messages: list[tuple[Message, str]] = [
            (
                wallet_alert(watch.address, c.position, c.distance, watch.pct, c.stage),
                f"wallet:{watch.chat_key}:{stamp}:{c.seq}",
            )
            for c in crossings
        ]
        return len(self.store.commit_wallet_check(watch, state, messages))
