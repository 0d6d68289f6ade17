"""Global solution of the representative-agent RBC by value-function iteration (docs/vfi.md).

The planner's problem with standard RBC timing (docs/model.md, N = 1) is

    V(k, A) = max_{k', l} u(c, l) + beta E[V(k', A') | A],
    c = a - k',  a = (1 - delta) k + A k^alpha l^(1-alpha),
    log A' = rho log A + sigma eps',

with u = log c - chi l (``linear``) or log c + chi log(1 - l) (``log_leisure``).

Method (details and references in ``docs/vfi.md``):

- log A is discretised on ``n_tfp`` nodes by Rouwenhorst's method
  (Kopecky and Suen 2010; ``quantecon.markov.rouwenhorst``) or Tauchen's;
- V(., A_i) is a cubic spline in k on ``n_capital`` nodes;
- at every node the choice of k' is continuous (Brent's method on the spline of
  E[V(k', A') | A_i]); labour for a given (k, A, k') solves the intratemporal
  condition (1 - alpha) A k^alpha l^(-alpha) / c = chi (linear) or
  chi / (1 - l) (log-leisure), a monotone one-dimensional root;
- each Bellman step is followed by ``howard_steps`` policy-evaluation steps
  (modified policy iteration, Puterman 1994 ch. 6.5), inside the generic loop
  :func:`econ.fixed_point.fixed_point`, stopped when the sup-norm step is
  below ``tol``.

Accuracy is measured by Euler-equation errors (Judd 1992) on a simulated
ergodic sample: :meth:`VFIResult.euler_errors`.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

import numpy as np
import quantecon as qe

from econ.rbc import _kernels as kernels
from econ import checks
from econ.economy import markets, period
from econ.fixed_point import ConvergenceError, fixed_point
from econ.rbc.linear import IRF_KEYS
from econ.rbc.params import RBCParams
from econ.rbc.steady_state import steady_state

DEFAULT_CAPITAL_BOUNDS = (0.5, 1.5)
"""Default capital grid as multiples of the deterministic steady state k_ss.

