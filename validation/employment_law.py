"""The benchmark's household problem with the employment law of the N-household environment.

The Krusell-Smith benchmark (:func:`econ.solve_krusell_smith`) solves the
household problem with the chain's probabilities of finding and losing a job,
P[(z, e), (z', e')], and the aggregate labour (1 - u_z) lbar of a continuum.
The environment keeps exactly round(u_z N) of its N households unemployed:
it draws every household from the chain and then re-assigns a random subset
(:func:`rl.core.step`).  At N = 20 that changes one household's law (an
unemployed household finds a job with probability 0.48 instead of 0.40 when
the state stays bad; the good state has 1 unemployed household of 20, 5
percent, not 4): the households of the environment face a different problem
than the benchmark solves.

:func:`environment_transition` is that law as a 4 x 4 matrix
(:func:`rl.core.shock_law`), and :func:`resolve_rule` re-solves a benchmark's
rule on its own grids with the benchmark's endogenous-grid step
(``econ.krusell_smith._kernels.egm_step``: Euler equation with the private
return at N) for another employment law, aggregate labour or law of motion,
returning a :class:`econ.krusell_smith.solver.KrusellSmithSolution` whose
rule :class:`validation.krusell_smith.KSBenchmarkActor` can play.  Only the
rule changes: the other fields (law of motion, Ginis, simulated means) stay
the benchmark's.  Use: docs/training.md (where the agents' remaining distance
comes from).
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from econ.experiments import Experiment
from econ.fixed_point import fixed_point
from econ.krusell_smith import _kernels as kernels
from econ.krusell_smith.solver import HouseholdPolicy, KrusellSmithSolution
from rl import core

RULE_TOL = 1e-9
"""Sup-norm tolerance of the re-solved rule's fixed point (consumption units), the solver's default household_tol."""


def environment_transition(experiment: Experiment) -> np.ndarray:
    """P[(z, e), (z', e')] (states 2 z + e, z = 0 bad, e = 0 unemployed) of one household in ``experiment``'s environment.

    P(z' | z) is the chain's; P(e' | z, e, z') is one household's marginal as
    the environment draws it (:func:`rl.core.shock_law`: with exact
    unemployment counts, after the re-assignment; otherwise the chain's).
    """
    law = core.shock_law(experiment)
    transition = np.empty((4, 4))
    for z in range(2):
        for e in range(2):
            for z_next in range(2):
                employed = law.employed[z, e, z_next]
                transition[2 * z + e, 2 * z_next + 1] = law.aggregate[z, z_next] * employed
                transition[2 * z + e, 2 * z_next] = law.aggregate[z, z_next] * (1.0 - employed)
    return transition


def environment_aggregate_labour(experiment: Experiment) -> np.ndarray:
    """L(z) = (1 - U_z / N) lbar with U_z = round(u_z N) under exact counts (else the chain's (1 - u_z) lbar)."""
    ks = experiment.ks
    if experiment.exact_unemployment:
        n = experiment.num_agents
        return (1.0 - np.floor(ks.unemployment_rates * n + 0.5) / n) * ks.labour_endowment
    return np.asarray(ks.aggregate_labour, dtype=float)


def resolve_rule(solution: KrusellSmithSolution, *, transition: Optional[np.ndarray] = None,
                 aggregate_labour: Optional[np.ndarray] = None, alm: Optional[np.ndarray] = None
                 ) -> KrusellSmithSolution:
    """``solution`` with its consumption rule re-solved for another employment law, aggregate labour or law of motion.

    Each of ``transition`` (4 x 4, rows summing to 1), ``aggregate_labour``
    (L for z = bad, good) and ``alm`` ((2, 2): (a, b) of log K' = a + b log K
    for z = bad, good) defaults to the solution's own; the rule is the fixed
    point of the benchmark's endogenous-grid step (with the solution's price
    impact 1/N) on the solution's grids, to :data:`RULE_TOL`, started from
    the solution's rule.  Raises ``econ.fixed_point.ConvergenceError`` if it
    does not converge.
    """
    params = solution.params
    transition = np.asarray(params.transition if transition is None else transition, dtype=float)
    if transition.shape != (4, 4) or not np.allclose(transition.sum(axis=1), 1.0, rtol=0, atol=1e-12) \
            or np.any(transition < 0):
        raise ValueError("transition must be a 4 x 4 matrix of probabilities whose rows sum to 1")
    labour = np.asarray(params.aggregate_labour if aggregate_labour is None else aggregate_labour, dtype=float)
    if labour.shape != (2,) or np.any(labour <= 0):
        raise ValueError(f"aggregate_labour must hold two positive numbers (z = bad, good), got {labour}")
    if alm is None:
        alm = np.array([solution.alm["bad"], solution.alm["good"]], dtype=float)
    alm = np.ascontiguousarray(alm, dtype=float)
    if alm.shape[0] != 2:
        raise ValueError(f"alm must have one row per aggregate state (bad, good), got shape {alm.shape}")
    policy = solution.policy
    k_grid, K_grid = policy.capital_grid, policy.aggregate_capital_grid
    kappa = np.asarray(params.capital_productivity, dtype=float)
    wealth = np.empty_like(policy.consumption)
    kernels.wealth_on_grid(k_grid, K_grid, params.technology, labour, params.labour_endowment, kappa, params.alpha,
                           params.delta, wealth)
    buffer = np.empty_like(wealth)
    endo_wealth, endo_capital = np.empty(k_grid.size), np.empty(k_grid.size)

    def step(consumption):
        kernels.egm_step(consumption, k_grid, K_grid, alm, params.technology, labour, params.labour_endowment, kappa,
                         transition, params.alpha, params.beta, params.delta, buffer, endo_wealth, endo_capital,
                         solution.price_impact)
        return buffer.copy()

    start = np.minimum(policy.consumption, wealth)
    result = fixed_point(step, start, tol=RULE_TOL, max_iter=20_000, name="re-solved Krusell-Smith rule")
    return dataclasses.replace(solution, policy=HouseholdPolicy(k_grid, K_grid, result.x, wealth))


__all__ = ["RULE_TOL", "environment_aggregate_labour", "environment_transition", "resolve_rule"]
