"""Classical solvers for the (heterogeneous) RBC economy of the MARL-BC project.

``econ`` solves; ``rl`` learns; ``validation`` compares.  Nothing here imports ``rl``.
"""

from econ.economy import ACTION_EPS, CAPITAL_FLOOR, action_to_fraction, markets, period
from econ.fixed_point import ConvergenceError, fixed_point
from econ.heterogeneous import (HeterogeneousSteadyState, PrivateMargins, heterogeneous_steady_state, private_margins,
                                productivity_grid)
from econ.krusell_smith import KrusellSmithParams, KrusellSmithSolution, solve_krusell_smith
from econ.rbc import (
    BlanchardKahnError,
    BrockMirmanPolicy,
    LinearSolution,
    RBCParams,
    SteadyState,
    VFIResult,
    brock_mirman_policy,
    euler_errors,
    impulse_response,
    linearize,
    nonlinear_impulse_response,
    simulate_policy,
    solve_vfi,
    steady_state,
    to_dynare,
)

__all__ = [
    "ACTION_EPS",
    "CAPITAL_FLOOR",
    "BlanchardKahnError",
    "BrockMirmanPolicy",
    "HeterogeneousSteadyState",
    "LinearSolution",
    "ConvergenceError",
    "RBCParams",
    "KrusellSmithParams",
    "KrusellSmithSolution",
    "solve_krusell_smith",
    "SteadyState",
    "VFIResult",
    "action_to_fraction",
    "brock_mirman_policy",
    "euler_errors",
    "fixed_point",
    "heterogeneous_steady_state",
    "impulse_response",
    "linearize",
    "markets",
    "nonlinear_impulse_response",
    "period",
    "PrivateMargins",
    "private_margins",
    "productivity_grid",
    "simulate_policy",
    "solve_vfi",
    "steady_state",
    "to_dynare",
]
