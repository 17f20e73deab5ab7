"""The fidelity harness's market simulator: a market whose positions are known.

Pure Python + numpy; imports nothing from `core` or `bot`.

    from tests.sim import WORLDS, simulate
    world = simulate("calm")                    # same name → identical numbers
    world.spec, world.symbol, world.price       # the WorldSpec, "BTC", the last close
    world.path                                  # the candles every venue traded (o/h/l/c)
    world.positions                             # the true pair cohorts (ledger.Positions)
    world.prints                                # every liquidation print, by time
    world.true_map                              # aggregated (prices ascending, long_usd, short_usd)
    world.totals()                              # true shorts above / longs below the price, .ratio
    venue = world.venues["binance"]             # a VenuePublication (also "bybit", "okx")
    venue.native["klines"], venue.native["openInterestHist"]     # Binance's own row shapes
    venue.arrays                                # venue-neutral numpy (open_time_ms, high, low,
                                                #   close, taker_buy_share, oi_contracts, oi_usd)
    venue.arrays.estimator_fields()             # keyword arguments for core's CandleArrays
    venue.liquidations, venue.true_map, venue.positions, venue.book (true OI per candle)
    venue.maintenance_margin, venue.contract_value, venue.symbol

How open interest is modelled (the choice the rest follows from). Every opened position is a
*pair*: a leveraged taker (the long or the short; isolated margin, one leverage, one venue) and a
passive unleveraged counterparty on the other side. So each pair adds its size once to the open
longs and once to the open shorts, and a venue's open interest in contracts is the size of all
open pairs (= open longs = open shorts), as venues count it. Liquidation prices use the venue's
maintenance margin m: long EP·(1−1/L)/(1−m), short EP·(1+1/L)/(1+m). The open interest before
the window is passive on both sides (nobody can see where it would be liquidated, and it has no
liquidation price). A liquidated leveraged side becomes a print (venue, symbol, side, price = its
liquidation price, qty in the venue's contracts, usd, time) and either closes the pair
(`liquidation_oi="close"`: OI drops, as in real markets) or passes to a passive holder
(`"transfer"`: OI unchanged). The TRUE map is the liquidation levels of the leveraged sides still
open after the last candle, at their entry notional (what is left after proportional closes),
bucketed like core.estimator.

Why `calm` reproduces core.market.estimator.estimate_map exactly (fed Binance klines + the OI
sampled at each candle's close, i.e. `venue.arrays.estimator_fields()`, contracts included):
- a candle either opens pairs at its close or closes the fraction 1 − f of every open pair (after
  its liquidations), never both; candle 0 does neither (it is the estimator's baseline);
- the notional opened is split between leveraged longs and leveraged shorts by exactly the taker-
  buy share computed from the published (rounded) volumes, then over the default tiers (5..100x,
  0.15..0.10) with m = 0.004; positions open at the close, on the same float prices the strings
  carry, and are liquidated only by candles after the one that opened them;
- a liquidation closes its pair: OI in contracts falls by exactly the liquidated size, which the
  estimator (tracking the same levels) subtracts before it reads closes, so its shrink factor is
  the true f and nothing is double counted;
- open interest in contracts (`sumOpenInterest`) valued at the close is what opened: Δcontracts ×
  close is the notional opened at that close;
- no turnover: every traded dollar beyond the openings is inert churn, which the estimator's
  default `turnover_share` treats as such.
So the true map equals the estimate to float rounding. The other worlds (tests/sim/worlds.py) each
break one of these assumptions.
"""

from .maps import LiqMap, SideTotals, plain_bucket_width, side_totals
from .market import World, simulate
from .publish import VenueArrays, VenuePublication, bybit_envelope, okx_envelope
from .worlds import WORLDS, WorldSpec

__all__ = [
    "WORLDS",
    "LiqMap",
    "SideTotals",
    "VenueArrays",
    "VenuePublication",
    "World",
    "WorldSpec",
    "bybit_envelope",
    "okx_envelope",
    "plain_bucket_width",
    "side_totals",
    "simulate",
]
