"""One period of the heterogeneous RBC economy (spec section 1), vectorised.

This module is the single place where the economy's equations live: the RL
environment, the benchmark simulations and the scoring code all call
:func:`period`, so they cannot drift apart.

Timing (spec section 1).  At the start of period t the households hold capital
k_{i,t}; technology A_t is known; each household picks a consumption fraction
chat_{i,t} and labour l_{i,t}.  Then, with population mass one,

    K_t     = (1/N) sum_i kappa_i  k_{i,t}             effective capital
    L_t     = (1/N) sum_i lambda_i l_{i,t}             effective labour
    Y_t     = A_t K_t^alpha L_t^(1-alpha)
    r_{i,t} = kappa_i  alpha     A_t (K_t/L_t)^(alpha-1)
    w_{i,t} = lambda_i (1-alpha) A_t (K_t/L_t)^(-alpha)
    a_{i,t} = (1-delta) k_{i,t} + r_{i,t} k_{i,t} + w_{i,t} l_{i,t}
    c_{i,t} = chat_{i,t} a_{i,t}
    k_{i,t+1} = a_{i,t} - c_{i,t}    (floored at CAPITAL_FLOOR)
    R_{i,t} = u(c_{i,t}, l_{i,t})

Income exhausts output, so (1/N) sum_i (c_i + k_i') = Y + (1-delta)(1/N) sum_i k_i.

Every array argument broadcasts: the last axis indexes households and any
leading axes index independent economies, so one call steps a whole batch.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

ACTION_EPS = 0.005
"""Fractions (consumption share, labour) live in [ACTION_EPS, 1 - ACTION_EPS]."""

CAPITAL_FLOOR = 1e-10
"""Next-period capital is floored here so repeated extreme actions cannot
underflow it to zero (which would make log consumption -inf next period)."""

REWARD_FORMS = ("linear", "log_leisure", "log")
"""Period utility forms of :func:`utility`:

- ``linear``:      log c - chi l
- ``log_leisure``: log c + chi log(1 - l)
- ``log``:         log c (Krusell-Smith variants, where labour is an endowment)
"""


class PeriodOutcome(NamedTuple):
    """Everything one period of the economy determines (arrays broadcast as the inputs)."""

    effective_capital: np.ndarray
    """K_t, one per economy (households axis reduced)."""
    effective_labour: np.ndarray
    """L_t, one per economy."""
    output: np.ndarray
    """Y_t, one per economy."""
    interest_rate: np.ndarray
    """r_{i,t} = kappa_i * MPK: the gross rental rate each household earns per unit of capital."""
    wage: np.ndarray
    """w_{i,t} = lambda_i * MPL: the wage each household earns per unit of labour."""
    wealth: np.ndarray
    """a_{i,t} = (1-delta) k + r k + w l."""
    consumption: np.ndarray
    """c_{i,t} = chat a."""
    next_capital: np.ndarray
    """k_{i,t+1} = a - c, floored at CAPITAL_FLOOR."""
    reward: np.ndarray
    """R_{i,t} = u(c, l)."""


def action_to_fraction(action) -> np.ndarray:
    """Map actions in [-1, 1] affinely onto [ACTION_EPS, 1 - ACTION_EPS].

    Actions outside the box are clipped to it (as SB3 does for Box spaces); a
    NaN or infinite action raises ``ValueError``.
    """
    action = np.asarray(action, dtype=float)
    if not np.all(np.isfinite(action)):
        raise ValueError(f"actions must be finite numbers in [-1, 1]; got non-finite values in {action}")
    clipped = np.clip(action, -1.0, 1.0)
    return ACTION_EPS + (1.0 - 2.0 * ACTION_EPS) * (clipped + 1.0) / 2.0


def fraction_to_action(fraction) -> np.ndarray:
    """Inverse of :func:`action_to_fraction` (fractions are clipped to the admissible range)."""
    fraction = np.clip(np.asarray(fraction, dtype=float), ACTION_EPS, 1.0 - ACTION_EPS)
    return 2.0 * (fraction - ACTION_EPS) / (1.0 - 2.0 * ACTION_EPS) - 1.0


def utility(consumption, labour, chi: float, form: str = "linear") -> np.ndarray:
    """Period utility u(c, l) for one of ``REWARD_FORMS``."""
    log_c = np.log(consumption)
    if form == "linear":
        return log_c - chi * np.asarray(labour)
    if form == "log_leisure":
        return log_c + chi * np.log1p(-np.asarray(labour))
    if form == "log":
        return log_c
    raise ValueError(f"utility form must be one of {REWARD_FORMS}, got {form!r}")


def factor_prices(effective_capital, effective_labour, technology, alpha: float):
    """Output and the marginal products of effective capital and labour.

    Returns ``(Y, MPK, MPL)``.  Where effective labour is zero (everybody
    unemployed in a small Krusell-Smith economy) the limits are used: no output,
    no wage and zero return on capital.
    """
    K = np.asarray(effective_capital, dtype=float)
    L = np.asarray(effective_labour, dtype=float)
    A = np.asarray(technology, dtype=float)
    working = L > 0
    safe_L = np.where(working, L, 1.0)
    ratio = K / safe_L
    output = np.where(working, A * K**alpha * safe_L ** (1.0 - alpha), 0.0)
    mpk = np.where(working, alpha * A * ratio ** (alpha - 1.0), 0.0)
    mpl = np.where(working, (1.0 - alpha) * A * ratio**alpha, 0.0)
    return output, mpk, mpl


class Markets(NamedTuple):
    """Aggregates, prices and wealth, before the households' consumption choice."""

    effective_capital: np.ndarray
    effective_labour: np.ndarray
    output: np.ndarray
    interest_rate: np.ndarray
    wage: np.ndarray
    wealth: np.ndarray


