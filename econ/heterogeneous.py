"""Deterministic steady state of the heterogeneous kappa/lambda economy (docs/closed_forms.md).

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

Finite N (``n_agents``): households that move prices.  With N households each
is a share 1/N of the population, so its own capital and labour move the
prices it is paid (r_K = -(1-alpha) r/K, w_K = (1-alpha) r/L, r_L = alpha w/K,
w_L = -alpha w/L).  Taking the others' choices as given (open loop), household
i's private gross return on capital and private marginal income from labour are

    R_i = 1 - delta + kappa_i r [1 + ((1-alpha)/N)(lambda_i l_i/L - kappa_i k_i/K)]
    W_i = lambda_i w [1 + (alpha/N)(kappa_i k_i/K - lambda_i l_i/L)].

The steady state is the mixed complementarity problem, for every i,

    k_i >= 0,  1 - beta R_i >= 0,  k_i (1 - beta R_i) = 0               (Euler, with the corner k_i = 0)
    0 <= l_i <= 1, with F_i = chi c_i - W_i (linear) or chi c_i - W_i (1 - l_i) (log-leisure)
        = 0 inside, >= 0 at l_i = 0, <= 0 at l_i = 1                    (intratemporal condition)
    c_i = (kappa_i r - delta) k_i + lambda_i w l_i                       (budget with k' = k)

solved as a system of equations through the Fischer-Burmeister function
phi(a, b) = a + b - sqrt(a^2 + b^2) (phi = 0 iff a >= 0, b >= 0, ab = 0; the
box [0, 1] with Kanzow's nesting phi(l, -phi(1 - l, -F))) by a semismooth
Newton method on its analytic Jacobian.  Every household acts on the others
only through K and L, so the Jacobian is a 2 x 2 block per household plus a
rank-two coupling (d/dk_j through kappa_j/n, d/dl_j through lambda_j/n),
assembled densely in O(n^2) and factorised by LU in each Newton step (0.1 s
for n = 484).  At small N the allocation is interior and determinate; the
corner (only the highest-kappa types hold capital) reappears as N grows.
The household list gives the population's composition: with N = len(kappa)
it is the N-household game; for another N each entry stands for N/len(kappa)
identical households (a symmetric equilibrium within each entry).  References: Facchinei and Pang (2003),
Finite-Dimensional Variational Inequalities and Complementarity Problems,
ch. 9; Kanzow (2001), Math. Methods Oper. Res. 53; De Luca, Facchinei and Kanzow
(1996), Math. Program. 75 (the semismooth Newton method).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import NamedTuple, Optional

import numpy as np
import scipy.optimize

from econ import checks
from econ.fixed_point import ConvergenceError, FixedPointResult
from econ.complementarity import fischer_burmeister_derivatives, semismooth_newton, solve_on_active_set
from econ.economy import private_return_wedge, private_wage_wedge
from econ.rbc.params import RBCParams
from econ.rbc.steady_state import steady_state

KAPPA_TIE_RTOL = 1e-12
"""Capital productivities within this relative distance of the maximum count as the maximum."""

COMPLEMENTARITY_TOL = 1e-10
"""Largest accepted |phi| of the finite-N complementarity system (unit-free: capital in units of the
representative steady state's, the return gap in units of its beta r, labour income in units of its wage).
A root solved to machine precision leaves about 1e-14; 1e-10 leaves room for the ill-conditioning of the
holders' split at very large N, where it is pinned down only by terms of order 1/N."""

SMOOTHING_PATH = (1e-3, 1e-5, 1e-7)
"""Smoothing parameters mu of the Fischer-Burmeister function solved in turn before the exact (mu = 0) system."""

CONTINUATION_START = 4
"""Finite N: the number of households at which the continuation in N starts (a strong wedge, an interior allocation)."""

NEWTON_TOL = 1e-3 * COMPLEMENTARITY_TOL
"""Finite N: semismooth Newton runs to this max |phi| (it converges quadratically near a root, so the last step
costs nothing, and stopping well below COMPLEMENTARITY_TOL leaves the continuation's next stage an accurate start);
it also stops earlier where rounding prevents any further decrease."""

NEWTON_MAX_ITER = 200
"""Finite N: semismooth Newton steps per continuation stage before MINPACK's hybrid method takes over."""

CORNER_ATOL = 1e-9
"""Finite N: a household whose capital is below this fraction of the representative steady state's is at the
corner k = 0, one whose labour is below it at l = 0 (the root finder leaves corner values of order its tolerance,
of either sign); they are set to 0, and the complementarity residual is checked again at the result."""


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
    n_agents: Optional[int] = None
    """Households that move prices; None = a continuum of price takers (then the fields below are the market's)."""
    private_return: Optional[np.ndarray] = None
    """R_i, household i's private gross return on capital (1 - delta + kappa_i r in the continuum)."""
    private_wage: Optional[np.ndarray] = None
    """W_i, household i's private marginal income per unit of labour (lambda_i w in the continuum)."""
    complementarity_residual: float = 0.0
    """Finite N: max |phi| of the solved complementarity system (0 for the closed-form continuum)."""
    num_iter: int = 0
    """Finite N: residual evaluations of the root finder (0 for the closed form)."""
    converged: bool = True


def heterogeneous_steady_state(
    params: RBCParams = RBCParams(),
    capital_productivity=None,
    labour_productivity=None,
    *,
    n_agents: Optional[int] = None,
) -> HeterogeneousSteadyState:
    """Deterministic steady state of heterogeneous households (module docstring).

    Parameters
    ----------
    params : RBCParams
        alpha, beta, delta, chi and utility (rho and sigma are irrelevant here).
    capital_productivity, labour_productivity : arrays of equal length, > 0
        kappa_i and lambda_i.  Default: the ``general`` experiment's 3 x 3 grid
        on [0.98, 1.02] (:func:`productivity_grid`).
    n_agents : int >= 1 or None
        None (default): price-taking households in a continuum, solved in
        closed form (corner and indeterminate split included).  An integer N:
        households that move prices, the complementarity problem of the module
        docstring (for the ``general`` experiment, N = its number of households).
    """
    if not isinstance(params, RBCParams):
        raise TypeError(f"params must be an RBCParams, got {type(params).__name__}")
    n_agents = checks.n_agents_or_continuum("n_agents", n_agents)
    if capital_productivity is None and labour_productivity is None:
        capital_productivity, labour_productivity = productivity_grid(3)
    kappa = checks.positive_array("capital_productivity", capital_productivity)
    lam = checks.positive_array("labour_productivity", labour_productivity, length=kappa.shape[0])
    if n_agents is not None:
        return _price_impact_steady_state(params, kappa, lam, n_agents)
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
        private_return=1.0 - delta + kappa * r,
        private_wage=lam * w,
    )


