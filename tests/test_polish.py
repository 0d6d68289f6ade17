"""Value-gradient polishing (:mod:`rl.polish_rounds`; its command line :mod:`rl.polish`).

A closed form first (STYLE.md, layer 1): the utility's slope along labour at
unchanged saving vanishes at Brock-Mirman's labour.  Independent methods
against each other (layer 2): the torch copy of
the period equations and observations against :func:`rl.core.step` and
:func:`rl.core.observe`; the utility's slope along labour at unchanged saving
against the intratemporal residual of the ``general`` scorecard
(:func:`validation.general.private_residuals`, from
:func:`econ.heterogeneous.private_margins`).  Then what polishing must do to a
policy: lower that slope, keep the saving rule, touch neither the critic nor
the log-std, and give the same weights for the same seed.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import torch as th

from econ.economy import ACTION_EPS, markets
from econ.experiments import make_experiment
from rl import core
from rl.config import SettingError, TrainConfig
from rl.loading import build_model, load_model
from rl.lookahead import ChainEuler, ChainLookahead, Lookahead, measured_price_impact
from rl.polish_rounds import check_polishable
from rl.polish_states import (bounded_square, double_copy, mean_actions, policy_states, reach_capital,
                              spread_capital, type_employment_groups)
from rl.polish_rounds import polish
from rl.polish import main as polish_main
from rl.polish_settings import GUARD_HALVINGS
from rl.polish_settings import check_setting as check_polish
from rl.recipes import hyperparameters
from rl.train import train
from validation.general import private_residuals
from validation.krusell_smith import KSBenchmarkActor, price_impact_benchmark

FLOAT32_ATOL = 1e-6
"""The environment's observations are float32 (relative resolution 6e-8 on values of order 1 to 20)."""

DOUBLE_RTOL = 1e-9
"""Two double-precision evaluations of the same closed-form expressions in another order agree to rounding."""


def _general():
    return make_experiment("general", tfp_scale=0.0229, productivity_scale=0.02)


def _state(exp, seed=1, n_economies=4):
    rng = np.random.default_rng(seed)
    state = core.initial_state(exp, n_economies, rng)
    return state._replace(log_tfp=rng.normal(0.0, 0.02, n_economies)), rng


LOG_CAPITAL = ("log_capital", "aggregate_capital", "log_tfp", "capital_productivity", "labour_productivity")


@pytest.mark.parametrize("name, overrides", [("general", {"tfp_scale": 0.0229, "productivity_scale": 0.02}),
                                             ("general", {"observations": LOG_CAPITAL}),
                                             ("general", {"utility": "log_leisure", "chi": 5.0}), ("rbc", {})])
def test_lookahead_period_and_observations_match_the_environment(name, overrides):
    exp = make_experiment(name, **overrides)
    state, rng = _state(exp)
    actions = rng.uniform(-0.9, 0.9, (4, exp.num_agents, 2))
    transition = core.step(exp, state, actions, rng)
    lookahead = Lookahead(exp, value=lambda obs: obs.sum(-1))
    capital, log_tfp = th.tensor(state.capital), th.tensor(state.log_tfp)
    wealth, reward, next_capital, next_aggregate = lookahead.period(capital, log_tfp, th.tensor(actions))
    np.testing.assert_allclose(wealth.numpy(), transition.outcome.wealth, rtol=DOUBLE_RTOL)
    np.testing.assert_allclose(reward.numpy(), transition.outcome.reward, rtol=DOUBLE_RTOL)
    np.testing.assert_allclose(next_capital.numpy(), transition.outcome.next_capital, rtol=DOUBLE_RTOL)
    effective = (np.asarray(exp.capital_productivity) * transition.outcome.next_capital).mean(-1, keepdims=True)
    np.testing.assert_allclose(next_aggregate.numpy(), np.broadcast_to(effective, (4, exp.num_agents)),
                               rtol=DOUBLE_RTOL)
    aggregate = (lookahead.kappa * capital).mean(-1, keepdim=True).expand_as(capital)
    np.testing.assert_allclose(lookahead.observe(capital, log_tfp, aggregate).numpy(), core.observe(exp, state),
                               atol=FLOAT32_ATOL)


def test_each_households_lookahead_moves_with_its_own_action_only():
    """Household i's J depends on the others' actions only through values held fixed (open loop): its gradient
    in household j's action is zero, and in its own labour it carries its price impact."""
    exp = _general()
    state, rng = _state(exp, n_economies=1)
    actions = th.tensor(rng.uniform(-0.5, 0.5, (1, exp.num_agents, 2)), requires_grad=True)
    lookahead = Lookahead(exp, value=lambda obs: (obs ** 2).sum(-1))
    J = lookahead(th.tensor(state.capital), th.tensor(state.log_tfp), actions)[0]
    gradient, = th.autograd.grad(J[0, 3], actions)
    others = np.delete(gradient[0].numpy(), 3, axis=0)
    assert np.all(others == 0.0)
    assert np.all(gradient[0, 3].numpy() != 0.0)


def _chain_transition(name="ks-het-marked", seed=2, n_economies=4):
    exp = make_experiment("ks", utility="linear", chi=0.5) if name == "ks-linear-utility" else make_experiment(name)
    rng = np.random.default_rng(seed)
    state = core.initial_state(exp, n_economies, rng)
    actions = rng.uniform(-0.9, 0.9, (n_economies, exp.num_agents, 1))
    return exp, state, actions, core.step(exp, state, actions, rng)


@pytest.mark.parametrize("name", ["ks", "ks-het-marked", "ks-linear-utility"])
def test_chain_lookahead_period_and_next_observations_match_the_environment(name):
    """The Krusell-Smith lookahead's reward and next capital are :func:`rl.core.step`'s; of the four next
    observations it builds for each household, the one of the shocks that happened is :func:`rl.core.observe`
    of the next state (float32, as the environment builds it)."""
    exp, state, actions, transition = _chain_transition(name)
    seen = []
    lookahead = ChainLookahead(exp, value=lambda obs: seen.append(obs.detach().clone()) or obs.sum(-1))
    _, reward, next_capital = lookahead.on(state)(th.tensor(actions))
    np.testing.assert_allclose(reward.numpy(), transition.outcome.reward, rtol=DOUBLE_RTOL)
    np.testing.assert_allclose(next_capital.numpy(), transition.outcome.next_capital, rtol=DOUBLE_RTOL)
    expected = core.observe(exp, transition.state)
    scenarios = [(z, e) for z in (0, 1) for e in (1, 0)]  # rl.core.shock_scenarios' order
    happened = [[scenarios.index((int(z), int(e))) for e in row]
                for z, row in zip(transition.state.aggregate_state, transition.state.employed)]
    built = th.stack(seen).reshape((4,) + expected.shape).numpy()
    for economy, row in enumerate(happened):
        for household, s in enumerate(row):
            np.testing.assert_allclose(built[s, economy, household], expected[economy, household],
                                       atol=FLOAT32_ATOL)


