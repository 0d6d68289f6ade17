"""The Krusell-Smith economy with a two-moment law of motion (Krusell and Smith 1998, section IV).

Households believe that effective aggregate capital K and the cross-sectional
variance V of effective capital kappa k follow, per aggregate state z,

    log K' = a_z + b_z log K + c_z log V
    log V' = d_z + e_z log K + f_z log V                       (``coef[z_index, equation]``)

so the household's aggregate state is (K, V; z) and its consumption rule
c(k, K, V; z, e, type) lives on a grid of k x K x V (layout
``consumption[type, state, iK, iV, ik]``, ``state = 2 z_index + employed``).
Everything else is the log-linear solver's (:mod:`econ.krusell_smith.solver`):
the endogenous grid method on the Euler equation

    1 / c = beta E[(1 - delta + kappa r(K', z')) / c(k', K', V'; z', e') | z, e],

c linear in K and in V between nodes (bilinear), held at its value at the nearest
end beyond either aggregate grid (never extrapolated); Young's (2010) histogram
along one seeded path of z, each period K_t = sum kappa k mass and
V_t = sum (kappa k)^2 mass - K_t^2; OLS of both equations per z
(:func:`econ.krusell_smith.law_of_motion.fit_two_moment_law`), damped until the
predicted log K' and log V' move by less than ``tol`` on the aggregate grid.

The solve starts from the log-linear solution of the same seed (its policy,
repeated along V, its final cross-section, its K grid) on a path of z of its
own; the time reported includes that solve.  A continuum of price-taking
households only (``n_agents=None``), every calibration of
:class:`~econ.krusell_smith.params.KrusellSmithParams`.

Accuracy: den Haan's (2010) error of K with both moments forecast by the law
alone from the simulated K and V at the first kept period
(:func:`econ.krusell_smith.law_of_motion.two_moment_errors`).

References: Krusell and Smith (1998), JPE 106(5), section IV; Young (2010), JEDC
34(1); Carroll (2006), Econ. Letters 91(3); den Haan (2010), JEDC 34(1).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np
from numba import njit

from econ import checks
from econ.fixed_point import ConvergenceError, fixed_point
from econ.krusell_smith import histogram
from econ.krusell_smith._kernels import _bracket, _walk, marginal_products
from econ.krusell_smith.law_of_motion import fit_two_moment_law, two_moment_errors
from econ.krusell_smith.params import AGGREGATE_STATES, KrusellSmithParams

VARIANCE_MARGIN = 0.5
"""The V grid spans the simulated range of log V under the log-linear solution widened by this share of it on each
side: the two-moment iteration moves V little (V' is a function of the same distribution), and beyond the grid the
rule is held at its end value, so a grid that contains the ergodic set is all that is needed (checked after the
solve, as for K)."""
HOUSEHOLD_TOL_SHARE = 1e-2
"""Inner EGM tolerance as a share of the last outer step, as in :mod:`econ.krusell_smith.solver` (same reason)."""
HOUSEHOLD_TOL_CAP = 1e-5
"""Loosest inner EGM tolerance (consumption units)."""


@njit(cache=True)
def _next_moments(coef, zi, log_K, log_V):
    """(K', V') = exp of the two-moment law ``coef[zi]`` at (log K, log V)."""
    k = coef[zi, 0, 0] + coef[zi, 0, 1] * log_K + coef[zi, 0, 2] * log_V
    v = coef[zi, 1, 0] + coef[zi, 1, 1] * log_K + coef[zi, 1, 2] * log_V
    return np.exp(k), np.exp(v)


@njit(cache=True)
def egm_step_two_moment(consumption, k_grid, K_grid, V_grid, coef, z_values, L_values, labour_endowment, kappa,
                        transition, alpha, beta, delta, out, endo_wealth, endo_capital):
    """One endogenous-grid-method update of c(k, K, V; s, type), written into ``out`` (same layout).

    As :func:`econ.krusell_smith._kernels.egm_step` for the continuum, with tomorrow's
    (K', V') from the two-moment law and c(k'_j, K', V'; s') bilinear in (K, V) between nodes.
    """
    num_types, num_states, num_K, num_V, num_k = consumption.shape
    returns_next = np.empty(num_states)
    for t in range(num_types):
        for s in range(num_states):
            zi = s // 2
            employed = s % 2
            for m in range(num_K):
                for v in range(num_V):
                    K_next, V_next = _next_moments(coef, zi, np.log(K_grid[m]), np.log(V_grid[v]))
                    jK, wK = _bracket(K_grid, K_next)
                    jV, wV = _bracket(V_grid, V_next)
                    for sn in range(num_states):
                        mpk, mpl = marginal_products(K_next, z_values[sn // 2], L_values[sn // 2], alpha)
                        returns_next[sn] = 1.0 - delta + kappa[t] * mpk
                    endo_wealth[0] = 0.0
                    endo_capital[0] = 0.0
                    for j in range(1, num_k):
                        expectation = 0.0
                        for sn in range(num_states):
                            p = transition[s, sn]
                            if p > 0.0:
                                c_next = ((1.0 - wK) * ((1.0 - wV) * consumption[t, sn, jK, jV, j]
                                                        + wV * consumption[t, sn, jK, jV + 1, j])
                                          + wK * ((1.0 - wV) * consumption[t, sn, jK + 1, jV, j]
                                                  + wV * consumption[t, sn, jK + 1, jV + 1, j]))
                                expectation += p * returns_next[sn] / c_next
                        endo_wealth[j] = 1.0 / (beta * expectation) + k_grid[j]
                        endo_capital[j] = k_grid[j]
                    mpk, mpl = marginal_products(K_grid[m], z_values[zi], L_values[zi], alpha)
                    gross_return = 1.0 - delta + kappa[t] * mpk
                    labour_income = mpl * labour_endowment * employed
                    j = 0
                    for i in range(num_k):
                        wealth = gross_return * k_grid[i] + labour_income
                        j, w = _walk(endo_wealth, wealth, j)
                        k_next = (1.0 - w) * endo_capital[j] + w * endo_capital[j + 1]
                        if k_next < 0.0:
                            k_next = 0.0
                        out[t, s, m, v, i] = wealth - k_next


@njit(cache=True)
def histogram_path_two_moment(consumption, k_grid, K_grid, V_grid, grid, z_path, z_values, L_values,
                              labour_endowment, kappa, transition, alpha, delta, mass, capital_path, variance_path,
                              diagnostics):
    """Young's histogram moved along ``z_path`` (T + 1 states) for T periods under c(k, K, V; s, type), in place.

    As :func:`econ.krusell_smith.histogram.histogram_path` with the rule read at (K_t, V_t), bilinear between
    the aggregate nodes, clamped to the grids.  ``capital_path[t]``, ``variance_path[t]``: K_t and V_t;
    ``diagnostics[0]`` counts periods with K_t or V_t outside their grid, ``diagnostics[1]`` accumulates mass
    whose k' exceeded the top node (put on it).
    """
    num_types = mass.shape[0]
    n = grid.shape[0]
    T = capital_path.shape[0]
    node_index, node_weight = histogram.node_brackets(k_grid, grid)
    saved = np.empty((2, n))
    c_row = np.empty(k_grid.shape[0])
    for t in range(T):
        z = z_path[t]
        zn = z_path[t + 1]
        K, V = histogram.capital_moments(mass, kappa, grid)
        capital_path[t] = K
        variance_path[t] = V
        if K < K_grid[0] or K > K_grid[-1] or V < V_grid[0] or V > V_grid[-1]:
            diagnostics[0] += 1.0
        jK, wK = _bracket(K_grid, K)
        jV, wV = _bracket(V_grid, V)
        mpk, mpl = marginal_products(K, z_values[z], L_values[z], alpha)
        p_z = transition[2 * z, 2 * zn] + transition[2 * z, 2 * zn + 1]
        for ty in range(num_types):
            gross_return = 1.0 - delta + kappa[ty] * mpk
            saved[:] = 0.0
            for e in range(2):
                s = 2 * z + e
                labour_income = mpl * labour_endowment * e
                for ik in range(k_grid.shape[0]):  # the rule at today's (K, V) on the policy's k grid
                    c_row[ik] = ((1.0 - wK) * ((1.0 - wV) * consumption[ty, s, jK, jV, ik]
                                               + wV * consumption[ty, s, jK, jV + 1, ik])
                                 + wK * ((1.0 - wV) * consumption[ty, s, jK + 1, jV, ik]
                                         + wV * consumption[ty, s, jK + 1, jV + 1, ik]))
                jn = 0
                for i in range(n):
                    m = mass[ty, e, i]
                    if m == 0.0:
                        continue
                    jk, wk = node_index[i], node_weight[i]
                    c = (1.0 - wk) * c_row[jk] + wk * c_row[jk + 1]
                    jn = histogram.save_by_lottery(grid, gross_return * grid[i] + labour_income - c, m, saved[e],
                                                   jn, diagnostics)
            histogram.move_employment(mass[ty], saved, transition, z, zn, p_z)


def simulate(params: KrusellSmithParams, consumption, k_grid, K_grid, V_grid, grid, z_path, initial_mass):
    """(K path, V path, final histogram, periods outside the aggregate grids, mass above the top node) along
    ``z_path`` (T + 1 states) from ``initial_mass[type, e, i]`` (not modified)."""
    z_path = np.ascontiguousarray(z_path, dtype=np.int64)
    T = z_path.size - 1
    mass = np.array(initial_mass, dtype=float)
    K, V, diagnostics = np.empty(T), np.empty(T), np.zeros(2)
    histogram_path_two_moment(consumption, k_grid, K_grid, V_grid, grid, z_path, params.technology,
                              params.aggregate_labour, params.labour_endowment,
                              np.asarray(params.capital_productivity, dtype=float), params.transition, params.alpha,
                              params.delta, mass, K, V, diagnostics)
    return K, V, mass, int(diagnostics[0]), float(diagnostics[1])


@dataclass(frozen=True, eq=False)
class TwoMomentSolution:
    """Immutable outcome of :func:`solve_two_moment`."""

    params: KrusellSmithParams
    coefficients: np.ndarray = field(repr=False)
    """``coef[z_index, equation, :]``: equation 0 log K' and 1 log V' = (constant, log K, log V) coefficients."""
    alm: Mapping[str, tuple]
    """``{"good": (a, b, c), "bad": ...}``: log K' = a + b log K + c log V."""
    variance_law: Mapping[str, tuple]
    """``{"good": (d, e, f), "bad": ...}``: log V' = d + e log K + f log V."""
    r_squared: Mapping[str, tuple]
    """R^2 of the (log K', log V') regressions per aggregate state."""
    den_haan_max: float
    """Den Haan's error of K on the solve's own path, max over the kept periods (percent)."""
    den_haan_mean: float
    mean_capital: float
    capital_grid: np.ndarray = field(repr=False)
    aggregate_capital_grid: np.ndarray = field(repr=False)
    variance_grid: np.ndarray = field(repr=False)
    consumption: np.ndarray = field(repr=False)
    """c(k, K, V; state, type), layout ``[type, state, iK, iV, ik]``."""
    histogram_grid: np.ndarray = field(repr=False)
    final_mass: np.ndarray = field(repr=False)
    """Histogram ``[type, e, i]`` after the last simulated period (the start of a continuation)."""
    final_state: int
    """z index of the period that ``final_mass`` belongs to."""
    capital_path: np.ndarray = field(repr=False)
    variance_path: np.ndarray = field(repr=False)
    z_path: np.ndarray = field(repr=False)
    burn_in: int
    converged: bool
    num_iter: int
    """Outer iterations of the two-moment pass (the log-linear start's not included)."""
    alm_distance: float
    timings: Mapping[str, float]
    """Seconds: ``start`` (the log-linear solve), ``household``, ``simulation``, ``total``."""
    seed: int


def _mapping(rows) -> dict:
    return {state: tuple(float(x) for x in rows[zi]) for zi, state in reversed(list(enumerate(AGGREGATE_STATES)))}


def solve_two_moment(params: KrusellSmithParams, *, seed: int = 0, num_periods: int = 1_100, burn_in: int = 100,
                     num_variance: int = 5, damping: float = 0.5, tol: float = 1e-6, max_iter: int = 300,
                     household_tol: float = 1e-9, verbose: bool = False, **loglinear_options) -> TwoMomentSolution:
    """Solve the continuum Krusell-Smith economy with the two-moment law (see the module docstring).

    Parameters
    ----------
    params : KrusellSmithParams
    seed : int
        Seeds the log-linear start (``solve_krusell_smith(params, seed=seed)``) and, through
        ``numpy.random.default_rng([seed, 2])``, this pass's own path of z.
    num_periods, burn_in : int
        Periods of the pass's path and the first ones dropped from the regressions and den Haan's error.
    num_variance : int >= 2
        Nodes of the geometric V grid (see ``VARIANCE_MARGIN``).
    damping, tol, max_iter, household_tol
        As in :func:`econ.krusell_smith.solver.solve_krusell_smith`; ``tol`` bounds the change of the predicted
        log K' and log V' on the (K, V) grid.
    **loglinear_options
        Passed to the log-linear start (the histogram method's default solve), e.g. ``histogram_points``,
        ``num_aggregate``.  (A one-pass start to 1e-4 was measured slower overall: the two-moment pass then
        needed 10-31 iterations against 7-13.)
    """
    from econ.krusell_smith.solver import (HISTOGRAM_TOP, MASS_ABOVE_GRID_TOL,  # the solver imports nothing from here
                                           solve_krusell_smith)

    if not isinstance(params, KrusellSmithParams):
        raise TypeError(f"params must be a KrusellSmithParams, got {type(params).__name__}")
    num_periods = checks.positive_int("num_periods", num_periods, 10)
    burn_in = checks.positive_int("burn_in", burn_in, 0)
    if burn_in >= num_periods - 10:
        raise ValueError(f"burn_in must be below num_periods - 10, got {burn_in}")
    num_variance = checks.positive_int("num_variance", num_variance, 2)
    for key in ("method", "n_agents", "law"):
        if key in loglinear_options:
            raise ValueError(f"{key}: the two-moment law is solved for the continuum with the histogram; "
                             f"{key} cannot be set")
    start = time.perf_counter()
    base = solve_krusell_smith(params, seed=seed, method="histogram", **loglinear_options)
    timings = {"start": time.perf_counter() - start, "household": 0.0, "simulation": 0.0}
    policy = base.policy
    k_grid, K_grid = policy.capital_grid, policy.aggregate_capital_grid
    points = loglinear_options.get("histogram_points", 1000)
    power = loglinear_options.get("grid_power", 3.0)
    grid = histogram.histogram_grid(HISTOGRAM_TOP * k_grid[-1], points, power)
    num_types = params.num_types
    mass0 = np.zeros((num_types, 2, grid.size))
    for ty in range(num_types):
        for e in (0, 1):
            mine = (base.household_types == ty) & (base.household_employed == bool(e))
            mass0[ty, e] = histogram.lottery(base.household_capital[mine], base.household_weights[mine], grid)
    z0 = int(base.z_path[-1])  # the final cross-section is the last period of the log-linear solve's path
    rng = np.random.default_rng([seed, 2])
    z_ext = np.concatenate([[z0], histogram.aggregate_path(params, num_periods, rng, z0)])
    z_path = z_ext[:-1]

    # the log-linear policy on this path: the V grid and the starting two-moment law
    simulated = histogram.simulate_histogram(params, policy.consumption, k_grid, K_grid, grid, z_ext, mass0)
    K_start, V_start = simulated.capital_path, simulated.capital_variance
    log_v = np.log(V_start[burn_in:])
    spread = log_v.max() - log_v.min()
    V_grid = np.exp(np.linspace(log_v.min() - VARIANCE_MARGIN * spread, log_v.max() + VARIANCE_MARGIN * spread,
                                num_variance))
    coef, _ = fit_two_moment_law(K_start, V_start, z_path, burn_in)
    consumption = np.repeat(policy.consumption[:, :, :, None, :], num_variance, axis=3).copy()
    log_nodes = np.stack(np.meshgrid(np.log(K_grid), np.log(V_grid), indexing="ij"), axis=-1).reshape(-1, 2)
    regressors = np.column_stack([np.ones(log_nodes.shape[0]), log_nodes])
    buffer = np.empty_like(consumption)
    endo_wealth, endo_capital = np.empty(k_grid.size), np.empty(k_grid.size)
    kappa = np.asarray(params.capital_productivity, dtype=float)
    state = {"consumption": consumption, "distance": np.inf}

    def household(c_start, coef_now, inner_tol):
        def step(c):
            egm_step_two_moment(c, k_grid, K_grid, V_grid, coef_now, params.technology, params.aggregate_labour,
                                params.labour_endowment, kappa, params.transition, params.alpha, params.beta,
                                params.delta, buffer, endo_wealth, endo_capital)
            return buffer.copy()

        t0 = time.perf_counter()
        res = fixed_point(step, c_start, tol=inner_tol, max_iter=20_000, name="Krusell-Smith two-moment EGM")
        timings["household"] += time.perf_counter() - t0
        return res.x

    def run(c):
        t0 = time.perf_counter()
        out = simulate(params, c, k_grid, K_grid, V_grid, grid, z_ext, mass0)
        timings["simulation"] += time.perf_counter() - t0
        return out

    def update(x):
        coef_now = x.reshape(coef.shape)
        inner_tol = max(household_tol, min(HOUSEHOLD_TOL_CAP, HOUSEHOLD_TOL_SHARE * state["distance"]))
        state["consumption"] = household(state["consumption"], coef_now, inner_tol)
        K, V, *_ = run(state["consumption"])
        state["K"] = K
        return fit_two_moment_law(K, V, z_path, burn_in)[0].ravel()

    def distance(new, old):
        d = (new - old).reshape(coef.shape)
        return float(np.max(np.abs(np.einsum("zeq,nq->zen", d, regressors))))

    def report(iteration, x, dist):
        state["distance"] = dist
        if verbose:
            print(f"  two-moment iteration {iteration:3d}: step {dist:.2e}")

    try:
        res = fixed_point(update, coef.ravel(), tol=tol, max_iter=max_iter, damping=damping, distance=distance,
                          name="Krusell-Smith two-moment law", callback=report)
    except ConvergenceError as err:
        raise ConvergenceError(f"{err} [two-moment law, K grid {K_grid[0]:.3f}..{K_grid[-1]:.3f}, V grid "
                               f"{V_grid[0]:.3f}..{V_grid[-1]:.3f}]", err.result) from None
    coef = res.x.reshape(coef.shape)
    consumption = household(state["consumption"], coef, household_tol)
    K, V, final_mass, outside, above = run(consumption)
    kept = slice(burn_in, None)
    if outside and np.any((K[kept] < K_grid[0]) | (K[kept] > K_grid[-1]) | (V[kept] < V_grid[0])
                          | (V[kept] > V_grid[-1])):
        raise ValueError(f"num_variance/aggregate_width: the simulated (K, V) left the aggregate grid (K "
                         f"{K[kept].min():.4g}..{K[kept].max():.4g} on {K_grid[0]:.4g}..{K_grid[-1]:.4g}, V "
                         f"{V[kept].min():.4g}..{V[kept].max():.4g} on {V_grid[0]:.4g}..{V_grid[-1]:.4g})")
    if above / K.size > MASS_ABOVE_GRID_TOL:
        raise ValueError(f"capital_max: a mass of {above / K.size:.3g} per period saved beyond the top of the "
                         "histogram's capital grid; raise capital_max")
    _, r2 = fit_two_moment_law(K, V, z_path, burn_in)
    dh_max, dh_mean = two_moment_errors(coef, K, V, z_path, burn_in)
    timings["total"] = time.perf_counter() - start
    return TwoMomentSolution(
        params=params,
        coefficients=coef,
        alm=MappingProxyType(_mapping(coef[:, 0])),
        variance_law=MappingProxyType(_mapping(coef[:, 1])),
        r_squared=MappingProxyType(_mapping(r2)),
        den_haan_max=dh_max,
        den_haan_mean=dh_mean,
        mean_capital=float(np.mean(K[kept])),
        capital_grid=k_grid,
        aggregate_capital_grid=K_grid,
        variance_grid=V_grid,
        consumption=consumption,
        histogram_grid=grid,
        final_mass=final_mass,
        final_state=int(z_ext[-1]),
        capital_path=K,
        variance_path=V,
        z_path=z_path,
        burn_in=burn_in,
        converged=True,
        num_iter=res.num_iter,
        alm_distance=float(res.distance),
        timings=MappingProxyType(dict(timings)),
        seed=seed,
    )


def moments_on_path(solution: TwoMomentSolution, z_path, histogram_points: int = 2000, grid_power: float = 3.0):
    """(K_t, V_t), t = 0..T-1, of the continuum under a two-moment solution's rule along ``z_path`` (T + 1 states),
    from its final histogram (employment reset to u_{z_0}), on ``histogram_points`` nodes over the same range."""
    params = solution.params
    grid = histogram.histogram_grid(solution.histogram_grid[-1], histogram_points, grid_power)
    u = params.unemployment_rates[int(z_path[0])]
    mass = np.empty((params.num_types, 2, grid.size))
    for ty in range(params.num_types):
        marginal = histogram.lottery(solution.histogram_grid, solution.final_mass[ty].sum(axis=0), grid)
        mass[ty, 0], mass[ty, 1] = u * marginal, (1.0 - u) * marginal
    K, V, *_ = simulate(params, solution.consumption, solution.capital_grid, solution.aggregate_capital_grid,
                        solution.variance_grid, grid, z_path, mass)
    return K, V


def den_haan_on_path(solution: TwoMomentSolution, z_path, burn_in: int, **options):
    """Den Haan's error (max, mean, percent) of a two-moment solution's law on a given z path (T + 1 states), the
    continuum under its rule (:func:`moments_on_path`) being the truth."""
    K, V = moments_on_path(solution, z_path, **options)
    return two_moment_errors(solution.coefficients, K, V, np.asarray(z_path)[:-1], burn_in)


__all__ = [
    "TwoMomentSolution",
    "den_haan_on_path",
    "egm_step_two_moment",
    "histogram_path_two_moment",
    "moments_on_path",
    "simulate",
    "solve_two_moment",
]
