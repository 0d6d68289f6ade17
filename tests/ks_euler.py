"""The household's Euler errors off the grids, shared by the Krusell-Smith tests (continuum and finite N)."""

import numpy as np

from econ.krusell_smith import _kernels as kernels


def euler_errors(sol, price_impact=None, num: int = 4000, seed: int = 7) -> tuple:
    """|1 - c / c_EE| at ``num`` households of ``sol``'s final cross-section, off the k and K grids.

    Capital is moved by up to 3 percent off each household's own, aggregate
    capital by up to 2 percent off the mean, and the aggregate state is drawn;
    the expectation uses the process the household solved with
    (``sol.household_params``) and the return with ``price_impact`` per type
    (default: the solution's own; zeros: the market return).  Returns
    (errors, types).
    """
    p, pol = sol.household_params, sol.policy
    price_impact = sol.price_impact if price_impact is None else price_impact
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, sol.household_capital.size, num)
    k = sol.household_capital[idx] * rng.uniform(0.97, 1.03, num)
    K = np.full(num, sol.mean_capital) * rng.uniform(0.98, 1.02, num)
    states = (2 * rng.integers(0, 2, num) + sol.household_employed[idx]).astype(np.int64)
    types = sol.household_types[idx].astype(np.int64)
    alm = np.array([sol.alm["bad"], sol.alm["good"]])
    out = np.empty(num)
    kernels.euler_residuals(k, K, states, types, pol.capital_grid, pol.aggregate_capital_grid, pol.consumption, alm,
                            p.technology, p.aggregate_labour, p.labour_endowment, np.asarray(p.capital_productivity),
                            p.transition, p.alpha, p.beta, p.delta, out, np.asarray(price_impact, dtype=float))
    return np.abs(out), types
