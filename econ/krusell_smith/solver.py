"""The Krusell-Smith (1998) economy solved by a log-linear (or quadratic) law of motion (docs/krusell_smith.md).

Households (log utility, inelastic labour lbar e, no unemployment benefit,
permanent capital productivity kappa) solve

    V(k, K; z, e) = max_{k' >= 0} log c + beta E[V(k', K'; z', e') | z, e]
    c + k' = a = (1 - delta + kappa r(K, z)) k + w(K, z) lbar e
    r = alpha z (K/L_z)^(alpha-1),  w = (1-alpha) z (K/L_z)^alpha,  L_z = (1 - u_z) lbar

believing that effective aggregate capital K = mean(kappa k) follows

    log K' = a_z + b_z log K                                       (the law of motion, ALM)

or, with ``law="quadratic"``, log K' = a_z + b_z log K + c_z (log K)^2
(:mod:`econ.krusell_smith.law_of_motion`: forms, OLS, den Haan's error and its decomposition).

The algorithm (Krusell and Smith 1998; Maliar, Maliar and Valli 2010):

1. Given the ALM, the endogenous grid method (Carroll 2006) iterates the
   Euler equation 1/c = beta E[(1 - delta + kappa r') / c'] to a fixed point
   on a grid of (k, K) for each (z, e, type) (kernel ``egm_step``).  With a
   finite number of households ``n_agents`` = N the return in it is each
   type's private return (own effect on next period's prices, net of the
   other households' reactions by the factor phi):
   1 - delta + kappa r' [1 + (phi (1-alpha)/N)(lbar e'/L' - kappa k'/K')],
   phi measured under the rule in N-household economies and iterated with
   the law of motion (:mod:`econ.krusell_smith.conjecture`), and the
   employment process that of N households with exact unemployment counts
   (:func:`econ.krusell_smith.panel.exact_count_params`).
2. The economy is simulated with the same shocks at every iteration (common
   random numbers), by default as Young's (2010) histogram of a continuum of
   households along one seeded path of z (:mod:`econ.krusell_smith.histogram`),
   or (``method="panel"``) as a panel of households (10,000 x 1,100 periods by
   default; exact unemployment counts round(u_z N), as KS panel simulations
   do), or (``method="economies"``, finite N) as many independent economies of
   exactly N households (:mod:`econ.krusell_smith.panel`); the Monte-Carlo
   methods call :mod:`econ.economy` -- the project's single implementation of
   the period equations -- for K, prices and wealth.  Each outer iteration
   warm-starts the EGM from the previous policy and solves it only as
   precisely as the outer step needs.
3. log K_{t+1} is regressed on log K_t (and its square) by OLS separately for z_t = bad, good
   (the first ``burn_in`` periods dropped); the ALM is damped towards the
   estimate until the predicted log K' moves by less than ``tol`` on the K grid
   (:func:`econ.fixed_point.fixed_point`).
4. The solve is repeated once from the previous pass's final cross-section
   (and with the K grid re-centred on the simulated mean), so that the
   reported distribution is not coloured by the degenerate initial one.

Accuracy: R^2 of the regressions and den Haan's (2010) dynamic forecast error:
iterate the ALM forward from the simulated K_0 on the simulated z path alone
and report 100 max_t |log Khat_t - log K_t| and its mean (percent).

Beyond the K grid a policy is held at its end value (never extrapolated in K);
a final simulation whose kept K leaves the grid raises ``ValueError``.

References: Krusell and Smith (1998), JPE 106(5); Young (2010), JEDC 34(1); Carroll (2006), Econ.
Letters 91(3); den Haan (2010), JEDC 34(1); Maliar, Maliar and Valli (2010),
JEDC 34(1).
"""

from __future__ import annotations

import time
from types import MappingProxyType
from typing import Optional

import numpy as np

from econ.krusell_smith import _kernels as kernels
from econ.krusell_smith import conjecture as conjecture_module
from econ.krusell_smith import histogram, panel
from econ import checks
from econ.krusell_smith.panel import gini, simulate_panel, simulate_shocks
from econ.fixed_point import ConvergenceError, fixed_point
from econ.krusell_smith.law_of_motion import (LAWS, as_mapping, den_haan_errors, estimate_alm, fit_alm,
                                              initial_law, predicted_change)