class PrivateMargins(NamedTuple):
    """Prices of an allocation (k_i, l_i) at A = 1 and each household's private margins (:func:`private_margins`)."""

    effective_capital: float
    effective_labour: float
    interest_rate: float
    """Base rental rate r = alpha (K/L)^(alpha-1)."""
    wage: float
    """Base wage w = (1-alpha)(K/L)^alpha."""
    private_return: np.ndarray
    """R_i = 1 - delta + kappa_i r [1 + ((1-alpha)/N)(lambda_i l_i/L - kappa_i k_i/K)], (N,)."""
    private_wage: np.ndarray
    """W_i = lambda_i w [1 + (alpha/N)(kappa_i k_i/K - lambda_i l_i/L)], (N,)."""


def private_margins(params: RBCParams, capital_productivity, labour_productivity, capital, labour,
                    n_agents: Optional[int] = None) -> PrivateMargins:
    """Household i's private gross return on capital R_i and private marginal labour income W_i (module docstring).

    Evaluated at the allocation (k_i, l_i) with A = 1: in a deterministic
    steady state k' = k, so the Euler equation reads beta R_i = 1 and the
    intratemporal condition chi c_i = W_i (linear utility) or
    chi c_i = (1 - l_i) W_i (log-leisure).  ``n_agents`` None takes N = the
    number of households given (the N-household game); pass the population
    size where each entry stands for several households.
    """
    if not isinstance(params, RBCParams):
        raise TypeError(f"params must be an RBCParams, got {type(params).__name__}")
    kappa = checks.positive_array("capital_productivity", capital_productivity)
    n = kappa.shape[0]
    lam = checks.positive_array("labour_productivity", labour_productivity, length=n)
    capital = np.asarray(capital, dtype=float)
    labour = np.asarray(labour, dtype=float)
    if capital.shape != (n,) or labour.shape != (n,):
        raise ValueError(f"capital and labour must have shape ({n},), got {capital.shape} and {labour.shape}")
    if not (np.all(np.isfinite(capital)) and np.all(capital >= 0.0)):
        raise ValueError("capital must be finite and >= 0 for every household")
    if not (np.all(np.isfinite(labour)) and np.all((labour >= 0.0) & (labour <= 1.0))):
        raise ValueError("labour must be in [0, 1] for every household")
    n_agents = n if n_agents is None else checks.positive_int("n_agents", n_agents)
    out = _allocation(params, kappa, lam, n_agents, capital, labour)
    if out is None:
        raise ValueError("capital and labour must give positive effective aggregates K and L")
    K, L, r, w, _, R, W = out
    return PrivateMargins(K, L, r, w, R, W)


