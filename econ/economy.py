"""One period of the heterogeneous RBC economy (docs/model.md), vectorised.

This module is the single place where the economy's equations live: the RL
environment, the benchmark simulations and the scoring code all call
:func:`period`, so they cannot drift apart.

Timing (docs/model.md).  At the start of period t the households hold capital
k_{i,t}; technology A_t is known; each household picks a consumption fraction
chat_{i,t} and labour l_{i,t}.  Then, with population mass one,

    K_t     = (1/N) sum_i kappa_i  k_{i,t}             effective capital
    L_t     = (1/N) sum_i lambda_i l_{i,t}             effective labour
    Y_t     = A_t K_t^alpha L_t^(1-alpha)
    r_{i,t} = kappa_i  alpha     A_t (K_t/L_t)^(alpha-1)
    w_{i,t} = lambda_i (1-alpha) A_t (K_t/L_t)^alpha
    a_{i,t} = (1-delta) k_{i,t} + r_{i,t} k_{i,t} + w_{i,t} l_{i,t}
    c_{i,t} = chat_{i,t} a_{i,t}
    k_{i,t+1} = a_{i,t} - c_{i,t}    (floored at CAPITAL_FLOOR)
    R_{i,t} = u(c_{i,t}, l_{i,t})

Income exhausts output, so (1/N) sum_i (c_i + k_i') = Y + (1-delta)(1/N) sum_i k_i.

Every array argument broadcasts: the last axis indexes households and any
leading axes index independent economies, so one call steps a whole batch.

Implementation: each equation is written once, in a small compiled scalar
function (``_factor_prices_at``, ``_utility_at``) or in the compiled loop over
households (``_markets_kernel``, ``_period_kernel``; Numba ``@njit(cache=True)``);
the public functions :func:`factor_prices`, :func:`utility`, :func:`markets`
and :func:`period` only broadcast their arguments and call them, so NumPy
callers and the RL environment run the same code.  Sums over households are
taken in household order; floating-point errors follow NumPy's rules
(``error_model="numpy"``: inf or nan, no exception).
"""

from __future__ import annotations

from math import prod
from typing import NamedTuple

import numpy as np
from numba import njit

ACTION_EPS = 0.005
"""Fractions (consumption share, labour) live in [ACTION_EPS, 1 - ACTION_EPS]."""

CAPITAL_FLOOR = 1e-10
"""Next-period capital is floored here so repeated extreme actions cannot
underflow it to zero (which would make log consumption -inf next period)."""

REWARD_FORMS = ("linear", "log_leisure", "log")
"""Period utility forms of :func:`utility`:

- ``linear``:      log c - chi l
- ``log_leisure``: log c + chi log(1 - l)
- ``log``:         log c (Krusell-Smith variants, where labour is an endowment)
"""


_FLOAT = np.dtype(np.float64)
_SINGLE = np.dtype(np.float32)


class PeriodOutcome(NamedTuple):
    """Everything one period of the economy determines (arrays broadcast as the inputs)."""

    effective_capital: np.ndarray
    """K_t, one per economy (households axis reduced)."""
    effective_labour: np.ndarray
    """L_t, one per economy."""
    output: np.ndarray
    """Y_t, one per economy."""
    interest_rate: np.ndarray
    """r_{i,t} = kappa_i * MPK: the gross rental rate each household earns per unit of capital."""
    wage: np.ndarray
    """w_{i,t} = lambda_i * MPL: the wage each household earns per unit of labour."""
    wealth: np.ndarray
    """a_{i,t} = (1-delta) k + r k + w l."""
    consumption: np.ndarray
    """c_{i,t} = chat a."""
    next_capital: np.ndarray
    """k_{i,t+1} = a - c, floored at CAPITAL_FLOOR."""
    reward: np.ndarray
    """R_{i,t} = u(c, l)."""