def test_chain_lookahead_is_the_lookahead_of_the_advantages():
    """At the households' own actions the lookahead equals u + beta E[V(o')] as PPO's advantages compute it
    (:func:`rl.core.next_state_values` on the next observations, numpy, float32) for a nonlinear V; float32
    observations of order 1-10 through V's curvature give agreement to about 1e-6."""
    exp, state, actions, transition = _chain_transition()

    def value(obs):
        obs = th.as_tensor(obs, dtype=th.float64)
        return th.sin(obs).sum(-1) + 0.3 * obs[:, 0] * obs[:, 1]

    J, _, _ = ChainLookahead(exp, value).on(state)(th.tensor(actions))
    now, nxt = core.observe(exp, state), core.observe(exp, transition.state)
    expected = core.next_state_values(exp, now, nxt, lambda obs: value(obs).numpy())
    np.testing.assert_allclose(J.numpy(), transition.outcome.reward + exp.beta * expected, atol=1e-5)
    # household i's lookahead moves with its own action only (the others' next capital held, open loop)
    acts = th.tensor(actions, requires_grad=True)
    J = ChainLookahead(exp, value).on(state)(acts)[0]
    gradient, = th.autograd.grad(J[1, 5], acts)
    assert np.all(np.delete(gradient[1].numpy(), 5, axis=0) == 0.0) and gradient[1, 5, 0] != 0.0
    assert not gradient[[0, 2, 3]].any()
    # household i at its own action b_i against the others at a: the lookahead of the economy where only i moved
    objective = ChainLookahead(exp, value).on(state)
    a = th.tensor(actions)
    b = th.tensor(np.random.default_rng(9).uniform(-0.9, 0.9, actions.shape))
    against = objective(b, others=a)[0]
    for household in (0, 7):
        only = a.clone()
        only[:, household] = b[:, household]
        np.testing.assert_allclose(against[:, household].numpy(), objective(only)[0][:, household].numpy(),
                                   rtol=DOUBLE_RTOL)


def test_fixed_saving_slope_is_the_scorecards_intratemporal_residual():
    """Along labour at unchanged saving the utility moves by u_c a'(l) - chi = chi (1 / (1 + rho) - 1) per unit
    of labour, rho = chi c / W - 1 the scorecard's residual with W the private marginal labour income (linear
    utility; log A = 0, where the scorecard's margins are computed)."""
    exp = _general()
    rng = np.random.default_rng(3)
    capital = exp.capital_scale * rng.uniform(0.7, 1.3, (1, exp.num_agents))
    actions = rng.uniform(-0.6, 0.6, (1, exp.num_agents, 2))
    lookahead = Lookahead(exp, value=lambda obs: obs.sum(-1))
    cap, log_tfp, act = th.tensor(capital), th.zeros(1, dtype=th.float64), th.tensor(actions)
    direction, slope = lookahead.fixed_saving_slope(cap, log_tfp, act)
    wealth, _, _, _ = lookahead.period(cap, log_tfp, act)
    fractions = lookahead.fractions(act)[0].numpy()
    consumption = fractions[:, 0] * wealth[0].numpy()
    _, rho = private_residuals(exp, capital[0], fractions[:, 1], consumption)
    expected = exp.chi * (1.0 / (1.0 + rho) - 1.0) * (1.0 - 2.0 * ACTION_EPS) / 2.0
    np.testing.assert_allclose(slope[0].numpy(), expected, rtol=DOUBLE_RTOL)
    # the direction keeps next period's own capital: a household's step h along it (the others' actions as they
    # are) moves its k' by O(h^2) only, against O(h) for the same step in labour alone; their ratio is about h
    # times the curvature over the slope, O(1e-5 * 10), so 1e-4 allows for that and fails a first-order error
    h = 1e-5
    _, _, k0, _ = lookahead.period(cap, log_tfp, act)
    for i in range(exp.num_agents):
        along, labour_only = act.clone(), act.clone()
        along[0, i] += h * direction[0, i]
        labour_only[0, i, 1] += h
        moved = abs(float(lookahead.period(cap, log_tfp, along)[2][0, i] - k0[0, i]))
        assert moved < 1e-4 * abs(float(lookahead.period(cap, log_tfp, labour_only)[2][0, i] - k0[0, i]))


CLOSED_FORM_ATOL = 1e-10
"""The slope at the closed form is a difference of two O(1) terms (u_c times the marginal product of labour, and
chi or its log-leisure analogue), each a few double-precision operations: zero to about 1e-15; 1e-10 is far below
the 1e-3 a labour choice 0.05 off the closed form gives (the negative control)."""


@pytest.mark.parametrize("utility", ["linear", "log_leisure"])
def test_fixed_saving_slope_vanishes_at_the_brock_mirman_labour(utility):
    """One household is the whole economy: its private marginal income from labour is the marginal product,
    and at Brock-Mirman's chat* = 1 - alpha beta the slope is zero exactly at the closed-form labour l*, at any
    state (the closed form is state-independent); above l* it is negative, below positive."""
    from econ.economy import fraction_to_action
    from econ.rbc.brock_mirman import brock_mirman_policy

    chi = {"linear": 1.0, "log_leisure": 5.0}[utility]
    exp = make_experiment("rbc-full-depreciation", utility=utility, chi=chi)
    closed = brock_mirman_policy(exp.rbc_params)
    rng = np.random.default_rng(4)
    capital = th.tensor(exp.capital_scale * rng.uniform(0.3, 3.0, (50, 1)))
    log_tfp = th.tensor(rng.normal(0.0, 0.05, 50))
    lookahead = Lookahead(exp, value=lambda obs: obs.sum(-1))
    for labour, sign in ((closed.labour, 0.0), (closed.labour + 0.05, -1.0), (closed.labour - 0.05, 1.0)):
        actions = th.tensor(fraction_to_action([closed.consumption_fraction, labour])).expand(50, 1, 2).clone()
        _, slope = lookahead.fixed_saving_slope(capital, log_tfp, actions)
        if sign == 0.0:
            np.testing.assert_allclose(slope.numpy(), 0.0, atol=CLOSED_FORM_ATOL)
        else:
            assert np.all(sign * slope.numpy() > 1e-3), (labour, slope.numpy().min(), slope.numpy().max())


def _small_model(exp):
    hyper = hyperparameters("ppo", "tuned", exp.beta, n_steps=32, extra={"actor_per_type": True})
    return build_model("ppo", hyper, exp, seed=0)


POLISH = dict(rounds=3, steps=60, learning_rate=1e-3, n_economies=2, periods=20, burn_in=10, seed=0,
              log=lambda message: None)


def _labour_measure(exp, model):
    """A function of no argument giving, on states the model's policy visits now, the mean |slope| along labour at
    unchanged saving and next capital (B, N) under the policy's deterministic actions as they are when it is
    called (double precision)."""
    states, _ = policy_states(exp, model.policy, 2, 20, 10, np.random.default_rng(5))
    lookahead = Lookahead(exp, value=lambda obs: obs.sum(-1))
    cap, z = th.tensor(states.capital), th.tensor(states.log_tfp)
    obs = lookahead.observe(cap, z, (lookahead.kappa * cap).mean(-1, keepdim=True).expand_as(cap))

    def measured():
        with th.no_grad():
            actions = mean_actions(double_copy(model.policy), obs.reshape(-1, obs.shape[-1]))
        actions = actions.reshape(cap.shape + (2,))
        _, slope = lookahead.fixed_saving_slope(cap, z, actions)
        return float(slope.abs().mean()), lookahead.period(cap, z, actions)[2]

    return measured


