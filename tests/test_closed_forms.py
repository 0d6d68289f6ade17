"""Brock-Mirman closed form and the deterministic steady state (layer 1: closed forms).

Both are checked against the project's transition function (econ.period) and
the model's optimality conditions, not against their own formulas.
"""

import numpy as np
import pytest

from econ import RBCParams, brock_mirman_policy, period, steady_state

EXACT_RTOL = 1e-12
"""Closed forms hold as algebraic identities: only rounding separates the sides."""

CALIBRATIONS = [
    dict(alpha=0.36, beta=0.95, chi=1.0, utility="linear"),
    dict(alpha=0.30, beta=0.99, chi=2.0, utility="linear"),
    dict(alpha=0.45, beta=0.90, chi=1.5, rho=0.5, sigma=0.05, utility="linear"),
    dict(alpha=0.36, beta=0.95, chi=5.0, utility="log_leisure"),
    dict(alpha=0.25, beta=0.97, chi=0.7, rho=-0.3, sigma=0.02, utility="log_leisure"),
]


@pytest.mark.parametrize("calibration", CALIBRATIONS)
def test_brock_mirman_satisfies_euler_and_intratemporal_conditions_on_random_paths(calibration):
    """Along any shock path, the closed form satisfies 1/c_t = beta (1/c_{t+1}) alpha y_{t+1}/k_{t+1}
    (state by state: with delta = 1 the Euler equation has no expectation error left) and the
    intratemporal condition; the path is simulated with the project's transition function."""
    params = RBCParams(delta=1.0, **calibration)
    policy = brock_mirman_policy(params)
    rng = np.random.default_rng(7)
    k, log_a = np.array([0.3]), 0.0
    previous = None
    for _ in range(200):
        A = np.exp(log_a)
        out = period(k, policy.consumption_fraction, policy.labour, A, alpha=params.alpha, delta=1.0)
        c, y, l = out.consumption[0], out.output, policy.labour
        marginal_product_labour = (1 - params.alpha) * y / l
        if params.utility == "linear":
            np.testing.assert_allclose(marginal_product_labour / c, params.chi, rtol=EXACT_RTOL)
        else:
            np.testing.assert_allclose(marginal_product_labour / c, params.chi / (1 - l), rtol=EXACT_RTOL)
        if previous is not None:
            c_prev = previous
            gross_return = params.alpha * y / k[0]
            np.testing.assert_allclose(1 / c_prev, params.beta * gross_return / c, rtol=EXACT_RTOL)
        np.testing.assert_allclose(out.next_capital, policy.next_capital(k, A), rtol=EXACT_RTOL)
        previous = c
        k = out.next_capital
        log_a = params.rho * log_a + params.sigma * rng.standard_normal()


def test_brock_mirman_values_at_the_spec_calibration():
    """chat* = 1 - alpha beta = 0.658; l* = 0.64 / 0.658 (linear) and 0.64 / (0.64 + 5 * 0.658)."""
    linear = brock_mirman_policy(RBCParams.rbc_full_depreciation())
    assert linear.consumption_fraction == pytest.approx(0.658, rel=EXACT_RTOL)
    assert linear.labour == pytest.approx(0.64 / 0.658, rel=EXACT_RTOL)
    log_leisure = brock_mirman_policy(RBCParams.rbc_full_depreciation(utility="log_leisure"))
    assert log_leisure.labour == pytest.approx(0.64 / (0.64 + 5 * 0.658), rel=EXACT_RTOL)
    chat, labour = linear(np.ones((2, 3)), np.ones((2, 3)))
    assert chat.shape == labour.shape == (2, 3)


def test_brock_mirman_refuses_partial_depreciation():
    with pytest.raises(ValueError, match="full depreciation.*delta = 0.025"):
        brock_mirman_policy(RBCParams())
    with pytest.raises(ValueError, match="capital k > 0"):
        brock_mirman_policy(RBCParams.rbc_full_depreciation()).next_capital(-1.0, 1.0)
    with pytest.raises(ValueError, match="chi"):
        brock_mirman_policy(RBCParams.rbc_full_depreciation(chi=0.5))


@pytest.mark.parametrize("calibration", CALIBRATIONS)
@pytest.mark.parametrize("delta", [0.025, 0.1, 1.0])
def test_steady_state_is_a_fixed_point_of_the_economy(calibration, delta):
    params = RBCParams(delta=delta, **calibration)
    ss = steady_state(params)
    out = period(np.array([ss.capital]), ss.consumption_fraction, ss.labour, 1.0, alpha=params.alpha, delta=delta)
    np.testing.assert_allclose(out.next_capital, ss.capital, rtol=EXACT_RTOL)
    np.testing.assert_allclose(out.consumption, ss.consumption, rtol=EXACT_RTOL)
    np.testing.assert_allclose(out.output, ss.output, rtol=EXACT_RTOL)
    np.testing.assert_allclose(out.interest_rate, ss.interest_rate, rtol=EXACT_RTOL)
    np.testing.assert_allclose(out.wage, ss.wage, rtol=EXACT_RTOL)
    # Euler equation at the steady state: beta (1 - delta + r) = 1.
    assert params.beta * (1 - delta + ss.interest_rate) == pytest.approx(1.0, rel=EXACT_RTOL)
    mpl_over_c = ss.wage / ss.consumption
    expected = params.chi if params.utility == "linear" else params.chi / (1 - ss.labour)
    assert mpl_over_c == pytest.approx(expected, rel=EXACT_RTOL)


@pytest.mark.parametrize("utility", ["linear", "log_leisure"])
def test_steady_state_at_full_depreciation_is_the_brock_mirman_fixed_point(utility):
    params = RBCParams.rbc_full_depreciation(utility=utility)
    ss, bm = steady_state(params), brock_mirman_policy(params)
    assert ss.consumption_fraction == pytest.approx(bm.consumption_fraction, rel=EXACT_RTOL)
    assert ss.labour == pytest.approx(bm.labour, rel=EXACT_RTOL)
    assert bm.next_capital(ss.capital, 1.0) == pytest.approx(ss.capital, rel=EXACT_RTOL)


def test_steady_state_golden_values():
    """Hand-computed from the formulas in econ/steady_state.py's docstring at the spec's rbc
    calibration: r = 1/0.95 - 0.975, K/L = (0.36/r)^(1/0.64), L = w / (K/L^0.36 - 0.025 K/L)."""
    ss = steady_state(RBCParams())
    r = 1 / 0.95 - 1 + 0.025
    x = (0.36 / r) ** (1 / 0.64)
    labour = 0.64 * x**0.36 / (x**0.36 - 0.025 * x)
    assert ss.interest_rate == pytest.approx(0.0776315789473684, rel=1e-13)
    assert ss.labour == pytest.approx(labour, rel=1e-13)
    assert ss.capital == pytest.approx(7.956682529136554, rel=1e-12)
    assert ss.consumption_fraction == pytest.approx(0.16011787819253429, rel=1e-12)


def test_steady_state_without_interior_labour_is_refused():
    with pytest.raises(ValueError, match="no interior steady state.*chi"):
        steady_state(RBCParams(chi=0.5))
