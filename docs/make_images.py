"""Make the README's heatmap and screener pictures from the real code paths, on the loopback fake
exchange (no network): a day of estimate-source refreshes every 10 minutes recorded into a store,
then `/heatmap BTC` and `/top` through the service.
Run: `python docs/make_images.py` (writes docs/heatmap.png and docs/screener.txt).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import build  # noqa: E402
from core.types import Caller  # noqa: E402
from tests.fakes.exchange import FakeExchange  # noqa: E402
from tests.helpers import ManualClock  # noqa: E402

DOCS = Path(__file__).resolve().parent
ME = Caller("console", "docs", "docs")


async def main() -> None:
    clock = ManualClock()
    with FakeExchange(clock=clock) as fake, tempfile.TemporaryDirectory() as tmp:
        for coin, price in (("SOL", 212.4), ("XRP", 2.31), ("DOGE", 0.318), ("LINK", 23.7)):
            fake.add_symbol(coin, price, oi_usd=1.5e9)
        fake.volume_scale.update(BTC=60, ETH=30, SOL=12, XRP=9, DOGE=6, LINK=3)
        cfg = fake.config("estimate", store={"path": str(Path(tmp) / "docs.db")})
        app = build(cfg, clock=clock)
        rng = np.random.default_rng(11)
        try:
            price = fake.price("BTC")
            for step in range(144):  # a day, one refresh every 10 minutes
                drift = 0.0009 if 70 < step < 100 else 0.0
                price *= float(np.exp(rng.normal(drift, 0.0025)))
                clock.advance(600)
                fake.set_price("BTC", price)
                await app.snapshots.get("BTC")
            [heatmap] = await app.service.handle(ME, "/heatmap BTC 24h")
            (DOCS / "heatmap.png").write_bytes(heatmap.image)
            print(heatmap.text())
            [top] = await app.service.handle(ME, "/top 6")
            (DOCS / "screener.txt").write_text(top.text() + "\n")
            print(top.text())
        finally:
            await app.aclose()


if __name__ == "__main__":
    asyncio.run(main())
