"""How close a policy of the one-household RBC economy is to the benchmark solution.

These metrics live next to the solutions they score (Brock-Mirman, VFI,
linearisation) so that both the training-time evaluation of :mod:`rl` and the
scorecards of :mod:`validation` use them.  A *policy* here is any callable
``(capital, technology) -> (chat, labour)`` on arrays of the same shape, the
convention of :mod:`econ.rbc.vfi`; a learned network becomes one through
``rl.rollout.model_policy``.  Every simulation goes through
:func:`econ.economy.period` (the one implementation of the period equations).

- :func:`welfare_loss`: consumption-equivalent welfare loss of the policy
  against the benchmark from the same initial states and the same shocks,
  ``1 - exp((1 - beta)(V_RL - V*))``, in percent of consumption per period.
- :func:`policy_error`: mean and max |chat - chat*| and |l - l*| on states
  drawn from the benchmark's own ergodic simulation.
- :func:`irf_agreement`: the policy's economy run with sigma = 0 to its own
  deterministic fixed point, hit by a one-standard-deviation TFP shock; its
  deviations from that fixed point against the benchmark's linear IRF, as
  relative RMSE per variable, with the fixed point's distance from the
  steady state.
- :func:`benchmark_policy`: the benchmark a policy of an experiment is scored
  against (Brock-Mirman at delta = 1, the global VFI solution otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Optional

import numpy as np

from econ import checks
from econ.economy import period
from econ.experiments import Experiment
from econ.rbc.brock_mirman import brock_mirman_policy
from econ.rbc.linear import IRF_KEYS, linearize
from econ.rbc.params import RBCParams
from econ.rbc.steady_state import steady_state
from econ.rbc.vfi import impulse_paths, simulate_policy, solve_vfi

Policy = Callable[[np.ndarray, np.ndarray], tuple]

IRF_VARIABLES = ("consumption", "labour", "output", "capital", "consumption_fraction")
"""Variables whose IRF agreement is scored (log TFP is the shock itself)."""


def require_rbc(experiment: Experiment) -> RBCParams:
    if not isinstance(experiment, Experiment):
        raise TypeError(f"experiment must be an econ.experiments.Experiment, got {type(experiment).__name__}")
    if experiment.num_agents != 1 or experiment.technology != "ar1" or not experiment.chooses_labour:
        raise ValueError(
            f"these scores need a one-household AR(1) experiment that chooses labour (rbc, rbc-full-depreciation); "
            f"got {experiment.name!r} with N = {experiment.num_agents}, technology {experiment.technology!r}"
        )
    return experiment.rbc_params


# ----------------------------------------------------------------------------- benchmark
def benchmark_policy(experiment: Experiment, **vfi_options) -> Policy:
    """Brock-Mirman (delta = 1) or the global VFI policy (delta < 1) of the experiment's calibration."""
    params = require_rbc(experiment)
    if params.delta == 1.0:
        return brock_mirman_policy(params)
    return solve_vfi(params, **vfi_options).policy


# ----------------------------------------------------------------------------- simulation
def _simulate_values(policy: Policy, params: RBCParams, capital0: np.ndarray, shocks: np.ndarray) -> np.ndarray:
    """Discounted utility sums of ``len(capital0)`` economies over ``shocks.shape[1]`` periods."""
    k = capital0.astype(float).copy()
    log_tfp = np.zeros_like(k)
    values = np.zeros_like(k)
    discount = 1.0
    for t in range(shocks.shape[1]):
        A = np.exp(log_tfp)
        chat, labour = policy(k, A)
        out = period(k[:, None], np.asarray(chat, dtype=float)[:, None], np.asarray(labour, dtype=float)[:, None], A,
                     alpha=params.alpha, delta=params.delta, chi=params.chi, utility_form=params.utility)
        values += discount * out.reward[:, 0]
        discount *= params.beta
        k = out.next_capital[:, 0]
        log_tfp = params.rho * log_tfp + params.sigma * shocks[:, t]
    return values


