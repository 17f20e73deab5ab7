"""Per-venue order flow: what opens and closes at each candle, who is taker, what trades.

Flows are drawn in USD and do not depend on the price path, so that a cascade can rebuild part of
the path without changing who traded. A candle either *opens* (notional `open_usd` at its close) or
*closes* a fraction of every open pair; never both, which is the estimator's premise (turnover
comes from the separate day-trader flow). The ledger scales the closing fraction by (OI / initial
OI)^8 in contracts, so OI wanders but stays in range whatever the liquidations take out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .paths import per_candle
from .worlds import VenueSpec, WorldSpec

QUOTE_DECIMALS = 4  # quote volumes are published (and held) to 4 decimals


@dataclass(frozen=True, eq=False)
class VenueFlows:
    open_usd: np.ndarray  # notional of the pairs opened at each candle's close (0: none)
    close_draw: np.ndarray  # fraction of every open pair closed at the candle, before the pull to
    #   the initial OI (0: an opening candle or no closes; see ledger.venue_book)
    long_share: np.ndarray  # share of opened notional whose leveraged (taker) side is long
    day_usd: np.ndarray  # day traders' notional opened at each candle's close (0: none)
    quote_volume: np.ndarray  # traded USD per candle
    taker_buy_quote: np.ndarray  # the part bought by takers

    @property
    def taker_buy_share(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.quote_volume > 0, self.taker_buy_quote / self.quote_volume, 0.5)


def _mean_one_lognormal(rng: np.random.Generator, sigma: float, n: int) -> np.ndarray:
    return rng.lognormal(-0.5 * sigma**2, sigma, n)


def venue_flows(spec: WorldSpec, venue: VenueSpec, rng: np.random.Generator) -> VenueFlows:
    n = spec.candles
    open_prob = per_candle(spec, "open_prob", spec.open_prob)
    open_scale = np.ones(n)
    close_scale = np.ones(n)
    bias = np.full(n, venue.long_bias)
    for regime in spec.regimes:
        window = slice(regime.start, regime.stop)
        open_scale[window] *= regime.open_scale
        close_scale[window] *= regime.close_scale
        bias[window] += regime.long_bias

    opens = rng.random(n) < open_prob
    opens[0] = False  # candle 0 is the baseline: OI before it is unknown to any reader
    size = _mean_one_lognormal(rng, 0.8, n)
    open_usd = np.where(opens, spec.open_usd_mean * venue.share * open_scale * size, 0.0)

    # Fraction closed at a closing candle, before the pull towards the initial OI (applied by the
    # ledger, which knows the actual OI): closes balance opens at the initial OI.
    target = spec.initial_oi_usd * venue.share
    mean_fraction = spec.open_prob * spec.open_usd_mean * venue.share
    mean_fraction /= (1 - spec.open_prob) * target
    close_draw = np.where(opens, 0.0, mean_fraction * _mean_one_lognormal(rng, 0.6, n))
    close_draw *= close_scale
    close_draw[0] = 0.0

    true_share = np.clip(rng.beta(30, 30, n) + bias, 0.02, 0.98)
    noise_share = rng.beta(20, 20, n)

    day_usd = np.zeros(n)
    if spec.day_traders is not None:
        day_usd[1:] = spec.day_traders.usd_per_candle * venue.share
        day_usd[1:] *= _mean_one_lognormal(rng, 0.5, n - 1)

    churn = spec.volume_usd_mean * venue.share * _mean_one_lognormal(rng, 0.5, n)
    quote = np.round(churn + 2 * (open_usd + day_usd), QUOTE_DECIMALS)
    published = venue.taker_fidelity * true_share + (1 - venue.taker_fidelity) * noise_share
    taker_quote = np.round(quote * published, QUOTE_DECIMALS)
    flows = VenueFlows(open_usd, close_draw, true_share, day_usd, quote, taker_quote)
    if venue.taker_fidelity == 1:
        # The calm identity: the openers' split is exactly the share a reader computes from the
        # published (rounded) volumes.
        flows = VenueFlows(open_usd, close_draw, flows.taker_buy_share, day_usd, quote, taker_quote)
    return flows