At the experiments' calibrations (sigma 0.01, rho 0.9) simulated capital stays
within about +-15% of k_ss for both delta = 1 and delta = 0.025, so
[0.5, 1.5] k_ss contains the ergodic set with a wide margin for both.
Larger shocks need wider bounds (``capital_bounds``)."""

TFP_METHODS = ("rouwenhorst", "tauchen")

EULER_ERROR_FLOOR = 1e-17
"""|1 - c / c^EE| is floored here before the log10, so an exact zero stays finite."""

def _freeze(array) -> np.ndarray:
    array = np.array(array, dtype=float)
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class VFIResult:
    """The converged value function and policies of :func:`solve_vfi`.

    Arrays on the grid have shape ``(n_tfp, n_capital)``: row ``i`` belongs to
    ``log_tfp_grid[i]``, column ``m`` to ``capital_grid[m]``.  All arrays are
    read-only.
    """

    params: RBCParams
    capital_grid: np.ndarray
    """Capital nodes k_m (increasing)."""
    log_tfp_grid: np.ndarray
    """log A nodes of the discretised AR(1) (increasing, equally spaced)."""
    transition: np.ndarray
    """P[i, j] = Prob(log A' = node j | log A = node i)."""
    value: np.ndarray
    """V(k_m, A_i)."""
    next_capital: np.ndarray
    """k'(k_m, A_i), the continuous maximiser."""
    labour: np.ndarray
    """l(k_m, A_i) from the intratemporal condition at the chosen k'."""
    consumption: np.ndarray
    """c(k_m, A_i) = a - k'."""
    consumption_fraction: np.ndarray
    """chat(k_m, A_i) = c / a, the action of the RL economy."""
    converged: bool
    num_iter: int
    """Outer (Bellman) iterations; each is followed by ``howard_steps`` evaluation steps."""
    distance: float
    """Last sup-norm step ||T V - V||."""
    seconds: float
    """Wall time of the solve (including the final policy extraction)."""
    howard_steps: int
    tfp_method: str
    _chat_curvature: np.ndarray = field(repr=False, compare=False)
    _labour_curvature: np.ndarray = field(repr=False, compare=False)

    @property
    def tfp_grid(self) -> np.ndarray:
        """A nodes, exp(log_tfp_grid)."""
        return np.exp(self.log_tfp_grid)

    def policy(self, capital, technology) -> Tuple[np.ndarray, np.ndarray]:
        """Consumption fraction and labour at (k, A), vectorised (inputs broadcast).

        Interpolation: cubic spline in k (fourth-order accurate end conditions)
        and the Lagrange cubic through the four nearest log A nodes, so A may lie
        off the grid.  Outside the grid the end cubics extrapolate; keep queries
        inside it.
        """
        k, A = np.broadcast_arrays(np.asarray(capital, dtype=float), np.asarray(technology, dtype=float))
        if np.any(~np.isfinite(k)) or np.any(k <= 0) or np.any(~np.isfinite(A)) or np.any(A <= 0):
            raise ValueError("policy needs finite capital > 0 and technology A > 0")
        kq = np.ascontiguousarray(k.ravel())
        zq = np.ascontiguousarray(np.log(A).ravel())
        chat = np.empty(kq.shape[0])
        labour = np.empty(kq.shape[0])
        kernels.interpolate_on_grid(
            self.capital_grid, self.log_tfp_grid, self.consumption_fraction, self._chat_curvature, kq, zq, chat
        )
        kernels.interpolate_on_grid(
            self.capital_grid, self.log_tfp_grid, self.labour, self._labour_curvature, kq, zq, labour
        )
        return chat.reshape(k.shape), labour.reshape(k.shape)

    def simulate(self, n_periods: int = 10_000, *, seed: int = 0, burn_in: int = 1_000,
                 initial_capital: Optional[float] = None) -> Dict[str, np.ndarray]:
        """Simulate the policy on the continuous AR(1) for log A (see :func:`simulate_policy`)."""
        return simulate_policy(self.policy, self.params, n_periods, seed=seed, burn_in=burn_in,
                               initial_capital=initial_capital)

    def euler_errors(self, n_periods: int = 10_000, seed: int = 0, *, burn_in: int = 1_000,
                     n_quadrature: int = 10) -> np.ndarray:
        """log10 |1 - c_t / c_t^EE| on a simulated ergodic sample (see :func:`euler_errors`)."""
        return euler_errors(self.policy, self.params, n_periods, seed=seed, burn_in=burn_in,
                            n_quadrature=n_quadrature)


def discretise_tfp(params: RBCParams, n_tfp: int, method: str = "rouwenhorst",
                   tauchen_width: float = 3.0) -> Tuple[np.ndarray, np.ndarray]:
    """Nodes of log A and the transition matrix of the discretised AR(1).

    Rouwenhorst (Kopecky and Suen 2010): nodes +-sqrt(n - 1) sigma_z with
    sigma_z = sigma / sqrt(1 - rho^2), matching the conditional mean and
    variance exactly (the better choice for persistent processes).  Tauchen:
    nodes +-``tauchen_width`` sigma_z.
    """
    if method == "rouwenhorst":
        with warnings.catch_warnings():  # quantecon warns that the argument order changed; ours is the new one
            warnings.filterwarnings("ignore", message="The API of rouwenhorst has changed")
            chain = qe.markov.rouwenhorst(n_tfp, params.rho, params.sigma)
    else:
        chain = qe.markov.tauchen(n_tfp, params.rho, params.sigma, n_std=tauchen_width)
    return np.asarray(chain.state_values, dtype=float), np.asarray(chain.P, dtype=float)


def default_capital_bounds(params: RBCParams) -> Tuple[float, float]:
    """``DEFAULT_CAPITAL_BOUNDS`` times the deterministic steady-state capital."""
    k_ss = steady_state(params).capital
    return DEFAULT_CAPITAL_BOUNDS[0] * k_ss, DEFAULT_CAPITAL_BOUNDS[1] * k_ss


def _initial_value(grid, tfp, params: RBCParams, labour_ss, chat_ss) -> np.ndarray:
    """Value of consuming the steady-state fraction at steady-state labour forever from (k, A)."""
    k = grid[None, :]
    A = tfp[:, None]
    wealth = (1.0 - params.delta) * k + A * k**params.alpha * labour_ss ** (1.0 - params.alpha)
    c = chat_ss * wealth
    u = kernels.period_utility(1.0, labour_ss, params.chi, params.utility_code) + np.log(c)
    return u / (1.0 - params.beta)


def solve_vfi(
    params: RBCParams,
    *,
    n_capital: int = 60,
    n_tfp: int = 15,
    capital_bounds: Optional[Tuple[float, float]] = None,
    tol: float = 1e-9,
    max_iter: int = 500,
    howard_steps: int = 50,
    tfp_method: str = "rouwenhorst",
    tauchen_width: float = 3.0,
    xtol: float = 1e-12,
) -> VFIResult:
    """Solve the stochastic growth model with labour by value-function iteration.

    Bellman equation (standard RBC timing, docs/model.md):

        V(k, A_i) = max_{k'} u(c, l) + beta sum_j P[i, j] V(k', A_j),
        c = (1 - delta) k + A_i k^alpha l^(1-alpha) - k',

    with l = l(k, A_i, k') from the intratemporal condition
    (1 - alpha) A k^alpha l^(-alpha) / c = chi (linear utility) or
    chi / (1 - l) (log-leisure), capped at l = 1 (linear utility only).
    V(., A_j) is a cubic spline in k; k' is chosen continuously in
    [k_min, k_max] by Brent's method.  Each Bellman step is followed by
    ``howard_steps`` policy-evaluation steps; the loop is
    :func:`econ.fixed_point.fixed_point`, stopped when the sup-norm change of V
    is below ``tol``.  Reference: Aruoba, Fernandez-Villaverde and
    Rubio-Ramirez (2006), JEDC 30, section 3 (VFI with splines).

    Parameters
    ----------
    params : RBCParams
        Calibration; ``sigma`` must be positive (the A grid needs a spread).
    n_capital : int >= 6
        Capital nodes, equally spaced on ``capital_bounds``.
    n_tfp : int >= 4
        log A nodes (four are needed for the cubic interpolation in A).
    capital_bounds : (float, float), optional
        (k_min, k_max) with 0 < k_min < k_ss < k_max; default
        ``DEFAULT_CAPITAL_BOUNDS`` times the steady state.
    tol : float > 0
        Stopping rule on the sup-norm step of V.
    max_iter : int >= 1
        Bellman iterations before :class:`econ.fixed_point.ConvergenceError`.
    howard_steps : int >= 0
        Policy-evaluation steps after each maximisation.
    tfp_method : {"rouwenhorst", "tauchen"}
    tauchen_width : float > 0
        Grid half-width in unconditional standard deviations (Tauchen only).
    xtol : float > 0
        Absolute tolerance of Brent's method on k' (a relative 1.5e-8 is always added).

    Returns
    -------
    VFIResult

    Raises
    ------
    ValueError
        A bad argument (the message names it and its allowed range).
    econ.fixed_point.ConvergenceError
        No convergence in ``max_iter`` iterations (diagnostics in ``.result``).
    """
    if not isinstance(params, RBCParams):
        raise ValueError(f"params must be an RBCParams, got {type(params).__name__}")
    n_capital = checks.positive_int("n_capital", n_capital, minimum=6)
    n_tfp = checks.positive_int("n_tfp", n_tfp, minimum=4)
    max_iter = checks.positive_int("max_iter", max_iter, minimum=1)
    howard_steps = checks.positive_int("howard_steps", howard_steps, minimum=0)
    tol = checks.positive("tol", tol)
    xtol = checks.positive("xtol", xtol)
    tfp_method = checks.one_of("tfp_method", tfp_method, TFP_METHODS)
    tauchen_width = checks.positive("tauchen_width", tauchen_width)
    if params.sigma == 0:
        raise ValueError("params.sigma must be > 0 for solve_vfi (the TFP grid needs a spread), got 0")
    ss = steady_state(params)
    if capital_bounds is None:
        capital_bounds = default_capital_bounds(params)
    try:
        k_min, k_max = (float(b) for b in capital_bounds)
    except (TypeError, ValueError):
        raise ValueError(f"capital_bounds must be a pair (k_min, k_max), got {capital_bounds!r}") from None
    if not (np.isfinite(k_min) and np.isfinite(k_max) and 0.0 < k_min < ss.capital < k_max):
        raise ValueError(
            f"capital_bounds must satisfy 0 < k_min < k_ss = {ss.capital:.6g} < k_max, got {capital_bounds!r}"
        )

    start = time.perf_counter()
    grid = np.linspace(k_min, k_max, n_capital)
    log_tfp, transition = discretise_tfp(params, n_tfp, tfp_method, tauchen_width)
    tfp = np.exp(log_tfp)
    args = (params.alpha, params.beta, params.delta, params.chi, params.utility_code, ss.labour, xtol)

    shape = (n_tfp, n_capital)
    expect, curvature = np.empty(shape), np.empty(shape)
    work = np.empty(n_capital)
    new_values, next_capital, labour, reward = (np.empty(shape) for _ in range(4))

    def maximise(values):
        infeasible = kernels.bellman_maximise(
            grid, tfp, transition, values, *args, expect, curvature, work, new_values, next_capital, labour, reward
        )
        if infeasible:
            raise ValueError(
                f"capital_bounds: at {infeasible} grid nodes no k' >= k_min = {k_min:.6g} is affordable; "
                "raise k_min"
            )

    def bellman(values):
        maximise(values)
        out = new_values.copy()
        kernels.evaluate_policy(grid, transition, next_capital, reward, params.beta, howard_steps,
                                out, expect, curvature, work)
        return out

    v0 = _initial_value(grid, tfp, params, ss.labour, ss.consumption_fraction)
    solved = fixed_point(bellman, v0, tol=tol, max_iter=max_iter, name="value-function iteration")
    maximise(solved.x)  # the policy that is greedy with respect to the converged V

    wealth = (1.0 - params.delta) * grid[None, :] + tfp[:, None] * grid[None, :] ** params.alpha * labour ** (
        1.0 - params.alpha
    )
    consumption = wealth - next_capital
    chat = consumption / wealth
    chat_curv, labour_curv = np.empty(shape), np.empty(shape)
    kernels.spline_rows(grid, chat, chat_curv, work)
    kernels.spline_rows(grid, np.ascontiguousarray(labour), labour_curv, work)
    return VFIResult(
        params=params,
        capital_grid=_freeze(grid),
        log_tfp_grid=_freeze(log_tfp),
        transition=_freeze(transition),
        value=_freeze(solved.x),
        next_capital=_freeze(next_capital),
        labour=_freeze(labour),
        consumption=_freeze(consumption),
        consumption_fraction=_freeze(chat),
        converged=solved.converged,
        num_iter=solved.num_iter,
        distance=solved.distance,
        seconds=time.perf_counter() - start,
        howard_steps=howard_steps,
        tfp_method=tfp_method,
        _chat_curvature=_freeze(chat_curv),
        _labour_curvature=_freeze(labour_curv),
    )


# ---------------------------------------------------------------------------
# Simulation, Euler errors, impulse responses (all through econ.economy)
# ---------------------------------------------------------------------------


def _step(policy, params: RBCParams, capital, log_tfp):
    """One period of the economy under ``policy`` for a batch of economies (N = 1 each)."""
    A = np.exp(log_tfp)
    chat, labour = policy(capital, A)
    outcome = period(
        capital[:, None], chat[:, None], labour[:, None], A,
        alpha=params.alpha, delta=params.delta, chi=params.chi, utility_form=params.utility,
    )
    return chat, labour, outcome


def simulate_policy(policy, params: RBCParams, n_periods: int = 10_000, *, seed: int = 0,
                    burn_in: int = 1_000, initial_capital: Optional[float] = None) -> Dict[str, np.ndarray]:
    """Simulate a policy (k, A) -> (chat, l) through :func:`econ.economy.period`.

    log A follows the continuous AR(1) with innovations from
    ``numpy.random.default_rng(seed)``; the first ``burn_in`` periods (started
    at the deterministic steady state, log A = 0, unless ``initial_capital``)
    are discarded.  Returns arrays of length ``n_periods``: capital (used in
    production), log_tfp, consumption, labour, output, consumption_fraction,
    next_capital.
    """
    n_periods = checks.positive_int("n_periods", n_periods)
    burn_in = checks.positive_int("burn_in", burn_in, minimum=0)
    rng = np.random.default_rng(seed)
    total = n_periods + burn_in
    shocks = rng.standard_normal(total)
    k = np.array([steady_state(params).capital if initial_capital is None
                  else checks.positive("initial_capital", initial_capital)])
    z = np.zeros(1)
    names = ("capital", "log_tfp", "consumption", "labour", "output", "consumption_fraction", "next_capital")
    path = {name: np.empty(total) for name in names}
    for t in range(total):
        chat, labour, out = _step(policy, params, k, z)
        path["capital"][t] = k[0]
        path["log_tfp"][t] = z[0]
        path["consumption"][t] = out.consumption[0, 0]
        path["labour"][t] = labour[0]
        path["output"][t] = out.output[0]
        path["consumption_fraction"][t] = chat[0]
        path["next_capital"][t] = out.next_capital[0, 0]
        k = out.next_capital[:, 0]
        z = params.rho * z + params.sigma * shocks[t]
    return {name: values[burn_in:] for name, values in path.items()}


def euler_errors(policy, params: RBCParams, n_periods: int = 10_000, *, seed: int = 0, burn_in: int = 1_000,
                 n_quadrature: int = 10) -> np.ndarray:
    """Euler-equation errors log10 |1 - c_t / c_t^EE| on a simulated ergodic sample (Judd 1992).

    c_t^EE is the consumption the Euler equation asks for given next period's policy,

        1 / c_t^EE = beta E_t[(1 / c_{t+1}) (1 - delta + alpha y_{t+1} / k_{t+1})],

    with the expectation over log A' = rho log A_t + sigma eps by
    ``n_quadrature``-node Gauss-Hermite quadrature, and next period's
    consumption, output and return from :func:`econ.economy.markets` at the
    policy's labour.  The sample is :func:`simulate_policy` (same seed, same
    burn-in).  An error of -4 means a $1 mistake per $10,000 of consumption.
    Exact zeros (possible for a closed-form policy) are reported as
    log10(EULER_ERROR_FLOOR) = -17, below the rounding level.
    """
    checks.positive_int("n_quadrature", n_quadrature)
    sample = simulate_policy(policy, params, n_periods, seed=seed, burn_in=burn_in)
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_quadrature)
    weights = weights / weights.sum()
    k_next = sample["next_capital"][:, None] * np.ones_like(nodes)[None, :]
    z_next = params.rho * sample["log_tfp"][:, None] + params.sigma * nodes[None, :]
    A_next = np.exp(z_next)
    chat_next, labour_next = policy(k_next, A_next)
    m = markets(k_next[..., None], labour_next[..., None], A_next, alpha=params.alpha, delta=params.delta)
    c_next = chat_next * m.wealth[..., 0]
    gross_return = 1.0 - params.delta + m.interest_rate[..., 0]
    c_euler = 1.0 / (params.beta * (weights[None, :] * gross_return / c_next).sum(axis=1))
    return np.log10(np.maximum(np.abs(1.0 - sample["consumption"] / c_euler), EULER_ERROR_FLOOR))


