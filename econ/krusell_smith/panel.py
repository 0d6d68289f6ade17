"""Monte-Carlo simulations of Krusell-Smith households: one large panel, or many economies of N households.

Both call the project's single implementation of the period equations
(:mod:`econ.economy`: K = mean(kappa k), prices, wealth a = (1 - delta + kappa r) k + w lbar e)
and read the consumption rule c(k, K; z, e, type) by bilinear interpolation
(:func:`econ.krusell_smith._kernels.consumption_at`, K clamped to the K grid).
Every random draw comes from the ``numpy.random.Generator`` passed in; the
compiled loops receive the draws.

- :func:`simulate_shocks` and :func:`simulate_panel`: one population of
  ``num_households`` households on one path of the aggregate state (the
  Krusell-Smith panel; for large populations its K is the continuum's up to
  sampling noise of order 1/sqrt(households)).
- :func:`economy_shocks` and :func:`simulate_economies`: E independent
  economies of exactly N households each, as the multi-agent environment
  simulates them: the experiment's type composition in every economy
  (``KrusellSmithParams.type_counts``), each economy with its own path of the
  aggregate state z and, by default, exactly floor(u_z N + 1/2) unemployed
  after each draw.  K_t of economy e is the mean of its own N households'
  effective capital, so its law of motion is the one a household of such an
  economy faces: K moves with the economy's own employment reshuffles and the
  idiosyncratic histories of its few large holders, not only with z.  The
  economies are independent draws of that one process, so pooled OLS of
  log K' on log K per z over all economies and kept periods estimates its
  law with sampling error falling as 1/sqrt(E T).  (A common z path for all
  economies would give the same law in expectation but correlated economies:
  the estimate would keep the sampling error of a single z history.)

Reference: Krusell and Smith (1998), JPE 106(5), section on the simulation.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional

import numpy as np
import quantecon as qe
from numba import njit

from econ.economy import CAPITAL_FLOOR, _markets_kernel, markets
from econ.krusell_smith import _kernels as kernels
from econ.krusell_smith.params import KrusellSmithParams

# ---------------------------------------------------------------------------- one large panel


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


def simulate_panel(params, consumption, k_grid, K_grid, z_path, employed, types, kappa_i, capital0,
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


# ---------------------------------------------------------------------------- many economies of N households


def number_of_economies(n_agents, num_households: int) -> int:
    """num_households // N economies of N = ``n_agents`` households (a one-line error if there is none)."""
    if n_agents is None:
        raise ValueError("method='economies' simulates economies of n_agents households: n_agents must be an "
                         "integer >= 1, got None (the continuum: use 'histogram' or 'panel')")
    if num_households < n_agents:
        raise ValueError(f"num_households must be at least n_agents = {n_agents} with method='economies' (it is "
                         f"split into num_households // n_agents economies), got {num_households}")
    return num_households // n_agents


def unemployment_targets(params: KrusellSmithParams, n_households: int) -> np.ndarray:
    """Unemployed households per economy of ``n_households`` in z = bad, good: floor(u_z N + 1/2) (halves up,
    as the multi-agent environment counts them)."""
    return np.floor(np.asarray(params.unemployment_rates) * n_households + 0.5).astype(np.int64)


