"""Young's (2010) non-stochastic simulation of the Krusell-Smith economy.

A continuum of households is described by a histogram: the mass
``mass[type, e, i]`` of households of capital-productivity type ``type`` and
employment ``e`` (0 unemployed, 1 employed) holding capital ``grid[i]``.
Given the household policy c(k, K; z, e, type) and one path of the aggregate
state z_0, ..., z_T, each period t

1. effective capital is K_t = sum_{type, e, i} kappa_type grid[i] mass[type, e, i];
   prices r = alpha z (K/L_z)^(alpha-1), w = (1-alpha) z (K/L_z)^alpha with
   L_z = (1 - u_z) lbar (a continuum: the unemployment rate is exactly u_z);
2. a household at node k saves k' = a - c(k, K_t; z_t, e, type),
   a = (1 - delta + kappa r) k + w lbar e, and its mass is split between the
   neighbouring nodes grid[j] <= k' < grid[j+1] in proportions that keep the
   mean, (grid[j+1] - k') / (grid[j+1] - grid[j]) to grid[j] (the "lottery");
3. employment moves by the Krusell-Smith chain conditional on the aggregate
   transition, P(e' | e, z_t, z_{t+1}) = P[(z_t, e), (z_{t+1}, e')] / pi(z_{t+1} | z_t).

There is no idiosyncratic sampling noise: the path of K is a deterministic
function of the policy, the starting histogram and the z path, so the
law-of-motion regression is smooth in the perceived law (Young 2010).  The
lottery conserves mass and mean capital exactly as long as k' stays below the
top node; mass that would go above is put on the top node and counted
(``SimulatedHistogram.mass_above_grid``).

Rule outside the aggregate-capital grid: the policy is evaluated at K clamped
to [K_grid[0], K_grid[-1]] (the kernels' ``_bracket``); the number of periods
where that happened is counted (``periods_outside_grid``).

Reference: Young, E. R. (2010). Solving the incomplete markets model with
aggregate uncertainty using the Krusell-Smith algorithm and non-stochastic
simulations. *Journal of Economic Dynamics and Control* 34(1), 36-41.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np
import quantecon as qe
from numba import njit

from econ.krusell_smith._kernels import _bracket, _walk, marginal_products
from econ.krusell_smith.law_of_motion import as_array, den_haan_decomposition, den_haan_errors
from econ.krusell_smith.params import KrusellSmithParams


@njit(cache=True)
def node_brackets(k_grid, grid):
    """(index, weight) of each histogram node ``grid[i]`` on the policy's ``k_grid`` (linear interpolation)."""
    n = grid.shape[0]
    node_index = np.empty(n, dtype=np.int64)
    node_weight = np.empty(n)
    j = 0
    for i in range(n):
        j, w = _walk(k_grid, grid[i], j)
        node_index[i] = j
        node_weight[i] = w
    return node_index, node_weight


@njit(cache=True)
def capital_moments(mass, kappa, grid):
    """(K, V): mean and cross-sectional variance of effective capital kappa k under ``mass[type, e, i]``."""
    K = 0.0
    second = 0.0
    for ty in range(mass.shape[0]):
        for e in range(2):
            for i in range(grid.shape[0]):
                x = kappa[ty] * grid[i]
                K += x * mass[ty, e, i]
                second += x * x * mass[ty, e, i]
    return K, second - K * K


@njit(cache=True)
def save_by_lottery(grid, k_next, m, saved_row, jn, diagnostics):
    """Put the mass ``m`` that saves ``k_next`` on the two nodes of ``grid`` around it (Young's lottery, weights
    linear in k), into ``saved_row``; k' < 0 saves 0, k' beyond the top node stays on it (its mass added to
    ``diagnostics[1]``).  ``jn``: the search's starting node; returns the lower node."""
    n = grid.size
    if k_next < 0.0:
        k_next = 0.0
    if k_next >= grid[n - 1]:
        if k_next > grid[n - 1]:
            diagnostics[1] += m
        jn, wn = n - 2, 1.0
    else:
        jn, wn = _walk(grid, k_next, jn)
    saved_row[jn] += m * (1.0 - wn)
    saved_row[jn + 1] += m * wn
    return jn


