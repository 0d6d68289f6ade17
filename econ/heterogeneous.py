"""Deterministic steady state of the heterogeneous kappa/lambda economy (spec section 4.4).

Households i = 1..N with capital productivity kappa_i and labour productivity
lambda_i take the base prices r = alpha (K/L)^(alpha-1) and w = (1-alpha)(K/L)^alpha
as given and face k_i >= 0.  A household can hold capital in a steady state
only if its Euler equation beta (1 - delta + kappa_i r) = 1 holds; if the
return is lower it runs its capital down to zero and lives hand-to-mouth
(chat = 1).  So only the types with the largest kappa hold capital, and

    r = (1/beta - 1 + delta) / kappa_max,      K/L = (alpha / r)^(1/(1-alpha)).

Intratemporal condition (household i earns lambda_i w per unit of labour):

    linear utility       c_i = lambda_i w / chi
    log-leisure utility  c_i = lambda_i w (1 - l_i) / chi

Hand-to-mouth households consume their wage, c_i = lambda_i w l_i, hence
l_i = 1/chi (linear; the corner l_i = 1 when chi <= 1) or 1/(1+chi) (log-leisure).
The capital holders' budgets add up to

    w m L_h + (1/beta - 1) K / kappa_max = w Lambda_h / chi,    m = 1 (linear), 1 + 1/chi (log-leisure),

with L_h = (1/N) sum_holders lambda_i l_i and Lambda_h = (1/N) sum_holders lambda_i;
together with K = (K/L)(L_h + L_o) (L_o the hand-to-mouth effective labour)
this pins down the aggregates.  If the holders' labour solving these is not
positive, they are at the corner l_i = 0 (capital income alone pays for more
than lambda_i w / chi, so the intratemporal condition holds as an inequality)
and K = (K/L) L_o.  With more than one capital-holding household
the split of capital and labour among them is indeterminate: the result says
so (``split_indeterminate``) and leaves those entries as NaN, flagged in
``indeterminate``, rather than inventing a split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from econ import checks
from econ.rbc.params import RBCParams

KAPPA_TIE_RTOL = 1e-12
"""Capital productivities within this relative distance of the maximum count as the maximum."""


def productivity_grid(g: int, low: float = 0.98, high: float = 1.02):
    """kappa and lambda for the ``general`` experiment: g equispaced values on [low, high], every pair once.

    Returns two arrays of length g*g (kappa varies slowest).
    """
    g = checks.positive_int("g", g, minimum=1)
    low = checks.positive("low", low)
    high = checks.positive("high", high)
    if high < low:
        raise ValueError(f"high must be >= low, got low={low}, high={high}")
    values = np.linspace(low, high, g) if g > 1 else np.array([(low + high) / 2.0])
    kappa, lam = np.meshgrid(values, values, indexing="ij")
    return kappa.ravel(), lam.ravel()


@dataclass(frozen=True)
class HeterogeneousSteadyState:
    """Steady state of the kappa/lambda economy (per-household arrays in input order)."""

    interest_rate: float
    """Base rental rate r = alpha (K/L)^(alpha-1); household i earns kappa_i r."""
    wage: float
    """Base wage w = (1-alpha)(K/L)^alpha; household i earns lambda_i w."""
    capital: float
    """Effective aggregate capital K = (1/N) sum kappa_i k_i."""
    labour: float
    """Effective aggregate labour L = (1/N) sum lambda_i l_i."""
    output: float
    consumption_total: float
    """Aggregate consumption (1/N) sum c_i = Y - delta (1/N) sum k_i."""
    capital_productivity: np.ndarray
    labour_productivity: np.ndarray
    holds_capital: np.ndarray
    """True for the households that hold capital (kappa_i = max kappa)."""
    split_indeterminate: bool
    """True when several households hold capital, so their individual k_i, l_i (and, with
    log-leisure utility, c_i) are not pinned down by the steady state."""
    indeterminate: np.ndarray
    """True where an individual entry below is indeterminate (NaN)."""
    household_capital: np.ndarray
    household_labour: np.ndarray
    household_consumption: np.ndarray
    household_consumption_fraction: np.ndarray
    holders_capital: float
    """(1/N) sum over capital holders of k_i (unweighted), determinate."""
    holders_labour: float
    """(1/N) sum over capital holders of lambda_i l_i, determinate."""
    holders_work: bool
    """False at the corner where capital income makes the holders' labour zero."""


