"""PPO with one advantage per action (rl.ppo.PerActionPPO, rl.advantages.per_action_advantages).

- With one action the per-action loss is SB3's PPO loss: same rollouts, same minibatches, the same weights after
  training (to float rounding: the old log-probabilities are recomputed at the update instead of stored).
- Each action's advantage loses exactly the other actions' own effect on today's lookahead: with the other actions
  at their mean it is the advantage itself; with no noise at all every action's is; steps at an episode's end keep
  the advantage; each action's lookahead term against a replay of the environment's own period.
- Antithetic: each action's own lookahead term keeps its odd part only.
- Labour at fixed saving: the household's saving is unchanged (replayed in the environment), and labour's
  advantage does not depend on the value function's slope in own capital.
- Refusals at the boundary: a Krusell-Smith economy, a non-boolean, another algorithm, without
  expected_next_value, with advantage_groups, antithetic without per-action, and a rollout without per-action
  advantages.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback

from econ.experiments import make_experiment
from rl import core
from rl.advantages import ExpectedNextValue, counterfactual_lookahead_baseline, per_action_advantages
from rl.config import TrainConfig
from rl.loading import load_model
from rl.ppo import PerActionPPO
from rl.recipes import hyperparameters
from rl.train import train
from rl.vec_env import EconomyVecEnv


class _ScalarPerAction(BaseCallback):
    """Every action's advantage is the sample's own (what PerActionPPO reads), set after the rollout."""

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        buffer = self.model.rollout_buffer
        buffer.action_advantages = np.repeat(buffer.advantages[..., None], buffer.actions.shape[-1], axis=-1)


def _trained(cls, exp, callback=None):
    env = EconomyVecEnv(exp, n_economies=2, seed=0)
    model = cls("MlpPolicy", env, n_steps=16, batch_size=32, n_epochs=3, gamma=exp.beta, seed=5, device="cpu",
                policy_kwargs={"net_arch": [16, 16]})
    model.learn(3 * 16 * env.num_envs, callback=callback)
    return model


def test_with_one_action_the_per_action_loss_is_ppos():
    """ks (one action): PerActionPPO given each sample's own advantage trains to SB3's PPO weights. Tolerance
    1e-5: the two differ only in the old log-probabilities' rounding (recomputed at the update, stored at the
    rollout), which moves a ratio of 1 by about 1e-7 per update; a control shows the weights move by far more."""
    exp = make_experiment("ks", episode_length=20)
    reference = _trained(PPO, exp)
    per_action = _trained(PerActionPPO, exp, _ScalarPerAction())
    for name, tensor in reference.policy.state_dict().items():
        torch.testing.assert_close(per_action.policy.state_dict()[name], tensor, rtol=0.0, atol=1e-5)
    untrained = PPO("MlpPolicy", EconomyVecEnv(exp, n_economies=2, seed=0), seed=5, device="cpu",
                    policy_kwargs={"net_arch": [16, 16]}).policy.state_dict()
    trained = reference.policy.state_dict()
    moved = max((trained[name] - untrained[name]).abs().max().item() for name in trained)
    assert moved > 1e-3  # the control: training moved the weights far beyond the tolerance


def test_per_action_ppo_refuses_a_rollout_without_per_action_advantages():
    exp = make_experiment("ks", episode_length=20)
    with pytest.raises(RuntimeError, match="PerActionPPO needs the rollout's action_advantages"):
        _trained(PerActionPPO, exp)


def _general_rollout(steps=4, episode_length=50):
    """A few steps of the general environment (N = 9, two economies) with random sampled and mean actions."""
    exp = make_experiment("general", productivity_scale=0.02, episode_length=episode_length)
    env = EconomyVecEnv(exp, n_economies=2, seed=3)
    rng = np.random.default_rng(0)
    obs = env.reset()
    rows, states = [], []
    for _ in range(steps):
        actions = rng.uniform(-0.9, 0.9, size=(env.num_envs, 2)).astype(np.float32)
        states.append(env.state)
        nxt, rewards, dones, _ = env.step(actions)
        rows.append((obs, actions, rewards, dones))
        obs = nxt
    o, a, r, d = (np.stack(x) for x in zip(*rows))
    mean = rng.uniform(-0.9, 0.9, size=a.shape)
    names = exp.observations
    weights = np.zeros(len(names))
    weights[[names.index("capital"), names.index("aggregate_capital"), names.index("log_tfp")]] = (3.0, -2.0, 5.0)

    def value(x):
        x = np.asarray(x, dtype=float)
        return x @ weights + 0.5 * x[:, 0] ** 2

    return exp, states, o, a, r, d, mean, value


def test_each_actions_advantage_loses_the_other_actions_effect_alone():
    """per_action_advantages on steps of the general environment: A_d = A - [L(a) - L(a_d, mu_-d)] with L the
    counterfactual lookahead; labour at its mean leaves the fraction's advantage equal to A (and not labour's);
    no noise at all leaves both equal to A; a step at an episode's end keeps A; and L(a_d, mu_-d) agrees with a
    replay of the environment's own period (rl.core.step) in which the household alone changes its other action."""
    exp, states, o, a, r, d, mean, value = _general_rollout()
    advantages = np.random.default_rng(1).normal(size=r.shape)
    alive = np.ones(r.shape)
    got = per_action_advantages(exp, o, a, mean, r, exp.beta, value, advantages, alive)
    assert got.shape == a.shape and got.dtype == np.float32
    realised = counterfactual_lookahead_baseline(exp, o, a, a, r, exp.beta, value)
    for action in range(2):
        alone = mean.copy()
        alone[..., action] = a[..., action]
        lookahead = counterfactual_lookahead_baseline(exp, o, a, alone, r, exp.beta, value)
        np.testing.assert_allclose(got[..., action], advantages - (realised - lookahead), rtol=1e-6, atol=1e-6)
    # labour sampled at its mean: the fraction's advantage is A exactly, labour's is not
    at_mean = a.astype(float).copy()
    at_mean[..., 1] = mean[..., 1]
    labour_quiet = per_action_advantages(exp, o, at_mean, mean, r, exp.beta, value, advantages, alive)
    np.testing.assert_array_equal(labour_quiet[..., 0], advantages.astype(np.float32))
    assert np.abs(labour_quiet[..., 1] - advantages).max() > 1e-3
    # no noise: every action's advantage is A
    quiet = per_action_advantages(exp, o, a, a, r, exp.beta, value, advantages, alive)
    np.testing.assert_array_equal(quiet, np.repeat(advantages[..., None], 2, axis=-1).astype(np.float32))
    # an episode's last step keeps A
    ended = alive.copy()
    ended[2] = 0.0
    cut = per_action_advantages(exp, o, a, mean, r, exp.beta, value, advantages, ended)
    np.testing.assert_array_equal(cut[2], np.repeat(advantages[2][..., None], 2, axis=-1).astype(np.float32))
    np.testing.assert_array_equal(cut[[0, 1, 3]], got[[0, 1, 3]])
    # the labour-alone lookahead against the environment's own period (household 4 of economy 1, step 1)
    households, t, household = exp.num_agents, 1, 4
    column = households + household
    changed = a[t].reshape(2, households, 2).astype(float).copy()
    changed[1, household, 0] = mean[t, column, 0]  # its fraction at the mean, its labour as sampled
    step = core.step(exp, states[t], changed, np.random.default_rng(0))
    sampled = core.step(exp, states[t], a[t].reshape(2, households, 2), np.random.default_rng(0))
    next_obs = core.observe(exp, step.state)[1:, household]
    expected = core.next_state_values(exp, o[t, [column]], next_obs, value)
    labour_alone = r[t, column] - sampled.outcome.reward[1, household] + step.outcome.reward[1, household] \
        + exp.beta * expected[0]
    np.testing.assert_allclose(got[t, column, 1], advantages[t, column] - (realised[t, column] - labour_alone),
                               rtol=1e-5, atol=1e-5)


