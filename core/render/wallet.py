"""Words for Hyperliquid wallets: /wallet replies, its alerts, and the observed map's coverage.

Pure: plain values in, Messages and lines out, no clock reads (`now` is handed in).
"""

from __future__ import annotations

from datetime import datetime

from core.kernel import fmt
from core.types import Message, ObservedCoverage, WalletPosition, WalletReading

WALLET_USAGE = "/wallet 0x… [PCT] | /wallet off"
PRIVATE_ONLY = (
    "/wallet works only in a private chat with me: it watches your own wallet. "
    "Open a private chat and send it there."
)


def short_address(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}"


def _size(position: WalletPosition) -> str:
    return f"{abs(position.size):,.6g} {position.coin}"


def _leverage(position: WalletPosition) -> str:
    return f"{position.leverage}x {position.margin_type}"


def position_line(position: WalletPosition, pct: float | None = None) -> str:
    """`BTC long 0.5 BTC ($45.0K), 20x cross: liquidation $85,310, 4.9% away` (then `, inside
    your 5% line` when it is within `pct`)."""
    head = (
        f"{position.coin} {position.side} {_size(position)} ({fmt.money(position.position_usd)}), "
        f"{_leverage(position)}"
    )
    distance = position.distance_pct
    if distance is None:
        return f"{head}: no liquidation price (the account's collateral covers it)"
    line = f"{head}: liquidation {fmt.price(position.liquidation_px)}, {distance:.1f}% away"
    if pct is not None and distance <= pct:
        line += f" ⚠️ inside your {pct / 2 if distance <= pct / 2 else pct:g}% line"
    return line


def wallet_status(
    address: str,
    pct: float,
    reading: WalletReading | None,
    now: datetime,
    *,
    started: bool = False,
    read_error: str = "",
) -> Message:
    """The reply to `/wallet 0x… [PCT]` (started) or `/wallet` (what is watched)."""
    name = short_address(address)
    title = f"👛 Watching {name}" if started else f"👛 {name}"
    lines = [
        f"I will alert you when a position comes within {pct:g}% of its liquidation price, "
        f"and again at {pct / 2:g}%."
    ]
    if reading is None:
        lines.append(
            f"Could not read the wallet yet ({read_error or 'no reading'}); I keep trying."
            if read_error
            else "No reading yet: the first one comes within a minute."
        )
    elif not reading.positions:
        lines.append("No open perpetual positions right now; new ones are watched too.")
    else:
        ordered = sorted(reading.positions, key=lambda p: (p.distance_pct is None, p.distance_pct))
        lines.extend(position_line(p, pct) for p in ordered)
    footer = "Hyperliquid positions, read from the public API"
    if reading is not None:
        footer += f" · {fmt.age(reading.read_at, now)}"
    footer += " · /wallet off to stop · not financial advice"
    return Message(title=title, lines=tuple(lines), footer=footer)


def wallet_off(address: str | None) -> Message:
    if address is None:
        return Message(title="No wallet watched", lines=(f"Usage: {WALLET_USAGE}",))
    return Message(
        title=f"Stopped watching {short_address(address)}",
        lines=("Its readings are deleted; nothing about it is kept.",),
    )


def no_wallet() -> Message:
    return Message(
        title="No wallet watched",
        lines=(
            "Send /wallet with your Hyperliquid address to be alerted before a liquidation.",
            f"Usage: {WALLET_USAGE} (PCT: distance in %, default 5)",
        ),
    )


def wallet_alert(
    address: str, position: WalletPosition, distance: float, pct: float, stage: int
) -> Message:
    """An alert: stage 1 within `pct`, stage 2 within half of it (or at the price)."""
    icon = "⚠️" if stage == 1 else "🚨"
    where = "at its liquidation price" if distance <= 0 else f"{distance:.1f}% from liquidation"
    line = (
        f"Mark {fmt.price(position.mark_px)}, liquidation {fmt.price(position.liquidation_px)} "
        f"({_size(position)}, {fmt.money(position.position_usd)}, {_leverage(position)})."
    )
    threshold = pct if stage == 1 else pct / 2
    return Message(
        title=f"{icon} {position.coin} {position.side} {where}",
        lines=(
            line,
            f"Wallet {short_address(address)} crossed your {threshold:g}% line.",
        ),
        footer="Hyperliquid · add margin or reduce to move the price away · not financial advice",
        kind="alert",
    )


def coverage_lines(coverage: ObservedCoverage, now: datetime) -> tuple[str, ...]:
    """What the observed map shows of the venue: coverage, readings' age, what is left out."""
    observed = coverage.long_usd + coverage.short_usd
    lines = [
        f"Observed: {fmt.money(observed)} of positions in {coverage.wallets} wallets, "
        f"{coverage.share * 100:.1f}% of open interest ({fmt.money(coverage.open_interest_usd)})."
    ]
    if coverage.oldest_read_at is not None:
        lines.append(f"Readings {fmt.age(coverage.oldest_read_at, now)} at most.")
    apart = []
    if coverage.no_liq_count:
        apart.append(
            f"{coverage.no_liq_count} with no liquidation price ({fmt.money(coverage.no_liq_usd)})"
        )
    if coverage.past_liq_count:
        apart.append(f"{coverage.past_liq_count} past their liquidation price since read")
    if apart:
        lines.append("Not on the map: " + "; ".join(apart) + ".")
    if coverage.wallets_stale or coverage.wallets_unread:
        stale, unread = coverage.wallets_stale, coverage.wallets_unread
        lines.append(f"Left out: {stale} stale and {unread} unread wallets.")
    return tuple(lines)


def observed_label(coverage: ObservedCoverage) -> str:
    """For a venues split line: `observed, 12% of OI`."""
    share = coverage.share * 100
    return f"observed, {share:.1f}% of OI" if share < 10 else f"observed, {share:.0f}% of OI"