def test_polishing_moves_labour_to_the_intratemporal_condition_and_keeps_the_saving_rule():
    """From an untrained actor (one per kappa type, as the recipe): on states the original policy visits, the
    mean |slope| along labour at unchanged saving falls at least fourfold, next capital stays within 1 percent
    of the original rule's, and the critic and the log-std are untouched.

    Fourfold: 180 Adam steps of 1e-3 move an untrained actor's labour by tenths, enough to cross the
    intratemporal optimum, while a wrong sign or a direction that does not move labour leaves the slope as it
    was or raises it.  1 percent: with the anchor's weight 100 the pull back on a relative change d of k' is
    200 d, against a slope of order 1e-2, so d stays near 1e-4; without the anchor the direction keeps k' to
    first order only and labour's large moves shift it by percents."""
    exp = _general()
    model = _small_model(exp)
    before = {name: p.detach().clone() for name, p in model.policy.state_dict().items()}
    measured = _labour_measure(exp, model)
    slope_before, saving_before = measured()
    records = polish(model, exp, **POLISH)
    slope_after, saving_after = measured()
    assert len(records) == 3 and records[-1].objective_after < records[0].objective_before
    assert slope_after < slope_before / 4.0, (slope_before, slope_after)
    assert float((saving_after / saving_before - 1.0).abs().max()) < 0.01
    after = model.policy.state_dict()
    moved = [name for name in before if not th.equal(before[name], after[name])]
    assert moved and not [name for name in moved if "value" in name or name == "log_std"], moved


@pytest.mark.parametrize("algo", ["sac", "td3"])
def test_the_off_policy_actor_is_polished_along_labour_too(algo):
    """The intratemporal margin needs no critic, so it polishes SAC's squashed mean and TD3's actor (DDPG's is
    TD3's kind): from an untrained actor, with the bars and the reasons of the PPO test above (the slope falls at
    least fourfold, next capital stays within 1 percent), and only the actor's mean layers move."""
    exp = _general()
    model = build_model(algo, hyperparameters(algo, "tuned", exp.beta), exp, seed=0)
    before = {name: p.detach().clone() for name, p in model.policy.state_dict().items()}
    measured = _labour_measure(exp, model)
    slope_before, saving_before = measured()
    polish(model, exp, **POLISH)
    slope_after, saving_after = measured()
    assert slope_after < slope_before / 4.0, (slope_before, slope_after)
    assert float((saving_after / saving_before - 1.0).abs().max()) < 0.01
    after = model.policy.state_dict()
    moved = [name for name in before if not th.equal(before[name], after[name])]
    assert moved and all(name.startswith(("actor.latent_pi", "actor.mu")) for name in moved), moved


def _slope_at_the_fixed_point(exp, model):
    """Mean |slope| along labour at unchanged saving on the deterministic economy's states (sigma = 0, 30
    periods of burn-in, then 20), drawn apart from polishing's own."""
    states, _ = policy_states(exp._replace(sigma=0.0), model.policy, 1, 20, 30, np.random.default_rng(7))
    lookahead = Lookahead(exp, value=lambda obs: obs.sum(-1))
    cap, z = th.tensor(states.capital), th.tensor(states.log_tfp)
    obs = lookahead.observations(states).reshape(cap.numel(), -1)
    with th.no_grad():
        actions = model.policy.get_distribution(obs.float()).distribution.mean
    return float(lookahead.fixed_saving_slope(cap, z, actions.double().reshape(cap.shape + (2,)))[1].abs().mean())


def test_polishing_can_weight_the_fixed_points_neighbourhood():
    """With ``fixed_point`` 0.5 the deterministic economy's states enter the loss beside the stochastic ones: the
    records carry their slope, which falls from round to round, and on a deterministic path simulated apart
    (another draw, a longer burn-in) the slope left is smaller than what polishing without the weight leaves
    there, since those states now carry half the loss instead of sharing it with the whole stochastic
    distribution."""
    exp = _general()
    plain, weighted = _small_model(exp), _small_model(exp)
    assert polish(plain, exp, **POLISH)[0].fixed_point_before is None
    records = polish(weighted, exp, **{**POLISH, "fixed_point": 0.5})
    assert all(r.fixed_point_after < r.fixed_point_before for r in records)
    assert records[-1].fixed_point_after < records[0].fixed_point_before / 4.0
    assert _slope_at_the_fixed_point(exp, weighted) < _slope_at_the_fixed_point(exp, plain)


def test_polishing_is_deterministic():
    exp = _general()
    first, second = _small_model(exp), _small_model(exp)
    polish(first, exp, **{**POLISH, "rounds": 1})
    polish(second, exp, **{**POLISH, "rounds": 1})
    for a, b in zip(first.policy.parameters(), second.policy.parameters()):
        assert th.equal(a, b)


def test_polishing_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match="AR\\(1\\)"):
        check_polishable(make_experiment("ks"))
    check_polishable(make_experiment("ks"), "lookahead")
    with pytest.raises(ValueError, match="employed"):
        check_polishable(make_experiment("ks", observations=("capital", "aggregate_capital", "aggregate_state")),
                         "lookahead")
    exp = _general()
    with pytest.raises(ValueError, match="margin"):
        polish(_small_model(exp), exp, margin="curvature")
    with pytest.raises(ValueError, match="anchor"):
        polish(_small_model(exp), exp, anchor=-1.0)
    with pytest.raises(ValueError, match=r"fixed_point must lie in \[0.0, 1.0\]"):
        polish(_small_model(exp), exp, fixed_point=1.5)
    with pytest.raises(ValueError, match="fixed_point applies to the intratemporal and euler margins of the AR"):
        polish(_small_model(exp), exp, margin="lookahead", fixed_point=0.5)
    ks = make_experiment("ks-het-marked")
    with pytest.raises(ValueError, match="fixed_point applies to the intratemporal and euler margins of the AR"):
        polish(_small_model(ks), ks, margin="euler", fixed_point=0.5)
    setting = {"rounds": 2, "steps": 3, "learning_rate": 1e-5, "anchor": 100.0}
    check_polish("ppo", setting)
    for algo in ("sac", "td3", "ddpg"):  # their deterministic actor: the margins without a critic
        with pytest.raises(ValueError, match=f"polish: {algo} is polished on the intratemporal and euler margins "
                                             f"only \\(the lookahead margin needs PPO's state-value critic\\)"):
            check_polish(algo, {**setting, "margin": "lookahead"})
        check_polish(algo, setting)
        check_polish(algo, {**setting, "anchor": 0.0, "margin": "euler"})  # 0: no anchor, as rl.polish's CLI
        with pytest.raises(ValueError, match="polish anchor applies to the intratemporal margin only \\(0 with "
                                             "margin 'euler'\\), got 100.0"):
            check_polish(algo, {**setting, "margin": "euler"})
    with pytest.raises(ValueError, match="polishing applies to ppo, sac, td3 and ddpg, not 'a2c'"):
        check_polish("a2c", setting)
    with pytest.raises(ValueError, match="polish must be"):
        check_polish("ppo", {"rounds": 2})
    with pytest.raises(ValueError, match="polish rounds"):
        check_polish("ppo", {**setting, "rounds": 0})
    with pytest.raises(ValueError, match="polish margin"):
        check_polish("ppo", {**setting, "margin": "curvature"})
    check_polish("ppo", {**setting, "fixed_point": 0.5})
    check_polish("ppo", {**setting, "burn_in": 0})
    with pytest.raises(ValueError, match="polish burn_in"):
        check_polish("ppo", {**setting, "burn_in": -1})
    with pytest.raises(ValueError, match="burn_in"):
        polish(_small_model(exp), exp, burn_in=-1)
    with pytest.raises(ValueError, match="polish fixed_point"):
        check_polish("ppo", {**setting, "fixed_point": -0.1})
    with pytest.raises(ValueError, match="polish fixed_point applies"):
        check_polish("ppo", {**setting, "margin": "lookahead", "fixed_point": 0.5})