from econ.krusell_smith.params import KrusellSmithParams
from econ.krusell_smith.solution import HouseholdPolicy, KrusellSmithSolution

# ---------------------------------------------------------------------------- helpers




def _inside(kept_capital, K_grid) -> bool:
    return bool(np.all((kept_capital >= K_grid[0]) & (kept_capital <= K_grid[-1])))


def _check_inside_grids(kept_capital, K_grid, histogram_outcome=None):
    """Loud failure if the final simulation left the K grid (where the policy is held at the end value) or,
    with the histogram, pushed mass above the top capital node."""
    outside = int(np.sum((kept_capital < K_grid[0]) | (kept_capital > K_grid[-1])))
    if outside:
        raise ValueError(
            f"aggregate_width: the simulated K left the aggregate-capital grid {K_grid[0]:.4g}..{K_grid[-1]:.4g} in "
            f"{outside} of {kept_capital.size} kept periods (range {kept_capital.min():.4g}..{kept_capital.max():.4g}); "
            "widen aggregate_width")
    if histogram_outcome is not None:
        per_period = histogram_outcome.mass_above_grid / histogram_outcome.capital_path.size
        if per_period > MASS_ABOVE_GRID_TOL:
            raise ValueError(
                f"capital_max: a mass of {per_period:.3g} per period saved beyond the top of the histogram's capital "
                "grid; raise capital_max")


def _aggregate_grid(center: float, width: float, num: int) -> np.ndarray:
    return np.geomspace(center * (1.0 - width), center * (1.0 + width), num)


def representative_capital(params: KrusellSmithParams) -> float:
    """Deterministic steady-state effective capital of the representative agent with mean kappa (a grid centre)."""
    mpk = (1.0 / params.beta - 1.0 + params.delta) / params.mean_capital_productivity
    L = float(np.mean(params.aggregate_labour))
    return L * (params.alpha / mpk) ** (1.0 / (1.0 - params.alpha))


# ---------------------------------------------------------------------------- solver

SIMULATION_METHODS = ("histogram", "panel", "economies")
"""Distribution methods of :func:`solve_krusell_smith`."""
DEFAULT_METHOD = {False: "histogram", True: "histogram"}
"""The method used when ``method=None``, by whether ``n_agents`` is finite."""
DEFAULT_PERIODS_NOTE = """Both methods default to Krusell and Smith's 1,100 periods (first 100 dropped).  A longer
histogram path fits the law on more z variation: on ks-1998, seeds 0-3, den Haan's error on one common
10,000-period path (the continuum on 2,000 histogram nodes; max / mean, averaged over the seeds) is 0.206% / 0.061% with 1,000 kept periods,
0.190% / 0.055% with 5,000 and 0.174% / 0.051% with 10,000 (the best log-linear law fitted on that path
itself: 0.162% / 0.048%).  In the typed calibrations a longer path is worse: from the degenerate start the
upper wealth tail of the high-kappa type keeps growing for thousands of periods, so K drifts (ks-het-marked,
5,100 periods: den Haan max 0.45% on its own path against 0.09% with 1,100)."""