def test_antithetic_advantages_keep_the_odd_part_of_each_actions_own_lookahead():
    """antithetic: with A = L(a) - L(mu) (lambda 0 at the mean-action baseline) each action's advantage is
    (L(a_d, mu_-d) - L(2 mu_d - a_d, mu_-d)) / 2, odd in the action's noise; with no noise it is A."""
    exp, states, o, a, r, d, mean, value = _general_rollout()
    alive = np.ones(r.shape)

    def lookahead(played):
        return counterfactual_lookahead_baseline(exp, o, a, played, r, exp.beta, value)

    advantages = lookahead(a) - lookahead(mean)
    got = per_action_advantages(exp, o, a, mean, r, exp.beta, value, advantages, alive, antithetic=True)
    for action in range(2):
        alone, mirrored = mean.copy(), mean.copy()
        alone[..., action] = a[..., action]
        mirrored[..., action] = 2.0 * mean[..., action] - a[..., action]
        odd = 0.5 * (lookahead(alone) - lookahead(mirrored))
        np.testing.assert_allclose(got[..., action], odd, rtol=1e-5, atol=1e-5)
        assert np.abs(odd).max() > 1e-3  # the control: the actions' noise matters
    quiet = per_action_advantages(exp, o, a, a, r, exp.beta, value, advantages, alive, antithetic=True)
    np.testing.assert_allclose(quiet, np.repeat(advantages[..., None], 2, axis=-1), rtol=1e-6, atol=1e-6)