def _allocation(params: RBCParams, kappa, lam, n_agents: int, capital, labour):
    """Aggregates, prices, consumption and the private return and wage of an allocation (k_i, l_i)."""
    alpha, delta = params.alpha, params.delta
    K = float(np.mean(kappa * capital))
    L = float(np.mean(lam * labour))
    if not (K > 0.0 and L > 0.0):
        return None
    k_per_l = K / L
    r = alpha * k_per_l ** (alpha - 1.0)
    w = (1.0 - alpha) * k_per_l**alpha
    capital_share = kappa * capital / K
    labour_share = lam * labour / L
    private_return = 1.0 - delta + kappa * r * (1.0 + private_return_wedge(1.0 / n_agents, alpha, labour_share,
                                                                            capital_share))
    private_wage = lam * w * (1.0 + private_wage_wedge(1.0 / n_agents, alpha, labour_share, capital_share))
    consumption = (kappa * r - delta) * capital + lam * w * labour
    return K, L, r, w, consumption, private_return, private_wage


class _LowRank(NamedTuple):
    """Derivatives of a per-household quantity Q_i with respect to every k_j and l_j, in the form

    d Q_i / d k_j = capital_diagonal_i [i = j] + capital_factor_i kappa_j / n,
    d Q_i / d l_j = labour_diagonal_i [i = j] + labour_factor_i lambda_j / n

    (n the number of listed households): every household acts on the others only through K and L."""

    capital_diagonal: np.ndarray
    capital_factor: np.ndarray
    labour_diagonal: np.ndarray
    labour_factor: np.ndarray


