"""The command set every platform speaks: names, usage and one example each.

Used by /help, by Telegram's setMyCommands menu and by Discord's command descriptions, so that
all three always agree. The alert kinds (their syntax and the hints pickers show) come from
core.alerts.kinds, so a new kind shows up everywhere without touching this file.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.alerts.kinds import ALERT_USAGE, KIND_NAMES, KINDS


@dataclass(frozen=True)
class CommandSpec:
    name: str  # without the slash
    usage: str  # full usage line
    description: str  # ≤ 100 characters (Discord's limit), ≤ 256 (Telegram's)
    example: str
    chat_wide: bool = False  # changes a setting of the whole chat: admins only in groups


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "liq",
        "/liq SYMBOL [WINDOW%]",
        "Liquidation map: imbalance, key zones, chart",
        "/liq BTC 10",
    ),
    CommandSpec(
        "watch",
        "/watch SYMBOL...",
        "Add symbols to your watchlist (with a breakout alert)",
        "/watch BTC ETH",
    ),
    CommandSpec(
        "unwatch", "/unwatch SYMBOL...", "Remove symbols from your watchlist", "/unwatch ETH"
    ),
    CommandSpec(
        "watchlist", "/watchlist", "Your symbols with their ratio and nearest zones", "/watchlist"
    ),
    CommandSpec(
        "alert",
        ALERT_USAGE,  # derived from the alert kinds' registry
        "Set an alert: " + ", ".join(KIND_NAMES),
        "/alert BTC near 1.5",
    ),
    CommandSpec(
        "heatmap",
        "/heatmap SYMBOL [24h|3d|7d]",
        "How the map evolved: time x price heatmap of liquidation USD",
        "/heatmap BTC 3d",
    ),
    CommandSpec(
        "top",
        "/top [ratio|longs|shorts|near] [N]",
        "Screener: the most traded perpetuals ranked by their maps",
        "/top near 5",
    ),
    CommandSpec("alerts", "/alerts", "List your alerts with their ids", "/alerts"),
    CommandSpec("delalert", "/delalert ID", "Delete one alert by its id", "/delalert 3"),
    CommandSpec(
        "mute",
        "/mute DURATION",
        "Hold alerts for a while, then get one digest",
        "/mute 2h",
        chat_wide=True,  # a group's mute silences everyone's alerts there
    ),
    CommandSpec(
        "unmute", "/unmute", "Deliver held alerts now and resume", "/unmute", chat_wide=True
    ),
    CommandSpec(
        "summary",
        "/summary SYMBOL... every 4h | daily HH:MM [TZ] | off",
        "Scheduled summaries for this chat",
        "/summary BTC ETH daily 08:00 Europe/Berlin",
        chat_wide=True,
    ),
    CommandSpec(
        "wallet",
        "/wallet 0x… [PCT] | off",
        "Private chat: alert when your Hyperliquid positions near liquidation (default 5%)",
        "/wallet 0x5e9ee1089755c3435139848e47e6635505d5a13a 5",
    ),
    CommandSpec(
        "liqs",
        "/liqs SYMBOL [1h|4h|24h]",
        "Realised liquidations: longs vs shorts per venue, largest prints, chart",
        "/liqs BTC 4h",
    ),
    CommandSpec(
        "feed",
        "/feed SYMBOL... min USD | /feed off",
        "Post big liquidations here as they happen, batched",
        "/feed BTC ETH min 1M",
        chat_wide=True,
    ),
    CommandSpec(
        "accuracy",
        "/accuracy SYMBOL [7d]",
        "How often the map's zones caught real liquidations, vs random",
        "/accuracy BTC 7d",
    ),
    CommandSpec("help", "/help", "What the bot does and every command", "/help"),
)

BY_NAME = {spec.name: spec for spec in COMMANDS}
ALIASES = {"start": "help", "menu": "help", "dellalert": "delalert", "unalert": "delalert"}


# (name, hint) of every alert kind, for pickers such as Discord's choices.
ALERT_KIND_CHOICES: tuple[tuple[str, str], ...] = tuple(
    (name, KINDS[name].hint) for name in KIND_NAMES
)
# What the number after a kind means, for forms with a separate value field (Discord).
ALERT_VALUE_HINT = "The number for " + ", ".join(
    KINDS[name].syntax for name in KIND_NAMES if KINDS[name].parse_value is not None
)
