"""First-order perturbation (layer 1: exact against Brock-Mirman; layer 2: against a
finite-difference linearisation of the project's transition function).  The
comparison with Dynare lives in tests/test_linear_vs_dynare.py."""

import numpy as np
import pytest

from econ import BlanchardKahnError, RBCParams, brock_mirman_policy, impulse_response, linearize, steady_state
from econ.rbc.linear import IRF_KEYS, equilibrium_conditions, klein_solve

EXACT_TOL = 1e-12
"""At delta = 1 the linear solution is the exact derivative of the closed form: rounding only."""


@pytest.mark.parametrize("utility", ["linear", "log_leisure"])
@pytest.mark.parametrize("alpha, beta, rho", [(0.36, 0.95, 0.9), (0.3, 0.99, 0.5), (0.45, 0.9, -0.3)])
def test_full_depreciation_reproduces_brock_mirman_to_first_order(utility, alpha, beta, rho):
    """k' = alpha beta A k^alpha l*^(1-alpha) gives dk' = alpha dk + k_ss dlogA at the steady state;
    chat and l are constant, so their policy rows are zero."""
    params = RBCParams.rbc_full_depreciation(utility=utility, alpha=alpha, beta=beta, rho=rho)
    sol = linearize(params)
    k_ss = sol.steady_state.capital
    np.testing.assert_allclose(sol.transition, [[alpha, k_ss], [0.0, rho]], atol=EXACT_TOL)
    labour_row = sol.policy[sol.control_names.index("labour")]
    chat_row = sol.policy[sol.control_names.index("consumption_fraction")]
    np.testing.assert_allclose(labour_row, 0.0, atol=EXACT_TOL)
    np.testing.assert_allclose(chat_row, 0.0, atol=EXACT_TOL)
    bm = brock_mirman_policy(params)
    assert bm.next_capital(k_ss, 1.0) == pytest.approx(k_ss, rel=EXACT_TOL)
    irf = sol.impulse_response(40)
    # Level consumption response: c = (1 - alpha beta) y, y = A k^alpha l^(1-alpha).
    y_ss = sol.steady_state.output
    expected_output = y_ss * (irf["log_tfp"] + alpha * irf["capital"] / k_ss)
    np.testing.assert_allclose(irf["output"], expected_output, atol=EXACT_TOL * y_ss)
    np.testing.assert_allclose(irf["consumption"], (1 - alpha * beta) * expected_output, atol=EXACT_TOL * y_ss)


def test_impulse_response_shape_and_timing():
    params = RBCParams()
    irf = impulse_response(params, horizon=40)
    assert tuple(irf) == IRF_KEYS
    assert all(v.shape == (40,) for v in irf.values())
    assert irf["capital"][0] == 0.0
    np.testing.assert_allclose(irf["log_tfp"], params.sigma * params.rho ** np.arange(40), rtol=1e-13)
    # Textbook signs at impact: a positive TFP shock raises output, consumption and labour.
    assert irf["output"][0] > 0 and irf["consumption"][0] > 0 and irf["labour"][0] > 0
    assert irf["capital"][1] > 0


FD_RTOL = 1e-6
"""Central differences with step 1e-6 relative have truncation error ~1e-12 and rounding
error ~1e-10 relative; 1e-6 leaves ample room while catching any wrong derivative."""


@pytest.mark.parametrize("utility", ["linear", "log_leisure"])
def test_resource_constraint_row_matches_finite_differences_of_the_economy(utility):
    """Independent check: next capital under the linear policy, to first order, equals the
    finite-difference derivative of the project's transition function econ.period evaluated
    with the linear policy's choices."""
    from econ import period

    params = RBCParams(utility=utility, delta=0.08, alpha=0.33)
    sol = linearize(params)
    ss = steady_state(params)
    i_chat = sol.control_names.index("consumption_fraction")
    i_l = sol.control_names.index("labour")

    def next_capital(dk, da):
        chat = ss.consumption_fraction + sol.policy[i_chat] @ [dk, da]
        labour = ss.labour + sol.policy[i_l] @ [dk, da]
        out = period(np.array([ss.capital + dk]), chat, labour, np.exp(da), alpha=params.alpha, delta=params.delta)
        return out.next_capital[0]

    h_k, h_a = 1e-6 * ss.capital, 1e-6
    d_dk = (next_capital(h_k, 0) - next_capital(-h_k, 0)) / (2 * h_k)
    d_da = (next_capital(0, h_a) - next_capital(0, -h_a)) / (2 * h_a)
    np.testing.assert_allclose([d_dk, d_da], sol.transition[0], rtol=FD_RTOL)


def test_equilibrium_conditions_vanish_at_the_steady_state():
    residual, A, B = equilibrium_conditions(RBCParams(utility="log_leisure"))
    np.testing.assert_allclose(residual, 0.0, atol=1e-12)
    assert A.shape == B.shape == (6, 6)


def test_blanchard_kahn_failure_is_an_error():
    """Negative controls: x' = 2 x with x predetermined has no stable solution; a purely
    forward-looking stable system with one 'state' too many is indeterminate."""
    with pytest.raises(BlanchardKahnError, match="0 stable generalised eigenvalues for 1"):
        klein_solve(np.eye(2), np.diag([2.0, 3.0]), n_states=1)
    with pytest.raises(BlanchardKahnError, match="2 stable generalised eigenvalues for 1.*indeterminacy"):
        klein_solve(np.eye(2), np.diag([0.5, 0.6]), n_states=1)
    F, P, _ = klein_solve(np.eye(2), np.diag([0.5, 3.0]), n_states=1)
    np.testing.assert_allclose(P, [[0.5]])
    np.testing.assert_allclose(F, [[0.0]], atol=1e-14)


def test_bad_arguments():
    with pytest.raises(ValueError, match="horizon"):
        impulse_response(RBCParams(), horizon=0)
    with pytest.raises(TypeError, match="RBCParams"):
        linearize({"alpha": 0.36})