def test_a_run_polishes_after_training_and_records_it(tmp_path):
    hyper = {"polish": {"rounds": 2, "steps": 3, "learning_rate": 1e-5, "anchor": 100.0}, "n_steps": 32}
    summary = train(TrainConfig("general", "ppo", timesteps=2 * 32 * 9, seed=0, preset="tuned",
                                hyper_overrides=hyper), tmp_path / "run")
    assert [record["round"] for record in summary["polish"]] == [0, 1] and summary["polish_seconds"] > 0
    # python -m rl.polish: a finished run polished into a new directory, which loads and is scored like a run
    out = tmp_path / "polished"
    (tmp_path / "run" / "evaluations.csv").write_text("timesteps,passed\n576,False\n")
    assert polish_main([str(tmp_path / "run"), "--out", str(out), "--rounds", "1", "--steps", "2",
                        "--periods", "5"]) == 0
    exp = _general()
    polished, trained = load_model(out, exp), load_model(tmp_path / "run", exp)
    assert not all(th.equal(a, b) for a, b in zip(polished.policy.parameters(), trained.policy.parameters()))
    config = json.loads((out / "config.json").read_text())
    assert config["polished_from"]["rounds"] == 1 and config["polished_from"]["seed"] == 0
    assert config["polished_from"]["anchor"] == 100.0  # the intratemporal margin's default, recorded
    assert "git_commit" in config["polished_from"]["code"] and "cpu" in config["polished_from"]["machine"]
    polished_summary = json.loads((out / "summary.json").read_text())
    assert len(polished_summary["polish"]) == 3  # the run's own two, then this one
    assert 0 < polished_summary["polish_seconds"] != summary["polish_seconds"]  # this polishing's time
    assert (out / "evaluations.csv").read_text() == "timesteps,passed\n576,False\n"  # the training's, as it was
    assert not (out / "returns.csv").exists()  # (this run is too short to finish an episode and write one)
    assert not list(tmp_path.glob(".polished*"))  # no temporary directory left beside it
    assert polish_main([str(tmp_path / "run"), "--out", str(out)]) == 2  # one writer per directory
    # the run keeps the policy before its polishing; the same settings and seed from it give model.zip again
    again = tmp_path / "again"
    assert polish_main([str(tmp_path / "run"), "--out", str(again), "--unpolished", "--rounds", "2", "--steps",
                        "3"]) == 0
    unpolished = load_model(tmp_path / "run" / "model-unpolished.zip", exp)
    assert not all(th.equal(a, b) for a, b in zip(unpolished.policy.parameters(), trained.policy.parameters()))
    assert all(th.equal(a, b) for a, b in zip(load_model(again, exp).policy.parameters(),
                                              trained.policy.parameters()))
    again_summary = json.loads((again / "summary.json").read_text())
    assert len(again_summary["polish"]) == 2
    # its wall-clock is the training's without the run's own polishing, which it replaced
    assert again_summary["wall_clock_seconds"] == summary["wall_clock_seconds"] - summary["polish_seconds"]
    assert json.loads((again / "config.json").read_text())["polished_from"]["model"] == "model-unpolished.zip"
    assert polish_main([str(out), "--out", str(tmp_path / "none"), "--unpolished"]) == 2  # it has none
    # a polished directory polished again keeps the lineage: the earlier polishing first, then this one
    twice = tmp_path / "twice"
    assert polish_main([str(out), "--out", str(twice), "--rounds", "1", "--steps", "2", "--periods", "5"]) == 0
    lineage = json.loads((twice / "config.json").read_text())
    assert lineage["earlier_polishings"] == [config["polished_from"]]
    assert lineage["polished_from"]["run"] == str(out) and "earlier_polishings" not in config
    with pytest.raises(SettingError, match="AR\\(1\\)"):
        train(TrainConfig("ks", "ppo", timesteps=64, seed=0, preset="tuned", hyper_overrides=hyper),
              tmp_path / "ks")


@pytest.mark.parametrize("name", ["general", "ks-het-marked"])
def test_polishing_through_the_lookahead_flattens_it(name):
    """The ``lookahead`` margin lowers the mean |slope| of each household's lookahead in its own action on each
    round's states (simultaneous ascent of every J_i with a small step on a smooth objective), in an AR(1) and
    in a Krusell-Smith economy; the critic and the log-std stay as they were."""
    exp = _general() if name == "general" else make_experiment(name)
    model = _small_model(exp)
    before = {key: p.detach().clone() for key, p in model.policy.state_dict().items()}
    records = polish(model, exp, **{**POLISH, "margin": "lookahead", "rounds": 2, "learning_rate": 1e-4})
    assert all(r.objective_after < r.objective_before for r in records), records
    moved = [key for key, p in model.policy.state_dict().items() if not th.equal(before[key], p)]
    assert moved and not [key for key in moved if "value" in key or key == "log_std"], moved


@pytest.mark.parametrize("name", ["ks", "ks-het-marked"])
def test_chain_euler_next_period_matches_the_environment_and_its_private_return_is_the_derivative(name):
    """Of the four next periods :class:`rl.lookahead.ChainEuler` builds for each household, the one of the shocks
    that happened has the wealth of :func:`rl.core.step`'s next state (:func:`econ.economy.markets` there) and the
    fraction the rule plays at :func:`rl.core.observe` of it (float32 observations); the private return at
    phi = 1 is the derivative of that wealth in the household's own next capital, the others' held (autograd,
    an independent method: no formula of the wedge enters)."""
    exp, state, actions, transition = _chain_transition(name)
    euler = ChainEuler(exp, price_impact=1.0)
    tomorrow = lambda obs: th.tanh(obs.sum(-1, keepdim=True) / 10.0)  # any smooth rule of the observations
    next_capital = th.tensor(transition.outcome.next_capital, requires_grad=True)
    periods = euler.on(state, tomorrow).next_period(th.tensor(actions), next_capital=next_capital)
    wealth = markets(transition.state.capital, exp.ks.labour_endowment * transition.state.employed,
                     core.technology(exp, transition.state), alpha=exp.alpha, delta=exp.delta,
                     capital_productivity=np.asarray(exp.capital_productivity),
                     labour_productivity=np.asarray(exp.labour_productivity)).wealth
    played = tomorrow(th.as_tensor(core.observe(exp, transition.state), dtype=th.float64))[..., 0]
    scenarios = [(z, e) for z in (0, 1) for e in (1, 0)]
    seen = 0
    for s, (next_wealth, private_return, next_fraction) in enumerate(periods):
        happened = np.array([[scenarios.index((int(z), int(e))) == s for e in row]
                             for z, row in zip(transition.state.aggregate_state, transition.state.employed)])
        seen += happened.sum()
        np.testing.assert_allclose(next_wealth.detach().numpy()[happened], wealth[happened], rtol=DOUBLE_RTOL)
        np.testing.assert_allclose(next_fraction.detach().numpy()[happened],
                                   (ACTION_EPS + (1 - 2 * ACTION_EPS) * (played.numpy() + 1) / 2)[happened],
                                   atol=FLOAT32_ATOL)
        slope, = th.autograd.grad(next_wealth.sum(), next_capital, retain_graph=True)
        np.testing.assert_allclose(private_return.detach().numpy(), slope.numpy(), rtol=DOUBLE_RTOL)
    assert seen == state.capital.size


def test_measured_price_impact_of_the_benchmark_rule_is_the_benchmarks_phi():
    """Played in the environment's own 20-household economy, the price-impact benchmark's rule gives back the phi
    the benchmark solved with (an independent measurement: other economies, other shocks, the environment's step
    instead of the solver's panel).  Tolerance 0.02 per type, set before measuring: the benchmark's own phi moves by
    up to 0.01 across shock seeds (econ.krusell_smith.conjecture), twice that for two independent measurements."""
    exp = make_experiment("ks-het-marked")
    solution = price_impact_benchmark(exp)
    actor = KSBenchmarkActor(exp, solution)
    measured = measured_price_impact(exp, lambda obs: np.asarray(actor(obs)), seed=0)
    np.testing.assert_allclose(measured, solution.phi, atol=0.02)
    assert np.all(measured < 1.0)  # the others undo part of the own impact