@njit(cache=True)
def move_employment(mass, saved, transition, z, zn, p_z):
    """Employment moves by P(e' | e, z, z'), independent of k: ``mass[e', i]`` from the saved masses ``saved[e, i]``."""
    for en in range(2):
        p_from_unemployed = transition[2 * z, 2 * zn + en] / p_z
        p_from_employed = transition[2 * z + 1, 2 * zn + en] / p_z
        for i in range(mass.shape[1]):
            mass[en, i] = p_from_unemployed * saved[0, i] + p_from_employed * saved[1, i]


@njit(cache=True)
def histogram_path(consumption, k_grid, K_grid, grid, z_path, z_values, L_values, labour_endowment, kappa,
                   transition, alpha, delta, mass, capital_path, variance_path, record_slot, records, diagnostics):
    """Move the histogram ``mass[type, e, i]`` along ``z_path`` (length T + 1) for T periods, in place.

    ``capital_path[t]`` (length T) receives K_t, ``variance_path[t]`` the
    cross-sectional variance of effective capital, sum kappa^2 k^2 mass - K_t^2;
    where ``record_slot[t] >= 0`` the period-t histogram (before saving) is copied to ``records[record_slot[t]]``.
    On return ``mass`` is the histogram of period T (capital chosen in T - 1,
    employment already moved to z_path[T]).  ``diagnostics[0]`` counts periods
    with K_t outside the K grid (policy evaluated at the clamped K),
    ``diagnostics[1]`` accumulates mass whose k' exceeded the top node.
    """
    num_types = mass.shape[0]
    n = grid.shape[0]
    T = capital_path.shape[0]
    node_index, node_weight = node_brackets(k_grid, grid)  # each histogram node on the policy's k grid
    saved = np.empty((2, n))  # mass by (e, k') after saving, before employment moves
    for t in range(T):
        z = z_path[t]
        zn = z_path[t + 1]
        K, V = capital_moments(mass, kappa, grid)
        capital_path[t] = K
        variance_path[t] = V
        if record_slot[t] >= 0:
            records[record_slot[t]] = mass
        if K < K_grid[0] or K > K_grid[-1]:
            diagnostics[0] += 1.0
        jK, wK = _bracket(K_grid, K)
        mpk, mpl = marginal_products(K, z_values[z], L_values[z], alpha)
        p_z = transition[2 * z, 2 * zn] + transition[2 * z, 2 * zn + 1]
        for ty in range(num_types):
            gross_return = 1.0 - delta + kappa[ty] * mpk
            saved[:] = 0.0
            for e in range(2):
                s = 2 * z + e
                labour_income = mpl * labour_endowment * e
                c_low = consumption[ty, s, jK]
                c_high = consumption[ty, s, jK + 1]
                jn = 0
                for i in range(n):
                    m = mass[ty, e, i]
                    if m == 0.0:
                        continue
                    jk, wk = node_index[i], node_weight[i]
                    c = (1.0 - wK) * ((1.0 - wk) * c_low[jk] + wk * c_low[jk + 1]) \
                        + wK * ((1.0 - wk) * c_high[jk] + wk * c_high[jk + 1])
                    jn = save_by_lottery(grid, gross_return * grid[i] + labour_income - c, m, saved[e], jn,
                                         diagnostics)
            move_employment(mass[ty], saved, transition, z, zn, p_z)


class SimulatedHistogram(NamedTuple):
    """Outcome of :func:`simulate_histogram`."""

    capital_path: np.ndarray
    """K_t, t = 0..T-1."""
    records: np.ndarray
    """Histograms [slot, type, e, i] of the requested periods (before saving)."""
    recorded_periods: np.ndarray
    """The period of each slot of ``records`` (ascending)."""
    final_mass: np.ndarray
    """Histogram of period T (the start of a continuation along z_path[T:])."""
    periods_outside_grid: int
    """Periods in which K_t lay outside the aggregate-capital grid (policy evaluated at the clamped K)."""
    mass_above_grid: float
    """Mass (summed over periods) whose saving exceeded the top node and was put on it."""
    capital_variance: np.ndarray
    """Cross-sectional variance of effective capital kappa k, t = 0..T-1 (the second moment of the distribution)."""