@njit(cache=True, error_model="numpy")
def _action_to_fraction_kernel(action, out):
    """Write the fractions of the flat ``action`` into ``out``; False (and stop) at the first non-finite action."""
    for j in range(action.shape[0]):
        x = action[j]
        if not np.isfinite(x):
            return False
        x = min(max(x, -1.0), 1.0)
        out[j] = ACTION_EPS + (1.0 - 2.0 * ACTION_EPS) * (x + 1.0) / 2.0
    return True


def action_to_fraction(action) -> np.ndarray:
    """Map actions in [-1, 1] affinely onto [ACTION_EPS, 1 - ACTION_EPS].

    fraction = ACTION_EPS + (1 - 2 ACTION_EPS) (a + 1) / 2.  Actions outside the
    box are clipped to it (as SB3 does for Box spaces); a NaN or infinite action
    raises ``ValueError``.
    """
    action = np.asarray(action)
    if action.dtype != _FLOAT and action.dtype != _SINGLE:
        action = action.astype(float)
    out = np.empty(action.shape)
    if not _action_to_fraction_kernel(action.reshape(-1), out.reshape(-1)):
        raise ValueError(f"actions must be finite numbers in [-1, 1]; got non-finite values in {action}")
    return out if out.ndim else out[()]


def fraction_to_action(fraction) -> np.ndarray:
    """Inverse of :func:`action_to_fraction` (fractions are clipped to the admissible range)."""
    fraction = np.clip(np.asarray(fraction, dtype=float), ACTION_EPS, 1.0 - ACTION_EPS)
    return 2.0 * (fraction - ACTION_EPS) / (1.0 - 2.0 * ACTION_EPS) - 1.0


_UTILITY_CODE = {form: code for code, form in enumerate(REWARD_FORMS)}


def _utility_code(form: str) -> int:
    code = _UTILITY_CODE.get(form)
    if code is None:
        raise ValueError(f"utility form must be one of {REWARD_FORMS}, got {form!r}")
    return code


@njit(cache=True, error_model="numpy")
def _utility_at(consumption, labour, chi, code):
    """u(c, l) for the form ``REWARD_FORMS[code]``: log c - chi l, log c + chi log(1 - l), or log c."""
    if code == 0:
        return np.log(consumption) - chi * labour
    if code == 1:
        return np.log(consumption) + chi * np.log1p(-labour)
    return np.log(consumption)


@njit(cache=True, error_model="numpy")
def _utility_kernel(consumption, labour, chi, code, out):
    for j in range(out.shape[0]):
        out[j] = _utility_at(consumption[j], labour[j], chi, code)


def utility(consumption, labour, chi: float, form: str = "linear") -> np.ndarray:
    """Period utility u(c, l) for one of ``REWARD_FORMS`` (arrays broadcast)."""
    code = _utility_code(form)
    c, l = np.broadcast_arrays(np.asarray(consumption, dtype=float), np.asarray(labour, dtype=float))
    out = np.empty(c.shape)
    _utility_kernel(np.ascontiguousarray(c).reshape(-1), np.ascontiguousarray(l).reshape(-1), float(chi), code,
                    out.reshape(-1))
    return out if out.ndim else out[()]


@njit(cache=True, error_model="numpy")
def _factor_prices_at(effective_capital, effective_labour, technology, alpha):
    """(Y, MPK, MPL) of Y = A K^alpha L^(1-alpha); (0, 0, 0) where L = 0 (the limit, see :func:`factor_prices`)."""
    if not effective_labour > 0.0:
        return 0.0, 0.0, 0.0
    ratio = effective_capital / effective_labour
    output = technology * effective_capital**alpha * effective_labour ** (1.0 - alpha)
    return output, alpha * technology * ratio ** (alpha - 1.0), (1.0 - alpha) * technology * ratio**alpha


