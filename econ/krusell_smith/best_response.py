"""A household's best response to a given law of motion, in a solved Krusell-Smith economy.

The equilibrium rule of :func:`econ.krusell_smith.solver.solve_krusell_smith`
is the household's best response to the law of motion that the rule itself
generates.  Other households (trained agents, say) generate another law; the
best response of one household to it is the same household problem, re-solved
with that law and everything else kept: the solution's grids, its employment
process (``household_params``: with exact unemployment counts at finite N, the
environment's), and its price impact phi / N per type (the others' reaction
measured under the equilibrium rules; with other households playing other
rules it is an approximation).

Comparing agents with it separates two questions that a comparison with the
equilibrium rule mixes: does each agent optimise, given what the others do,
and do the others do what the equilibrium says (docs/finite_n.md)?
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from econ.fixed_point import fixed_point
from econ.krusell_smith import _kernels as kernels
from econ.krusell_smith.law_of_motion import LAWS, as_array
from econ.krusell_smith.solution import HouseholdPolicy, KrusellSmithSolution


class BestResponse(NamedTuple):
    """The household's rule solved against ``alm`` (:func:`best_response`)."""

    policy: HouseholdPolicy
    """c(k, K; z, e, type) on the solution's grids."""
    alm: np.ndarray
    """The law of motion it is the best response to, ``alm[z_index] = (a, b[, c])``."""
    num_iter: int
    """EGM iterations from the solution's own rule."""
    distance: float
    """Sup-norm change of consumption in the last iteration (below ``household_tol``)."""


def best_response(solution: KrusellSmithSolution, alm, *, household_tol: float = 1e-9,
                  max_iter: int = 20_000) -> BestResponse:
    """Re-solve ``solution``'s household problem with the law of motion ``alm`` (see the module docstring).

    ``alm``: ``{"bad": (a, b), "good": (a, b)}`` (as ``solution.alm``) or an
    array ``[z_index] = (a, b)``, with a third coefficient per state for the
    quadratic law.  The endogenous grid method of the solver iterates from the
    solution's rule to ``household_tol`` (sup norm, consumption units); not
    converging raises :class:`econ.fixed_point.ConvergenceError`.  With
    ``alm = solution.alm`` it returns the solution's own rule.
    """
    if not isinstance(solution, KrusellSmithSolution):
        raise TypeError(f"solution must be a KrusellSmithSolution, got {type(solution).__name__}")
    alm = np.array(as_array(alm) if hasattr(alm, "keys") else alm, dtype=float)
    if alm.ndim != 2 or alm.shape[0] != 2 or alm.shape[1] not in LAWS.values():
        raise ValueError(f"alm must have shape (2, 2) or (2, 3) (per aggregate state: intercept, slope[, square]), "
                         f"got {alm.shape}")
    if not np.all(np.isfinite(alm)):
        raise ValueError(f"alm must be finite, got {alm.tolist()}")
    if not (isinstance(household_tol, float) and 0.0 < household_tol < 1e-3):
        raise ValueError(f"household_tol must be a float in (0, 1e-3), got {household_tol!r}")
    p, policy = solution.household_params, solution.policy
    k_grid, K_grid = policy.capital_grid, policy.aggregate_capital_grid
    kappa = np.asarray(p.capital_productivity, dtype=float)
    price_impact = np.asarray(solution.price_impact, dtype=float)
    buffer = np.empty_like(policy.consumption)
    endo_wealth, endo_capital = np.empty(k_grid.size), np.empty(k_grid.size)

    def step(c):
        kernels.egm_step(c, k_grid, K_grid, alm, p.technology, p.aggregate_labour, p.labour_endowment, kappa,
                         p.transition, p.alpha, p.beta, p.delta, buffer, endo_wealth, endo_capital, price_impact)
        return buffer.copy()

    result = fixed_point(step, policy.consumption.copy(), tol=household_tol, max_iter=max_iter,
                         name="Krusell-Smith best response (EGM)")
    return BestResponse(HouseholdPolicy(k_grid, K_grid, result.x, policy.wealth), alm, int(result.num_iter),
                        float(result.distance))