def exact_count_transition(params: KrusellSmithParams, n_households: int) -> np.ndarray:
    """The 4x4 employment-and-z transition one household of an economy of ``n_households`` lives with when
    :func:`economy_shocks` enforces exact unemployment counts (its default), computed exactly.

    Given z -> z', every economy has m = T(z) unemployed today and must have
    T(z') tomorrow (:func:`unemployment_targets`).  Each household first draws
    e' from the calibration's P(e' | e, z, z'); with U unemployed after the
    draws, if U > T(z') a uniformly random T(z') of them stay unemployed, and
    if U < T(z') a uniformly random T(z') - U of the employed are laid off.
    So for a household with draw e'_draw and the others' draws X (staying
    unemployed, Binomial(m - [e = u], p_uu)) and Y (newly unemployed,
    Binomial(N - m - [e = e], p_eu)):

        P(u' | drew u) = E[min(1, T(z') / U)],  U = 1 + X + Y
        P(u' | drew e) = E[(T(z') - U)^+ / (N - U)],  U = X + Y

    and P_N(e' | e, z, z') mixes the two with the calibration's probabilities.
    The rows keep the unemployment rate at T(z)/N exactly.  Used as the belief
    of a benchmark household in an N-household economy (docs/finite_n.md).
    """
    from scipy.signal import fftconvolve

    n = int(n_households)
    P = params.transition
    Pz = params.aggregate_transition
    target = unemployment_targets(params, n)
    out = np.zeros((4, 4))
    for z in (0, 1):
        m = int(target[z])
        for zn in (0, 1):
            if Pz[z, zn] == 0.0:
                continue
            T = int(target[zn])
            for e in (0, 1):  # e = 0 unemployed, 1 employed
                row = P[2 * z + e, 2 * zn:2 * zn + 2]
                p_stay_u = P[2 * z, 2 * zn] / P[2 * z, 2 * zn:2 * zn + 2].sum()  # p_uu for the others
                p_new_u = P[2 * z + 1, 2 * zn] / P[2 * z + 1, 2 * zn:2 * zn + 2].sum()  # p_eu
                # (a row of a state the counts rule out, e.g. unemployed when T(z) = 0, is still a distribution)
                others_u, others_e = max(m - (e == 0), 0), max((n - m) - (e == 1), 0)
                # distribution of U = X + Y (the others' unemployed after the draws): the convolution of the two
                (x0, px), (y0, py) = _binomial_support(others_u, p_stay_u), _binomial_support(others_e, p_new_u)
                weight = np.clip(fftconvolve(px, py), 0.0, None)
                weight /= weight.sum()
                U = x0 + y0 + np.arange(weight.size)
                unemployed_if_drew_u = np.minimum(1.0, T / (U + 1.0))
                with np.errstate(divide="ignore", invalid="ignore"):
                    unemployed_if_drew_e = np.where(n - U > 0, np.maximum(T - U, 0) / np.maximum(n - U, 1), 0.0)
                p_drew_u = row[0] / row.sum()
                p_u = p_drew_u * float(np.sum(weight * unemployed_if_drew_u)) \
                    + (1.0 - p_drew_u) * float(np.sum(weight * unemployed_if_drew_e))
                out[2 * z + e, 2 * zn] = Pz[z, zn] * p_u
                out[2 * z + e, 2 * zn + 1] = Pz[z, zn] * (1.0 - p_u)
    return out


BINOMIAL_SUPPORT_SD = 12.0
""":func:`exact_count_transition` sums a binomial over mean +- this many standard deviations (the mass left out
is below 1e-30), so that economies of millions of households cost milliseconds."""


def _binomial_support(n: int, p: float):
    """(first point, pmf over the points) of Binomial(n, p), truncated to mean +- BINOMIAL_SUPPORT_SD sd."""
    from scipy.stats import binom

    sd = math.sqrt(n * p * (1.0 - p))
    low = max(0, int(math.floor(n * p - BINOMIAL_SUPPORT_SD * sd)) - 1)
    high = min(n, int(math.ceil(n * p + BINOMIAL_SUPPORT_SD * sd)) + 1)
    return low, binom.pmf(np.arange(low, high + 1), n, p)


def exact_count_params(params: KrusellSmithParams, n_households: int) -> KrusellSmithParams:
    """``params`` with the unemployment rates T(z)/N and the transition :func:`exact_count_transition` of an
    economy of ``n_households`` households with exact unemployment counts."""
    rates = unemployment_targets(params, n_households) / float(n_households)
    return params._replace(unemployment_bad=float(rates[0]), unemployment_good=float(rates[1]),
                           transition_matrix=exact_count_transition(params, n_households))


def economy_shocks(params: KrusellSmithParams, n_economies: int, n_households: int, num_periods: int,
                   rng: np.random.Generator, z0: Optional[np.ndarray] = None, employed0: Optional[np.ndarray] = None,
                   exact_unemployment: bool = True):
    """Independent paths of z and employment for ``n_economies`` economies of ``n_households`` households.

    Each economy's z_0 is drawn from the stationary law (unless given) and z
    moves by the aggregate chain; each household's employment moves with
    P(e' | e, z, z').  With ``exact_unemployment`` every economy then has
    exactly floor(u_z' N + 1/2) unemployed: households are ordered by
    (employment, a uniform key) and the first that many are unemployed, so an
    economy with too many unemployed re-employs randomly chosen ones and one
    with too few lays off randomly chosen employed households (the fewest
    changes that meet the count).  Returns ``(z[T, E] int, employed[T, E, N] bool)``.
    """
    P = params.transition
    Pz = params.aggregate_transition
    target = unemployment_targets(params, n_households)
    shape = (n_economies, n_households)
    z = np.empty((num_periods, n_economies), dtype=np.int64)
    employed = np.empty((num_periods,) + shape, dtype=bool)

    def exact(e, zn):
        if not exact_unemployment:
            return e
        order = np.argsort(rng.random(shape) + 2.0 * e, axis=1)  # unemployed first, in random order
        out = np.empty(shape, dtype=bool)
        np.put_along_axis(out, order, np.arange(n_households)[None, :] >= target[zn][:, None], axis=1)
        return out

    if z0 is None:
        stationary = qe.MarkovChain(Pz).stationary_distributions[0]
        z0 = (rng.random(n_economies) < stationary[1]).astype(np.int64)
    z[0] = z0
    if employed0 is None:
        employed0 = exact(np.ones(shape, dtype=bool), z[0]) if exact_unemployment else \
            rng.random(shape) >= np.asarray(params.unemployment_rates)[z[0]][:, None]
    employed[0] = employed0
    for t in range(1, num_periods):
        z[t] = rng.random(n_economies) < Pz[z[t - 1], 1]
        zp, zn = z[t - 1][:, None], z[t][:, None]
        rows = 2 * zp + employed[t - 1].astype(np.int64)
        p_unemployed = P[rows, 2 * zn] / (P[rows, 2 * zn] + P[rows, 2 * zn + 1])
        employed[t] = exact(rng.random(shape) >= p_unemployed, z[t])
    return z, employed


