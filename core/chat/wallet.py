"""`/wallet 0x… [PCT]`, `/wallet off`, `/wallet`: watch one's own Hyperliquid wallet.

Private chats only (a wallet is personal; a group would show it to everyone). The address is
validated (0x + 40 hex digits) and stored with the chat's watch and the wallet's latest reading;
nothing else about the user is. `/wallet off` deletes both. The reply reads the wallet at once
(the job keeps reading it every run, core/alerts/wallet_watch.py) and lists its positions with
how far each is from its liquidation price.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from core.chat.base import ChatContext
from core.kernel import parse
from core.kernel.errors import LiqwatchError, UsageError
from core.market.sources.hyperliquid import parse_address
from core.render.wallet import PRIVATE_ONLY, WALLET_USAGE, no_wallet, wallet_off, wallet_status
from core.types import Caller, Message

log = logging.getLogger(__name__)

DEFAULT_PCT = 5.0
MIN_PCT, MAX_PCT = 0.5, 50.0
READ_TIMEOUT_SECONDS = 8.0  # the reply waits this long for the first reading, at most


def wallet_args(args: tuple[str, ...]) -> dict[str, Any]:
    if not args:
        return {}
    if len(args) > 2:
        raise UsageError(f"Usage: {WALLET_USAGE}")
    if args[0].lower() == "off":
        if len(args) > 1:
            raise UsageError(f"Usage: {WALLET_USAGE}")
        return {"address": "off"}
    return {"address": args[0], "pct": args[1] if len(args) == 2 else None}


async def wallet_reply(
    ctx: ChatContext, caller: Caller, address: str | None = None, pct: str | float | None = None
) -> Message:
    if caller.chat_kind != "private":
        raise LiqwatchError(PRIVATE_ONLY)
    if address is not None and address.strip().lower() == "off":
        chat = ctx.store.find_chat(caller.platform, caller.chat_id, caller.thread_id)
        return wallet_off(ctx.store.delete_wallet_watch(chat["key"]) if chat else None)
    if address is None:
        return _status(ctx, caller)
    wallet = parse_address(address)  # first: a bad address changes nothing
    distance = (
        DEFAULT_PCT if pct is None else parse.number(str(pct), "distance %", MIN_PCT, MAX_PCT)
    )
    watch = ctx.store.set_wallet_watch(ctx.chat_key(caller), wallet, distance)
    reading, error = None, ""
    watcher = getattr(ctx, "wallets", None)
    if watcher is not None:
        try:
            async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                reading = await watcher.read_now(wallet, watch)
        except TimeoutError:
            error = "Hyperliquid is slow to answer"
        except LiqwatchError as exc:
            error = str(exc).rstrip(".")
    return wallet_status(watch.address, watch.pct, reading, ctx.clock(), started=True,
                         read_error=error)  # fmt: skip


def _status(ctx: ChatContext, caller: Caller) -> Message:
    chat = ctx.store.find_chat(caller.platform, caller.chat_id, caller.thread_id)
    watch = ctx.store.wallet_watch(chat["key"]) if chat else None
    if watch is None:
        return no_wallet()
    reading = ctx.store.wallet_reading(watch.address)
    return wallet_status(watch.address, watch.pct, reading, ctx.clock())
