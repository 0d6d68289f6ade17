"""The AR(1) household's first-order conditions that polishing moves along (rl.lookahead.LabourEuler), and the
euler margin of rl.polish in the economies with labour (``general``).

- At log A = 0 with sigma = 0, the Euler error is log(beta c R'/c') with the next period of the environment's own
  step (rl.core.step, the rule played at rl.core.observe of it) and R' the private return of econ's
  private_margins; the intratemporal error is the log of the scorecard's residual (private_residuals): two
  independent writings of the same equations.
- Both vanish at the price-impact steady state played as a rule (the general benchmark: phi = 1 is its household).
- Each household's errors move with its own action only (open loop, as the benchmark's household).
- Polishing on them lowers them round by round and refuses what it cannot do.
"""

import numpy as np
import pytest
import torch as th

from econ.experiments import make_experiment
from econ.heterogeneous import private_margins
from rl import core
from rl.lookahead import ChainEuler, LabourEuler, euler_for
from rl.polish_rounds import polish
from rl.polish_settings import check_price_impact
from rl.recipes import hyperparameters
from rl.loading import build_model
from validation.general import private_residuals, steady_state_actor, steady_state_initial_state

FLOAT32_ATOL = 1e-6
"""The environment's observations are float32 (relative resolution 6e-8 on values of order 1): the rule played
at them and at the double observations differs by about that, and so do the logs of consumption it gives."""

SOLVER_ATOL = 1e-8
"""The price-impact steady state is solved to a complementarity residual of 1e-10 on scaled gaps; its margins
hold to well below 1e-8."""


def _general(**overrides):
    return make_experiment("general", tfp_scale=0.0229, productivity_scale=0.02, **overrides)


def _rule(exp, seed=0):
    """Any smooth rule of the observations (double tensors (M, d) -> actions (M, 2) inside [-1, 1])."""
    weights = th.tensor(np.random.default_rng(seed).normal(0.0, 0.2, (len(exp.observations), 2)))
    return lambda obs: th.tanh(obs @ weights - 0.3)


@pytest.mark.parametrize("overrides", [{}, {"utility": "log_leisure", "chi": 5.0}])
def test_the_errors_are_the_environments_next_period_and_the_scorecards_margins(overrides):
    exp = _general(**overrides)._replace(sigma=0.0)
    rng = np.random.default_rng(3)
    state = core.initial_state(exp, 3, rng)
    state = state._replace(capital=state.capital * rng.uniform(0.7, 1.3, state.capital.shape), log_tfp=np.zeros(3))
    actions = rng.uniform(-0.6, 0.6, (3, exp.num_agents, 2))
    tomorrow = _rule(exp)
    errors, _ = LabourEuler(exp).on(state, tomorrow)(th.tensor(actions))
    now = core.step(exp, state, actions, rng)
    played = tomorrow(th.as_tensor(core.observe(exp, now.state), dtype=th.float64)).numpy()
    then = core.step(exp, now.state, played, rng)
    kappa, lam = np.asarray(exp.capital_productivity), np.asarray(exp.labour_productivity)
    for e in range(3):
        ahead = private_margins(exp.rbc_params, kappa, lam, now.state.capital[e], then.labour[e])  # A' = 1
        euler = np.log(exp.beta * now.outcome.consumption[e] * ahead.private_return / then.outcome.consumption[e])
        intratemporal = private_residuals(exp, state.capital[e], now.labour[e], now.outcome.consumption[e])[1]
        np.testing.assert_allclose(errors[e, :, 0].numpy(), euler, atol=FLOAT32_ATOL)
        np.testing.assert_allclose(errors[e, :, 1].numpy(), np.log1p(intratemporal), atol=FLOAT32_ATOL)


def test_the_errors_vanish_at_the_price_impact_steady_state():
    """The benchmark's allocation played as a rule, from its own capital: every household's Euler and
    intratemporal errors are zero, with stochastic next periods too (the rule does not move with A', so c'
    varies with A' and the expectation is not exactly the deterministic one; sigma = 0 here, and with the
    calibrated sigma the gap is second order in it, below 1e-4)."""
    exp = _general()
    actor = steady_state_actor(exp)
    state = steady_state_initial_state(exp, 1)
    actions = th.tensor(actor(core.observe(exp, state).reshape(-1, len(exp.observations)))).reshape(1, -1, 2)
    rule = lambda obs: th.tensor(actor(obs.numpy())[:, :2])  # noqa: E731 (a constant rule, one row per household)
    still, _ = euler_for(exp._replace(sigma=0.0), 1.0).on(state, rule)(actions)
    np.testing.assert_allclose(still.numpy(), 0.0, atol=SOLVER_ATOL)
    shocked, _ = euler_for(exp, 1.0).on(state, rule)(actions)
    np.testing.assert_allclose(shocked.numpy(), 0.0, atol=1e-4)
    assert np.abs(shocked[..., 0].numpy()).max() > SOLVER_ATOL  # the nodes do enter


def test_each_households_errors_move_with_its_own_action_only():
    exp = _general()
    rng = np.random.default_rng(4)
    state = core.initial_state(exp, 1, rng)._replace(log_tfp=np.array([0.01]))
    actions = th.tensor(rng.uniform(-0.5, 0.5, (1, exp.num_agents, 2)), requires_grad=True)
    errors, _ = LabourEuler(exp, price_impact=0.5).on(state, _rule(exp))(actions)
    for k in (0, 1):
        gradient, = th.autograd.grad(errors[0, 3, k], actions, retain_graph=True)
        assert np.all(np.delete(gradient[0].numpy(), 3, axis=0) == 0.0)
        assert np.all(gradient[0, 3].numpy() != 0.0)


def test_the_euler_margin_polishes_an_ar1_economy_and_refuses_what_it_cannot_do():
    exp = _general()
    hyper = hyperparameters("sac", "tuned", exp.beta, extra={})
    model = build_model("sac", hyper, exp, seed=0)
    records = polish(model, exp, margin="euler", rounds=3, steps=60, learning_rate=1e-3, n_economies=2, periods=20,
                     burn_in=10, seed=0, log=lambda message: None)
    assert all(r.objective_after < r.objective_before for r in records)
    assert records[-1].objective_before < records[0].objective_before
    assert records[0].price_impact == [1.0] * 3  # the open-loop household of the benchmark, the default
    assert check_price_impact(None, "euler", "ar1") == 1.0
    with pytest.raises(ValueError, match="measured in the Krusell-Smith economies only"):
        polish(model, exp, margin="euler", price_impact="measured")
    with pytest.raises(ValueError, match="Krusell-Smith economy"):
        LabourEuler(make_experiment("ks"))
    with pytest.raises(ValueError, match="AR\\(1\\) technology"):
        ChainEuler(exp)
    with pytest.raises(ValueError, match="price_impact must be one finite number"):
        LabourEuler(exp, price_impact=np.nan)


def test_the_euler_margin_can_weight_the_fixed_points_neighbourhood():
    """With ``fixed_point`` 0.5 the deterministic economy's states (next periods without shocks) enter the loss
    beside the stochastic ones, and their errors fall round by round as the stochastic states' do."""
    exp = _general()
    model = build_model("sac", hyperparameters("sac", "tuned", exp.beta, extra={}), exp, seed=0)
    records = polish(model, exp, margin="euler", rounds=3, steps=60, learning_rate=1e-3, n_economies=2, periods=20,
                     burn_in=10, seed=0, fixed_point=0.5, log=lambda message: None)
    assert all(r.fixed_point_after < r.fixed_point_before for r in records)
    assert records[-1].fixed_point_before < records[0].fixed_point_before