class _Buffers(NamedTuple):
    """Work arrays of :func:`economies_period` for E economies of N households (allocated once per path)."""

    labour: np.ndarray
    technology: np.ndarray
    lam: np.ndarray
    K: np.ndarray
    L: np.ndarray
    Y: np.ndarray
    r: np.ndarray
    w: np.ndarray
    a: np.ndarray
    c: np.ndarray
    states: np.ndarray
    index: np.ndarray


@njit(cache=True)
def economy_buffers(E, N):
    """:class:`_Buffers` for E economies of N households (``index``: the rule's grid brackets, kept across
    periods so that each lookup starts where the household was)."""
    return (np.empty((E, N)), np.empty(E), np.ones((1, N)), np.empty(E), np.empty(E), np.empty(E),
            np.empty((E, N)), np.empty((E, N)), np.empty((E, N)), np.empty((E, N)), np.empty(N, dtype=np.int64),
            np.zeros((E, N), dtype=np.int64))


@njit(cache=True)
def economies_period(consumption, k_grid, K_grid, z, employed, types, kappa, z_values, labour_endowment, alpha,
                     delta, capital, buffers):
    """One period of E economies: ``capital`` (E, N) k_t -> k_{t+1} in place; ``z`` (E,), ``employed`` (E, N).

    Prices and wealth: :func:`econ.economy._markets_kernel`; consumption:
    :func:`econ.krusell_smith._kernels.consumption_at` at the economy's own K;
    k' = max(a - c, CAPITAL_FLOOR).  On return ``buffers`` holds the period's
    K (index 3) and the households' wealth a and consumption c (indices 8, 9).
    """
    labour, technology, lam, K, L, Y, r, w, a, c, states, index = buffers
    E, N = capital.shape
    kap = kappa.reshape(1, N)
    for e in range(E):
        technology[e] = z_values[z[e]]
        for i in range(N):
            labour[e, i] = labour_endowment if employed[e, i] else 0.0
    _markets_kernel(capital, labour, technology, kap, lam, alpha, delta, K, L, Y, r, w, a)
    for e in range(E):
        for i in range(N):
            states[i] = 2 * z[e] + (1 if employed[e, i] else 0)
        kernels.consumption_at(capital[e], K[e], states, types, k_grid, K_grid, consumption, c[e], index[e])
    for e in range(E):
        for i in range(N):
            capital[e, i] = max(a[e, i] - c[e, i], CAPITAL_FLOOR)


@njit(cache=True)
def economies_path(consumption, k_grid, K_grid, z_path, employed, types, kappa, z_values, labour_endowment, alpha,
                   delta, capital, capital_path, record_slot, records):
    """Move E economies of N households through T periods under the rule ``consumption``, in place.

    ``capital`` (E, N) holds k_0 on entry and k_T on return; ``capital_path[t, e]``
    receives K_t of economy e; where ``record_slot[t] >= 0`` the period-t
    (k, a, c) of every household are copied to ``records[record_slot[t]]``
    (shape (3, E, N)).  Each period: :func:`economies_period`.
    """
    T, E, N = employed.shape
    buffers = economy_buffers(E, N)
    for t in range(T):
        slot = record_slot[t]
        if slot >= 0:
            records[slot, 0, :, :] = capital
        economies_period(consumption, k_grid, K_grid, z_path[t], employed[t], types, kappa, z_values,
                         labour_endowment, alpha, delta, capital, buffers)
        for e in range(E):
            capital_path[t, e] = buffers[3][e]
        if slot >= 0:
            records[slot, 1, :, :] = buffers[8]
            records[slot, 2, :, :] = buffers[9]