def aggregate_path(params: KrusellSmithParams, num_periods: int, rng: np.random.Generator,
                   previous: Optional[int] = None) -> np.ndarray:
    """z index path (0 bad, 1 good) from the aggregate chain; z_0 from the stationary law or pi(. | previous)."""
    Pz = params.aggregate_transition
    z = np.empty(num_periods, dtype=np.int64)
    if previous is None:
        stationary = qe.MarkovChain(Pz).stationary_distributions[0]
        z[0] = int(rng.random() < stationary[1])
    else:
        z[0] = int(rng.random() < Pz[int(previous), 1])
    for t in range(1, num_periods):
        z[t] = int(rng.random() < Pz[z[t - 1], 1])
    return z


def histogram_grid(top: float, num: int, power: float) -> np.ndarray:
    """Histogram nodes top (i / (num - 1))^power, i = 0..num-1 (dense near zero, first node 0)."""
    return top * np.linspace(0.0, 1.0, num) ** power


def lottery(values, weights, grid) -> np.ndarray:
    """Put each mass ``weights[m]`` at ``values[m]`` on the two neighbouring nodes of ``grid``, keeping its mean.

    Values beyond the grid go to the end node.  Returns the masses on the grid.
    """
    values = np.clip(np.asarray(values, dtype=float).ravel(), grid[0], grid[-1])
    weights = np.asarray(weights, dtype=float).ravel()
    j = np.clip(np.searchsorted(grid, values, side="right") - 1, 0, grid.size - 2)
    w = (values - grid[j]) / (grid[j + 1] - grid[j])
    out = np.zeros(grid.size)
    np.add.at(out, j, weights * (1.0 - w))
    np.add.at(out, j + 1, weights * w)
    return out


def initial_histogram(params: KrusellSmithParams, grid, capital: float, z0: int) -> np.ndarray:
    """Every household at ``capital``; type shares from ``params``; a share u_{z0} of each type unemployed."""
    u = params.unemployment_rates[int(z0)]
    point = lottery([capital], [1.0], grid)
    shares = np.asarray(params.type_shares)
    mass = np.empty((shares.size, 2, grid.size))
    mass[:, 0] = shares[:, None] * u * point
    mass[:, 1] = shares[:, None] * (1.0 - u) * point
    return mass


def regrid(mass, old_grid, new_grid) -> np.ndarray:
    """The histogram ``mass[type, e, i]`` on ``old_grid`` moved onto ``new_grid`` by lotteries (mass and mean kept)."""
    out = np.empty(mass.shape[:2] + (new_grid.size,))
    for ty in range(mass.shape[0]):
        for e in range(2):
            out[ty, e] = lottery(old_grid, mass[ty, e], new_grid)
    return out


def simulate_histogram(params: KrusellSmithParams, consumption, k_grid, K_grid, grid, z_path, initial_mass,
                       record_periods=()) -> SimulatedHistogram:
    """Young's non-stochastic simulation along ``z_path`` (T + 1 states: T periods and the last transition).

    ``consumption[type, state, iK, ik]`` is the policy on ``k_grid`` x ``K_grid``;
    ``initial_mass[type, e, i]`` the period-0 histogram on ``grid`` (not modified).
    """
    z_path = np.ascontiguousarray(z_path, dtype=np.int64)
    T = z_path.size - 1
    record_periods = np.unique(np.asarray(record_periods, dtype=np.int64))
    slot = np.full(T, -1, dtype=np.int64)
    slot[record_periods] = np.arange(record_periods.size)
    records = np.empty((record_periods.size,) + initial_mass.shape)
    mass = np.array(initial_mass, dtype=float)
    capital_path = np.empty(T)
    variance_path = np.empty(T)
    diagnostics = np.zeros(2)
    histogram_path(consumption, k_grid, K_grid, grid, z_path, params.technology, params.aggregate_labour,
                   params.labour_endowment, np.asarray(params.capital_productivity), params.transition, params.alpha,
                   params.delta, mass, capital_path, variance_path, slot, records, diagnostics)
    return SimulatedHistogram(capital_path, records, record_periods, mass, int(diagnostics[0]), float(diagnostics[1]),
                              variance_path)