def _gap_derivatives(params: RBCParams, kappa, lam, n_agents: int, capital, labour, allocation):
    """d(1 - beta R_i) and d(chi c_i - W_i h_i) (h_i = 1 linear, 1 - l_i log-leisure) as :class:`_LowRank`.

    With K = mean(kappa k), L = mean(lambda l), a_i = kappa_i k_i / K, b_i = lambda_i l_i / L:
    dK/dk_j = kappa_j/n, dL/dl_j = lambda_j/n; r_K = -(1-alpha) r/K, r_L = (1-alpha) r/L,
    w_K = alpha w/K, w_L = -alpha w/L; da_i/dk_j = kappa_i [i = j]/K - a_i kappa_j/(n K), likewise b in l.
    """
    alpha, beta, delta, chi = params.alpha, params.beta, params.delta, params.chi
    K, L, r, w, consumption, private_return, private_wage = allocation
    wedge_return, wedge_wage = (1.0 - alpha) / n_agents, alpha / n_agents
    capital_share = kappa * capital / K
    labour_share = lam * labour / L
    return_markup = 1.0 + wedge_return * (labour_share - capital_share)
    wage_markup = 1.0 + wedge_wage * (capital_share - labour_share)
    r_K, r_L = -(1.0 - alpha) * r / K, (1.0 - alpha) * r / L
    w_K, w_L = alpha * w / K, -alpha * w / L
    share_k_diagonal, share_k_factor = kappa / K, -capital_share / K
    share_l_diagonal, share_l_factor = lam / L, -labour_share / L
    # R_i = 1 - delta + kappa_i r (1 + c_R (b_i - a_i))
    R = _LowRank(-kappa * r * wedge_return * share_k_diagonal,
                 kappa * (r_K * return_markup - r * wedge_return * share_k_factor),
                 kappa * r * wedge_return * share_l_diagonal,
                 kappa * (r_L * return_markup + r * wedge_return * share_l_factor))
    # W_i = lambda_i w (1 + c_W (a_i - b_i))
    W = _LowRank(lam * w * wedge_wage * share_k_diagonal,
                 lam * (w_K * wage_markup + w * wedge_wage * share_k_factor),
                 -lam * w * wedge_wage * share_l_diagonal,
                 lam * (w_L * wage_markup - w * wedge_wage * share_l_factor))
    # c_i = (kappa_i r - delta) k_i + lambda_i w l_i
    c = _LowRank(kappa * r - delta, kappa * capital * r_K + lam * labour * w_K,
                 lam * w, kappa * capital * r_L + lam * labour * w_L)
    euler = _LowRank(*(-beta * part for part in R))
    if params.utility == "linear":
        intratemporal = _LowRank(*(chi * pc - pw for pc, pw in zip(c, W)))
    else:  # d(W_i (1 - l_i)) = (1 - l_i) dW_i - W_i dl_i
        leisure = 1.0 - labour
        intratemporal = _LowRank(chi * c.capital_diagonal - leisure * W.capital_diagonal,
                                 chi * c.capital_factor - leisure * W.capital_factor,
                                 chi * c.labour_diagonal - leisure * W.labour_diagonal + private_wage,
                                 chi * c.labour_factor - leisure * W.labour_factor)
    return euler, intratemporal


class SystemScales(NamedTuple):
    """Units of the finite-N system: capital, the return gap (beta r) and labour income (w) of the representative
    steady state."""

    capital: float
    euler: float
    wage: float


def system_scales(params: RBCParams) -> SystemScales:
    """The units in which :func:`complementarity_system` measures capital and the two gaps."""
    reference = steady_state(params)
    return SystemScales(reference.capital, params.beta * reference.interest_rate, reference.wage)


def complementarity_system(params: RBCParams, kappa, lam, n_agents: int, scales: SystemScales, x,
                            smoothing: float = 0.0, jacobian: bool = False):
    """The Fischer-Burmeister system phi(x) of the module docstring at x = (k / scales.capital, l), and
    (``jacobian``) its Jacobian, assembled from the diagonal plus rank-two structure of :func:`_gap_derivatives`.

    Public so that a user (and the tests) can check a solved allocation or the analytic Jacobian; the finite-N
    solve of :func:`heterogeneous_steady_state` is its root with ``scales = system_scales(params)``.

    phi_i = phi(k_i, e_i) and phi_{n+i} = phi(l_i, -psi_i), psi_i = phi(1 - l_i, -F_i), with e_i = (1 - beta R_i)
    and F_i the intratemporal gap, both scaled.  Returns None where K or L is not positive.
    """
    n = kappa.shape[0]
    capital, labour = x[:n] * scales.capital, x[n:]
    allocation = _allocation(params, kappa, lam, n_agents, capital, labour)
    if allocation is None:
        return None
    _, _, _, _, consumption, private_return, private_wage = allocation
    euler_gap = (1.0 - params.beta * private_return) / scales.euler
    leisure_factor = 1.0 if params.utility == "linear" else 1.0 - labour
    labour_gap = (params.chi * consumption - private_wage * leisure_factor) / scales.wage
    phi_k, phi_k_a, phi_k_b = fischer_burmeister_derivatives(capital / scales.capital, euler_gap, smoothing)
    psi, psi_a, psi_b = fischer_burmeister_derivatives(1.0 - labour, -labour_gap, smoothing)
    phi_l, phi_l_a, phi_l_b = fischer_burmeister_derivatives(labour, -psi, smoothing)
    phi = np.concatenate([phi_k, phi_l])
    if not jacobian:
        return phi
    euler, intratemporal = _gap_derivatives(params, kappa, lam, n_agents, capital, labour, allocation)
    # d phi_k = phi_a dx_k + phi_b de;  d phi_l = (phi_a + phi_b psi_a) dl + phi_b psi_b dF
    row_k = phi_k_b / scales.euler
    row_l = phi_l_b * psi_b / scales.wage
    jac = np.empty((2 * n, 2 * n))
    for rows, row_scale, gap in ((slice(0, n), row_k, euler), (slice(n, 2 * n), row_l, intratemporal)):
        # columns in x: d/dx_k = scales.capital d/dk
        jac[rows, :n] = np.outer(row_scale * gap.capital_factor, kappa * (scales.capital / n))
        jac[rows, n:] = np.outer(row_scale * gap.labour_factor, lam / n)
    diagonal = np.arange(n)
    jac[diagonal, diagonal] += phi_k_a + row_k * euler.capital_diagonal * scales.capital
    jac[diagonal, n + diagonal] += row_k * euler.labour_diagonal
    jac[n + diagonal, diagonal] += row_l * intratemporal.capital_diagonal * scales.capital
    jac[n + diagonal, n + diagonal] += phi_l_a + phi_l_b * psi_a + row_l * intratemporal.labour_diagonal
    return phi, jac