def markets(
    capital,
    labour,
    technology,
    *,
    alpha: float,
    delta: float,
    capital_productivity=1.0,
    labour_productivity=1.0,
) -> Markets:
    """Effective aggregates, factor prices and each household's wealth (step 3 of the timing).

    Parameters
    ----------
    capital : array (..., N)
        k_{i,t} > 0, households on the last axis, economies on leading axes.
    labour : array broadcastable to ``capital``
        l_{i,t} (chosen, or the endowment lbar e_{i,t} in Krusell-Smith variants).
    technology : array (...,) or scalar
        A_t, one per economy.
    alpha, delta : float
        Capital share and depreciation.
    capital_productivity, labour_productivity : array broadcastable to ``capital``
        kappa_i and lambda_i.
    """
    k = np.asarray(capital, dtype=float)
    l = np.broadcast_to(np.asarray(labour, dtype=float), k.shape)
    kappa = np.asarray(capital_productivity, dtype=float)
    lam = np.asarray(labour_productivity, dtype=float)
    K = np.mean(kappa * k, axis=-1)
    L = np.mean(lam * l, axis=-1)
    Y, mpk, mpl = factor_prices(K, L, technology, alpha)
    r = np.broadcast_to(kappa * mpk[..., None], k.shape)
    w = np.broadcast_to(lam * mpl[..., None], k.shape)
    a = (1.0 - delta) * k + r * k + w * l
    return Markets(K, L, Y, r, w, a)


def period(
    capital,
    consumption_fraction,
    labour,
    technology,
    *,
    alpha: float,
    delta: float,
    chi: float = 1.0,
    utility_form: str = "linear",
    capital_productivity=1.0,
    labour_productivity=1.0,
) -> PeriodOutcome:
    """Step the economy by one period (see the module docstring for the equations).

    Arguments as :func:`markets`, plus the consumption fractions chat_{i,t}
    (broadcastable to ``capital``), the labour disutility weight ``chi`` and the
    ``utility_form`` (one of ``REWARD_FORMS``).
    """
    m = markets(
        capital,
        labour,
        technology,
        alpha=alpha,
        delta=delta,
        capital_productivity=capital_productivity,
        labour_productivity=labour_productivity,
    )
    l = np.broadcast_to(np.asarray(labour, dtype=float), m.wealth.shape)
    c = np.asarray(consumption_fraction, dtype=float) * m.wealth
    k_next = np.maximum(m.wealth - c, CAPITAL_FLOOR)
    R = utility(c, l, chi, utility_form)
    return PeriodOutcome(*m, consumption=c, next_capital=k_next, reward=R)


def next_log_tfp(log_tfp, rho: float, sigma: float, innovation) -> np.ndarray:
    """log A_{t+1} = rho log A_t + sigma eps_{t+1}; the draw eps is passed in."""
    return rho * np.asarray(log_tfp) + sigma * np.asarray(innovation)


def check_fractions(name: str, values) -> np.ndarray:
    """Validate choices given as fractions (rather than actions): finite and in (0, 1)."""
    arr = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0) or np.any(arr >= 1):
        raise ValueError(f"{name} must be finite and in (0, 1); got {arr}")
    return arr


__all__ = [
    "ACTION_EPS",
    "CAPITAL_FLOOR",
    "REWARD_FORMS",
    "PeriodOutcome",
    "Markets",
    "markets",
    "action_to_fraction",
    "fraction_to_action",
    "utility",
    "factor_prices",
    "period",
    "next_log_tfp",
    "check_fractions",
]