def test_polishing_on_the_euler_equation_lowers_the_euler_error():
    """The ``euler`` margin lowers the mean |log Euler error| of the shipped ``ks-het-marked`` policy against the
    round's copy of the rule (each round's steps solve today's rule against it), records the measured phi per
    type, and moves the actor only."""
    exp = make_experiment("ks-het-marked")
    model = load_model(Path("validation/policies/ks-het-marked"), exp)
    before = {key: p.detach().clone() for key, p in model.policy.state_dict().items()}
    records = polish(model, exp, **{**POLISH, "margin": "euler", "rounds": 2, "steps": 30, "learning_rate": 1e-4})
    assert all(r.objective_after < r.objective_before for r in records), records
    assert all(len(r.price_impact) == 3 and all(0.3 < x < 1.0 for x in r.price_impact) for r in records), records
    moved = [key for key, p in model.policy.state_dict().items() if not th.equal(before[key], p)]
    assert moved and not [key for key in moved if "value" in key or key == "log_std"], moved


def test_the_euler_margin_refuses_what_it_cannot_do():
    check_polishable(_general(), "euler")  # the AR(1) economies' conditions (tests/test_labour_euler.py)
    with pytest.raises(ValueError, match="exact unemployment"):
        check_polishable(make_experiment("ks", exact_unemployment=False), "euler")
    exp = make_experiment("ks-het-marked")
    with pytest.raises(ValueError, match=r"price_impact must lie in \[0.0, 1.0\]"):
        polish(_small_model(exp), exp, margin="euler", price_impact=1.5)
    with pytest.raises(ValueError, match="price_impact must be 'measured', a number in \\[0, 1\\] or one per kappa"):
        polish(_small_model(exp), exp, margin="euler", price_impact="consistent")
    with pytest.raises(ValueError, match=r"price_impact takes one number, or one per kappa type \(3\), got 2"):
        polish(_small_model(exp), exp, margin="euler", price_impact=[0.6, 0.7])
    with pytest.raises(ValueError, match=r"price_impact must lie in \[0.0, 1.0\]"):
        polish(_small_model(exp), exp, margin="euler", price_impact=[0.6, 0.7, 1.2])
    with pytest.raises(ValueError, match=r"price_impact takes one number, or one per kappa type \(3\), got 2"):
        polish(_small_model(exp), exp, margin="euler", price_impact=np.array([0.6, 0.7]))  # an array as a list
    with pytest.raises(ValueError, match="an AR\\(1\\) economy's euler margin is one number"):
        polish(_small_model(_general()), _general(), margin="euler", price_impact=[0.6, 0.7, 0.8])
    with pytest.raises(ValueError, match="price_impact applies to the euler margin only"):
        polish(_small_model(exp), exp, margin="lookahead", price_impact=1.0)
    with pytest.raises(ValueError, match="price_impact must be finite"):
        ChainEuler(exp, price_impact=np.nan)  # any finite phi: a measured one can leave [0, 1] (the option cannot)
    ChainEuler(exp, price_impact=[1.04, 0.74, 0.79])  # measured under a SAC rule: accepted
    setting = {"rounds": 2, "steps": 3, "learning_rate": 1e-5, "anchor": 0.0, "margin": "euler"}
    check_polish("ppo", {**setting, "price_impact": "measured"})
    check_polish("ppo", {**setting, "price_impact": 0.5})
    check_polish("ppo", {**setting, "price_impact": [0.6, 0.6, 0.7]})
    with pytest.raises(ValueError, match="polish price_impact"):
        check_polish("ppo", {**setting, "price_impact": 2.0})
    with pytest.raises(ValueError, match="polish price_impact applies"):
        check_polish("ppo", {**setting, "margin": "lookahead", "price_impact": 0.5})


def test_a_run_polished_on_the_euler_equation_in_training_is_the_commands_polishing(tmp_path):
    """The ``euler`` margin as a recipe's ``polish`` setting: the run keeps the policy before it, and ``python -m
    rl.polish --unpolished`` with the same settings gives the run's model.zip bit for bit (the recipe's polishing
    and the command are one computation); each round records the phi it used, one per kappa type."""
    setting = {"margin": "euler", "rounds": 2, "steps": 3, "learning_rate": 1e-4, "anchor": 0.0, "periods": 5}
    run = tmp_path / "run"
    summary = train(TrainConfig("ks-het-marked", "ppo", timesteps=32 * 20, seed=0, preset="tuned",
                                hyper_overrides={"polish": setting, "n_steps": 32}), run)
    assert [len(record["price_impact"]) for record in summary["polish"]] == [3, 3]
    again = tmp_path / "again"
    assert polish_main([str(run), "--out", str(again), "--unpolished", "--margin", "euler", "--rounds", "2",
                        "--steps", "3", "--learning-rate", "1e-4", "--periods", "5"]) == 0
    exp = make_experiment("ks-het-marked")
    assert all(th.equal(a, b) for a, b in zip(load_model(again, exp).policy.parameters(),
                                              load_model(run, exp).policy.parameters()))
    recorded = json.loads((again / "config.json").read_text())["polished_from"]
    assert recorded["price_impact"] == "measured" and "anchor" not in recorded  # the intratemporal margin's only
    assert "burn_in" not in recorded  # the default, not recorded
    longer = tmp_path / "longer"  # a longer burn-in: other states, other weights, and recorded
    assert polish_main([str(run), "--out", str(longer), "--unpolished", "--margin", "euler", "--rounds", "2",
                        "--steps", "3", "--learning-rate", "1e-4", "--periods", "5", "--burn-in", "30"]) == 0
    assert json.loads((longer / "config.json").read_text())["polished_from"]["burn_in"] == 30
    assert not all(th.equal(a, b) for a, b in zip(load_model(longer, exp).policy.parameters(),
                                                  load_model(run, exp).policy.parameters()))
    carried = tmp_path / "carried"  # continued from round to round: recorded (and only then)
    assert polish_main([str(run), "--out", str(carried), "--unpolished", "--margin", "euler", "--rounds", "2",
                        "--steps", "3", "--learning-rate", "1e-4", "--periods", "5", "--carry"]) == 0
    assert json.loads((carried / "config.json").read_text())["polished_from"]["carry"] is True
    assert "carry" not in recorded
    given = tmp_path / "given"  # phi given per kappa type, low to high: used in every round, and recorded
    assert polish_main([str(run), "--out", str(given), "--unpolished", "--margin", "euler", "--rounds", "2",
                        "--steps", "3", "--learning-rate", "1e-4", "--periods", "5", "--price-impact",
                        "0.6,0.65,0.7"]) == 0
    assert [r["price_impact"] for r in json.loads((given / "summary.json").read_text())["polish"][-2:]] == \
        [[0.6, 0.65, 0.7]] * 2
    assert json.loads((given / "config.json").read_text())["polished_from"]["price_impact"] == [0.6, 0.65, 0.7]
    spread = tmp_path / "spread"  # recorded when used
    assert polish_main([str(run), "--out", str(spread), "--unpolished", "--margin", "euler", "--rounds", "1",
                        "--steps", "2", "--periods", "5", "--spread", "0.2"]) == 0
    assert json.loads((spread / "config.json").read_text())["polished_from"]["spread"] == 0.2
    assert "spread" not in recorded
    robust = tmp_path / "robust"
    assert polish_main([str(run), "--out", str(robust), "--unpolished", "--margin", "euler", "--rounds", "1",
                        "--steps", "2", "--periods", "5", "--robust", "0.01", "--anchor", "0", "--trust", "0.5",
                        "--reach", "2", "--settle", "2"]) == 0
    assert json.loads((robust / "config.json").read_text())["polished_from"]["robust"] == 0.01
    assert json.loads((robust / "config.json").read_text())["polished_from"]["trust"] == 0.5
    assert json.loads((robust / "config.json").read_text())["polished_from"]["reach"] == 2.0
    assert json.loads((robust / "config.json").read_text())["polished_from"]["settle"] == 2
    assert "settle" not in recorded
    assert "anchor" not in json.loads((robust / "config.json").read_text())["polished_from"]  # 0: none, unrecorded
    assert "robust" not in recorded
    for bad in ("open", "0.6,0.7", "0.6,x,0.7"):
        assert polish_main([str(run), "--out", str(tmp_path / "bad"), "--margin", "euler", "--price-impact",
                            bad]) == 2
    assert polish_main([str(run), "--out", str(tmp_path / "bad"), "--margin", "euler", "--anchor", "1"]) == 2
    assert not (tmp_path / "bad").exists()