def _price_impact_steady_state(params: RBCParams, kappa, lam, n_agents: int) -> HeterogeneousSteadyState:
    """Finite-N steady state: the complementarity problem of the module docstring, solved by semismooth Newton
    with the analytic Jacobian (then scipy.optimize.root, hybr and lm, with the same Jacobian, if it stalls)."""
    start = time.perf_counter()
    n = kappa.shape[0]
    alpha, beta, delta, chi = params.alpha, params.beta, params.delta, params.chi
    linear = params.utility == "linear"
    reference = steady_state(params)  # scales, and the starting point: everyone at the representative steady state
    scales = system_scales(params)
    capital_scale = scales.capital

    def gaps(x, n_agents):
        """Scaled (1 - beta R_i, F_i) of the allocation x = (k / capital_scale, l); None if K or L is not positive."""
        capital, labour = x[:n] * capital_scale, x[n:]
        out = _allocation(params, kappa, lam, n_agents, capital, labour)
        if out is None:
            return None
        K, L, r, w, c, R, W = out
        return (1.0 - beta * R) / scales.euler, (chi * c - (W if linear else W * (1.0 - labour))) / scales.wage

    far = np.full(2 * n, 1e3)  # no capital or no labour at all: far from any steady state

    def residuals(x, size=n_agents, smoothing=0.0):
        phi = complementarity_system(params, kappa, lam, size, scales, x, smoothing)
        return far if phi is None else phi

    def jacobian(x, size=n_agents, smoothing=0.0):
        out = complementarity_system(params, kappa, lam, size, scales, x, smoothing, jacobian=True)
        return np.eye(2 * n) if out is None else out[1]

    def solve(x_start, size, smoothing):
        """Root of the system at N = size from x_start: semismooth Newton, then Powell's hybrid method and
        Levenberg-Marquardt (MINPACK, with the analytic Jacobian) from the best point so far if Newton stalls."""
        def system(x, with_jacobian):
            return complementarity_system(params, kappa, lam, size, scales, x, smoothing, jacobian=with_jacobian)

        best_x, best_distance, evaluations = semismooth_newton(system, x_start, NEWTON_TOL, NEWTON_MAX_ITER)
        for method in ("hybr", "lm"):
            if best_distance < COMPLEMENTARITY_TOL:
                break
            sol = scipy.optimize.root(residuals, best_x, args=(size, smoothing), method=method, jac=jacobian,
                                      options={"xtol": 1e-14} if method == "hybr" else {"xtol": 1e-15, "ftol": 1e-15})
            evaluations += int(sol.nfev) + int(getattr(sol, "njev", 0))
            distance = float(np.max(np.abs(residuals(sol.x, size, smoothing))))
            if distance < best_distance:
                best_x, best_distance = sol.x, distance
        return best_x, best_distance, evaluations

    # Continuation: from the representative steady state, first in the smoothing parameter (the smoothed system
    # is differentiable, so households near the corner do not stall Newton-type steps), then in N, starting where
    # the wedge is large and every household holds capital (N = CONTINUATION_START) and doubling N, each solve
    # warm-started at the previous one, so that corners appear one by one; at large N the holders' split rests on
    # terms of order 1/N.
    first = min(n_agents, CONTINUATION_START)
    steps = max(int(np.ceil(np.log2(n_agents / first))), 0)
    path = np.unique(np.round(np.geomspace(first, n_agents, steps + 1)).astype(np.int64)) if steps else [n_agents]
    stages = [(int(path[0]), mu) for mu in SMOOTHING_PATH] + [(int(size), 0.0) for size in path]
    x = np.concatenate([np.full(n, reference.capital / capital_scale), np.full(n, reference.labour)])
    num_eval = 0
    for size, smoothing in stages:
        x, best_distance, evaluations = solve(x, size, smoothing)
        num_eval += evaluations
    if not best_distance < COMPLEMENTARITY_TOL:
        # Where households sit near a threshold (k_i and 1 - beta R_i both close to 0) the Fischer-Burmeister
        # system is nearly degenerate and the root finder stalls short of the tolerance.  Then take the corners
        # it identified as given and solve the smooth equations of the rest (the active-set step of
        # Facchinei and Pang 2003, ch. 9); keep the result if it satisfies the full system better.
        polished = solve_on_active_set(gaps, x, n, n_agents)
        if polished is not None:
            distance = float(np.max(np.abs(residuals(polished))))
            if distance < best_distance:
                x, best_distance = polished, distance
    best = scipy.optimize.OptimizeResult(x=x)
    if not best_distance < COMPLEMENTARITY_TOL:
        raise ConvergenceError(
            f"finite-N steady state (n_agents {n_agents}, utility {params.utility!r}, chi {chi}): the complementarity "
            f"system's residual is {best_distance:.2e} after {num_eval} evaluations (tolerance {COMPLEMENTARITY_TOL:g})",
            FixedPointResult(best.x, False, num_eval, best_distance, (), time.perf_counter() - start))

    capital = best.x[:n] * capital_scale
    labour = best.x[n:].copy()
    holds = capital > CORNER_ATOL * capital_scale
    capital = np.where(holds, capital, 0.0)
    labour = np.where(labour > CORNER_ATOL, np.minimum(labour, 1.0), 0.0)
    residual = float(np.max(np.abs(residuals(np.concatenate([capital / capital_scale, labour])))))
    if not residual < COMPLEMENTARITY_TOL:
        raise ConvergenceError(
            f"finite-N steady state (n_agents {n_agents}, utility {params.utility!r}, chi {chi}): the residual is "
            f"{residual:.2e} once the corners are set exactly (tolerance {COMPLEMENTARITY_TOL:g})",
            FixedPointResult(best.x, False, num_eval, residual, (), time.perf_counter() - start))
    K, L, r, w, consumption, R, W = _allocation(params, kappa, lam, n_agents, capital, labour)
    output = K**alpha * L ** (1.0 - alpha)
    wealth = (1.0 - delta + kappa * r) * capital + lam * w * labour
    if np.any(consumption <= 0.0) or np.any(labour >= 1.0):
        raise ValueError(f"no interior finite-N steady state for utility {params.utility!r} with chi {chi}: "
                         "some household would consume nothing or work its whole endowment; raise chi")
    mean_capital = float(np.mean(capital))
    return HeterogeneousSteadyState(
        interest_rate=r,
        wage=w,
        capital=K,
        labour=L,
        output=output,
        consumption_total=output - delta * mean_capital,
        capital_productivity=kappa,
        labour_productivity=lam,
        holds_capital=holds,
        split_indeterminate=False,
        indeterminate=np.zeros(n, dtype=bool),
        household_capital=capital,
        household_labour=labour,
        household_consumption=consumption,
        household_consumption_fraction=consumption / wealth,
        holders_capital=float(np.sum(capital[holds]) / n),
        holders_labour=float(np.sum(lam[holds] * labour[holds]) / n),
        holders_work=bool(np.all(labour[holds] > 0.0)),
        n_agents=n_agents,
        private_return=R,
        private_wage=W,
        complementarity_residual=residual,
        num_iter=num_eval,
        converged=True,
    )