@dataclass(frozen=True)
class WelfareLoss:
    loss_percent: float
    """1 - exp((1 - beta)(mean V_RL - mean V*)), in percent."""
    value: float
    """Mean discounted utility of the policy."""
    benchmark_value: float
    """Mean discounted utility of the benchmark from the same states and shocks."""
    n_states: int
    horizon: int


def welfare_loss(policy: Policy, benchmark: Policy, experiment: Experiment, *, n_states: int = 256,
                 horizon: Optional[int] = None, seed: int = 0) -> WelfareLoss:
    """Consumption-equivalent welfare loss of ``policy`` against ``benchmark`` (docs/validation.md).

    ``n_states`` initial capitals k_0 = capital_scale * U(low, high) of the
    experiment (log A_0 = 0) and one shock path each, the same for both
    policies; the horizon defaults to the number of periods after which
    beta^t < 1e-10 (the neglected tail is below 1e-10 of a period's utility).
    With period utility log c - v(l), consuming (1 - x) times as much in every
    period lowers V by -log(1 - x)/(1 - beta), hence the formula.
    """
    params = require_rbc(experiment)
    n_states = checks.positive_int("n_states", n_states)
    if horizon is None:
        horizon = int(np.ceil(np.log(1e-10) / np.log(params.beta)))
    horizon = checks.positive_int("horizon", horizon)
    rng = np.random.default_rng(seed)
    capital0 = experiment.capital_scale * rng.uniform(experiment.initial_capital_low, experiment.initial_capital_high,
                                                      n_states)
    shocks = rng.standard_normal((n_states, horizon))
    v_policy = float(np.mean(_simulate_values(policy, params, capital0, shocks)))
    v_bench = float(np.mean(_simulate_values(benchmark, params, capital0, shocks)))
    loss = 100.0 * (1.0 - np.exp((1.0 - params.beta) * (v_policy - v_bench)))
    return WelfareLoss(float(loss), v_policy, v_bench, n_states, horizon)


@dataclass(frozen=True)
class PolicyError:
    chat_mean: float
    chat_max: float
    labour_mean: float
    labour_max: float
    n_states: int


def policy_error(policy: Policy, benchmark: Policy, experiment: Experiment, *, n_periods: int = 10_000,
                 seed: int = 0) -> PolicyError:
    """|chat - chat*| and |l - l*| (mean and max) on the benchmark's own ergodic simulation."""
    params = require_rbc(experiment)
    sample = simulate_policy(benchmark, params, n_periods, seed=seed)
    k, A = sample["capital"], np.exp(sample["log_tfp"])
    chat, labour = policy(k, A)
    chat_err = np.abs(np.asarray(chat) - sample["consumption_fraction"])
    labour_err = np.abs(np.asarray(labour) - sample["labour"])
    return PolicyError(float(chat_err.mean()), float(chat_err.max()), float(labour_err.mean()),
                       float(labour_err.max()), int(k.size))


@dataclass(frozen=True)
class IRFAgreement:
    relative_rmse: Dict[str, float]
    """||irf_RL - irf*||_2 / ||irf*||_2 per variable over the horizon."""
    policy_irf: Dict[str, np.ndarray]
    """Level deviations of the policy's economy from its own fixed point."""
    benchmark_irf: Dict[str, np.ndarray]
    """The benchmark's linear IRF (level deviations from the steady state)."""
    fixed_point: Dict[str, float]
    """The policy's deterministic fixed point (capital, consumption, labour, output, consumption_fraction)."""
    fixed_point_distance: Dict[str, float]
    """Relative distance of the fixed point from the deterministic steady state, per variable."""
    converged: bool
    """Whether the sigma = 0 run settled (capital change below 1e-7 relative, see deterministic_fixed_point)."""