@njit(cache=True, error_model="numpy")
def private_return_wedge(price_impact, alpha, own_labour_share, own_capital_share):
    """The relative wedge between household i's private and market return on capital when N households move prices.

    With K = (1/N) sum_j kappa_j k_j and L = (1/N) sum_j lambda_j l_j, household
    i's own capital moves r = alpha A (K/L)^(alpha-1) by dr/dk_i =
    -(1-alpha) r kappa_i / (N K) and the wage by dw/dk_i = alpha w kappa_i / (N K),
    so the derivative of its income (r_i k_i + w_i l_i) in k_i is
    kappa_i r (1 + wedge), with

        wedge = (phi / N) (1 - alpha) (b_i - a_i),   a_i = kappa_i k_i / K,  b_i = lambda_i l_i / L

    its own shares of effective capital and labour, and ``price_impact`` =
    phi / N (phi = 1: the open-loop rule, others held fixed; the consistent
    conjecture's phi < 1 counts the others' reaction; docs/finite_n.md).  The
    only copy, shared by the finite-N steady state (:mod:`econ.heterogeneous`)
    and the finite-N Krusell-Smith household (:mod:`econ.krusell_smith`).
    Scalars or arrays.
    """
    return price_impact * (1.0 - alpha) * (own_labour_share - own_capital_share)


def private_wage_wedge(price_impact, alpha, own_labour_share, own_capital_share):
    """The relative wedge between household i's private and market marginal income from labour, lambda_i w (1 +
    wedge), when N households move prices: its own labour moves the wage by dw/dl_i = -alpha w lambda_i / (N L)
    and the return by dr/dl_i = (1-alpha) r lambda_i / (N L), so

        wedge = (phi / N) alpha (a_i - b_i),   a_i = kappa_i k_i / K,  b_i = lambda_i l_i / L

    (the notation of :func:`private_return_wedge`, whose companion it is).  The only copy, shared by the finite-N
    steady state (:mod:`econ.heterogeneous`) and the household's first-order conditions that :mod:`rl.lookahead`
    writes for polishing.  Scalars, arrays or tensors."""
    return price_impact * alpha * (own_capital_share - own_labour_share)


@njit(cache=True, error_model="numpy")
def _factor_prices_kernel(effective_capital, effective_labour, technology, alpha, output, mpk, mpl):
    for j in range(output.shape[0]):
        output[j], mpk[j], mpl[j] = _factor_prices_at(effective_capital[j], effective_labour[j], technology[j], alpha)


def factor_prices(effective_capital, effective_labour, technology, alpha: float):
    """Output and the marginal products of effective capital and labour (arrays broadcast).

    Y = A K^alpha L^(1-alpha), MPK = alpha A (K/L)^(alpha-1), MPL = (1-alpha) A (K/L)^alpha.
    Returns ``(Y, MPK, MPL)``.  Where effective labour is zero (everybody
    unemployed in a small Krusell-Smith economy) the limits are used: no output,
    no wage and zero return on capital.
    """
    inputs = (effective_capital, effective_labour, technology)
    K, L, A = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in inputs))
    output, mpk, mpl = np.empty((3,) + K.shape)
    flat = [np.ascontiguousarray(x).reshape(-1) for x in (K, L, A)]
    _factor_prices_kernel(*flat, float(alpha), output.reshape(-1), mpk.reshape(-1), mpl.reshape(-1))
    return output, mpk, mpl


@njit(cache=True, error_model="numpy")
def _markets_kernel(capital, labour, technology, kappa, lam, alpha, delta, K, L, Y, r, w, a):
    """Aggregates, prices and wealth of M economies of N households (the equations of the module docstring).

    Household inputs (``capital``, ``labour``, ``kappa``, ``lam``) are (M, N),
    or (1, N) when the same for every economy; ``technology`` has M entries, or
    one.  Writes K, L, Y (M,) and r, w, a (M, N).
    """
    M, N = r.shape
    for e in range(M):
        ek, el, ekap, elam = _row(capital, e), _row(labour, e), _row(kappa, e), _row(lam, e)
        capital_sum = 0.0
        labour_sum = 0.0
        for i in range(N):
            capital_sum += kappa[ekap, i] * capital[ek, i]
            labour_sum += lam[elam, i] * labour[el, i]
        K[e] = capital_sum / N
        L[e] = labour_sum / N
        Y[e], mpk, mpl = _factor_prices_at(K[e], L[e], technology[_row(technology, e)], alpha)
        for i in range(N):
            r[e, i] = kappa[ekap, i] * mpk
            w[e, i] = lam[elam, i] * mpl
            a[e, i] = (1.0 - delta) * capital[ek, i] + r[e, i] * capital[ek, i] + w[e, i] * labour[el, i]


