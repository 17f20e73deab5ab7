"""Chat liquidation feeds: every `[feeds] batch_seconds`, each feed's new prints (its symbols, at
or above its amount) become ONE message in the outbox, written in the same transaction as the
feed's cursor, so a print is posted once, across restarts too, and a busy market never makes a
chat exceed its platform's per-chat rate (a Telegram group takes about 20 messages a minute: one
per 5 s is 12). A batch shows at most FEED_MAX_LINES prints (the largest), then "+N more".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from core.kernel.clock import utcnow
from core.render.liquidations import feed_message
from core.store import Store

log = logging.getLogger(__name__)

BATCH_LIMIT = 5000  # prints read per feed per batch; the rest wait for the next batch


class FeedPoster:
    def __init__(
        self,
        store: Store,
        labels: Mapping[str, str],
        clock: Callable[[], datetime] = utcnow,
    ):
        self.store = store
        self.labels = dict(labels)
        self.clock = clock

    def post_due(self) -> int:
        """Queue one message per feed with new prints; returns how many were queued."""
        queued = 0
        for feed in self.store.liq_feeds():
            rows = self.store.liq_prints_after(
                feed.cursor, feed.symbols, feed.min_usd, limit=BATCH_LIMIT
            )
            if not rows:
                continue
            last = rows[-1][0]
            message = feed_message([p for _, p in rows], self.labels, feed.min_usd)
            self.store.post_liq_feed(feed.chat_key, message, last)
            queued += 1
        return queued

    async def run(self) -> None:
        """The scheduled job (a coroutine, so it runs on the loop with the store's thread)."""
        count = self.post_due()
        if count:
            log.debug("liquidation feeds: %d batches queued", count)
