"""The panel of households: shocks from the Krusell-Smith chain, capital simulated under a
household policy (prices and wealth from :func:`econ.economy.markets`), and the Gini coefficient
of a sample.  The panel is one of the solver's distribution methods (``method="panel"``)."""

from __future__ import annotations

from typing import Optional

import numpy as np
import quantecon as qe

from econ.economy import CAPITAL_FLOOR, markets
from econ.krusell_smith import _kernels as kernels
from econ.krusell_smith.params import KrusellSmithParams


def gini(values) -> float:
    """Gini coefficient of a non-negative sample: 2 sum_i i x_(i) / (n sum x) - (n + 1)/n.

    The same number as ``quantecon.gini_coefficient`` (sum_ij |x_i - x_j| / (2 n sum x)), computed from the
    sorted sample in O(n log n) instead of that function's O(n^2) double loop: faster for the pooled samples
    of tens of thousands of observations the scorecards use.
    """
    x = np.sort(np.asarray(values, dtype=float).ravel())
    n = x.size
    total = x.sum()
    if n == 0 or total <= 0:
        raise ValueError("gini needs a non-empty sample with a positive sum")
    return float(2.0 * np.dot(np.arange(1, n + 1), x) / (n * total) - (n + 1.0) / n)


def simulate_shocks(params: KrusellSmithParams, num_households: int, num_periods: int, rng: np.random.Generator,
                    z0: Optional[int] = None, employed0: Optional[np.ndarray] = None, exact_unemployment: bool = True):
    """Paths of the aggregate state and employment from the KS chain.

    z_0 is drawn from the stationary law unless given; each household's
    employment moves with P(e' | e, z, z').  With ``exact_unemployment`` the
    number of unemployed is then set to round(u_z' N) by re-assigning randomly
    chosen households (docs/model.md).  Returns ``(z_index[T], employed[T, N] bool)``.
    """
    P = params.transition
    Pz = params.aggregate_transition
    u = params.unemployment_rates
    z = np.empty(num_periods, dtype=np.int64)
    employed = np.empty((num_periods, num_households), dtype=bool)
    if z0 is None:
        stationary = qe.MarkovChain(Pz).stationary_distributions[0]
        z0 = int(rng.random() < stationary[1])
    z[0] = z0
    if employed0 is None:
        employed0 = np.ones(num_households, dtype=bool)
        employed0[rng.choice(num_households, int(round(u[z0] * num_households)), replace=False)] = False
    employed[0] = employed0
    for t in range(1, num_periods):
        z[t] = int(rng.random() < Pz[z[t - 1], 1])
        zp, zn = z[t - 1], z[t]
        rows = 2 * zp + employed[t - 1].astype(np.int64)
        p_unemployed = P[rows, 2 * zn] / (P[rows, 2 * zn] + P[rows, 2 * zn + 1])
        e = rng.random(num_households) >= p_unemployed
        if exact_unemployment:
            target = int(round(u[zn] * num_households))
            unemployed = np.flatnonzero(~e)
            if unemployed.size > target:
                e[rng.choice(unemployed, unemployed.size - target, replace=False)] = True
            elif unemployed.size < target:
                e[rng.choice(np.flatnonzero(e), target - unemployed.size, replace=False)] = False
        employed[t] = e
    return z, employed


def _simulate_capital(params, consumption, k_grid, K_grid, z_path, employed, types, kappa_i, capital0,
                      record_every: int = 0, burn_in: int = 0):
    """Panel simulation of capital under the policy; prices and wealth from econ.economy.markets.

    Returns the K path and, if ``record_every``, cross-sections of (k, a, c/a) every
    ``record_every`` kept periods plus the final period's arrays.  The rule is read at K
    clamped to the K grid (the kernels' ``_bracket``: held at its end value, never
    extrapolated; the finite-N rules fall steeply in K for large holders, and early
    iterations, whose law of motion is still wrong, can carry K far outside the grid).
    """
    T = z_path.shape[0]
    k = capital0.copy()
    K_path = np.empty(T)
    c = np.empty_like(k)
    bracket = np.zeros(k.shape, dtype=np.int64)
    z_values = params.technology
    lbar = params.labour_endowment
    records = []
    last = None
    for t in range(T):
        e = employed[t]
        m = markets(k, lbar * e, z_values[z_path[t]], alpha=params.alpha, delta=params.delta,
                    capital_productivity=kappa_i)
        K_path[t] = float(m.effective_capital)
        states = 2 * z_path[t] + e.astype(np.int64)
        kernels.consumption_at(k, K_path[t], states, types, k_grid, K_grid, consumption, c, bracket)
        wealth = m.wealth
        if record_every and t >= burn_in and (t - burn_in) % record_every == 0:
            records.append((k.copy(), wealth.copy(), c / wealth))
        if t == T - 1:
            last = (k.copy(), wealth.copy(), c.copy(), e.copy(), m)
        k = np.maximum(wealth - c, CAPITAL_FLOOR)
    return K_path, records, last, k