HOUSEHOLD_TOL_SHARE = 1e-2
"""Inner EGM tolerance during the outer iteration, as a share of the last law-of-motion step (predicted log K').
A consumption error eps moves the simulated log K by about eps / (K (1 - b)) ~ 2 eps in ks-1998, so 1% of
the step keeps the inner error well below the outer one; the final law is always solved to household_tol."""
CONJECTURES = ("consistent", "open-loop")
"""What a finite-N household believes its saving does to future K (:mod:`econ.krusell_smith.conjecture`)."""
PHI_STEP_MIN = 1.0 / 16.0
"""Smallest share of the measured step that phi takes in one outer iteration (see ``phi_step`` in the solver)."""
PHI_TOL = 1e-3
"""The consistent phi is converged when an outer step moves it by less than this (the wedge it scales is
already of order 1/N: at N = 20 this is a change of the private return below 1e-6)."""
EXTRA_PASSES = 3
"""Passes beyond ``passes`` allowed while the final simulation's kept K leaves the (re-centred) K grid: a
distribution far from the ergodic one (ks-het-marked from a degenerate start) drifts for more than one pass.
Still outside after them, the solver raises (``_check_inside_grids``)."""
HISTOGRAM_TOP = 4.0
"""The histogram's capital grid spans HISTOGRAM_TOP times the policy's (the consumption rule, asymptotically
linear in wealth, is extrapolated linearly in k above its grid, as for panel households there).  Where
beta (1 - delta + kappa r) > 1 in good times (the kappa = 1.5 type of ks-het-marked) wealth has a long upper
tail that keeps growing for thousands of periods: over 5,100 periods a mass of 7e-5 per period went beyond
the policy's top (30 K) and 1.2e-6 beyond twice that."""
MASS_ABOVE_GRID_TOL = 1e-7
"""Histogram mass per period (average over the final simulation) allowed to save beyond the top capital node.
The lottery puts it on the top node, so K is understated by at most this mass times the overshoot (a few
percent of the top, 120 K): below 1e-6 K."""
HOUSEHOLD_TOL_CAP = 1e-5
"""Loosest inner EGM tolerance (consumption units), used while the law of motion is still far off."""


def _resolve_method(method, n_agents, num_households):
    """The distribution method (None: ``DEFAULT_METHOD``) and the number of economies (0 unless "economies")."""
    method = DEFAULT_METHOD[n_agents is not None] if method is None else method
    if method not in SIMULATION_METHODS:
        raise ValueError(f"method must be None or one of {SIMULATION_METHODS}, got {method!r}")
    return method, (panel.number_of_economies(n_agents, num_households) if method == "economies" else 0)


