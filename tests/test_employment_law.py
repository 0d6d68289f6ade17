"""The benchmark's household problem with the employment law of the N-household environment.

Layer 2 (STYLE.md): the rule re-solved by :func:`validation.employment_law.resolve_rule`
with the benchmark's own inputs reproduces the benchmark's rule (the same
fixed point reached again); the environment's law equals the chain without
exact counts and tends to it as N grows; with exact counts at N = 20 an
unemployed household finds a job sooner, and the re-solved rule consumes
more when unemployed (less precautionary saving), as measured on the agents
(docs/training.md).
"""

import numpy as np
import pytest

from econ.experiments import make_experiment
from validation.employment_law import environment_aggregate_labour, environment_transition, resolve_rule
from validation.krusell_smith import price_impact_benchmark

SAME_FIXED_POINT_ATOL = 1e-6
"""Both rules are fixed points of the same EGM step to 1e-9 per step (consumption of order 1); the step
contracts at about beta = 0.95 per iteration, so they agree to about 1e-9 / (1 - 0.95) = 2e-8; 1e-6 is the margin."""

LARGE_N = 2_000
LARGE_N_ATOL = 0.02
"""At N = 2,000 the re-assignment moves about sd(D) = sqrt(N q (1 - q)) <= 10 of the N households (q <= 0.05 the
chance to be drawn unemployed), each household's law moves by O(N^-1/2) ~ 0.005-0.01; at N = 20 it moves by 0.08."""


@pytest.fixture(scope="module")
def ks_solution():
    return price_impact_benchmark(make_experiment("ks"))


def test_resolving_with_the_benchmarks_own_inputs_reproduces_its_rule(ks_solution):
    again = resolve_rule(ks_solution)
    np.testing.assert_allclose(again.policy.consumption, ks_solution.policy.consumption, rtol=0,
                               atol=SAME_FIXED_POINT_ATOL)


def test_environment_law_is_the_chain_without_exact_counts_and_tends_to_it_with_n():
    exp = make_experiment("ks", exact_unemployment=False)
    np.testing.assert_allclose(environment_transition(exp), exp.ks.transition, rtol=0, atol=1e-12)
    np.testing.assert_allclose(environment_aggregate_labour(exp), exp.ks.aggregate_labour, rtol=1e-15)
    small, large = make_experiment("ks"), make_experiment("ks", n_agents=LARGE_N)
    for exp in (small, large):
        np.testing.assert_allclose(environment_transition(exp).sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert np.abs(environment_transition(small) - small.ks.transition).max() > 0.05
    assert np.abs(environment_transition(large) - large.ks.transition).max() < LARGE_N_ATOL
    # 1 of 20 households unemployed in the good state (5 percent), 2 of 20 in the bad one
    np.testing.assert_allclose(environment_aggregate_labour(small), np.array([0.9, 0.95]) * small.ks.labour_endowment)


def test_the_environments_law_makes_unemployed_households_consume_more(ks_solution):
    exp = make_experiment("ks")
    resolved = resolve_rule(ks_solution, transition=environment_transition(exp),
                            aggregate_labour=environment_aggregate_labour(exp))
    K = ks_solution.mean_capital
    chain_fraction = ks_solution.policy.at_aggregate_capital(K)[2]
    env_fraction = resolved.policy.at_aggregate_capital(K)[2]
    k = ks_solution.policy.capital_grid
    ergodic = (k > 0.2 * K) & (k < 3.0 * K)
    for state in (0, 2):  # bad and good, unemployed: the job comes sooner, less is saved
        assert np.all(env_fraction[0, state, ergodic] > chain_fraction[0, state, ergodic])


def test_resolve_rule_refuses_bad_input(ks_solution):
    with pytest.raises(ValueError, match="transition"):
        resolve_rule(ks_solution, transition=np.eye(3))
    with pytest.raises(ValueError, match="transition"):
        resolve_rule(ks_solution, transition=np.full((4, 4), 0.3))
    with pytest.raises(ValueError, match="aggregate_labour"):
        resolve_rule(ks_solution, aggregate_labour=np.array([0.9, -1.0]))