class HistogramSummary(NamedTuple):
    """Distribution statistics of a simulated histogram (see :func:`summarise`)."""

    gini_wealth: float
    gini_capital: float
    lorenz_wealth: tuple
    lorenz_capital: tuple
    capital_by_type: tuple
    consumption_fraction_by_type: tuple
    final_cross_section: tuple
    """(k, a, c, type, employed, mass) of the occupied nodes in the last recorded period."""


def _nodes(params: KrusellSmithParams, policy, grid, mass, aggregate_capital: float, z: int):
    """Capital, wealth, consumption, type, employment and mass of every node (type, e, i) of one histogram."""
    num_types = mass.shape[0]
    kappa = np.asarray(params.capital_productivity)
    types = np.repeat(np.arange(num_types), 2 * grid.size)
    employed = np.tile(np.repeat(np.array([0, 1]), grid.size), num_types)
    capital = np.tile(grid, 2 * num_types)
    L = params.aggregate_labour[z]
    mpk, mpl = marginal_products(aggregate_capital, params.technology[z], L, params.alpha)
    wealth = (1.0 - params.delta + kappa[types] * mpk) * capital + mpl * params.labour_endowment * employed
    consumption = policy.evaluate(capital, aggregate_capital, 2 * z + employed, types)
    return capital, wealth, consumption, types, employed, mass.ravel()


def summarise(params: KrusellSmithParams, policy, grid, simulated: SimulatedHistogram, z_path, statistics_periods
              ) -> HistogramSummary:
    """Ginis and per-type means averaged over ``statistics_periods``, and the last recorded cross-section.

    Every period in ``statistics_periods`` must have been recorded.  The consumption fraction
    c / a at a = 0 (unemployed, no capital, where c = 0 too) is taken at the
    next node, as in :attr:`HouseholdPolicy.consumption_fraction`.
    """
    capital_path, periods = simulated.capital_path, simulated.recorded_periods
    if not np.all(np.isin(statistics_periods, periods)):
        raise ValueError("statistics_periods must be among the recorded periods of the simulation")
    ginis_w, ginis_k, by_type_k, by_type_f = [], [], [], []
    shares = np.asarray(params.type_shares)
    for slot, t in enumerate(periods):
        if not (t in statistics_periods or slot == periods.size - 1):
            continue
        k, a, c, types, e, m = _nodes(params, policy, grid, simulated.records[slot], capital_path[t], int(z_path[t]))
        if t not in statistics_periods:
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            f = (c / a).reshape(-1, grid.size)
        f[:, 0] = np.where(a.reshape(-1, grid.size)[:, 0] > 0, f[:, 0], f[:, 1])
        f = f.ravel()
        ginis_w.append(weighted_gini(a, m))
        ginis_k.append(weighted_gini(k, m))
        by_type_k.append([np.dot(k[types == ty], m[types == ty]) / shares[ty] for ty in range(shares.size)])
        by_type_f.append([np.dot(f[types == ty], m[types == ty]) / shares[ty] for ty in range(shares.size)])
    keep = m > 0  # the last recorded period
    last = (k[keep], a[keep], c[keep], types[keep], e[keep].astype(bool), m[keep])
    return HistogramSummary(
        gini_wealth=float(np.mean(ginis_w)),
        gini_capital=float(np.mean(ginis_k)),
        lorenz_wealth=weighted_lorenz(a, m),
        lorenz_capital=weighted_lorenz(k, m),
        capital_by_type=tuple(float(x) for x in np.mean(by_type_k, axis=0)),
        consumption_fraction_by_type=tuple(float(x) for x in np.mean(by_type_f, axis=0)),
        final_cross_section=last,
    )