def solve_krusell_smith(
    params: KrusellSmithParams,
    n_agents: Optional[int] = None,
    *,
    num_households: int = 10_000,
    num_periods: int = 1_100,
    burn_in: int = 100,
    seed: int = 0,
    damping: float = 0.5,
    tol: float = 1e-6,
    max_iter: int = 300,
    household_tol: float = 1e-9,
    num_capital: int = 200,
    capital_max: float = 30.0,
    grid_power: float = 3.0,
    num_aggregate: int = 7,
    aggregate_width: float = 0.15,
    passes: int = 2,
    pass_tol: float = 1e-4,
    initial_alm: Optional[np.ndarray] = None,
    method: Optional[str] = None,
    histogram_points: int = 1000,
    law: str = "loglinear",
    conjecture: str = "consistent",
    exact_unemployment: bool = True,
    verbose: bool = False,
) -> KrusellSmithSolution:
    """Solve the Krusell-Smith economy for its (log-linear by default) law of motion (see the module docstring).

    Parameters
    ----------
    params : KrusellSmithParams
    n_agents : int >= 1 or None
        Number of households that share the economy and move its prices.
        ``None`` (default): a continuum of price-taking households (Krusell
        and Smith 1998).  An integer N: each household knows that its own
        saving moves next period's prices (dK'/dk'_i = kappa_i / N) and uses
        its private gross return in the Euler equation,
        R_i' = 1 - delta + kappa_i r' [1 + ((1-alpha)/N)(lbar e'/L' - kappa_i k'_i/K')]
        times phi (``conjecture``).  Which population's law of motion it takes
        as given: ``method``.
    conjecture : {"consistent", "open-loop"}
        Finite N only: the multiplier phi of the own price impact.
        ``"open-loop"``: phi = 1 (the own effect on next period's prices only;
        the law of motion and the others' rules taken as given).
        ``"consistent"`` (default): phi per type = sum_s beta^s D_s, the own
        effect net of the other households' reactions to it, measured under
        the solved rules in economies of N households and iterated together
        with the law of motion to a joint fixed point
        (:mod:`econ.krusell_smith.conjecture`, docs/finite_n.md).
    exact_unemployment : bool
        Finite N only: the N-household economy keeps exactly floor(u_z N + 1/2)
        households unemployed after each draw (the multi-agent environment's
        default), so its households face the unemployment rates and the
        employment transition of :func:`econ.krusell_smith.panel.exact_count_params`
        (shorter spells at N = 20), not the calibration's: the household
        problem and the histogram or panel use those (``household_params`` of
        the result); the N-household economies draw from the calibration and
        enforce the counts.  False: the calibration's, as in the continuum.
    num_households, num_periods, burn_in : int
        Panel size (``num_households`` only for the panel); the first ``burn_in``
        periods are dropped from the regression.  With the histogram every pass
        but the last simulates at most ``burn_in + 1000`` periods (it only finds
        a start); see ``DEFAULT_PERIODS_NOTE`` on longer paths.
    seed : int
        Seeds the one ``numpy.random.Generator`` that draws every shock.
    damping : float in [0, 1)
        Weight on the old law of motion in each update.
    tol : float
        Stop when the predicted log K' changes by less than ``tol`` on the K grid.
    max_iter : int
        Outer iterations per pass; reaching it raises ``ConvergenceError``.
    household_tol : float
        Sup-norm tolerance of the EGM fixed point (consumption units).
    num_capital, capital_max, grid_power : grid of individual capital,
        k_i = capital_max * K_centre * (i / (n-1))^grid_power.
    num_aggregate, aggregate_width : grid of K, geometric on K_centre (1 -/+ width).
    passes : int >= 1
        Solves, each starting from the previous one's final cross-section and
        ALM with the K grid re-centred on the simulated mean; up to
        ``EXTRA_PASSES`` more while the last one's kept K leaves its K grid
        (outside the K grid the policy is held at its end value; still outside
        after them, ``ValueError`` naming ``aggregate_width``).
    pass_tol : float
        Tolerance of every pass but the last (only a starting point for the next).
    initial_alm : array (2, 2) or, with the quadratic law, (2, 3), optional
        Starting law of motion ``[[a_bad, b_bad], [a_good, b_good]]`` (a missing quadratic column is 0).
    method : {"histogram", "panel", "economies"} or None
        How the economy is simulated: Young's (2010) non-stochastic histogram
        of a continuum of households along one seeded path of z
        (:mod:`econ.krusell_smith.histogram`; ``num_households`` unused); the
        panel of ``num_households`` households; or (finite ``n_agents`` only)
        num_households // n_agents independent economies of exactly N
        households, each with its own z path, pooled in the regression
        (:mod:`econ.krusell_smith.panel`): the law of motion of K in the
        N-household economy itself.  The first two describe a large population
        playing the price-impact rule.  None: ``DEFAULT_METHOD``.
    histogram_points : int
        Nodes of the histogram's capital grid (same range and spacing rule as the policy's).
    law : {"loglinear", "quadratic"}
        Form of the law of motion: log K' = a_z + b_z log K (Krusell and Smith 1998), or with a
        quadratic term c_z (log K)^2 added, estimated by OLS per z like the log-linear one and
        used by the household (its forecast of K' in the EGM step) and in den Haan's error.
    """
    if not isinstance(params, KrusellSmithParams):
        raise TypeError(f"params must be a KrusellSmithParams, got {type(params).__name__}")
    n_agents = checks.n_agents_or_continuum("n_agents", n_agents)
    conjecture = checks.one_of("conjecture", conjecture, CONJECTURES)
    if not isinstance(exact_unemployment, bool):
        raise TypeError(f"exact_unemployment must be a bool, got {exact_unemployment!r}")
    num_households = checks.positive_int("num_households", num_households, 2)
    num_periods = checks.positive_int("num_periods", num_periods, 10)
    burn_in = checks.positive_int("burn_in", burn_in, 0)
    if burn_in >= num_periods - 10:
        raise ValueError(f"burn_in must be below num_periods - 10, got {burn_in}")
    passes = checks.positive_int("passes", passes)
    num_capital = checks.positive_int("num_capital", num_capital, 10)
    num_aggregate = checks.positive_int("num_aggregate", num_aggregate, 2)
    method, n_economies = _resolve_method(method, n_agents, num_households)
    histogram_points = checks.positive_int("histogram_points", histogram_points, 10)
    law = checks.one_of("law", law, tuple(LAWS))

    start = time.perf_counter()
    timings = {"household": 0.0, "simulation": 0.0}
    rng = np.random.default_rng(seed)
    calibration = params  # N-household economies draw from it; the household's beliefs below
    if n_agents is not None and exact_unemployment:
        params = panel.exact_count_params(calibration, n_agents)
    types = params.household_types(num_households).astype(np.int64)
    kappa_i = np.asarray(params.capital_productivity)[types]
    kappa = np.asarray(params.capital_productivity)
    P = params.transition
    z_values, L_values = params.technology, params.aggregate_labour
    lbar, alpha, beta, delta = params.labour_endowment, params.alpha, params.beta, params.delta

    center = representative_capital(params)
    capital0 = np.full(num_households if method != "economies" else (n_economies, n_agents),
                       center / params.mean_capital_productivity)
    alm = initial_law(center, initial_alm, law)
    # phi per type (module econ.krusell_smith.conjecture): 1 open loop; measured with the law when consistent
    phi = np.ones(kappa.size) if n_agents is not None else np.zeros(kappa.size)
    consistent = n_agents is not None and conjecture == "consistent"
    shocks = conjecture_module.measurement_shocks(calibration, n_agents, seed) if consistent else None
    z0, employed0 = None, None
    mass_end = previous_grid = None
    consumption = None
    total_iter = 0

    pass_index = 0
    while True:  # ``passes`` passes, and up to EXTRA_PASSES more while the kept K leaves the re-centred grid
        K_grid = _aggregate_grid(center, aggregate_width, num_aggregate)
        k_grid = capital_max * center * np.linspace(0.0, 1.0, num_capital) ** grid_power
        wealth = np.empty((kappa.size, 4, num_aggregate, num_capital))
        kernels.wealth_on_grid(k_grid, K_grid, z_values, L_values, lbar, kappa, alpha, delta, wealth)
        if consumption is None or consumption.shape != wealth.shape:
            consumption = wealth.copy()  # "last period": consume everything
        else:  # warm start: previous consumption rule as a fraction of wealth
            consumption = np.minimum(consumption, wealth)
        if method == "histogram":
            pass_periods = num_periods if pass_index >= passes - 1 else min(num_periods, burn_in + 1_000)
            hist_grid = histogram.histogram_grid(HISTOGRAM_TOP * k_grid[-1], histogram_points, grid_power)
            if mass_end is None:
                z_ext = histogram.aggregate_path(params, pass_periods + 1, rng)
                mass0 = histogram.initial_histogram(params, hist_grid, capital0[0], z_ext[0])
            else:  # continue from the previous pass's final histogram and aggregate state
                z_ext = np.concatenate([[z0], histogram.aggregate_path(params, pass_periods, rng, z0)])
                mass0 = histogram.regrid(mass_end, previous_grid, hist_grid)
            z_path = z_ext[:-1]
        elif method == "economies":  # continuing: from the previous pass's last period
            z_path, employed = panel.economy_shocks(calibration, n_economies, n_agents, num_periods + (z0 is not None),
                                                    rng, z0, employed0)
            z_path, employed = z_path[-num_periods:], employed[-num_periods:]
        elif z0 is None:
            z_path, employed = simulate_shocks(params, num_households, num_periods, rng)
        else:  # continue the chain from the previous pass's last period
            z_path, employed = simulate_shocks(params, num_households, num_periods + 1, rng, z0, employed0)
            z_path, employed = z_path[1:], employed[1:]
        buffer = np.empty_like(consumption)
        endo_wealth = np.empty(num_capital)
        endo_capital = np.empty(num_capital)
        log_K_grid = np.log(K_grid)

        def household(alm_now, phi_now, c_start, inner_tol=household_tol):
            price_impact = np.zeros(kappa.size) if n_agents is None else phi_now / n_agents

            def step(c):
                kernels.egm_step(c, k_grid, K_grid, alm_now, z_values, L_values, lbar, kappa, P, alpha, beta,
                                 delta, buffer, endo_wealth, endo_capital, price_impact)
                return buffer.copy()

            t0 = time.perf_counter()
            res = fixed_point(step, c_start, tol=inner_tol, max_iter=20_000, name="Krusell-Smith EGM")
            timings["household"] += time.perf_counter() - t0
            return res.x

        def simulate(c, record_every=0):
            """K path of the simulation under the policy c, and the method's own outcome."""
            t0 = time.perf_counter()
            if method == "histogram":
                last_period = z_ext.size - 2
                recorded = np.arange(burn_in, last_period + 1, record_every) if record_every else np.arange(0)
                if record_every:
                    recorded = np.append(recorded, last_period)  # the final cross-section
                outcome = histogram.simulate_histogram(params, c, k_grid, K_grid, hist_grid, z_ext, mass0, recorded)
                K_path = outcome.capital_path
            elif method == "economies":
                recorded = np.append(np.arange(burn_in, num_periods - 1, record_every), num_periods - 1) \
                    if record_every else ()
                outcome = panel.simulate_economies(params, c, k_grid, K_grid, z_path, employed, capital0, recorded)
                K_path = outcome.capital_path
            else:
                K_path, *outcome = simulate_panel(params, c, k_grid, K_grid, z_path, employed, types, kappa_i,
                                                     capital0, record_every=record_every, burn_in=burn_in)
            timings["simulation"] += time.perf_counter() - t0
            return K_path, outcome

        state = {"consumption": consumption, "distance": np.inf, "phi_share": 1.0, "phi_step": np.zeros(kappa.size)}

        def update(x):
            alm_now, phi_now = x[:alm.size].reshape(alm.shape), x[alm.size:]
            # Warm start from the previous iteration's policy; solved only as precisely as the outer step needs
            # (HOUSEHOLD_TOL_SHARE of the last law-of-motion step), to household_tol at the final law.
            inner_tol = max(household_tol, min(HOUSEHOLD_TOL_CAP, HOUSEHOLD_TOL_SHARE * state["distance"]))
            state["consumption"] = household(alm_now, phi_now, state["consumption"], inner_tol)
            K_path, _ = simulate(state["consumption"])
            new_alm, _ = estimate_alm(K_path, z_path, burn_in, law)
            state["K_path"] = K_path
            new_phi = phi_step(phi_now, measure(state["consumption"]).phi) if consistent else phi_now
            return np.concatenate([new_alm.ravel(), new_phi])

        def phi_step(phi_now, measured):
            """phi's share of the step: halved (down to PHI_STEP_MIN) each time a type's step changes sign, so that
            a measurement that moves steeply with the rule (kinks of the interpolated rule, felt most at small N)
            cannot hold the iteration in a two-cycle; at the fixed point measured = phi_now either way."""
            step = measured - phi_now
            if np.any(step * state["phi_step"] < 0.0):
                state["phi_share"] = max(PHI_STEP_MIN, 0.5 * state["phi_share"])
            state["phi_step"] = step
            return phi_now + state["phi_share"] * step

        def measure(c):
            t0 = time.perf_counter()
            out = conjecture_module.others_response(calibration, c, k_grid, K_grid, n_agents, center, seed, shocks)
            timings["conjecture"] = timings.get("conjecture", 0.0) + time.perf_counter() - t0
            return out

        def distance(new, old):  # the law's step in log K', and phi's step on the scale of PHI_TOL / tol
            step = predicted_change(new[:alm.size].reshape(alm.shape), old[:alm.size].reshape(alm.shape), log_K_grid)
            return max(step, float(np.max(np.abs(new[alm.size:] - old[alm.size:]), initial=0.0)) * tol / PHI_TOL)

        def report(iteration, x, dist):
            state["distance"] = dist
            if verbose:
                print(f"  pass {pass_index + 1} iteration {iteration:3d}: step {dist:.2e}  alm {np.round(x[:alm.size], 5)}"
                      + (f"  phi {np.round(x[alm.size:], 4)}" if consistent else ""))

        try:
            final_pass = pass_index >= passes - 1
            res = fixed_point(update, np.concatenate([alm.ravel(), phi]), tol=tol if final_pass else max(tol, pass_tol), max_iter=max_iter, damping=damping,
                              distance=distance, name="Krusell-Smith law of motion", callback=report)
        except ConvergenceError as err:
            raise ConvergenceError(
                f"{err} [pass {pass_index + 1}, n_agents {n_agents}, calibration beta={beta}, lbar={lbar}, kappa={params.capital_productivity}; "
                f"K grid {K_grid[0]:.3f}..{K_grid[-1]:.3f}; last simulated mean K "
                f"{np.mean(state.get('K_path', [np.nan])[burn_in:]):.3f}]", err.result) from None
        total_iter += res.num_iter
        alm, phi = res.x[:alm.size].reshape(alm.shape), res.x[alm.size:]
        # The fixed point's policy and simulation belong to the last undamped step; redo both at the final ALM.
        consumption = household(alm, phi, state["consumption"])
        K_path, outcome = simulate(consumption, record_every=10)
        # next pass: start where this one ended, grid centred on the simulated mean
        if method == "histogram":
            mass_end, previous_grid, z0 = outcome.final_mass, hist_grid, int(z_ext[-1])
        elif method == "economies":
            capital0, z0, employed0 = outcome.final_capital, z_path[-1].copy(), employed[-1].copy()
        else:
            records, last, k_end = outcome
            capital0 = k_end
            z0, employed0 = int(z_path[-1]), employed[-1].copy()
        center = float(np.mean(K_path[burn_in:]))
        pass_index += 1
        if pass_index >= passes and (_inside(K_path[burn_in:], K_grid) or pass_index >= passes + EXTRA_PASSES):
            break
    _check_inside_grids(K_path[burn_in:], K_grid, outcome if method == "histogram" else None)

    fitted, r2 = estimate_alm(K_path, z_path, burn_in, law)
    if method == "economies":  # each economy's own forecast error: the worst, and the mean over economies
        errors = np.array([den_haan_errors(alm, K_path[:, e], z_path[:, e], burn_in) for e in range(n_economies)])
        dh_max, dh_mean = float(errors[:, 0].max()), float(errors[:, 1].mean())
    else:
        dh_max, dh_mean = den_haan_errors(alm, K_path, z_path, burn_in)
    policy = HouseholdPolicy(k_grid, K_grid, consumption, wealth)
    if method == "histogram":
        summary = histogram.summarise(params, policy, hist_grid, outcome, z_path, np.arange(burn_in, z_path.size, 10))
    elif method == "economies":
        summary = panel.summarise_economies(params, outcome, employed[-1])
    else:
        summary = panel.summarise_panel(params, *outcome[:2])
    k_last, a_last, c_last, types, e_last, weights = summary.final_cross_section
    gini_w, gini_k = summary.gini_wealth, summary.gini_capital
    capital_by_type, fraction_by_type = summary.capital_by_type, summary.consumption_fraction_by_type
    lorenz_w, lorenz_k = summary.lorenz_wealth, summary.lorenz_capital
    timings["total"] = time.perf_counter() - start
    return KrusellSmithSolution(
        params=calibration,
        household_params=params,
        alm=MappingProxyType(as_mapping(alm)),
        r_squared=MappingProxyType({"good": float(r2[1]), "bad": float(r2[0])}),
        den_haan_max=dh_max,
        den_haan_mean=dh_mean,
        gini_wealth=gini_w,
        gini_capital=gini_k,
        lorenz_wealth=lorenz_w,
        lorenz_capital=lorenz_k,
        mean_capital=float(np.mean(K_path[burn_in:])),
        capital_by_type=capital_by_type,
        consumption_fraction_by_type=fraction_by_type,
        policy=policy,
        capital_path=K_path,
        z_path=z_path,
        burn_in=burn_in,
        household_capital=k_last,
        household_wealth=a_last,
        household_consumption=c_last,
        household_types=types,
        household_employed=e_last,
        household_weights=weights,
        method=method,
        converged=True,
        num_iter=total_iter,
        alm_distance=float(res.distance),
        timings=MappingProxyType(dict(timings)),
        seed=seed,
        n_agents=n_agents,
        law=law,
        conjecture=None if n_agents is None else conjecture,
        phi=None if n_agents is None else phi.copy(),
        others_response=measure(consumption) if consistent else None,
    )


__all__ = [
    "HouseholdPolicy",
    "KrusellSmithSolution",
    "den_haan_errors",
    "estimate_alm",
    "fit_alm",
    "gini",
    "simulate_shocks",
    "solve_krusell_smith",
]