class SimulatedEconomies(NamedTuple):
    """Outcome of :func:`simulate_economies` (E economies of N households, T periods)."""

    capital_path: np.ndarray
    """K_t of each economy, (T, E)."""
    recorded_periods: np.ndarray
    """Periods whose cross-sections are in ``records``."""
    records: np.ndarray
    """(periods, 3, E, N): capital k, wealth a and consumption c of every household before saving."""
    final_capital: np.ndarray
    """k_T of every household, (E, N): the start of a continuation."""


def simulate_economies(params: KrusellSmithParams, consumption, k_grid, K_grid, z_path, employed, capital0,
                       recorded=()) -> SimulatedEconomies:
    """E independent economies of N households under the rule ``consumption`` (see the module docstring).

    ``z_path`` (T, E) and ``employed`` (T, E, N) from :func:`economy_shocks`;
    ``capital0`` (E, N) the households' starting capital; households are of the
    types ``params.household_types(N)`` in every economy.  ``recorded``: periods
    whose (k, a, c) cross-sections are kept.
    """
    T, E, N = employed.shape
    types = params.household_types(N).astype(np.int64)
    kappa_i = np.asarray(params.capital_productivity, dtype=float)[types]
    recorded = np.asarray(recorded, dtype=np.int64)
    record_slot = np.full(T, -1, dtype=np.int64)
    record_slot[recorded] = np.arange(recorded.size)
    records = np.empty((recorded.size, 3, E, N))
    capital = np.array(capital0, dtype=float).reshape(E, N)
    capital_path = np.empty((T, E))
    economies_path(consumption, k_grid, K_grid, np.ascontiguousarray(z_path, dtype=np.int64),
                   np.ascontiguousarray(employed, dtype=bool), types, kappa_i, np.asarray(params.technology, float),
                   float(params.labour_endowment), float(params.alpha), float(params.delta), capital, capital_path,
                   record_slot, records)
    return SimulatedEconomies(capital_path, recorded, records, capital)


class PanelSummary(NamedTuple):
    """Distribution statistics of a simulated panel or of E economies (the fields of ``KrusellSmithSolution``)."""

    gini_wealth: float
    """Gini of the pooled wealth of all E N households, averaged over the recorded periods but the last."""
    gini_capital: float
    capital_by_type: tuple
    consumption_fraction_by_type: tuple
    lorenz_wealth: tuple
    lorenz_capital: tuple
    final_cross_section: tuple
    """(k, a, c, type, employed, weight) of every household in the last recorded period (weights 1/(E N))."""


def summarise_economies(params: KrusellSmithParams, outcome: SimulatedEconomies, employed_last) -> PanelSummary:
    """Ginis, means by type and the final cross-section of :func:`simulate_economies` run with the last period
    among the recorded ones (``employed_last``: employment in that period, (E, N))."""
    E, N = outcome.final_capital.shape
    types = params.household_types(N)
    k, a, c = outcome.records[:-1, 0], outcome.records[:-1, 1], outcome.records[:-1, 2]
    fraction = c / a
    by_type = [types == t for t in range(params.num_types)]
    k_last, a_last, c_last = (x.ravel() for x in outcome.records[-1])
    return PanelSummary(
        gini_wealth=float(np.mean([gini(x) for x in a])),
        gini_capital=float(np.mean([gini(x) for x in k])),
        capital_by_type=tuple(float(k[..., mine].mean()) for mine in by_type),
        consumption_fraction_by_type=tuple(float(fraction[..., mine].mean()) for mine in by_type),
        lorenz_wealth=qe.lorenz_curve(np.sort(a_last)),
        lorenz_capital=qe.lorenz_curve(np.sort(k_last)),
        final_cross_section=(k_last, a_last, c_last, np.tile(types, E), np.asarray(employed_last).ravel(),
                             np.full(E * N, 1.0 / (E * N))),
    )


def summarise_panel(params: KrusellSmithParams, records, last) -> PanelSummary:
    """:class:`PanelSummary` of :func:`simulate_panel`'s ``records`` (every 10th kept period) and ``last`` period."""
    types = params.household_types(last[0].size)
    k_last, a_last, c_last, e_last, _ = last
    by_type = [types == t for t in range(params.num_types)]
    return PanelSummary(
        gini_wealth=float(np.mean([gini(a) for _, a, _ in records])),
        gini_capital=float(np.mean([gini(k) for k, _, _ in records])),
        capital_by_type=tuple(float(np.mean([k[mine].mean() for k, _, _ in records])) for mine in by_type),
        consumption_fraction_by_type=tuple(float(np.mean([f[mine].mean() for _, _, f in records])) for mine in by_type),
        lorenz_wealth=qe.lorenz_curve(np.sort(a_last)),
        lorenz_capital=qe.lorenz_curve(np.sort(k_last)),
        final_cross_section=(k_last, a_last, c_last, types, e_last, np.full(k_last.size, 1.0 / k_last.size)),
    )
