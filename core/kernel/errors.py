"""Errors liqwatch raises on purpose. Each carries a one-line message fit to show a user."""

from __future__ import annotations


class LiqwatchError(Exception):
    """Base class: `str(error)` is a short sentence safe to show in a chat or on stderr."""


class ConfigError(LiqwatchError):
    """The configuration file or environment is wrong (names the key and the file)."""


class UsageError(LiqwatchError):
    """A user typed a command wrong; the message includes the right usage."""


class UnknownSymbol(LiqwatchError):
    """The exchange does not list this symbol."""

    def __init__(self, symbol: str):
        super().__init__(f"Unknown symbol: {symbol}. The data source does not list it.")
        self.symbol = symbol


class SourceError(LiqwatchError):
    """A data source failed (network, HTTP status, bad payload, plan, key, rate limit)."""


class SourceUnavailable(SourceError):
    """Temporary: timeouts, 5xx, 429 after the retries. Worth retrying later."""


class SourceRejected(SourceError):
    """Permanent for this request: wrong key, plan too low, bad parameters."""


class DataError(LiqwatchError):
    """The data cannot be analysed (e.g. no price)."""


class StoreError(LiqwatchError):
    """The database cannot be opened or used (not a liqwatch database, newer schema, bad value)."""


class StoreUnavailable(StoreError):
    """The database is there but cannot be written for now: locked by another process past the
    busy timeout, or its disk full. Worth trying again; the others (StoreError) are not."""


# ---- delivery: raised by a platform Sender --------------------------------------------------


class DeliveryRetryAfter(Exception):
    """The platform asked us to wait `seconds` before sending again (HTTP 429)."""

    def __init__(self, seconds: float):
        super().__init__(f"retry after {seconds:g}s")
        self.seconds = float(seconds)


class MessageRejected(Exception):
    """The platform refused this message for good (a non-429 4xx such as Discord's 50035 invalid
    form body): sending it again cannot succeed. It moves to the dead letters; the chat's newer
    messages go on."""


class PlatformUnavailable(Exception):
    """The platform itself cannot be reached or refuses the bot as a whole (network, 5xx, a
    revoked token): no fault of this message or chat. Retried with backoff for as long as it
    takes; never counted toward a message's dead-letter limit."""


class ChatUnreachable(Exception):
    """The chat blocked the bot, removed it, or no longer exists: stop sending to it."""


class ChatMoved(Exception):
    """The chat has a new id (a Telegram group upgraded to a supergroup). `delivered`: the sender
    already sent the message to the new id."""

    def __init__(self, new_chat_id: str, delivered: bool):
        super().__init__(f"chat moved to {new_chat_id}")
        self.new_chat_id = str(new_chat_id)
        self.delivered = delivered
