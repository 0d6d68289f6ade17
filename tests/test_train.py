"""rl.train as a function: presets, incompatible settings, evaluation callback with early stopping, summaries."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import rl
from econ.experiments import make_experiment
from rl import core
from rl.train import PRESETS, hyperparameters, train


def test_presets_cover_every_algorithm_and_gamma_is_beta():
    for preset, table in PRESETS.items():
        for algo in ("sac", "ppo", "td3", "ddpg"):
            assert hyperparameters(algo, preset, 0.95)["gamma"] == 0.95
            assert "gamma" not in table[algo]


@pytest.mark.parametrize("kwargs, message", [
    ({"algo": "a2c"}, "unknown algorithm"),
    ({"preset": "fast"}, "unknown preset"),
    ({"extra": {"gamma": 0.99}}, "gamma cannot be set"),
    ({"n_steps": 64}, "PPO only"),
    ({"extra": {"action_noise_std": 0.1}}, "TD3 and DDPG"),
])
def test_hyperparameter_errors(kwargs, message):
    args = {"algo": "sac", "preset": "default", "beta": 0.95, **kwargs}
    with pytest.raises(ValueError, match=message):
        hyperparameters(args.pop("algo"), args.pop("preset"), args.pop("beta"), **args)


def test_train_refuses_incompatible_settings(tmp_path):
    with pytest.raises(ValueError, match="benchmark"):
        train("ks", "sac", 100, tmp_path, n_agents=2, target_welfare_loss=0.05)
    with pytest.raises(ValueError, match="unknown experiment"):
        train("rbc-2", "sac", 100, tmp_path)
    with pytest.raises(ValueError, match="timesteps"):
        train("rbc", "sac", 0, tmp_path)
    with pytest.raises(ValueError, match="no_such_field|unknown"):
        train("rbc", "sac", 100, tmp_path, overrides={"no_such_field": 1})
    with pytest.raises(ValueError, match="both"):
        train("rbc", "sac", 100, tmp_path, target_policy_error=0.01)


def test_evaluation_callback_stops_at_target_and_writes_curves(tmp_path):
    summary = train("rbc", "sac", 3_000, tmp_path, seed=2, preset="tuned", hyper_overrides={"learning_starts": 100},
                    eval_every=600, target_welfare_loss=1e3)
    # the first evaluation meets a 1000 percent target, so training stops there
    assert summary["target_reached"]["timesteps"] == 600 and summary["timesteps"] == 600
    rows = list(csv.DictReader(open(tmp_path / "evaluations.csv")))
    assert len(rows) == 1 and float(rows[0]["welfare_loss_percent"]) > 0
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["evaluations"][0]["timesteps"] == 600
    # one episode (500 periods) finished before the stop: one point of the learning curve
    returns = list(csv.DictReader(open(tmp_path / "returns.csv")))
    assert len(returns) == 1 and saved["best_return"] == pytest.approx(float(returns[0]["mean_return"]), rel=1e-6)


def test_same_seed_same_training(tmp_path):
    kwargs = dict(seed=5, preset="tuned", hyper_overrides={"learning_starts": 50}, n_economies=2)
    a = train("rbc", "td3", 1_200, tmp_path / "a", **kwargs)
    b = train("rbc", "td3", 1_200, tmp_path / "b", **kwargs)
    assert a["best_return"] == b["best_return"] and a["final_return"] == b["final_return"]


def test_vec_env_reports_finished_episodes():
    env = rl.make_vec_env("ks", n_agents=3, n_economies=2, seed=1, episode_length=7)
    env.reset()
    total = np.zeros(6)
    rng = np.random.default_rng(0)
    for _ in range(7):
        _, rewards, dones, infos = env.step(rng.uniform(-1, 1, (6, 1)))
        total += rewards
    assert dones.all()
    np.testing.assert_allclose([info["episode"]["r"] for info in infos], total, rtol=1e-5)
    assert all(info["episode"]["l"] == 7 for info in infos)


def test_tfp_scale_divides_the_observed_log_tfp():
    plain, scaled = make_experiment("rbc"), make_experiment("rbc", tfp_scale=0.02)
    state = core.initial_state(plain, 1, np.random.default_rng(0))._replace(log_tfp=np.array([0.01]))
    assert core.observe(plain, state)[0, 0, 1] == pytest.approx(0.01)
    assert core.observe(scaled, state)[0, 0, 1] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="tfp_scale"):
        make_experiment("rbc", tfp_scale=0.0)


def test_reward_centring_subtracts_the_steady_state_utility():
    """At the steady state with the steady-state fractions the centred reward is 0; the raw return is kept."""
    from econ.economy import fraction_to_action
    from econ.steady_state import steady_state
    from rl.train import _centred, reward_offset

    exp = make_experiment("rbc", start_at_steady_state=True, sigma=0.0, episode_length=3)
    ss = steady_state(exp.rbc_params)
    action = fraction_to_action(np.array([[ss.consumption_fraction, ss.labour]]))
    env = _centred(rl.make_vec_env(exp), reward_offset(exp))
    env.reset()
    for _ in range(3):
        _, rewards, dones, infos = env.step(action)
        assert abs(rewards[0]) < 1e-6
    assert dones[0] and infos[0]["episode"]["r"] == pytest.approx(3 * reward_offset(exp), rel=1e-9)


def test_learning_rate_schedule_and_action_noise_become_sb3_objects():
    from rl.train import _sb3_kwargs

    kwargs = _sb3_kwargs({"learning_rate": 1e-3, "learning_rate_final": 1e-4, "center_rewards": True,
                          "action_noise_std": 0.1}, make_experiment("rbc"))
    assert "center_rewards" not in kwargs
    assert kwargs["learning_rate"](1.0) == pytest.approx(1e-3) and kwargs["learning_rate"](0.0) == pytest.approx(1e-4)
    assert np.allclose(kwargs["action_noise"]._sigma, 0.1)
    with pytest.raises(ValueError, match="learning_rate_final"):
        _sb3_kwargs({"learning_rate_final": 0.0}, make_experiment("rbc"))
