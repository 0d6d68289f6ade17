"""Deterministic steady states.

Representative agent (docs/model.md and docs/linearisation.md).  At the steady state the Euler
equation gives the rental rate, the firm's first-order condition the capital-
labour ratio, and the intratemporal condition pins down labour:

    r = alpha (K/L)^(alpha-1) = 1/beta - 1 + delta
    w = (1 - alpha) (K/L)^alpha
    C = Y - delta K,   Y = K^alpha L^(1-alpha)
    linear:      chi = w / C                  ->  L = w / (chi C/L)
    log-leisure: chi / (1 - L) = w / C        ->  L = (w/chi) / (C/L + w/chi)

The consumption fraction is chat = C / a with wealth a = (1 - delta) K + Y.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from econ.rbc.params import RBCParams


LOG_RANGE = math.log(1e300)
"""|log K/L| above this is refused: K/L, K^alpha, C and Y would leave double precision (about 1e308)."""


@dataclass(frozen=True)
class SteadyState:
    """Deterministic steady state of the representative-agent RBC (A = 1)."""

    capital: float
    consumption: float
    labour: float
    output: float
    consumption_fraction: float
    interest_rate: float
    """Rental rate of capital r = MPK (gross of depreciation; the net return is r - delta)."""
    wage: float
    wealth: float
    """a = (1 - delta) K + Y, the wealth out of which consumption is a fraction."""


def steady_state(params: RBCParams) -> SteadyState:
    """Deterministic steady state of the RBC at A = 1 (see module docstring)."""
    if not isinstance(params, RBCParams):
        raise TypeError(f"params must be an RBCParams, got {type(params).__name__}")
    alpha, beta, delta, chi = params.alpha, params.beta, params.delta, params.chi
    r = 1.0 / beta - 1.0 + delta
    log_k_per_l = math.log(alpha / r) / (1.0 - alpha)
    if not abs(log_k_per_l) < LOG_RANGE:
        raise ValueError(
            f"alpha = {alpha} is too close to 1 (with beta = {beta}, delta = {delta}): the steady-state capital-labour "
            f"ratio (alpha / r)^(1 / (1 - alpha)) = 10^{log_k_per_l / math.log(10):.0f} is outside double precision; "
            f"lower alpha"
        )
    k_per_l = math.exp(log_k_per_l)
    w = (1.0 - alpha) * k_per_l**alpha
    c_per_l = k_per_l**alpha - delta * k_per_l
    if params.utility == "linear":
        labour = w / (chi * c_per_l)
    else:
        labour = (w / chi) / (c_per_l + w / chi)
    if not 0.0 < labour < 1.0:
        raise ValueError(
            f"no interior steady state: labour would be {labour:.4f}, outside (0, 1); "
            f"raise chi (now {chi}) for utility {params.utility!r}"
        )
    capital = k_per_l * labour
    output = k_per_l**alpha * labour
    consumption = c_per_l * labour
    wealth = (1.0 - delta) * capital + output
    return SteadyState(
        capital=capital,
        consumption=consumption,
        labour=labour,
        output=output,
        consumption_fraction=consumption / wealth,
        interest_rate=r,
        wage=w,
        wealth=wealth,
    )
