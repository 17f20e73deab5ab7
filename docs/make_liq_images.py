"""Make the README's realised-liquidation pictures from the real code paths, with no network:
the loopback fake exchange's BTC walk (a day of estimate maps, one kept every 10 minutes, as the
map history keeps them) and SYNTHETIC prints along that walk: every few minutes a print at a
price the walk traded, longs when it fell, shorts when it rose. Then `/accuracy BTC 1d` and
`/liqs BTC 24h` through the service.

This shows the report's shape on synthetic data; it says nothing about real markets. The real
figures come from a deployment: `liqwatch accuracy BTC --days 7` after a week of live feeds.
Run: `python docs/make_liq_images.py` (writes docs/accuracy.png, accuracy.txt, liqs.png).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import build  # noqa: E402
from core.types import Caller, LiqPrint  # noqa: E402
from tests.fakes.exchange import FakeExchange  # noqa: E402
from tests.helpers import ManualClock  # noqa: E402

DOCS = Path(__file__).resolve().parent
ME = Caller("console", "docs", "docs")
VENUES = ("binance", "bybit", "okx")


async def main() -> None:
    clock = ManualClock()
    with FakeExchange(clock=clock) as fake, tempfile.TemporaryDirectory() as tmp:
        cfg = fake.config("estimate", store={"path": str(Path(tmp) / "docs.db")})
        app = build(cfg, clock=clock)
        app.service.service.ctx.live.symbols = {"BTC"}
        rng = np.random.default_rng(5)
        try:
            price = fake.price("BTC")
            prints = []
            for step in range(144 * 5):  # a day in 2-minute steps; a map kept every 10 minutes
                before = price
                price *= float(np.exp(rng.normal(0.0, 0.0012)))
                clock.advance(120)
                fake.set_price("BTC", price)
                if step % 5 == 0:
                    await app.snapshots.get("BTC")
                if abs(price / before - 1) > 0.001:  # a sharp move liquidates someone
                    side = "long" if price < before else "short"
                    usd = float(rng.lognormal(12.5, 1.0))
                    venue = VENUES[int(rng.integers(0, 3))]
                    traded = float(rng.uniform(min(price, before), max(price, before)))
                    prints.append(LiqPrint(venue, "BTC", side, traded, usd / traded, usd, clock()))
            app.store.add_prints(prints)
            [report] = await app.service.handle(ME, "/accuracy BTC 1d")
            (DOCS / "accuracy.png").write_bytes(report.image)
            (DOCS / "accuracy.txt").write_text(report.text() + "\n")
            print(report.text())
            clock.advance(60)
            [liqs] = await app.service.handle(ME, "/liqs BTC 4h")
            (DOCS / "liqs.png").write_bytes(liqs.image)
            print(liqs.text())
        finally:
            await app.aclose()


if __name__ == "__main__":
    asyncio.run(main())