def test_spread_scales_each_drawn_states_capital_by_one_factor_and_nothing_else():
    """``spread_capital``: about half the economy-states keep their capital; each of the others has every
    household's capital times one factor in [exp(-W), exp(W)], so the households' shares of K, the shocks and the
    employment stay as simulated; W = 0 leaves the states as they are; W outside [0, 1] is refused."""
    exp = make_experiment("ks-het-marked")
    policy = double_copy(load_model(Path("validation/policies/ks-het-marked"), exp).policy)
    states, _ = policy_states(exp, policy, 4, 50, 10, np.random.default_rng(0))
    spread = spread_capital(states, 0.2, np.random.default_rng(1))
    factor = spread.capital / states.capital
    assert np.allclose(factor, factor[:, :1], rtol=1e-12, atol=0.0)  # one factor per economy-state
    moved = np.abs(factor[:, 0] - 1.0) > 0.0
    assert 0.35 < moved.mean() < 0.65 and np.all(np.abs(np.log(factor[:, 0])) <= 0.2)
    assert np.abs(np.log(factor[moved, 0])).max() > 0.15  # the draws fill the interval
    for field in ("log_tfp", "aggregate_state", "employed", "time"):
        assert np.array_equal(getattr(spread, field), getattr(states, field))
    assert np.array_equal(spread_capital(states, 0.0, np.random.default_rng(1)).capital, states.capital)
    with pytest.raises(ValueError, match=r"spread must lie in \[0.0, 1.0\]"):
        spread_capital(states, 1.5, np.random.default_rng(1))


def test_polishing_with_spread_capital_solves_the_euler_equation_off_the_rules_path_too():
    """With ``spread`` the euler margin still lowers the Euler error round by round, ends elsewhere than without
    it and records the simulated states' mean capital (not the spread one); with ``robust`` beyond every error it
    is the polishing without it."""
    exp = make_experiment("ks-het-marked")
    settings = {**POLISH, "margin": "euler", "rounds": 2, "steps": 30, "learning_rate": 1e-4, "price_impact": 1.0}
    plain, spread = (load_model(Path("validation/policies/ks-het-marked"), exp) for _ in range(2))
    plain_records = polish(plain, exp, **settings)
    records = polish(spread, exp, spread=0.2, **settings)
    assert all(r.objective_after < r.objective_before for r in records), records
    assert records[0].mean_capital == plain_records[0].mean_capital  # the same simulated states in round 1
    assert records[0].objective_before != plain_records[0].objective_before  # measured on the spread states
    assert not all(th.equal(a, b) for a, b in zip(plain.policy.parameters(), spread.policy.parameters()))
    # a bound beyond every log error: the robust loss is the squared one, and so is the polishing, bit for bit
    bounded = load_model(Path("validation/policies/ks-het-marked"), exp)
    assert polish(bounded, exp, robust=10.0, **settings) == plain_records
    assert all(th.equal(a, b) for a, b in zip(plain.policy.parameters(), bounded.policy.parameters()))
    # a bound below the errors: the loss is another, and so is the polished rule (the setting reaches the loss)
    tight = load_model(Path("validation/policies/ks-het-marked"), exp)
    tight_records = polish(tight, exp, robust=1e-4, **settings)
    assert tight_records[0].objective_before == plain_records[0].objective_before  # the same states and rule
    assert not all(th.equal(a, b) for a, b in zip(plain.policy.parameters(), tight.policy.parameters()))


@pytest.mark.parametrize("name, value", [("spread", 0.2), ("robust", 0.01), ("trust", 0.01), ("guard", 0.25),
                                         ("reach", 6.0)])
def test_the_euler_margins_own_settings_are_refused_elsewhere_and_below_zero(name, value):
    exp = make_experiment("ks-het-marked")
    with pytest.raises(ValueError, match=f"{name} applies to the euler margin only"):
        polish(_small_model(exp), exp, margin="lookahead", **{name: value})
    with pytest.raises(ValueError, match=f"{name} must"):
        polish(_small_model(exp), exp, margin="euler", **{name: -value})
    setting = {"rounds": 2, "steps": 3, "learning_rate": 1e-5, "anchor": 0.0, "margin": "euler", name: value}
    check_polish("sac", setting)
    with pytest.raises(ValueError, match=f"polish {name} applies to the euler margin only"):
        check_polish("ppo", {**setting, "margin": "intratemporal"})
    with pytest.raises(ValueError, match=f"polish {name} must"):
        check_polish("ppo", {**setting, name: -value})


def _polished_without_and_with(exp, settings, **setting):
    """The shipped ks-het-marked policy polished with ``settings``, and a second copy with ``setting`` added:
    (the first model, its records, the second, its records)."""
    plain, other = (load_model(Path("validation/policies/ks-het-marked"), exp) for _ in range(2))
    return plain, polish(plain, exp, **settings), other, polish(other, exp, **setting, **settings)


def _same_weights(a, b) -> bool:
    return all(th.equal(x, y) for x, y in zip(a.policy.parameters(), b.policy.parameters()))


def test_a_trust_region_stops_a_rounds_steps_once_an_action_has_moved_that_far():
    """``trust`` d: each round's steps stop at the first that starts with a mean action on the round's states moved
    by d or more, so the largest move is d plus at most one step's, and the steps taken are recorded; a region
    wider than every move takes every step, the polishing without it bit for bit (``steps_taken`` aside)."""
    exp = make_experiment("ks-het-marked")
    settings = {**POLISH, "margin": "euler", "rounds": 2, "steps": 30, "learning_rate": 1e-4, "price_impact": 1.0}
    plain, plain_records, wide, wide_records = _polished_without_and_with(exp, settings, trust=10.0)
    assert all(r.steps_taken is None for r in plain_records)
    assert [r.steps_taken for r in wide_records] == [30, 30]
    assert [r._replace(steps_taken=None) for r in wide_records] == plain_records
    assert _same_weights(plain, wide)
    # a region a tenth of the plain polishing's first move: the round stops early, its move within it plus a step
    trust = plain_records[0].max_action_change / 10
    tight = polish(load_model(Path("validation/policies/ks-het-marked"), exp), exp, trust=trust, **settings)
    assert all(1 <= r.steps_taken < 30 for r in tight), tight
    one_step = polish(load_model(Path("validation/policies/ks-het-marked"), exp), exp,
                      **{**settings, "rounds": 1, "steps": 1})[0].max_action_change
    assert trust <= tight[0].max_action_change <= trust + 2 * one_step, (tight[0], one_step)
    assert tight[0].objective_before == plain_records[0].objective_before  # the same states and rule to start