def test_labour_at_fixed_saving_keeps_the_households_saving_and_follows_the_intratemporal_condition():
    """fixed_saving_fractions: replayed in the environment's own period (rl.core.step, household 4 of economy 1
    alone changing its actions), the household working the other labour at that fraction saves what it saves at
    its mean action (to the observations' float32 rounding); labour's fixed-saving advantage (the lookahead's odd
    part along that direction) is the same under two value functions that differ in their slope in own capital, to
    1e-3 of its size (what is left: the others' saving, which today's prices move), where labour's own term at an
    unchanged fraction is not."""
    from rl.advantages import fixed_saving_fractions
    from econ.economy import action_to_fraction
    exp, states, o, a, r, d, mean, value = _general_rollout()
    labour = np.clip(mean[..., 1] + 0.3, -0.95, 0.95)
    fraction, = fixed_saving_fractions(exp, o, a, mean, [labour])
    households, t, household = exp.num_agents, 1, 4
    column = households + household
    at_mean = a[t].reshape(2, households, 2).astype(float).copy()
    at_mean[1, household] = mean[t, column]
    moved = at_mean.copy()
    moved[1, household] = (fraction[t, column], labour[t, column])
    saving_mean = core.step(exp, states[t], at_mean, np.random.default_rng(0)).state.capital[1, household]
    saving_moved = core.step(exp, states[t], moved, np.random.default_rng(0)).state.capital[1, household]
    # 1e-6: the counterfactual reads capital from the float32 observations (relative rounding 6e-8), the replay
    # from the environment's float64 state
    np.testing.assert_allclose(saving_moved, saving_mean, rtol=1e-6)
    assert abs(action_to_fraction(fraction[t, column]) - action_to_fraction(mean[t, column, 0])) > 1e-3  # it moved
    # labour's advantage: the same under two value functions that differ in own capital only
    small = mean.copy()
    small[..., 1] += 1e-3
    advantages, alive = np.zeros(r.shape), np.ones(r.shape)

    def other_value(x):
        x = np.asarray(x, dtype=float)
        return value(x) + 7.0 * x[:, 0]

    first = per_action_advantages(exp, o, small, mean, r, exp.beta, value, advantages, alive, antithetic=True,
                                  fixed_saving_labour=True)[..., 1]
    second = per_action_advantages(exp, o, small, mean, r, exp.beta, other_value, advantages, alive,
                                   antithetic=True, fixed_saving_labour=True)[..., 1]
    assert np.abs(first).max() > 1e-6
    np.testing.assert_allclose(second, first, rtol=0.0, atol=1e-3 * np.abs(first).max())
    # labour's own lookahead term at an unchanged fraction does depend on the value function (the control)
    plain = [counterfactual_lookahead_baseline(exp, o, a, small, r, exp.beta, v)
             - counterfactual_lookahead_baseline(exp, o, a, mean, r, exp.beta, v) for v in (value, other_value)]
    assert np.abs(plain[0] - plain[1]).max() > 0.1 * np.abs(plain[0]).max()