@njit(cache=True, error_model="numpy")
def _period_kernel(capital, consumption_fraction, labour, technology, kappa, lam, alpha, delta, chi, code,
                   K, L, Y, r, w, a, c, k_next, R):
    """:func:`_markets_kernel`, then c = chat a, k' = max(a - c, CAPITAL_FLOOR) and R = u(c, l) into c, k_next, R."""
    _markets_kernel(capital, labour, technology, kappa, lam, alpha, delta, K, L, Y, r, w, a)
    M, N = a.shape
    for e in range(M):
        echat, el = _row(consumption_fraction, e), _row(labour, e)
        for i in range(N):
            c[e, i] = consumption_fraction[echat, i] * a[e, i]
            k_next[e, i] = max(a[e, i] - c[e, i], CAPITAL_FLOOR)
            R[e, i] = _utility_at(c[e, i], labour[el, i], chi, code)


@njit(cache=True, error_model="numpy")
def _row(x, e):
    """Row (entry) of ``x`` that economy ``e`` reads: e, or 0 when ``x`` is the same for every economy."""
    return e if x.shape[0] > 1 else 0


def _households(x, lead: tuple, n_economies: int, n_households: int) -> np.ndarray:
    """``x`` as the C-contiguous (M, N) or (1, N) array the kernels read (copied only when it must broadcast)."""
    x = np.asarray(x, dtype=float)
    if x.ndim and x.shape[-1] == n_households:
        head = x.shape[:-1]
        if head == lead:
            return np.ascontiguousarray(x).reshape(n_economies, n_households)
        if prod(head) == 1:
            return np.ascontiguousarray(x).reshape(1, n_households)
    if x.size == 1:
        return np.full((1, n_households), x.reshape(()))
    return np.ascontiguousarray(np.broadcast_to(x, lead + (n_households,))).reshape(n_economies, n_households)


def _economies(technology, lead: tuple, n_economies: int) -> np.ndarray:
    A = np.asarray(technology, dtype=float)
    if A.shape == lead:
        return np.ascontiguousarray(A).reshape(n_economies)
    if A.size == 1:
        return A.reshape(1)
    return np.ascontiguousarray(np.broadcast_to(A, lead)).reshape(n_economies)


def _layout(capital, labour, technology, *households):
    """Broadcast shape (lead..., N) of the inputs, M = prod(lead), N, and the arrays the kernels read.

    The first branch is the environment's case (float64 arrays: household
    inputs (M, N) or (N,), technology (M,)) and only checks the shapes; any
    strides are fine (Numba compiles a variant per memory layout).
    """
    if type(capital) is np.ndarray and type(technology) is np.ndarray and capital.ndim == 2:
        shape = capital.shape
        if technology.shape == shape[:1] and technology.dtype is _FLOAT and capital.dtype is _FLOAT:
            arrays = [capital]
            for x in (labour,) + households:
                if type(x) is not np.ndarray or x.dtype is not _FLOAT:
                    break
                if x.shape == shape:
                    arrays.append(x)
                elif x.shape == shape[1:]:
                    arrays.append(x.reshape(1, shape[1]))
                else:
                    break
            else:
                return shape, shape[0], shape[1], arrays, technology
    arrays = [np.asarray(x, dtype=float) for x in (capital, labour) + households]
    A = np.asarray(technology, dtype=float)
    shape = np.broadcast_shapes(*(x.shape for x in arrays), A.shape + (1,))
    lead, n = shape[:-1], shape[-1]
    m = prod(lead)
    return shape, m, n, [_households(x, lead, m, n) for x in arrays], _economies(A, lead, m)