def test_a_guard_undoes_the_round_that_sent_the_states_off_and_stops_a_diverging_polishing():
    """``guard`` g: a guard wider than the rounds' moves changes nothing (the records aside, which then hold each
    round's learning rate); one narrower than any two rounds' states undoes the round before, halving the learning
    rate, each time, and after :data:`GUARD_HALVINGS` halvings stops with an error saying where the states went."""
    exp = make_experiment("ks-het-marked")
    settings = {**POLISH, "margin": "euler", "rounds": 2, "steps": 5, "learning_rate": 1e-4, "price_impact": 1.0}
    plain, plain_records, wide, wide_records = _polished_without_and_with(exp, settings, guard=100.0)
    assert [r.learning_rate for r in wide_records] == [1e-4, 1e-4]
    assert [r._replace(learning_rate=None) for r in wide_records] == plain_records
    assert _same_weights(plain, wide)
    messages = []
    with pytest.raises(RuntimeError, match=r"polish round 2: its states' mean capital [\d.]+ lies outside the earlier "
                                           r"rounds' [\d.]+ to [\d.]+ widened by 1e-12, and the round before it "
                                           r"cannot be undone .*: the polishing diverges"):
        polish(load_model(Path("validation/policies/ks-het-marked"), exp), exp, guard=1e-12,
               **{**settings, "log": messages.append})
    undone = [m for m in messages if "undone" in m]
    assert len(undone) == GUARD_HALVINGS and undone[0].endswith("round 1 undone, learning rate halved to 5.000e-05, "
                                                                 "round 1 again")
    assert undone[-1].endswith(f"halved to {1e-4 / 2 ** GUARD_HALVINGS:.3e}, round 1 again")
    assert sum(m.startswith("polish round 1/2") for m in messages) == GUARD_HALVINGS + 1  # round 1, then again


def test_a_round_that_moves_no_action_says_the_polishing_is_stuck():
    """An actor whose tanh is saturated on every state (its last layer's output -30: the action -1 exactly in
    float64, the slope 0) moves no action however it is polished; each such round says so, with the share of the
    actions at the box's bound.  An actor that moves (the same one untouched) says nothing of the kind."""
    exp = make_experiment("ks-het-mild")
    settings = {**POLISH, "margin": "euler", "rounds": 2, "steps": 5, "learning_rate": 1e-4}
    model = build_model("td3", hyperparameters("td3", "tuned", exp.beta), exp, seed=0)
    moving, messages = [], []
    polish(model, exp, **{**settings, "log": moving.append})
    last = [m for m in model.policy.actor.mu if isinstance(m, th.nn.Linear)][-1]
    with th.no_grad():
        last.weight.zero_()
        last.bias.fill_(-30.0)
    records = polish(model, exp, **{**settings, "log": messages.append})
    assert all(r.max_action_change == 0.0 for r in records), records
    stuck = [m for m in messages if "stuck" in m]
    assert stuck == [f"polish round {r}/2: its 5 steps moved no action by more than 1e-12 on the round's states "
                     f"(100% of the actions within 1e-09 of the box's bound, where a squashed actor has no slope): the "
                     f"polishing is stuck" for r in (1, 2)]
    assert len(moving) == 2 and not [m for m in moving if "stuck" in m]


def test_settle_lowers_the_learning_rate_as_settle_over_the_round_after_round_settle():
    """``settle`` S: rounds 1 to S take the learning rate and round r after them the rate times S / r, recorded per
    round; S at least the rounds is the polishing without it, bit for bit (the records' rate aside). A negative or
    fractional S, or S with ``guard`` (which sets the rate too), is refused, in polish and in a recipe's setting."""
    exp = make_experiment("ks-het-marked")
    settings = {**POLISH, "margin": "euler", "rounds": 3, "steps": 5, "learning_rate": 1e-4, "price_impact": 1.0}
    plain, plain_records, late, late_records = _polished_without_and_with(exp, settings, settle=3)
    assert [r.learning_rate for r in late_records] == [1e-4] * 3
    assert [r._replace(learning_rate=None) for r in late_records] == plain_records
    assert _same_weights(plain, late)
    falling = load_model(Path("validation/policies/ks-het-marked"), exp)
    records = polish(falling, exp, settle=1, **settings)
    assert [r.learning_rate for r in records] == [1e-4, 1e-4 * min(1.0, 1 / 2), 1e-4 * min(1.0, 1 / 3)]
    assert records[0]._replace(learning_rate=None) == plain_records[0]  # round 1 at the full rate
    assert records[1].mean_action_change < plain_records[1].mean_action_change  # smaller steps move the rule less
    assert not _same_weights(plain, falling)
    for bad in (-1, 1.5):
        with pytest.raises(ValueError, match="settle must be an integer >= 0"):
            polish(_small_model(exp), exp, settle=bad, **settings)
        with pytest.raises(ValueError, match="polish settle must be an integer >= 0"):
            check_polish("sac", {"rounds": 2, "steps": 3, "learning_rate": 1e-5, "anchor": 0.0, "settle": bad})
    with pytest.raises(ValueError, match="settle and guard both set the learning rate"):
        polish(_small_model(exp), exp, settle=1, guard=0.1, **settings)
    with pytest.raises(ValueError, match="polish settle and guard both set the learning rate"):
        check_polish("sac", {"rounds": 2, "steps": 3, "learning_rate": 1e-5, "anchor": 0.0, "margin": "euler",
                             "settle": 1, "guard": 0.1})
    check_polish("ppo", {"rounds": 2, "steps": 3, "learning_rate": 1e-5, "anchor": 1.0, "settle": 1})  # any margin


def test_reach_scales_one_households_capital_in_a_quarter_of_the_states_and_polishing_solves_the_euler_there():
    """``reach_capital``: about a quarter of the economy-states have exactly one household's capital times a factor
    in [1, exp(R)], every other household, the shocks and the employment as they were; R = 0 leaves the states as
    they are. In :func:`polish` the setting reaches the loss (another rule), and the Euler error still falls."""
    exp = make_experiment("ks-het-marked")
    policy = double_copy(load_model(Path("validation/policies/ks-het-marked"), exp).policy)
    states, _ = policy_states(exp, policy, 4, 50, 10, np.random.default_rng(0))
    reached = reach_capital(states, 6.0, np.random.default_rng(1))
    factor = reached.capital / states.capital
    moved = factor != 1.0
    assert np.all(moved.sum(axis=1) <= 1) and 0.15 < moved.any(axis=1).mean() < 0.35
    assert np.all((factor >= 1.0) & (factor <= np.exp(6.0))) and factor.max() > np.exp(3.0)
    assert np.array_equal(reached.employed, states.employed) and np.array_equal(reached.log_tfp, states.log_tfp)
    assert np.array_equal(reach_capital(states, 0.0, np.random.default_rng(1)).capital, states.capital)
    settings = {**POLISH, "margin": "euler", "rounds": 2, "steps": 30, "learning_rate": 1e-4, "price_impact": 1.0}
    plain, far = (load_model(Path("validation/policies/ks-het-marked"), exp) for _ in range(2))
    plain_records, records = polish(plain, exp, **settings), polish(far, exp, reach=6.0, **settings)
    assert all(r.objective_after < r.objective_before for r in records), records
    assert records[0].mean_capital == plain_records[0].mean_capital  # the same simulated states in round 1
    assert not all(th.equal(a, b) for a, b in zip(plain.policy.parameters(), far.policy.parameters()))