def test_labour_at_fixed_saving_under_the_saving_interface_is_the_odd_part_at_the_mean_share():
    """action_interface saving: labour's fixed-saving advantage is (L(mu_s, l) - L(mu_s, 2 mu_l - l)) / 2, the
    share at its mean; it hardly depends on the value function's slope in own capital, since next period's own
    capital then moves with labour only through today's prices in the full-time wealth.  Stated before measuring:
    at N = 9 that price effect is a few percent of the wage (alpha / (N L), about 0.06), so the dependence must stay
    below a tenth of that of labour's own term at an unchanged consumption fraction (the control), judged where
    the cap on saving (99.5 percent of today's wealth) binds at neither labour: a household at the cap saves what
    its labour earns, as under the fraction interface.  Labour's mirror stays inside the box."""
    from econ.economy import ACTION_EPS
    from rl.advantages import _counterfactual_periods
    exp, states, o, _, r, d, _, value = _general_rollout()
    saving = exp._replace(action_interface="saving")
    alive, advantages = np.ones(r.shape), np.zeros(r.shape)
    rng = np.random.default_rng(1)
    mean = np.stack([rng.uniform(-0.6, 0.2, r.shape), rng.uniform(-0.6, 0.6, r.shape)], axis=-1)
    a = np.stack([rng.uniform(-0.6, 0.2, r.shape), mean[..., 1] + rng.choice([-0.2, 0.2], r.shape)], axis=-1)

    def other_value(x):
        x = np.asarray(x, dtype=float)
        return value(x) + 7.0 * x[:, 0]

    def lookahead(played, v=value):
        return counterfactual_lookahead_baseline(saving, o, a, played, r, saving.beta, v)

    mirrored, alone = mean.copy(), mean.copy()
    alone[..., 1] = a[..., 1]
    mirrored[..., 1] = 2.0 * mean[..., 1] - a[..., 1]
    got = [per_action_advantages(saving, o, a, mean, r, saving.beta, v, advantages, alive,
                                 fixed_saving_labour=True)[..., 1] for v in (value, other_value)]
    np.testing.assert_allclose(got[0], 0.5 * (lookahead(alone) - lookahead(mirrored)), rtol=1e-5, atol=1e-5)
    assert np.abs(got[0]).max() > 1e-3  # the control: labour's noise matters
    # the control: the fraction interface's labour term at an unchanged fraction
    plain = [0.5 * (counterfactual_lookahead_baseline(exp, o, a, alone, r, exp.beta, v)
                    - counterfactual_lookahead_baseline(exp, o, a, mirrored, r, exp.beta, v))
             for v in (value, other_value)]
    slack = np.ones(r.shape, dtype=bool)
    for played in (alone, mirrored):
        period = _counterfactual_periods(saving, o, a, played)
        capital, wealth = (x[period.rows].reshape(r.shape) for x in (period.counterfactual.next_capital,
                                                                     period.counterfactual.wealth))
        slack &= capital < (1.0 - ACTION_EPS) * wealth * (1.0 - 1e-9)
    assert slack.mean() > 0.5  # most households: the check is about them
    assert np.abs(got[1] - got[0])[slack].max() < 0.1 * np.abs(plain[1] - plain[0])[slack].max()


def test_per_action_advantages_are_refused_where_they_cannot_apply():
    with pytest.raises(ValueError, match="per_action_advantages needs an AR\\(1\\) economy with two or more actions"):
        ExpectedNextValue(make_experiment("ks"), per_action=True)
    with pytest.raises(ValueError, match="per_action_advantages must be true or false"):
        hyperparameters("ppo", "tuned", 0.95, extra={"expected_next_value": True, "per_action_advantages": 1})
    with pytest.raises(ValueError, match="per_action_advantages applies to PPO only"):
        hyperparameters("sac", "tuned", 0.95, extra={"expected_next_value": True, "per_action_advantages": True})
    with pytest.raises(ValueError, match="per_action_advantages needs expected_next_value"):
        hyperparameters("ppo", "tuned", 0.95, extra={"per_action_advantages": True})
    for key, argument in (("antithetic_advantages", "antithetic"), ("fixed_saving_labour", "fixed_saving_labour")):
        with pytest.raises(ValueError, match=f"{key} needs per_action_advantages: true"):
            ExpectedNextValue(make_experiment("general"), **{argument: True})
        with pytest.raises(ValueError, match=f"{key} needs per_action_advantages: true"):
            hyperparameters("ppo", "tuned", 0.95, extra={"expected_next_value": True, key: True})
        with pytest.raises(ValueError, match=f"{key} must be true or false"):
            hyperparameters("ppo", "tuned", 0.95, extra={"expected_next_value": True, "per_action_advantages": True,
                                                         key: "yes"})
    with pytest.raises(ValueError, match="per_action_advantages cannot be combined with advantage_groups"):
        hyperparameters("ppo", "tuned", 0.95, extra={"expected_next_value": True, "per_action_advantages": True,
                                                     "advantage_groups": ["capital_productivity"]})


def test_a_general_run_trains_with_per_action_advantages_and_loads(tmp_path):
    """rl.train with the options (antithetic, labour at fixed saving): PerActionPPO trains general, and the saved
    policy loads as any PPO policy and acts deterministically."""
    run = tmp_path / "run"
    train(TrainConfig("general", "ppo", timesteps=9 * 64, n_steps=32, n_economies=2,
                      overrides={"productivity_scale": 0.02},
                      hyper_overrides={"expected_next_value": True, "per_action_advantages": True,
                                       "antithetic_advantages": True, "fixed_saving_labour": True,
                                       "mean_action_baseline": True}), run)
    model = load_model(run / "model.zip", make_experiment("general", productivity_scale=0.02))
    obs = np.zeros((3, len(make_experiment("general").observations)), dtype=np.float32)
    first, _ = model.predict(obs, deterministic=True)
    second, _ = model.predict(obs, deterministic=True)
    np.testing.assert_array_equal(first, second)