class Markets(NamedTuple):
    """Aggregates, prices and wealth, before the households' consumption choice."""

    effective_capital: np.ndarray
    effective_labour: np.ndarray
    output: np.ndarray
    interest_rate: np.ndarray
    wage: np.ndarray
    wealth: np.ndarray


def markets(
    capital,
    labour,
    technology,
    *,
    alpha: float,
    delta: float,
    capital_productivity=1.0,
    labour_productivity=1.0,
) -> Markets:
    """Effective aggregates, factor prices and each household's wealth (step 3 of the timing).

    Parameters
    ----------
    capital : array (..., N)
        k_{i,t} > 0, households on the last axis, economies on leading axes.
    labour : array broadcastable to ``capital``
        l_{i,t} (chosen, or the endowment lbar e_{i,t} in Krusell-Smith variants).
    technology : array (...,) or scalar
        A_t, one per economy.
    alpha, delta : float
        Capital share and depreciation.
    capital_productivity, labour_productivity : array broadcastable to ``capital``
        kappa_i and lambda_i.

    Returns K, L, Y with the economies' shape (...) and r, w, a with the
    broadcast shape (..., N) of the inputs.
    """
    shape, m, n, (k, l, kappa, lam), A = _layout(capital, labour, technology, capital_productivity,
                                                  labour_productivity)
    K, L, Y = np.empty((3, m))
    r, w, a = np.empty((3, m, n))
    _markets_kernel(k, l, A, kappa, lam, float(alpha), float(delta), K, L, Y, r, w, a)
    lead = shape[:-1]
    return Markets(*(x.reshape(lead) for x in (K, L, Y)), *(x.reshape(shape) for x in (r, w, a)))


def period(
    capital,
    consumption_fraction,
    labour,
    technology,
    *,
    alpha: float,
    delta: float,
    chi: float = 1.0,
    utility_form: str = "linear",
    capital_productivity=1.0,
    labour_productivity=1.0,
) -> PeriodOutcome:
    """Step the economy by one period (see the module docstring for the equations).

    Arguments as :func:`markets`, plus the consumption fractions chat_{i,t}
    (broadcastable to ``capital``), the labour disutility weight ``chi`` and the
    ``utility_form`` (one of ``REWARD_FORMS``).  Outputs per household have the
    broadcast shape (..., N) of the inputs, aggregates the shape (...).
    """
    code = _utility_code(utility_form)
    shape, m, n, (k, l, kappa, lam, chat), A = _layout(capital, labour, technology, capital_productivity,
                                                        labour_productivity, consumption_fraction)
    K, L, Y = np.empty((3, m))
    r, w, a, c, R = np.empty((5, m, n))  # one allocation; next capital (the next state) gets its own
    k_next = np.empty((m, n))
    _period_kernel(k, chat, l, A, kappa, lam, float(alpha), float(delta), float(chi), code,
                   K, L, Y, r, w, a, c, k_next, R)
    lead = shape[:-1]
    if len(shape) != 2:
        K, L, Y = (x.reshape(lead) for x in (K, L, Y))
        r, w, a, c, k_next, R = (x.reshape(shape) for x in (r, w, a, c, k_next, R))
    return PeriodOutcome(K, L, Y, r, w, a, c, k_next, R)


def next_log_tfp(log_tfp, rho: float, sigma: float, innovation) -> np.ndarray:
    """log A_{t+1} = rho log A_t + sigma eps_{t+1}; the draw eps is passed in."""
    return rho * np.asarray(log_tfp) + sigma * np.asarray(innovation)


__all__ = [
    "ACTION_EPS",
    "CAPITAL_FLOOR",
    "REWARD_FORMS",
    "PeriodOutcome",
    "Markets",
    "markets",
    "action_to_fraction",
    "fraction_to_action",
    "utility",
    "factor_prices",
    "period",
    "next_log_tfp",
]