def heterogeneous_steady_state(
    params: RBCParams = RBCParams(),
    capital_productivity=None,
    labour_productivity=None,
) -> HeterogeneousSteadyState:
    """Deterministic steady state with price-taking heterogeneous households (module docstring).

    Parameters
    ----------
    params : RBCParams
        alpha, beta, delta, chi and utility (rho and sigma are irrelevant here).
    capital_productivity, labour_productivity : arrays of equal length N, > 0
        kappa_i and lambda_i.  Default: the ``general`` experiment's 3 x 3 grid
        on [0.98, 1.02] (:func:`productivity_grid`).
    """
    if not isinstance(params, RBCParams):
        raise TypeError(f"params must be an RBCParams, got {type(params).__name__}")
    if capital_productivity is None and labour_productivity is None:
        capital_productivity, labour_productivity = productivity_grid(3)
    kappa = checks.positive_array("capital_productivity", capital_productivity)
    lam = checks.positive_array("labour_productivity", labour_productivity, length=kappa.shape[0])
    n = kappa.shape[0]
    alpha, beta, delta, chi = params.alpha, params.beta, params.delta, params.chi
    linear = params.utility == "linear"

    kappa_max = kappa.max()
    holds = kappa >= kappa_max * (1.0 - KAPPA_TIE_RTOL)
    n_holders = int(holds.sum())
    net_return = 1.0 / beta - 1.0
    r = (net_return + delta) / kappa_max
    k_per_l = (alpha / r) ** (1.0 / (1.0 - alpha))
    w = (1.0 - alpha) * k_per_l**alpha

    htm_labour = min(1.0 / chi, 1.0) if linear else 1.0 / (1.0 + chi)
    labour_out = np.sum(lam[~holds]) * htm_labour / n
    lambda_holders = np.sum(lam[holds]) / n
    m = 1.0 if linear else 1.0 + 1.0 / chi
    holders_labour = (w * lambda_holders / chi - net_return * k_per_l * labour_out / kappa_max) / (
        w * m + net_return * k_per_l / kappa_max
    )
    if holders_labour >= lambda_holders:
        raise ValueError(
            f"no steady state: the capital holders' effective labour would be {holders_labour:.4g}, "
            f"not below their endowment {lambda_holders:.4g}; with utility {params.utility!r} raise chi (now {chi})"
        )
    holders_work = holders_labour > 0.0
    if not holders_work:
        # Corner: capital income alone finances more than lambda w / chi, so the
        # holders' intratemporal condition holds as an inequality and they do not work.
        holders_labour = 0.0
    labour = holders_labour + labour_out
    capital = k_per_l * labour
    output = k_per_l**alpha * labour
    holders_capital = capital / kappa_max
    consumption_total = output - delta * holders_capital

    household_capital = np.zeros(n)
    household_labour = np.full(n, htm_labour)
    household_consumption = lam * w * htm_labour
    household_chat = np.ones(n)
    indeterminate = np.zeros(n, dtype=bool)
    if n_holders == 1:
        i = int(np.flatnonzero(holds)[0])
        household_capital[i] = n * holders_capital
        household_labour[i] = n * holders_labour / lam[i]
        wealth_without_consumption = net_return * household_capital[i] + lam[i] * w * household_labour[i]
        household_consumption[i] = wealth_without_consumption  # the budget: consume the net income
        wealth = (1.0 - delta + kappa[i] * r) * household_capital[i] + lam[i] * w * household_labour[i]
        household_chat[i] = household_consumption[i] / wealth
        if not household_labour[i] < 1.0:
            raise ValueError(
                f"no interior steady state: the capital holder would work {household_labour[i]:.4g} >= 1"
            )
    else:
        indeterminate = holds.copy()
        household_capital[holds] = np.nan
        household_labour[holds] = np.nan
        household_chat[holds] = np.nan
        interior_linear = linear and holders_work
        household_consumption[holds] = lam[holds] * w / chi if interior_linear else np.nan
    return HeterogeneousSteadyState(
        interest_rate=r,
        wage=w,
        capital=capital,
        labour=labour,
        output=output,
        consumption_total=consumption_total,
        capital_productivity=kappa,
        labour_productivity=lam,
        holds_capital=holds,
        split_indeterminate=n_holders > 1,
        indeterminate=indeterminate,
        household_capital=household_capital,
        household_labour=household_labour,
        household_consumption=household_consumption,
        household_consumption_fraction=household_chat,
        holders_capital=holders_capital,
        holders_labour=holders_labour,
        holders_work=holders_work,
    )
