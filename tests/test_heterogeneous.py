"""Heterogeneous steady state of the general experiment (docs/closed_forms.md)."""

import numpy as np
import pytest

from econ import RBCParams, heterogeneous_steady_state, period, productivity_grid, steady_state

EXACT_RTOL = 1e-12
"""Everything here is closed-form algebra; only rounding separates the two sides."""


@pytest.mark.parametrize("utility", ["linear", "log_leisure"])
def test_one_household_is_the_representative_agent_steady_state(utility):
    params = RBCParams(utility=utility)
    ss = steady_state(params)
    het = heterogeneous_steady_state(params, [1.0], [1.0])
    assert not het.split_indeterminate
    np.testing.assert_allclose(het.household_capital, ss.capital, rtol=EXACT_RTOL)
    np.testing.assert_allclose(het.household_labour, ss.labour, rtol=EXACT_RTOL)
    np.testing.assert_allclose(het.household_consumption, ss.consumption, rtol=EXACT_RTOL)
    np.testing.assert_allclose(het.household_consumption_fraction, ss.consumption_fraction, rtol=EXACT_RTOL)
    assert het.output == pytest.approx(ss.output, rel=EXACT_RTOL)


@pytest.mark.parametrize("utility", ["linear", "log_leisure"])
def test_unique_capital_holder_steady_state_is_a_fixed_point_of_the_economy(utility):
    """Layer 2: the households' steady-state choices reproduce themselves under econ.period."""
    params = RBCParams(utility=utility)
    kappa = np.array([0.9, 1.1, 1.0, 0.95])
    lam = np.array([1.0, 1.02, 0.98, 1.1])
    het = heterogeneous_steady_state(params, kappa, lam)
    assert het.holds_capital.tolist() == [False, True, False, False]
    out = period(
        np.maximum(het.household_capital, 1e-300),
        het.household_consumption_fraction,
        het.household_labour,
        1.0,
        alpha=params.alpha,
        delta=params.delta,
        capital_productivity=kappa,
        labour_productivity=lam,
    )
    holder = het.holds_capital
    np.testing.assert_allclose(out.next_capital[holder], het.household_capital[holder], rtol=EXACT_RTOL)
    np.testing.assert_allclose(out.consumption, het.household_consumption, rtol=EXACT_RTOL)
    np.testing.assert_allclose(out.output, het.output, rtol=EXACT_RTOL)
    # Euler equation holds with equality for the holder and fails (return too low) for the rest.
    gross = params.beta * (1 - params.delta + kappa * het.interest_rate)
    assert gross[holder][0] == pytest.approx(1.0, rel=EXACT_RTOL)
    assert np.all(gross[~holder] < 1.0)
    np.testing.assert_allclose(het.household_consumption_fraction[~holder], 1.0)


def test_linear_utility_hand_to_mouth_corner_and_non_working_holder():
    """With linear utility and chi = 1, hand-to-mouth households work l = 1/chi = 1, and here
    the holder's capital income exceeds lambda w / chi, so it does not work (corner)."""
    het = heterogeneous_steady_state(RBCParams(), [0.9, 1.1, 1.0, 0.95], [1.0, 1.02, 0.98, 1.1])
    assert not het.holders_work
    np.testing.assert_allclose(het.household_labour, [1.0, 0.0, 1.0, 1.0])
    i = 1
    assert het.household_consumption[i] >= 1.02 * het.wage / 1.0


@pytest.mark.parametrize("utility", ["linear", "log_leisure"])
def test_general_experiment_reports_an_indeterminate_split(utility):
    params = RBCParams(utility=utility)
    kappa, lam = productivity_grid(3)
    het = heterogeneous_steady_state(params)
    np.testing.assert_array_equal(het.capital_productivity, kappa)
    assert het.split_indeterminate
    assert het.holds_capital.sum() == 3 and np.all(kappa[het.holds_capital] == 1.02)
    np.testing.assert_array_equal(het.indeterminate, het.holds_capital)
    assert np.all(np.isnan(het.household_capital[het.indeterminate]))
    assert np.all(np.isfinite(het.household_capital[~het.indeterminate]))
    # Aggregate resource constraint: C + delta (1/N) sum k = Y.
    assert het.consumption_total + params.delta * het.holders_capital == pytest.approx(het.output, rel=EXACT_RTOL)
    assert het.capital == pytest.approx(1.02 * het.holders_capital, rel=EXACT_RTOL)


def test_productivity_grid():
    kappa, lam = productivity_grid(3)
    np.testing.assert_allclose(kappa, [0.98] * 3 + [1.0] * 3 + [1.02] * 3)
    np.testing.assert_allclose(lam, [0.98, 1.0, 1.02] * 3)
    assert productivity_grid(23)[0].shape == (529,)


def test_bad_inputs():
    with pytest.raises(ValueError, match="capital_productivity must be finite and > 0"):
        heterogeneous_steady_state(RBCParams(), [1.0, -1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="labour_productivity must have length 2"):
        heterogeneous_steady_state(RBCParams(), [1.0, 1.0], [1.0])
    with pytest.raises(ValueError, match="g must be an integer"):
        productivity_grid(0)
