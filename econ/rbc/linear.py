"""First-order perturbation of the representative-agent RBC (docs/linearisation.md).

The equilibrium conditions are written once, symbolically (sympy), in levels,
with x_t = (k_t, log A_t | c_t, l_t, y_t, chat_t): two predetermined states,
capital used in production at t and log TFP, and four controls.

    1/c_t        = beta E_t[(1/c_{t+1}) (1 - delta + alpha y_{t+1} / k_{t+1})]     Euler
    (1-alpha) y_t / (l_t c_t) = chi                  (linear utility)           intratemporal
    (1-alpha) y_t / (l_t c_t) = chi / (1 - l_t)      (log-leisure utility)
    y_t          = exp(log A_t) k_t^alpha l_t^(1-alpha)
    k_{t+1}      = (1 - delta) k_t + y_t - c_t
    chat_t       = c_t / ((1 - delta) k_t + y_t)
    log A_{t+1}  = rho log A_t + sigma eps_{t+1}

They are defined once, in :func:`symbolic_conditions`; the linearisation below
differentiates them and :func:`econ.rbc.dynare.to_dynare` prints them as a
Dynare model block.

Differentiating F(x_{t+1}, x_t) = 0 at the deterministic steady state gives
A E_t[dx_{t+1}] = B dx_t.  The generalised Schur (QZ) decomposition of the
pencil (B, A), ordered with the stable generalised eigenvalues first, yields
the solution (Klein 2000, "Using the generalized Schur form to solve a
multivariate linear rational expectations model", JEDC 24)

    controls_t  = F states_t,      states_{t+1} = P states_t + (0, sigma eps_{t+1}).

A unique stable solution needs exactly as many stable eigenvalues as states
(Blanchard and Kahn 1980) and an invertible Z11 block; otherwise
:class:`BlanchardKahnError` is raised.  Variables are in levels, so impulse
responses are level deviations from the steady state, as Dynare reports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Dict

import numpy as np
import scipy.linalg

from econ import checks
from econ.rbc.params import UTILITIES, RBCParams
from econ.rbc.steady_state import SteadyState, steady_state

STATE_NAMES = ("capital", "log_tfp")
CONTROL_NAMES = ("consumption", "labour", "output", "consumption_fraction")
IRF_KEYS = ("consumption", "labour", "output", "capital", "consumption_fraction", "log_tfp")

STABILITY_THRESHOLD = 1.0
"""Generalised eigenvalues with modulus below this are stable."""


class BlanchardKahnError(ValueError):
    """The linearised model has no unique stable solution."""


PARAMETER_NAMES = ("alpha", "beta", "delta", "rho", "sigma", "chi")
"""The calibration fields that appear in the equilibrium conditions (``RBCParams`` order)."""

VARIABLE_SYMBOLS = ("k", "a", "c", "l", "y", "chat")
"""Short symbol of each variable of x_t, in the order ``STATE_NAMES + CONTROL_NAMES``."""


@dataclass(frozen=True)
class SymbolicConditions:
    """The equilibrium conditions F(x_{t+1}, x_t, eps_{t+1}) = 0 of one utility form, in sympy.

    ``equations`` maps a condition's name to ``sympy.Eq(lhs, rhs)``; the residual
    is ``lhs - rhs``.  ``current`` and ``lead`` hold the symbols of x_t and
    x_{t+1} (ordered as ``STATE_NAMES + CONTROL_NAMES``), ``innovation`` the TFP
    innovation eps_{t+1} (zero in the deterministic steady state) and
    ``parameters`` the symbols of ``PARAMETER_NAMES``.  This is the one
    definition of the model: the linearisation differentiates it and
    :func:`econ.rbc.dynare.to_dynare` prints it.
    """

    parameters: tuple
    current: tuple
    lead: tuple
    innovation: object
    equations: Dict[str, object]

    def residuals(self):
        """The column vector of residuals lhs - rhs, one row per condition (order of ``equations``)."""
        import sympy as sp

        return sp.Matrix([eq.lhs - eq.rhs for eq in self.equations.values()])


@lru_cache(maxsize=None)
def symbolic_conditions(utility: str) -> SymbolicConditions:
    """The equilibrium conditions of the module docstring for ``utility`` ("linear" or "log_leisure")."""
    import sympy as sp

    utility = checks.one_of("utility", utility, UTILITIES)
    parameters = sp.symbols(PARAMETER_NAMES, positive=True)
    alpha, beta, delta, rho, sigma, chi = parameters
    now = sp.symbols(VARIABLE_SYMBOLS, real=True)
    nxt = sp.symbols(tuple(f"{name}_p" for name in VARIABLE_SYMBOLS), real=True)
    innovation = sp.Symbol("eps_p", real=True)
    k, a, c, l, y, chat = now
    k_p, a_p, c_p, l_p, y_p, _ = nxt

    marginal_disutility = chi if utility == "linear" else chi / (1 - l)
    equations = {
        "euler": sp.Eq(1 / c, beta * (1 / c_p) * (1 - delta + alpha * y_p / k_p)),
        "intratemporal": sp.Eq((1 - alpha) * y / (l * c), marginal_disutility),
        "production": sp.Eq(y, sp.exp(a) * k**alpha * l ** (1 - alpha)),
        "accumulation": sp.Eq(k_p, (1 - delta) * k + y - c),
        "consumption_fraction": sp.Eq(chat, c / ((1 - delta) * k + y)),
        "tfp": sp.Eq(a_p, rho * a + sigma * innovation),
    }
    return SymbolicConditions(parameters, now, nxt, innovation, equations)


@lru_cache(maxsize=None)
def _jacobian_functions(utility: str):
    """Residuals and their Jacobians at eps_{t+1} = 0, lambdified (cached per utility form)."""
    import sympy as sp

    model = symbolic_conditions(utility)
    conditions = model.residuals().subs(model.innovation, 0)
    lead = conditions.jacobian(sp.Matrix(model.lead))
    current = conditions.jacobian(sp.Matrix(model.current))
    args = (*model.parameters, *model.current, *model.lead)
    return (
        sp.lambdify(args, conditions, "numpy"),
        sp.lambdify(args, lead, "numpy"),
        sp.lambdify(args, current, "numpy"),
    )


def equilibrium_conditions(params: RBCParams):
    """Residuals and Jacobians of F(x_{t+1}, x_t) at the steady state.

    Returns ``(residual, A, B)`` with A = dF/dx_{t+1} and B = -dF/dx_t, so that
    the linearised model reads A E_t[dx_{t+1}] = B dx_t.
    """
    ss = steady_state(params)
    x = (ss.capital, 0.0, ss.consumption, ss.labour, ss.output, ss.consumption_fraction)
    residual_fn, lead_fn, current_fn = _jacobian_functions(params.utility)
    args = (*(getattr(params, name) for name in PARAMETER_NAMES), *x, *x)
    residual = np.asarray(residual_fn(*args), dtype=float).ravel()
    A = np.asarray(lead_fn(*args), dtype=float)
    B = -np.asarray(current_fn(*args), dtype=float)
    return residual, A, B


def klein_solve(A, B, n_states: int):
    """Solve A E_t[x_{t+1}] = B x_t with the first ``n_states`` entries of x predetermined.

    Returns ``(F, P, eigenvalues)``: controls = F states, states' = P states,
    and the generalised eigenvalues lambda of B v = lambda A v (stable first).
    Raises :class:`BlanchardKahnError` when the number of stable eigenvalues
    differs from ``n_states`` or the stable block is not invertible.
    """
    A = np.asarray(A, dtype=float)
    B = np.asarray(B, dtype=float)
    n = A.shape[0]
    # B = Q T Z^H, A = Q S Z^H; eigenvalue of the pencil: T_ii / S_ii.
    T, S, _, _, Q, Z = scipy.linalg.ordqz(B, A, sort="iuc", output="complex")
    with np.errstate(divide="ignore", invalid="ignore"):
        eigenvalues = np.diag(T) / np.diag(S)
    n_stable = int(np.sum(np.abs(eigenvalues) < STABILITY_THRESHOLD))
    if n_stable != n_states:
        raise BlanchardKahnError(
            f"Blanchard-Kahn condition fails: {n_stable} stable generalised eigenvalues for {n_states} "
            f"predetermined variables ({'indeterminacy' if n_stable > n_states else 'no stable solution'}); "
            f"moduli: {np.round(np.abs(eigenvalues), 6).tolist()}"
        )
    Z11 = Z[:n_states, :n_states]
    Z21 = Z[n_states:, :n_states]
    if np.linalg.matrix_rank(Z11) < n_states:
        raise BlanchardKahnError("the stable block Z11 of the QZ decomposition is singular: no unique solution")
    Z11_inv = np.linalg.inv(Z11)
    F = Z21 @ Z11_inv
    P = Z11 @ np.linalg.solve(S[:n_states, :n_states], T[:n_states, :n_states]) @ Z11_inv
    if max(np.max(np.abs(F.imag), initial=0.0), np.max(np.abs(P.imag), initial=0.0)) > 1e-8 * max(1.0, n):
        raise BlanchardKahnError("the QZ solution has non-negligible imaginary parts")
    return F.real, P.real, eigenvalues


@dataclass(frozen=True)
class LinearSolution:
    """First-order solution around the deterministic steady state (level deviations).

    ``controls_t - ss = policy @ (states_t - ss)`` and
    ``states_{t+1} - ss = transition @ (states_t - ss) + shock_loading * eps_{t+1}``,
    with states ordered as ``STATE_NAMES`` and controls as ``CONTROL_NAMES``.
    """

    params: RBCParams
    steady_state: SteadyState
    policy: np.ndarray
    transition: np.ndarray
    shock_loading: np.ndarray
    eigenvalues: np.ndarray
    state_names: tuple = STATE_NAMES
    control_names: tuple = CONTROL_NAMES

    def controls(self, capital, log_tfp) -> Dict[str, np.ndarray]:
        """The linear policy in levels: each control at states (capital, log_tfp), vectorised."""
        ss = self.steady_state
        deviations = np.stack(np.broadcast_arrays(np.asarray(capital, dtype=float) - ss.capital,
                                                  np.asarray(log_tfp, dtype=float)))
        levels = {name: getattr(ss, name) for name in CONTROL_NAMES}
        return {
            name: levels[name] + np.tensordot(self.policy[i], deviations, axes=1)
            for i, name in enumerate(CONTROL_NAMES)
        }

    def impulse_response(self, horizon: int = 40, shock_size: float = 1.0) -> Dict[str, np.ndarray]:
        """Level deviations after a TFP shock of ``shock_size`` standard deviations in period 0."""
        horizon = checks.positive_int("horizon", horizon)
        shock_size = float(checks._finite("shock_size", shock_size))
        states = np.empty((horizon, len(STATE_NAMES)))
        states[0] = self.shock_loading * shock_size
        for t in range(1, horizon):
            states[t] = self.transition @ states[t - 1]
        controls = states @ self.policy.T
        out = {name: states[:, i].copy() for i, name in enumerate(STATE_NAMES)}
        out.update({name: controls[:, i].copy() for i, name in enumerate(CONTROL_NAMES)})
        return {key: out[key] for key in IRF_KEYS}


def linearize(params: RBCParams) -> LinearSolution:
    """First-order solution of the RBC by sympy-derived conditions and QZ (see module docstring).

    Raises :class:`BlanchardKahnError` when the linearised model has no unique
    stable solution, and ``ValueError`` naming alpha when the steady state is
    so large (alpha near 1) that the conditions in levels cannot be solved to
    1e-10 in double precision.
    """
    if not isinstance(params, RBCParams):
        raise TypeError(f"params must be an RBCParams, got {type(params).__name__}")
    residual, A, B = equilibrium_conditions(params)
    if np.max(np.abs(residual)) > 1e-10:
        capital = steady_state(params).capital
        raise ValueError(
            f"alpha = {params.alpha} (beta = {params.beta}, delta = {params.delta}) puts the steady-state capital at "
            f"{capital:.3g}: at that scale the equilibrium conditions in levels are not solved to 1e-10 (largest "
            f"residual {np.max(np.abs(residual)):.3g}), so a first-order solution in levels would not be reliable; "
            f"lower alpha"
        )
    # Reorder from (k, a, c, l, y, chat) = states then controls: already in that order.
    F, P, eigenvalues = klein_solve(A, B, n_states=len(STATE_NAMES))
    return LinearSolution(
        params=params,
        steady_state=steady_state(params),
        policy=F,
        transition=P,
        shock_loading=np.array([0.0, params.sigma]),
        eigenvalues=eigenvalues,
    )


def impulse_response(params: RBCParams, horizon: int = 40, shock_size: float = 1.0) -> Dict[str, np.ndarray]:
    """Linear impulse responses to a one-standard-deviation TFP shock in period 0.

    A mapping with keys ``consumption``, ``labour``, ``output``, ``capital``,
    ``consumption_fraction`` and ``log_tfp``, each an array of length
    ``horizon`` of level deviations from the deterministic steady state;
    ``capital`` is the stock used in production, so its period-0 entry is 0.
    """
    return linearize(params).impulse_response(horizon, shock_size)