def test_the_robust_loss_is_the_square_up_to_its_bound_and_linear_beyond():
    """``bounded_square``: e^2 for |e| <= b, bit for bit; beyond, 2 b |e| - b^2, continuous in value and slope at
    b, the slope never above 2 b; b = 0 squares throughout."""
    error = th.tensor([-0.5, -0.02, -0.01, -0.003, 0.0, 0.004, 0.01, 0.3], dtype=th.float64, requires_grad=True)
    bound = 0.01
    loss = bounded_square(error, bound)
    inside = error.abs() <= bound
    assert th.equal(loss[inside], (error ** 2)[inside])
    assert th.allclose(loss[~inside], 2 * bound * error.abs()[~inside] - bound ** 2, rtol=1e-15, atol=0.0)
    slope, = th.autograd.grad(loss.sum(), error)
    assert slope.abs().max() <= 2 * bound + 1e-15 and slope[0] == -2 * bound and slope[-1] == 2 * bound
    assert th.equal(bounded_square(error, 0.0), error ** 2)


def test_carried_rounds_continue_one_path_of_the_rule():
    """``policy_states`` from ``start``, without burn-in, continues the economies where the call before ended: two
    calls give the states of one call twice as long, bit for bit; an episode length shorter than the path resets
    nothing.  In :func:`polish`, ``carry`` leaves the first round as without it and starts the second where the
    first ended, and each round records its states' mean capital."""
    exp = make_experiment("ks-het-marked")
    policy = double_copy(load_model(Path("validation/policies/ks-het-marked"), exp).policy)
    rng = np.random.default_rng(3)
    first, end = policy_states(exp, policy, 2, 10, 5, rng)
    second, _ = policy_states(exp, policy, 2, 10, 0, rng, start=end)
    whole, _ = policy_states(exp, policy, 2, 20, 5, np.random.default_rng(3))
    for a, b, c in zip(first, second, whole):
        assert np.array_equal(np.concatenate([a, b]), c)
    limited, _ = policy_states(exp._replace(episode_length=7), policy, 2, 20, 5, np.random.default_rng(3))
    for a, c in zip(limited, whole):  # the episodes' time limit (training's) does not reset the path
        assert np.array_equal(a, c)
    setting = {**POLISH, "margin": "euler", "rounds": 2, "steps": 2, "learning_rate": 1e-4, "periods": 5}
    afresh = polish(load_model(Path("validation/policies/ks-het-marked"), exp), exp, **setting)
    carried = polish(load_model(Path("validation/policies/ks-het-marked"), exp), exp, **setting, carry=True)
    assert afresh[0] == carried[0] and afresh[1] != carried[1]
    assert all(r.mean_capital > 0 for r in carried)
    recipe = {"rounds": 2, "steps": 2, "learning_rate": 1e-4, "anchor": 0.0, "margin": "euler"}
    check_polish("sac", {**recipe, "carry": True})
    with pytest.raises(ValueError, match="polish carry must be true or false"):
        check_polish("ppo", {**recipe, "carry": "yes"})


def test_the_balanced_euler_loss_weighs_each_type_and_employment_group_alike():
    """``balanced``: every kappa type x employment group present enters the loss with the same weight, the few
    unemployed households of each type as much as the employed; it lowers the Euler error too, and applies to the
    euler margin only."""
    exp = make_experiment("ks-het-marked")
    states, _ = policy_states(exp, load_model(Path("validation/policies/ks-het-marked"), exp).policy, 2, 20, 10,
                              np.random.default_rng(0))
    groups = type_employment_groups(exp, states)
    assert len(groups) == 6 and sum(int(g.sum()) for g in groups) == states.capital.size
    assert all(not (a & b).any() for i, a in enumerate(groups) for b in groups[i + 1:])
    model = load_model(Path("validation/policies/ks-het-marked"), exp)
    records = polish(model, exp, **{**POLISH, "margin": "euler", "rounds": 1, "steps": 30, "learning_rate": 1e-4,
                                    "balanced": True})
    assert records[0].objective_after < records[0].objective_before, records
    with pytest.raises(ValueError, match="balanced applies to the euler margin only"):
        polish(model, exp, margin="lookahead", balanced=True)
    setting = {"rounds": 2, "steps": 3, "learning_rate": 1e-5, "anchor": 0.0, "margin": "euler", "balanced": True}
    check_polish("ppo", setting)
    with pytest.raises(ValueError, match="polish balanced must be true or false"):
        check_polish("ppo", {**setting, "balanced": "yes"})


@pytest.mark.parametrize("algo", ["sac", "td3", "ddpg"])
def test_the_deterministic_actor_of_the_off_policy_algorithms_is_what_they_play(algo):
    """What polishing moves is what the model plays: SAC's squashed mean tanh(mu), TD3's and DDPG's actor, equal
    to ``predict(deterministic=True)`` within float32 resolution at the environment's observations."""
    exp = make_experiment("ks-het-marked")
    model = build_model(algo, hyperparameters(algo, "tuned", exp.beta), exp, seed=0)
    state = core.initial_state(exp, 4, np.random.default_rng(1))
    obs = core.observe(exp, state).reshape(-1, len(exp.observations)).astype(np.float32)
    played, _ = model.predict(obs, deterministic=True)
    with th.no_grad():
        polished = mean_actions(double_copy(model.policy), th.as_tensor(obs, dtype=th.float64)).numpy()
    assert np.abs(played).max() > 1e-3  # not a trivial zero network
    np.testing.assert_allclose(polished, played, rtol=0, atol=FLOAT32_ATOL)


def test_sac_is_polished_on_the_euler_equation_in_training_and_by_the_command(tmp_path):
    """SAC on the euler margin (no critic enters): it lowers the Euler error, moves the actor's mean only (not the
    critics, their targets or the log-std head), and the recipe's in-training polishing and ``python -m
    rl.polish --unpolished`` give the same weights bit for bit; the other margins are refused for SAC."""
    setting = {"margin": "euler", "rounds": 2, "steps": 3, "learning_rate": 1e-4, "anchor": 0.0, "periods": 5}
    run = tmp_path / "run"
    summary = train(TrainConfig("ks-het-marked", "sac", timesteps=8 * 20, seed=0, preset="tuned",
                                hyper_overrides={"polish": setting, "learning_starts": 40}), run)
    assert [len(record["price_impact"]) for record in summary["polish"]] == [3, 3]
    exp = make_experiment("ks-het-marked")
    before, after = load_model(run / "model-unpolished.zip", exp), load_model(run, exp)
    moved = [key for (key, a), b in zip(before.policy.state_dict().items(), after.policy.state_dict().values())
             if not th.equal(a, b)]
    assert moved and all(key.startswith(("actor.latent_pi", "actor.mu")) for key in moved), moved
    assert all(r["objective_after"] < r["objective_before"] for r in summary["polish"]), summary["polish"]
    again = tmp_path / "again"
    assert polish_main([str(run), "--out", str(again), "--unpolished", "--margin", "euler", "--rounds", "2",
                        "--steps", "3", "--learning-rate", "1e-4", "--periods", "5"]) == 0
    assert all(th.equal(a, b) for a, b in zip(load_model(again, exp).policy.parameters(),
                                              after.policy.parameters()))
    assert polish_main([str(run), "--out", str(tmp_path / "bad"), "--margin", "lookahead"]) == 2
    with pytest.raises(ValueError, match="polished on the intratemporal and euler margins only"):
        polish(after, exp, margin="lookahead")
