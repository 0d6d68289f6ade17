"""Consistent conjectures: how much of a household's own price impact the other households' reactions leave.

In an economy of N households, one household that holds one more unit of
capital in period t+1 raises effective aggregate capital K_{t+1} by kappa_i / N.
The open-loop household (``phi = 1`` below) counts only that period's price
change: the wedge of its private return, (kappa_i/N)(1 - alpha) r' (lbar e'/L' - kappa_i k'/K')
(docs/finite_n.md).  But the other households' rules see K: from t+2 on they
save differently (a higher K lowers the return and raises the wage), and
their response moves K again.  With the household's own later choices held
at its rule (by the envelope theorem their change is of second order), the
extra unit moves K_{t+1+s} by (kappa_i/N) D_s, where D_0 = 1 and, for s >= 1,
D_s is the others' accumulated response per unit of the impulse.  The
marginal value of the unit's price effects is then

    sum_{s >= 0} beta^s E[u'(c_{t+1+s}) dy_{t+1+s}/dK_{t+1+s} D_s],

y the household's income.  Holding u'(c) dy/dK at its t+1 value (it moves
slowly along the household's path) gives the open-loop wedge multiplied by

    phi = sum_{s >= 0} beta^s D_s = 1 + sum_{s >= 1} beta^s D_s,

the conjectural variation of Bresnahan (1981), here consistent: phi is
measured under the rules it produces (:func:`econ.krusell_smith.solver.solve_krusell_smith`
iterates the law of motion and phi together).  Others that save less when K
is higher (D_s < 0) give phi < 1: part of the own price impact is undone, so
the capital-rich households, whose wedge is negative, save more than the
open-loop rule says.  phi = 1 with no others (N = 1).

Measurement (:func:`others_response`): E economies of N households on seeded
shocks (:func:`econ.krusell_smith.panel.economy_shocks`) run ``burn_in``
periods under the rule; then each is simulated twice on the same shocks, once
as is and once with one household's capital raised by ``impulse`` x K N / kappa_i
(so that K rises by the fraction ``impulse``) and that household held on its
first path afterwards; D_s is the difference of the two K paths over the
impulse, averaged over the economies whose deviating household is of each
type.  The deviating household cycles through the types (the first household
of each).  Economies of more than ``MAX_HOUSEHOLDS`` households are measured
with that many (D_s is a property of the aggregate response; the wedge it
scales is already of order 1/N there).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from econ.krusell_smith import panel
from econ.krusell_smith.params import KrusellSmithParams

DEVIATING_ECONOMIES = 48
"""Economies simulated (each with one deviating household, the types in turn).  Measured on the solved
``ks-het-marked`` rule at N = 20: phi moves by at most 0.01 across shock seeds and by 0.004 between 48 and
192 economies or 300 and 2,000 burn-in periods (docs/finite_n.md)."""
BURN_IN = 300
"""Periods under the rule before the impulse (from every household at the representative capital)."""
HORIZON_TOL = 1e-3
"""The response is followed until beta^s falls below this (the neglected tail of sum beta^s D_s is below
1e-3 times the largest |D_s|, itself about 0.05)."""
IMPULSE = 1e-3
"""Size of the impulse, as a fraction of K (small enough to be linear, large enough for the kinks of the
piecewise-linear rule not to matter)."""
MAX_HOUSEHOLDS = 500
"""Economies with more households are measured with this many."""


class MeasurementShocks(NamedTuple):
    """The shocks of :func:`others_response` (drawn once per solve: the measurement uses common random numbers)."""

    z_path: np.ndarray
    """(BURN_IN + horizon, E) aggregate states."""
    employed: np.ndarray
    """(BURN_IN + horizon, E, n) employment."""


def measurement_shocks(params: KrusellSmithParams, n_agents: int, seed: int = 0) -> MeasurementShocks:
    """Shocks for :func:`others_response` in economies of ``n_agents`` households (at most ``MAX_HOUSEHOLDS``)."""
    n = min(int(n_agents), MAX_HOUSEHOLDS)
    num_types = len(_present_types(params, n))
    E = int(math.ceil(DEVIATING_ECONOMIES / num_types)) * num_types
    z_path, employed = panel.economy_shocks(params, E, n, BURN_IN + horizon(params.beta), np.random.default_rng(seed))
    return MeasurementShocks(z_path, employed)


def _present_types(params: KrusellSmithParams, n: int) -> list:
    types = params.household_types(n)
    return [t for t in range(len(params.capital_productivity)) if np.any(types == t)]


class OthersResponse(NamedTuple):
    """Outcome of :func:`others_response`."""

    phi: np.ndarray
    """phi per type (1 where the type has no household at this N)."""
    response: np.ndarray
    """D_s per type, (horizon, types): D_0 = 1, the others' accumulated response after."""
    n_households: int
    """Households per simulated economy (N, at most ``MAX_HOUSEHOLDS``)."""