def nonlinear_impulse_response(result: VFIResult, horizon: int = 40, shock_size: float = 1.0) -> Dict[str, np.ndarray]:
    """Impulse responses of the global policy to a TFP shock, as level deviations.

    Two economies start at the deterministic steady state k_ss: the shocked
    one has log A_0 = shock_size * sigma and log A_t = rho^t log A_0, the other
    log A_t = 0.  Both are stepped by :func:`econ.economy.period` with the
    policy's (chat, l); the responses are the differences (shocked - baseline),
    period 0 = impact, for consumption, labour, output, capital (the stock used
    in production, so its period-0 entry is 0), consumption_fraction and log_tfp.
    Subtracting the unshocked path removes the policy's drift from the
    deterministic towards the stochastic steady state.
    """
    if not isinstance(result, VFIResult):
        raise ValueError(f"result must be a VFIResult, got {type(result).__name__}")
    params = result.params
    shocked, baseline = impulse_paths(result.policy, params, steady_state(params).capital, horizon, shock_size)
    return {name: shocked[name] - baseline[name] for name in IRF_KEYS}


def impulse_paths(policy, params: RBCParams, capital: float, horizon: int = 40, shock_size: float = 1.0):
    """Level paths of two economies run by ``policy`` (k, A) -> (chat, l) from ``capital``.

    The shocked one has log A_t = rho^t * shock_size * sigma, the baseline
    log A = 0; both stepped by :func:`econ.economy.period`.  Returns
    ``(shocked, baseline)``, dicts of arrays of length ``horizon`` for
    IRF_KEYS (``capital`` is the stock used in production).
    """
    horizon = checks.positive_int("horizon", horizon)
    shock_size = checks._finite("shock_size", shock_size)
    k = np.full(2, checks.positive("capital", capital))
    z = np.array([shock_size * params.sigma, 0.0])
    path = {name: np.empty((horizon, 2)) for name in IRF_KEYS}
    for t in range(horizon):
        chat, labour, out = _step(policy, params, k, z)
        path["consumption"][t] = out.consumption[:, 0]
        path["labour"][t] = labour
        path["output"][t] = out.output
        path["capital"][t] = k
        path["consumption_fraction"][t] = chat
        path["log_tfp"][t] = z
        k = out.next_capital[:, 0]
        z = params.rho * z
    return {n: p[:, 0].copy() for n, p in path.items()}, {n: p[:, 1].copy() for n, p in path.items()}


__all__ = [
    "DEFAULT_CAPITAL_BOUNDS",
    "IRF_KEYS",
    "VFIResult",
    "ConvergenceError",
    "default_capital_bounds",
    "discretise_tfp",
    "euler_errors",
    "nonlinear_impulse_response",
    "simulate_policy",
    "solve_vfi",
]
