"""Consistent conjectures (econ.krusell_smith.conjecture): how much of one household's price impact the others undo.

Layers: the twin-path kernel against a period-by-period loop over the multi-agent simulation
(econ.krusell_smith.panel.simulate_economies) with the deviating household put back by hand; the closed-form
case of no other household (phi = 1); the solved rule as a joint fixed point of the law of motion and phi;
the shape of the measured response against the law of motion; the open-loop option and bad input.
The equilibrium check in the simulated game (no household gains by deviating from the consistent rule, the
open-loop rule's high-kappa household does) is the slow test in tests/test_same_economy.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from econ import solve_krusell_smith
from econ.experiments import make_experiment
from econ.krusell_smith import conjecture, panel
from econ.krusell_smith.solver import PHI_TOL

SOLVE = dict(num_periods=400, burn_in=50, seed=0)
"""A short solve: the tests below check identities of whatever rule comes out, not its accuracy."""

TWIN_ATOL = 1e-12
"""The kernel and the loop evaluate the same period equations in the same order: equal up to rounding."""

FIXED_POINT_TOL = 2 * PHI_TOL
"""The solver stops when an outer step moves phi by less than PHI_TOL; the final rule is then re-solved to the
tight household tolerance, which moves the measured phi by far less than PHI_TOL again."""

DECAY_TOL = 0.02
"""After the first period the K deviation is the others' own capital, which then evolves like aggregate
capital: D_{s+1}/D_s should be the law of motion's slope b_z (0.93-0.96 here) up to the composition of who
holds the deviation (the marginal savers, not the average household): 0.02, about 1/3 of 1 - b."""


@pytest.fixture(scope="module")
def marked():
    exp = make_experiment("ks-het-marked")
    return exp, solve_krusell_smith(exp.ks, n_agents=exp.num_agents, **SOLVE)


def test_twin_kernel_equals_a_period_by_period_simulation(marked):
    exp, sol = marked
    p, pol = sol.params, sol.policy
    E, N, T = 6, exp.num_agents, 40
    z, employed = panel.economy_shocks(p, E, N, T, np.random.default_rng(3))
    types = p.household_types(N).astype(np.int64)
    kappa_i = np.asarray(p.capital_productivity)[types]
    rng = np.random.default_rng(4)
    base0 = sol.mean_capital * rng.uniform(0.2, 3.0, (E, N)) / kappa_i
    deviator = np.array([0, 3, 17, 0, 3, 17], dtype=np.int64)
    shifted0 = base0.copy()
    shifted0[np.arange(E), deviator] += 0.5
    out = np.empty((T, E))
    conjecture.twin_paths(pol.consumption, pol.capital_grid, pol.aggregate_capital_grid, z, employed, types, kappa_i,
                          np.asarray(p.technology, float), float(p.labour_endowment), float(p.alpha), float(p.delta),
                          base0.copy(), shifted0.copy(), deviator, out)
    base, shifted, expected = base0.copy(), shifted0.copy(), np.empty((T, E))
    args = (pol.consumption, pol.capital_grid, pol.aggregate_capital_grid)
    for t in range(T):
        b = panel.simulate_economies(p, *args, z[t:t + 1], employed[t:t + 1], base)
        s = panel.simulate_economies(p, *args, z[t:t + 1], employed[t:t + 1], shifted)
        expected[t] = s.capital_path[0] - b.capital_path[0]
        base, shifted = b.final_capital, s.final_capital.copy()
        shifted[np.arange(E), deviator] = base[np.arange(E), deviator]
    np.testing.assert_allclose(out, expected, rtol=0, atol=TWIN_ATOL)
    # the impulse itself: kappa_i * 0.5 / N
    np.testing.assert_allclose(out[0], kappa_i[deviator] * 0.5 / N, rtol=1e-12)


def test_one_household_has_nobody_to_respond():
    params = make_experiment("ks").ks
    consistent = solve_krusell_smith(params, n_agents=1, **SOLVE)
    open_loop = solve_krusell_smith(params, n_agents=1, conjecture="open-loop", **SOLVE)
    assert consistent.phi.tolist() == [1.0] and consistent.others_response.phi.tolist() == [1.0]
    assert consistent.alm == open_loop.alm


def test_solution_is_a_joint_fixed_point_of_the_law_and_phi(marked):
    exp, sol = marked
    assert sol.conjecture == "consistent"
    measured = sol.others_response
    np.testing.assert_allclose(measured.phi, sol.phi, rtol=0, atol=FIXED_POINT_TOL)
    np.testing.assert_allclose(sol.price_impact, sol.phi / exp.num_agents, rtol=1e-15)
    # others save less when K is higher, so part of the own impact is undone: 0 < phi < 1 for every type
    assert np.all(measured.response[1] < 0) and np.all((sol.phi > 0) & (sol.phi < 1))
    # deterministic in the seed
    again = conjecture.others_response(sol.params, sol.policy.consumption, sol.policy.capital_grid,
                                       sol.policy.aggregate_capital_grid, exp.num_agents, sol.mean_capital, sol.seed)
    np.testing.assert_array_equal(again.phi, measured.phi)


def test_the_others_deviation_decays_like_aggregate_capital(marked):
    _, sol = marked
    D = sol.others_response.response
    ratios = D[2:22] / D[1:21]
    slopes = [sol.alm[state][1] for state in ("bad", "good")]
    assert np.all(ratios > min(slopes) - DECAY_TOL) and np.all(ratios < max(slopes) + DECAY_TOL), (ratios, slopes)


def test_open_loop_option_is_phi_one(marked):
    exp, _ = marked
    sol = solve_krusell_smith(exp.ks, n_agents=exp.num_agents, conjecture="open-loop", **SOLVE)
    assert sol.conjecture == "open-loop" and sol.others_response is None
    np.testing.assert_array_equal(sol.price_impact, np.full(3, 1.0 / exp.num_agents))
    continuum = solve_krusell_smith(exp.ks, **SOLVE)
    assert continuum.conjecture is None and continuum.phi is None
    np.testing.assert_array_equal(continuum.price_impact, np.zeros(3))


def test_unknown_conjecture_is_refused_before_any_work():
    with pytest.raises(ValueError, match="conjecture"):
        solve_krusell_smith(make_experiment("ks").ks, n_agents=20, conjecture="closed-loop")


# ---------------------------------------------------------------------------- the N-household employment process

MC_ECONOMIES, MC_PERIODS = 200, 2_000
"""Monte-Carlo check of the exact transition: about 8 million household transitions at N = 20; the rarest rows
(unemployed in a given z) still have over 1e5 draws."""

MC_SIGMAS = 5.0
"""Each conditional probability P(u' | e, z, z') is compared with its binomial standard error over the row's
draws (conditioning on z -> z' takes out the aggregate chain's own sampling noise, shared by all households of
an economy); 5 sigma over 8 entries leaves a false-alarm chance below 1e-5, while the calibration's
probabilities are off by tens of sigma."""


def _unemployment_given(P, params):
    """P(u' | e, z, z') [2 z + e, z'] from a 4x4 transition."""
    Pz = params.aggregate_transition
    return np.array([[P[s, 2 * zn] / Pz[s // 2, zn] for zn in (0, 1)] for s in range(4)])


def test_exact_count_transition_matches_the_simulated_economies():
    params = make_experiment("ks").ks
    N = 20
    exact = panel.exact_count_transition(params, N)
    np.testing.assert_allclose(exact.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(exact.reshape(4, 2, 2).sum(axis=2), params.transition.reshape(4, 2, 2).sum(axis=2),
                               rtol=0, atol=1e-12)  # z moves by the calibration's chain
    z, employed = panel.economy_shocks(params, MC_ECONOMIES, N, MC_PERIODS, np.random.default_rng(11))
    state = (2 * z[:, :, None] + employed)[:-1].ravel()
    z_next = np.broadcast_to(z[1:, :, None], employed[1:].shape).ravel()
    unemployed_next = ~employed[1:].ravel()
    draws = np.zeros((4, 2))
    hits = np.zeros((4, 2))
    np.add.at(draws, (state, z_next), 1)
    np.add.at(hits, (state, z_next), unemployed_next)
    empirical = hits / draws
    expected = _unemployment_given(exact, params)
    sigma = np.sqrt(expected * (1 - expected) / draws)
    assert np.all(np.abs(empirical - expected) <= MC_SIGMAS * sigma), (empirical - expected) / sigma
    # the calibration's own probabilities are not what these households live with (negative control)
    calibration = _unemployment_given(params.transition, params)
    assert np.max(np.abs(empirical - calibration) / sigma) > 4 * MC_SIGMAS
    # the rows keep the unemployment rates at the exact counts (the params constructor checks it too)
    exact_params = panel.exact_count_params(params, N)
    np.testing.assert_allclose(exact_params.unemployment_rates, panel.unemployment_targets(params, N) / N)


def test_exact_count_transition_tends_to_the_calibration_as_n_grows():
    """The count adjustment is of the order of the relative sampling spread of the unemployed, 1/sqrt(u N)."""
    params = make_experiment("ks").ks
    gaps = [np.max(np.abs(panel.exact_count_transition(params, n) - params.transition)) for n in (1_000, 100_000)]
    assert gaps[1] < gaps[0] / 5 and gaps[1] < 0.01, gaps


def test_finite_n_household_believes_the_exact_count_process(marked):
    exp, sol = marked
    assert sol.params == exp.ks
    np.testing.assert_allclose(sol.household_params.transition, panel.exact_count_transition(exp.ks, 20), atol=1e-15)
    calibration = solve_krusell_smith(exp.ks, n_agents=exp.num_agents, exact_unemployment=False, **SOLVE)
    assert calibration.household_params == exp.ks


def test_three_households_one_per_type_converge():
    """At N = 3 (one household per type) the measured phi moves steeply with the interpolated rule, and with a
    fixed damping the iteration stayed in a two-cycle (phi of the high type 0.899 <-> 0.902, measured); the
    phi step is halved when it changes sign, so the default solve converges, to a consistent phi."""
    exp = make_experiment("ks-het-marked")
    sol = solve_krusell_smith(exp.ks, n_agents=3)
    assert sol.converged
    np.testing.assert_allclose(sol.others_response.phi, sol.phi, rtol=0, atol=FIXED_POINT_TOL)