def simulate_on_path(solution, z_path, histogram_points: int = 2000, grid_power: float = 3.0,
                     top: float = 4.0) -> SimulatedHistogram:
    """The continuum economy under a solution's policy along ``z_path`` (T + 1 states), T periods.

    Simulated by this module's histogram (``histogram_points`` nodes up to ``top``
    times the policy's capital grid) from the solution's final cross-section
    (each type's capital distribution, employment reset to u_{z_0}).  Works for
    a solution of either method.
    """
    params, policy = solution.params, solution.policy
    grid = histogram_grid(top * policy.capital_grid[-1], histogram_points, grid_power)
    u = params.unemployment_rates[int(z_path[0])]
    mass = np.empty((params.num_types, 2, grid.size))
    for ty in range(params.num_types):
        mine = solution.household_types == ty
        marginal = lottery(solution.household_capital[mine], solution.household_weights[mine], grid)
        marginal *= params.type_shares[ty] / marginal.sum()
        mass[ty, 0], mass[ty, 1] = u * marginal, (1.0 - u) * marginal
    return simulate_histogram(params, policy.consumption, policy.capital_grid, policy.aggregate_capital_grid,
                              grid, z_path, mass)


def capital_on_path(solution, z_path, **options) -> np.ndarray:
    """K_t, t = 0..T-1, of the continuum economy under a solution's policy along ``z_path`` (T + 1 states).

    See :func:`simulate_on_path` (``options``: ``histogram_points``, ``grid_power``, ``top``).
    """
    return simulate_on_path(solution, z_path, **options).capital_path


def den_haan_on_path(solution, z_path, burn_in: int, **options):
    """Den Haan's (2010) forecast errors of a solution's law of motion on a given z path (percent: max, mean).

    The "true" K path is :func:`capital_on_path` (the continuum under the
    solution's policy; ``options`` go there); the first ``burn_in`` periods
    are dropped, then log Khat_{t+1} = a_{z_t} + b_{z_t} log Khat_t (+ c_{z_t} (log Khat_t)^2) is iterated
    from the true K at ``burn_in``.  Any solution (histogram or panel method)
    is measured on the same path this way.
    """
    return den_haan_errors(as_array(solution.alm), capital_on_path(solution, z_path, **options),
                           np.asarray(z_path)[:-1], burn_in)


def den_haan_decomposition_on_path(solution, z_path, burn_in: int, law: Optional[str] = None, **options):
    """:func:`econ.krusell_smith.law_of_motion.den_haan_decomposition` of a solution's law on a given z path.

    The "true" K path is :func:`capital_on_path` (``options`` go there), as in
    :func:`den_haan_on_path`: (a) the solution's law, (b) the best law of the form ``law``
    (default: the solution's) fitted by OLS on that path itself, (c) = (a) - (b).
    """
    K_true = capital_on_path(solution, z_path, **options)
    return den_haan_decomposition(as_array(solution.alm), K_true, np.asarray(z_path)[:-1], burn_in, law)


def weighted_gini(values, weights) -> float:
    """Gini of a distribution with mass ``weights`` at ``values`` (>= 0): 1 - sum_i w_i (L_{i-1} + L_i), L the Lorenz curve.

    With equal weights it is the sample formula of :func:`econ.krusell_smith.solver.gini`.
    """
    people, share = weighted_lorenz(values, weights)
    return float(1.0 - np.sum(np.diff(people) * (share[1:] + share[:-1])))


def weighted_lorenz(values, weights):
    """Lorenz curve (population share, value share), both starting at 0, of mass ``weights`` at ``values``."""
    values = np.asarray(values, dtype=float).ravel()
    weights = np.asarray(weights, dtype=float).ravel()
    keep = weights > 0
    values, weights = values[keep], weights[keep]
    order = np.argsort(values, kind="stable")
    values, weights = values[order], weights[order]
    total = float(np.dot(values, weights))
    if values.size == 0 or total <= 0:
        raise ValueError("the Lorenz curve needs a distribution with positive mass and a positive total")
    people = np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
    share = np.concatenate([[0.0], np.cumsum(values * weights) / total])
    return people, share


__all__ = [
    "SimulatedHistogram",
    "aggregate_path",
    "capital_on_path",
    "simulate_on_path",
    "den_haan_decomposition_on_path",
    "den_haan_on_path",
    "histogram_grid",
    "histogram_path",
    "initial_histogram",
    "lottery",
    "regrid",
    "simulate_histogram",
    "weighted_gini",
    "weighted_lorenz",
]
