"""The representative-household RBC model: parameters, steady state, the
Brock-Mirman closed form, first-order linearisation (with impulse responses), its export to
Dynare and the global value-function-iteration solution."""

from econ.rbc.params import RBCParams
from econ.rbc.steady_state import SteadyState, steady_state
from econ.rbc.brock_mirman import BrockMirmanPolicy, brock_mirman_policy
from econ.rbc.dynare import to_dynare
from econ.rbc.linear import BlanchardKahnError, LinearSolution, impulse_response, linearize
from econ.rbc.vfi import VFIResult, euler_errors, nonlinear_impulse_response, simulate_policy, solve_vfi

__all__ = [
    "BlanchardKahnError",
    "BrockMirmanPolicy",
    "LinearSolution",
    "RBCParams",
    "SteadyState",
    "VFIResult",
    "brock_mirman_policy",
    "euler_errors",
    "impulse_response",
    "linearize",
    "nonlinear_impulse_response",
    "simulate_policy",
    "solve_vfi",
    "steady_state",
    "to_dynare",
]