def deterministic_fixed_point(policy: Policy, params: RBCParams, *, max_periods: int = 20_000,
                              tol: float = 1e-7) -> tuple:
    """Run the economy with sigma = 0 from the steady state until capital stops moving.

    "Stops moving": relative change below ``tol`` = 1e-7.  A network policy
    computes in float32 (relative resolution 6e-8), so its iterates settle
    into a band of that width rather than on one point; 1e-7 is far below
    the 1e-2 relative deviations an impulse response is made of.

    Returns ``(capital, converged)``.  A policy with a cycle or a drift does
    not converge; then the last capital is returned with ``converged=False``.
    """
    k = np.array([steady_state(params).capital])
    one = np.ones(1)
    for _ in range(max_periods):
        chat, labour = policy(k, one)
        out = period(k[:, None], np.asarray(chat, dtype=float).reshape(1, 1),
                     np.asarray(labour, dtype=float).reshape(1, 1), one,
                     alpha=params.alpha, delta=params.delta, chi=params.chi, utility_form=params.utility)
        k_next = out.next_capital[:, 0]
        if abs(k_next[0] - k[0]) <= tol * k[0]:
            return float(k_next[0]), True
        k = k_next
    return float(k[0]), False


def policy_impulse_response(policy: Policy, params: RBCParams, capital: float, horizon: int = 40,
                            shock_size: float = 1.0) -> tuple:
    """Paths of the policy's economy from ``capital`` with log A_t = rho^t * shock_size * sigma.

    Returns ``(shocked, baseline)`` dicts of level paths for IRF_KEYS; the
    baseline has log A = 0 throughout (:func:`econ.rbc.vfi.impulse_paths`).
    """
    return impulse_paths(_as_float(policy), params, capital, horizon, shock_size)


def _as_float(policy: Policy) -> Policy:
    def wrapped(capital, technology):
        chat, labour = policy(capital, technology)
        return np.asarray(chat, dtype=float), np.asarray(labour, dtype=float)

    return wrapped


def irf_agreement(policy: Policy, experiment: Experiment, *, horizon: int = 40, shock_size: float = 1.0
                  ) -> IRFAgreement:
    """IRF agreement of docs/validation.md against the first-order (linear) benchmark.

    The IRF of the policy is the shocked path minus the unshocked path from
    the policy's own deterministic fixed point (at a fixed point the
    unshocked path is constant, so this is the deviation from the fixed point).
    """
    params = require_rbc(experiment)
    if params.sigma == 0:
        raise ValueError("irf_agreement needs sigma > 0 (the shock is one standard deviation)")
    horizon = checks.positive_int("horizon", horizon)
    linear = linearize(params)
    bench = linear.impulse_response(horizon, shock_size)
    k_fixed, converged = deterministic_fixed_point(policy, params)
    shocked, baseline = policy_impulse_response(policy, params, k_fixed, horizon, shock_size)
    irf = {name: shocked[name] - baseline[name] for name in IRF_KEYS}
    rmse = {}
    for name in IRF_VARIABLES:
        norm = float(np.linalg.norm(bench[name]))
        # a benchmark IRF that is zero in theory (labour and chat at delta = 1) has no relative error: NaN
        scale = float(np.linalg.norm(bench["output"])) or 1.0
        rmse[name] = float(np.linalg.norm(irf[name] - bench[name]) / norm) if norm > 1e-9 * scale else float("nan")
    ss = linear.steady_state
    fixed = {name: float(baseline[name][0]) for name in ("capital", "consumption", "labour", "output",
                                                          "consumption_fraction")}
    distance = {name: abs(fixed[name] - getattr(ss, name)) / abs(getattr(ss, name)) for name in fixed}
    return IRFAgreement(rmse, irf, bench, fixed, distance, converged)


__all__ = [
    "IRFAgreement",
    "IRF_VARIABLES",
    "PolicyError",
    "WelfareLoss",
    "benchmark_policy",
    "deterministic_fixed_point",
    "irf_agreement",
    "policy_error",
    "policy_impulse_response",
    "welfare_loss",
]