@njit(cache=True)
def twin_paths(consumption, k_grid, K_grid, z_path, employed, types, kappa, z_values, labour_endowment, alpha,
               delta, base, shifted, deviator, out):
    """Move the economies ``base`` and ``shifted`` (capital (E, N) each) through the same shocks, in place.

    After each period the deviating household of economy e (``deviator[e]``)
    is put back on its ``base`` capital; ``out[t, e]`` receives K_t(shifted) - K_t(base).
    The period equations: :func:`econ.krusell_smith.panel.economies_period`.
    """
    T, E = z_path.shape
    N = base.shape[1]
    base_buffers = panel.economy_buffers(E, N)
    shifted_buffers = panel.economy_buffers(E, N)
    for t in range(T):
        panel.economies_period(consumption, k_grid, K_grid, z_path[t], employed[t], types, kappa, z_values,
                               labour_endowment, alpha, delta, base, base_buffers)
        panel.economies_period(consumption, k_grid, K_grid, z_path[t], employed[t], types, kappa, z_values,
                               labour_endowment, alpha, delta, shifted, shifted_buffers)
        for e in range(E):
            out[t, e] = shifted_buffers[3][e] - base_buffers[3][e]
            shifted[e, deviator[e]] = base[e, deviator[e]]


def horizon(beta: float) -> int:
    """Periods followed: the first s with beta^s < ``HORIZON_TOL``."""
    return int(math.ceil(math.log(HORIZON_TOL) / math.log(beta))) + 1


def others_response(params: KrusellSmithParams, consumption, k_grid, K_grid, n_agents: int, start_capital: float,
                    seed: int = 0, shocks: MeasurementShocks = None) -> OthersResponse:
    """phi per type for the rule ``consumption`` (on the grids ``k_grid``, ``K_grid``) in economies of
    ``n_agents`` households (see the module docstring); ``start_capital`` is the effective aggregate capital
    every economy starts from.  Deterministic in ``seed`` (or ``shocks``, from :func:`measurement_shocks`)."""
    n = min(int(n_agents), MAX_HOUSEHOLDS)
    types = params.household_types(n).astype(np.int64)
    num_types = len(params.capital_productivity)
    present = _present_types(params, n)
    phi = np.ones(num_types)
    H = horizon(params.beta)
    response = np.zeros((H, num_types))
    response[0] = 1.0
    if n == 1:  # nobody else to respond
        return OthersResponse(phi, response, n)
    z_path, employed = measurement_shocks(params, n, seed) if shocks is None else shocks
    E = z_path.shape[1]
    kappa = np.asarray(params.capital_productivity, dtype=float)
    kappa_i = kappa[types]
    capital0 = np.full((E, n), start_capital / params.mean_capital_productivity)
    warm = panel.simulate_economies(params, consumption, k_grid, K_grid, z_path[:BURN_IN], employed[:BURN_IN],
                                    capital0)
    base = warm.final_capital.copy()
    deviating_type = np.array([present[e % len(present)] for e in range(E)])
    deviator = np.array([int(np.argmax(types == t)) for t in deviating_type], dtype=np.int64)
    shifted = base.copy()
    K_start = np.mean(kappa_i[None, :] * base, axis=1)
    shifted[np.arange(E), deviator] += IMPULSE * K_start * n / kappa[deviating_type]
    out = np.empty((H, E))
    twin_paths(consumption, k_grid, K_grid, np.ascontiguousarray(z_path[BURN_IN:]),
               np.ascontiguousarray(employed[BURN_IN:]), types, kappa_i, np.asarray(params.technology, float),
               float(params.labour_endowment), float(params.alpha), float(params.delta), base, shifted, deviator, out)
    D = out / out[0]
    discount = params.beta ** np.arange(H)
    for t in present:
        response[:, t] = D[:, deviating_type == t].mean(axis=1)
        phi[t] = float(discount @ response[:, t])
    if not np.all(np.isfinite(phi)):
        raise FloatingPointError(f"others_response: non-finite phi {phi} (n_agents {n_agents})")
    return OthersResponse(phi, response, n)


__all__ = ["MeasurementShocks", "OthersResponse", "horizon", "measurement_shocks", "others_response", "twin_paths"]
