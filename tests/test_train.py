"""rl.train as a function: presets, incompatible settings, evaluation callback with early stopping, summaries."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

import rl
from econ.experiments import make_experiment
from rl import core
from rl.config import TrainConfig, parse_assignment
from rl.recipes import PRESETS, hyperparameters
from rl.train import train


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
    ({"extra": {"action_noise_final": 0.01}}, "action_noise_final applies to TD3 and DDPG"),
    ({"algo": "td3", "extra": {"action_noise_final": 0.01}}, "action_noise_final needs action_noise_std"),
    ({"algo": "ddpg", "extra": {"action_noise_std": 0.1, "action_noise_final": 0.0}}, "action_noise_final must be > 0"),
    ({"algo": "td3", "extra": {"action_noise_std": 0.1, "action_noise_final": float("nan")}}, "action_noise_final"),
    ({"algo": "ppo", "extra": {"behaviour_snapshot_every": 100}}, "behaviour_snapshot_every applies to the off-policy"),
    ({"algo": "sac", "extra": {"log_std_final": -4.0}}, "log_std_final applies to PPO only"),
    ({"algo": "td3", "extra": {"policy_averaging": -0.1}}, "policy_averaging"),
    ({"algo": "ppo", "extra": {"policy_averaging": 0.0}}, "policy_averaging"),
    ({"algo": "ppo", "extra": {"policy_averaging": 1.5}}, "policy_averaging"),
    ({"algo": "ppo", "extra": {"log_std_final": [-4.0, "x"]}}, "log_std_final must be a finite number or a list"),
    ({"algo": "ppo", "extra": {"log_std_final": float("inf")}}, "log_std_final must be a finite number"),
    ({"algo": "td3", "extra": {"behaviour_snapshot_every": 100}}, "behaviour_snapshot_every needs expected_next_value"),
    ({"algo": "sac", "extra": {"behaviour_snapshot_every": 0, "expected_next_value": True}},
     "behaviour_snapshot_every must be an integer >= 1"),
    ({"algo": "ddpg", "extra": {"behaviour_snapshot_every": 1.5, "expected_next_value": True}},
     "behaviour_snapshot_every must be an integer"),
])
def test_hyperparameter_errors(kwargs, message):
    args = {"algo": "sac", "preset": "default", "beta": 0.95, **kwargs}
    with pytest.raises(ValueError, match=message):
        hyperparameters(args.pop("algo"), args.pop("preset"), args.pop("beta"), **args)


@pytest.mark.parametrize("text, expected", [
    ("expected_next_value=true", ("expected_next_value", True)),   # the recipes' YAML spelling
    ("expected_next_value=False", ("expected_next_value", False)),
    ("gradient_steps=8", ("gradient_steps", 8)),
    ("learning_rate_final=1e-4", ("learning_rate_final", 1e-4)),
    ("advantage_groups=['employed']", ("advantage_groups", ["employed"])),
    ("technology=ar1", ("technology", "ar1")),
    ("name=trueish", ("name", "trueish")),
])
def test_command_line_values(text, expected):
    assert parse_assignment(text) == expected


def test_train_refuses_incompatible_settings(tmp_path):
    with pytest.raises(ValueError, match="benchmark"):
        train(TrainConfig("ks", "sac", 100, n_agents=2, target_welfare_loss=0.05), tmp_path)
    with pytest.raises(ValueError, match="unknown experiment"):
        train(TrainConfig("rbc-2", "sac", 100), tmp_path)
    with pytest.raises(ValueError, match="timesteps"):
        train(TrainConfig("rbc", "sac", 0), tmp_path)
    with pytest.raises(ValueError, match="no_such_field|unknown"):
        train(TrainConfig("rbc", "sac", 100, overrides={"no_such_field": 1}), tmp_path)
    with pytest.raises(ValueError, match="both"):
        train(TrainConfig("rbc", "sac", 100, target_policy_error=0.01), tmp_path)


def test_evaluation_callback_stops_at_target_and_writes_curves(tmp_path):
    summary = train(TrainConfig("rbc", "sac", 3_000, seed=2, preset="tuned", hyper_overrides={"learning_starts": 100},
                                eval_every=600, target_welfare_loss=1e3), tmp_path)
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
    a = train(TrainConfig("rbc", "td3", 1_200, **kwargs), tmp_path / "a")
    b = train(TrainConfig("rbc", "td3", 1_200, **kwargs), tmp_path / "b")
    assert a["best_return"] == b["best_return"] and a["final_return"] == b["final_return"]


def test_action_noise_falls_linearly_to_its_final_value_in_every_environment_copy():
    """ActionNoiseAnnealing sets the noise from the run's agent-steps alone (a resumed run continues the schedule),
    in the single noise and in each of SB3's per-environment copies."""
    from types import SimpleNamespace

    from stable_baselines3.common.noise import NormalActionNoise, VectorizedActionNoise

    from rl.callbacks import ActionNoiseAnnealing

    for noise in (NormalActionNoise(np.zeros(2), np.full(2, 0.05)),
                  VectorizedActionNoise(NormalActionNoise(np.zeros(2), np.full(2, 0.05)), 3)):
        callback = ActionNoiseAnnealing(0.05, 0.01, total=1_000)
        callback.model = SimpleNamespace(action_noise=noise, num_timesteps=0)
        copies = getattr(noise, "noises", [noise])
        for steps, sigma in ((0, 0.05), (250, 0.04), (1_000, 0.01), (1_500, 0.01)):
            callback.model.num_timesteps = steps
            assert callback.on_step()
            assert all(np.allclose(copy._sigma, sigma) and copy._sigma.shape == (2,) for copy in copies), steps


def test_annealed_action_noise_trains_deterministically_and_changes_the_run(tmp_path):
    kwargs = dict(seed=5, preset="tuned", n_economies=2)
    hyper = {"learning_starts": 50, "action_noise_std": 0.1, "batch_size": 64}
    fixed = train(TrainConfig("rbc", "td3", 1_200, hyper_overrides=hyper, **kwargs), tmp_path / "fixed")
    runs = [train(TrainConfig("rbc", "td3", 1_200, hyper_overrides={**hyper, "action_noise_final": 0.01}, **kwargs),
                  tmp_path / name) for name in ("a", "b")]
    assert runs[0]["final_return"] == runs[1]["final_return"] != fixed["final_return"]
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert config["hyperparameters"]["action_noise_final"] == 0.01
    # the run records the machine its numbers depend on beside the code and the versions (not part of its identity)
    assert set(config["machine"]) == {"cpu", "architecture", "torch_cpu_capability"}
    assert config["machine"]["torch_cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert config["machine"]["architecture"] and config["code"].keys() == {"git_commit", "git_dirty"}


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


def test_productivity_scale_spreads_the_observed_types():
    """general, 3 x 3 grid on [0.98, 1.02]: kappa and lambda observed as they are by default, on {0, 1, 2} at 0.02."""
    plain, scaled = make_experiment("general"), make_experiment("general", productivity_scale=0.02)
    state = core.initial_state(plain, 1, np.random.default_rng(0))
    columns = [plain.observations.index(name) for name in ("capital_productivity", "labour_productivity")]
    np.testing.assert_allclose(core.observe(plain, state)[0][:, columns],
                               np.column_stack([plain.capital_productivity, plain.labour_productivity]), rtol=1e-6)
    np.testing.assert_allclose(core.observe(scaled, state)[0][:, columns],
                               [[kappa, lam] for kappa in (0, 1, 2) for lam in (0, 1, 2)], atol=1e-5)
    others = [j for j in range(len(plain.observations)) if j not in columns]
    np.testing.assert_array_equal(core.observe(plain, state)[..., others], core.observe(scaled, state)[..., others])
    for bad, message in ((0.0, "productivity_scale"), (1e-40, "productivity_scale = 1e-40")):
        with pytest.raises(ValueError, match=message):
            make_experiment("general", productivity_scale=bad)


def test_log_capital_observes_own_capital_in_logs():
    """log_capital: log(k_i / capital_scale) beside the other components, with k_i floored at CAPITAL_FLOOR (an
    unemployed household without income can run its capital down to almost nothing)."""
    from econ.economy import CAPITAL_FLOOR
    names = ("capital", "aggregate_capital", "aggregate_state", "employed", "capital_productivity", "log_capital")
    exp = make_experiment("ks-het-marked", observations=names)
    state = core.initial_state(exp, 2, np.random.default_rng(0))
    state = state._replace(capital=np.concatenate([[[0.0, 1e-12]], state.capital[:1, 2:]], axis=1).repeat(2, 0))
    obs = core.observe(exp, state)
    np.testing.assert_allclose(obs[..., 5], np.log(np.maximum(state.capital, CAPITAL_FLOOR) / exp.capital_scale),
                               rtol=1e-6)
    assert obs[0, 0, 5] == obs[0, 1, 5] == pytest.approx(np.log(CAPITAL_FLOOR / exp.capital_scale))
    plain = core.observe(make_experiment("ks-het-marked"), state)
    np.testing.assert_array_equal(obs[..., :5], plain)  # the other components as without it


def test_reward_centring_subtracts_the_steady_state_utility():
    """At the steady state with the steady-state fractions the centred reward is 0; the raw return is kept."""
    from econ.economy import fraction_to_action
    from econ.rbc.steady_state import steady_state
    from rl.recipes import centred, reward_offset

    exp = make_experiment("rbc", start_at_steady_state=True, sigma=0.0, episode_length=3)
    ss = steady_state(exp.rbc_params)
    action = fraction_to_action(np.array([[ss.consumption_fraction, ss.labour]]))
    env = centred(rl.make_vec_env(exp), reward_offset(exp))
    env.reset()
    for _ in range(3):
        _, rewards, dones, infos = env.step(action)
        assert abs(rewards[0]) < 1e-6
    assert dones[0] and infos[0]["episode"]["r"] == pytest.approx(3 * reward_offset(exp), rel=1e-9)


def test_reward_centring_by_type_subtracts_each_households_own_offset(monkeypatch):
    """Per-household offsets are repeated over the economies (agent e * N + i gets household i's), and
    ``type_reward_offsets`` gives every household its kappa type's log mean consumption of the continuum solution."""
    from types import SimpleNamespace

    import rl.recipes as recipes

    exp = make_experiment("ks-het-marked", 20)
    # the continuum solution's panel, faked: type j's households consume e^j on average (weights differ)
    panel = SimpleNamespace(household_types=np.array([0, 0, 1, 1, 2, 2]),
                            household_consumption=np.array([0.5, 1.5, np.e, np.e, 2 * np.e**2, 0.0]),
                            household_weights=np.array([1.0, 1.0, 2.0, 1.0, 1.0, 1.0]))
    monkeypatch.setattr(recipes, "solve_krusell_smith", lambda params: panel)
    offsets = recipes.type_reward_offsets(exp)
    kappa = np.asarray(exp.capital_productivity)
    expected = np.select([kappa == 0.25, kappa == 1.0, kappa == 1.5], [0.0, 1.0, 2.0], np.nan)
    np.testing.assert_allclose(offsets, expected, atol=1e-12)

    env = rl.make_vec_env(exp, n_economies=2, seed=0)
    raw = rl.make_vec_env(exp, n_economies=2, seed=0)
    centred_env = recipes.centred(env, offsets)
    centred_env.reset(), raw.reset()
    action = np.zeros((raw.num_envs, exp.action_size), dtype=np.float32)
    _, rewards, _, _ = centred_env.step(action)
    _, raw_rewards, _, _ = raw.step(action)
    np.testing.assert_allclose(raw_rewards - rewards, np.tile(offsets, 2), atol=1e-5)
    with pytest.raises(ValueError, match="one per household"):
        recipes.centred(rl.make_vec_env(exp), np.zeros(7))
    with pytest.raises(ValueError, match="center_rewards 'by_type' needs an experiment with capital-productivity"):
        recipes.check_center_rewards("by_type", make_experiment("ks"))
    with pytest.raises(ValueError, match="center_rewards must be true, false or 'by_type'"):
        recipes.check_center_rewards("yes", exp)


def test_learning_rate_schedule_and_action_noise_become_sb3_objects():
    from rl.recipes import sb3_kwargs

    kwargs = sb3_kwargs({"learning_rate": 1e-3, "learning_rate_final": 1e-4, "center_rewards": True,
                          "action_noise_std": 0.1}, make_experiment("rbc"))
    assert "center_rewards" not in kwargs
    assert kwargs["learning_rate"](1.0) == pytest.approx(1e-3) and kwargs["learning_rate"](0.0) == pytest.approx(1e-4)
    assert np.allclose(kwargs["action_noise"]._sigma, 0.1)
    with pytest.raises(ValueError, match="learning_rate_final"):
        sb3_kwargs({"learning_rate_final": 0.0}, make_experiment("rbc"))


def test_activation_is_named_in_json_and_becomes_the_torch_class(tmp_path):
    import torch

    from rl.recipes import sb3_kwargs

    kwargs = sb3_kwargs({"policy_kwargs": {"net_arch": [8], "activation_fn": "silu"}}, make_experiment("rbc"))
    assert kwargs["policy_kwargs"] == {"net_arch": [8], "activation_fn": torch.nn.SiLU}
    with pytest.raises(ValueError, match="activation_fn"):
        sb3_kwargs({"policy_kwargs": {"activation_fn": "swish"}}, make_experiment("rbc"))
    train(TrainConfig("rbc", "sac", 200, hyper_overrides={"learning_starts": 50, "policy_kwargs": {
        "net_arch": [8], "activation_fn": "tanh"}}), tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["hyperparameters"]["policy_kwargs"]["activation_fn"] == "tanh"
    from stable_baselines3 import SAC

    model = SAC.load(tmp_path / "model.zip", device="cpu")
    assert any(isinstance(layer, torch.nn.Tanh) for layer in model.policy.actor.latent_pi)


def test_critic_activation_changes_the_critic_alone(tmp_path):
    """``critic_activation_fn`` (PPO): the same layers and initial weights as ``MlpPolicy`` with the same seed,
    the same actor; the critic computes with its own units, and a loaded run gets them back from config.json."""
    import torch
    from stable_baselines3 import PPO

    from rl.loading import build_model, load_model
    from rl.policies import CriticActivationPolicy
    from rl.recipes import hyperparameters

    exp = make_experiment("ks", n_agents=2)
    hyper = {**hyperparameters("ppo", "tuned", exp.beta), "batch_size": 128}
    plain = build_model("ppo", hyper, exp, seed=4)
    split = build_model("ppo", {**hyper, "policy_kwargs": {"net_arch": [64, 64], "critic_activation_fn": "silu"}},
                        exp, seed=4)
    assert type(plain.policy) is not CriticActivationPolicy and isinstance(split.policy, CriticActivationPolicy)
    weights, split_weights = plain.policy.state_dict(), split.policy.state_dict()
    assert weights.keys() == split_weights.keys()
    assert all(torch.equal(weights[k], split_weights[k]) for k in weights)
    shape = (32, plain.observation_space.shape[0])
    obs = torch.as_tensor(np.random.default_rng(0).normal(size=shape), dtype=torch.float32)
    with torch.no_grad():
        assert torch.equal(plain.policy.get_distribution(obs).distribution.mean,
                           split.policy.get_distribution(obs).distribution.mean)
        values, split_values = plain.policy.predict_values(obs), split.policy.predict_values(obs)
    assert not torch.allclose(values, split_values)
    # the critic's units set to the actor's: the two policies compute the same values
    same = PPO(CriticActivationPolicy, plain.get_env(), seed=4, device="cpu",
               policy_kwargs={"net_arch": [64, 64], "critic_activation_fn": torch.nn.Tanh})
    with torch.no_grad():
        assert torch.equal(same.policy.predict_values(obs), values)

    train(TrainConfig("ks", "ppo", 256, n_agents=2, n_economies=1, n_steps=64, seed=1, hyper_overrides={
        "batch_size": 64, "policy_kwargs": {"net_arch": [8], "critic_activation_fn": "elu"}}), tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["hyperparameters"]["policy_kwargs"]["critic_activation_fn"] == "elu"
    loaded = load_model(tmp_path, exp)
    assert [type(m) for m in loaded.policy.mlp_extractor.value_net] == [torch.nn.Linear, torch.nn.ELU]
    assert [type(m) for m in loaded.policy.mlp_extractor.policy_net] == [torch.nn.Linear, torch.nn.Tanh]


@pytest.mark.parametrize("algo, policy_kwargs, message", [
    ("sac", {"critic_activation_fn": "silu"}, "critic_activation_fn applies to ppo only"),
    ("ppo", {"critic_activation_fn": "swish"}, "critic_activation_fn must be one of"),
    ("ppo", {"critic_activation": "silu"}, "unknown ppo policy_kwargs entry 'critic_activation'"),
])
def test_critic_activation_refusals(tmp_path, algo, policy_kwargs, message):
    with pytest.raises(ValueError, match=message):
        train(TrainConfig("ks", algo, 256, n_agents=2, hyper_overrides={"policy_kwargs": policy_kwargs}), tmp_path)
    assert not any(tmp_path.iterdir())


def test_entropy_annealing_waits_for_its_start_then_falls_linearly():
    from types import SimpleNamespace

    from rl.callbacks import EntropyAnnealing

    callback = EntropyAnnealing(-2.0, -8.0, total=1_000, start=0.75)
    callback.model = SimpleNamespace(target_entropy=-2.0, num_timesteps=0)
    targets = {}
    for steps in (0, 500, 750, 875, 1_000, 1_200):
        callback.model.num_timesteps = steps
        callback.on_step()
        targets[steps] = callback.model.target_entropy
    assert targets[0] == targets[500] == targets[750] == -2.0
    assert targets[875] == pytest.approx(-5.0) and targets[1_000] == targets[1_200] == -8.0
    with pytest.raises(ValueError, match="target_entropy_anneal_start"):
        EntropyAnnealing(-2.0, -8.0, total=1_000, start=1.0)
    with pytest.raises(ValueError, match="needs target_entropy_final"):
        hyperparameters("sac", "tuned", 0.95, extra={"target_entropy_anneal_start": 0.5})


def test_the_log_std_bound_falls_to_its_final_value_per_action():
    """One final bound for every action, or one per action; the bound only caps (a lower log-std stays)."""
    from types import SimpleNamespace

    from rl.callbacks import ExplorationAnnealing

    for final, expected in ((-4.0, [-4.0, -4.0, -4.0]), ([-5.0, -3.0, -1.0], [-5.0, -3.0, -1.5])):
        callback = ExplorationAnnealing(final, total=1_000)
        policy = SimpleNamespace(log_std=torch.nn.Parameter(torch.tensor([0.0, -0.5, -1.5])))
        callback.model = SimpleNamespace(policy=policy, num_timesteps=0)
        callback.on_training_start({}, {})  # the bound starts at the largest log-std, 0
        callback.num_timesteps = 500
        callback.on_rollout_end()
        halfway = 0.5 * np.broadcast_to(final, 3)
        assert policy.log_std.tolist() == pytest.approx(np.minimum([0.0, -0.5, -1.5], halfway).tolist())
        callback.num_timesteps = 1_000
        callback.on_rollout_end()
        assert policy.log_std.tolist() == pytest.approx(expected)
    callback = ExplorationAnnealing([-5.0, -3.0], total=1_000)
    callback.model = SimpleNamespace(policy=SimpleNamespace(log_std=torch.zeros(3)), num_timesteps=0)
    with pytest.raises(ValueError, match="log_std_final has 2 entries for 3 actions"):
        callback.on_training_start({}, {})


def test_policy_averaging_averages_the_rollouts_of_the_final_stretch_and_survives_a_checkpoint():
    """The mean of the weights at the end of every rollout from (1 - share) of the budget on; a checkpoint's state
    (through JSON, as state.json stores it) gives the same mean; a run short of its budget keeps its weights."""
    from types import SimpleNamespace

    from rl.callbacks import PolicyAveraging

    def run(callback, net, steps, restore_at=None):
        for i, step in enumerate(steps):
            if step == restore_at:
                state = json.loads(json.dumps(callback.checkpoint_state()))
                callback = PolicyAveraging(0.25, total=1_000)
                callback.restore_state(state)
                callback.model = SimpleNamespace(policy=net, num_timesteps=step)
            with torch.no_grad():
                net.weight.fill_(float(i) / 3.0)  # the weights the rollout was collected with
            callback.num_timesteps = step
            callback.on_rollout_end()
        return callback

    steps = [250, 500, 700, 750, 1_000]  # the last two rollouts end in the final quarter
    results = []
    for restore_at in (None, 750):
        net = torch.nn.Linear(2, 1)
        callback = PolicyAveraging(0.25, total=1_000)
        callback.model = SimpleNamespace(policy=net, num_timesteps=0)
        callback = run(callback, net, steps, restore_at)
        assert callback.count == 2
        model = SimpleNamespace(policy=net, num_timesteps=1_000)
        assert callback.apply(model)
        results.append(net.weight.detach().clone())
        mean = (float(np.float32(3 / 3.0)) + float(np.float32(4 / 3.0))) / 2  # of the float32 weights, in double
        assert torch.equal(net.weight, torch.full((1, 2), mean, dtype=torch.float32))
    assert torch.equal(results[0], results[1])
    short = PolicyAveraging(0.25, total=1_000)
    short.count = 1
    assert not short.apply(SimpleNamespace(policy=torch.nn.Linear(2, 1), num_timesteps=900))
    # resumed with a larger budget: a window that now starts after the checkpoint begins afresh; one that would
    # start before it cannot be rebuilt and is refused
    state = json.loads(json.dumps(callback.checkpoint_state()))
    for total, step in ((2_000, 1_000), (1_100, 1_000)):
        moved = PolicyAveraging(0.25, total=total)
        moved.restore_state(state)
        moved.model = SimpleNamespace(policy=torch.nn.Linear(2, 1), num_timesteps=step)
        if total == 2_000:
            moved.on_training_start({}, {})
            assert moved.count == 0 and moved.sums is None
        else:
            with pytest.raises(ValueError, match="policy_averaging began at 0.75 of the budget of 1000"):
                moved.on_training_start({}, {})


@pytest.mark.parametrize("algo", ["ppo", "td3"])
def test_a_run_with_policy_averaging_saves_the_average(tmp_path, capsys, monkeypatch, algo):
    """The same run with and without averaging trains alike (the returns); the averaged run's ``model.zip`` holds
    the mean of the weights its rollouts in the window were collected with, recorded here as they happen and
    averaged here in double precision; for TD3 a rollout is one VecEnv step, its gradient steps after it."""
    from rl.callbacks import PolicyAveraging
    from rl.loading import load_model

    recorded, original = [], PolicyAveraging._on_rollout_end

    def recording(self):
        if self.num_timesteps >= 256:  # the window: the second half of the 512 agent-steps
            recorded.append({k: v.detach().clone().double() for k, v in self.model.policy.state_dict().items()})
        original(self)

    monkeypatch.setattr(PolicyAveraging, "_on_rollout_end", recording)

    kwargs = dict(seed=5, preset="tuned", n_economies=2, overrides={"episode_length": 40})
    if algo == "ppo":
        kwargs["n_steps"] = 16
        hyper, rollouts = {"batch_size": 16, "n_epochs": 2}, 9  # the rollouts that end at 256, 288, ..., 512
    else:
        hyper, rollouts = {"learning_starts": 100, "gradient_steps": 2}, 129  # the steps that end at 256, ..., 512
    plain = train(TrainConfig("rbc", algo, 512, hyper_overrides=hyper, **kwargs), tmp_path / "plain")
    averaged = train(TrainConfig("rbc", algo, 512, hyper_overrides={**hyper, "policy_averaging": 0.5}, **kwargs),
                     tmp_path / "averaged")
    assert f"model.zip holds the policy averaged over the last {rollouts} rollouts" in capsys.readouterr().out
    assert plain["final_return"] == averaged["final_return"]
    assert (plain["averaged_rollouts"], averaged["averaged_rollouts"]) == (0, rollouts)  # what TRAINED.md reports
    experiment = make_experiment("rbc", episode_length=40)
    weights = [load_model(tmp_path / name, experiment).policy.state_dict() for name in ("plain", "averaged")]
    assert not all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert len(recorded) == rollouts
    for name, saved in weights[1].items():
        mean = sum(snapshot[name] for snapshot in recorded) / rollouts
        assert torch.equal(saved, mean.to(saved.dtype)), name


def test_every_yaml_recipe_is_a_valid_run_configuration():
    from rl.recipes import TRAIN_RECIPES, recipe

    assert TRAIN_RECIPES, "no recipes read from rl/hyperparams"
    for experiment, table in TRAIN_RECIPES.items():
        for algo in table:
            config = TrainConfig(experiment, algo, **recipe(experiment, algo))
            hyperparameters(algo, config.preset, 0.95, config.n_steps, config.hyper_overrides)
    with pytest.raises(ValueError, match="no 'ddpg' recipe for 'rbc'"):
        recipe("rbc", "ddpg")


def test_recipe_option_starts_from_the_recipe_and_the_command_line_wins():
    from rl.config import from_arguments
    from rl.recipes import recipe
    from rl.train import build_parser

    args = build_parser(recipe=True).parse_args(["rbc", "--algo", "sac", "--recipe", "--seed", "3",
                                                 "--set", "sigma=0.02", "--out", "run"])
    config = from_arguments(args, recipe("rbc", "sac"))
    expected = recipe("rbc", "sac")
    assert config.seed == 3 and config.timesteps == expected["timesteps"]
    assert config.overrides == {**expected["overrides"], "sigma": 0.02}
    assert config.hyper_overrides == expected["hyper_overrides"] and config.threads == 1


def test_summary_reports_how_much_of_the_returns_the_critic_explains(tmp_path):
    """PPO's run records the share of its last rollout's return variance its critic explained (SB3's explained
    variance), SAC's none; a critic below CRITIC_HEALTHY (a saturated, constant one) is warned about in one line."""
    from types import SimpleNamespace

    from rl.callbacks import CRITIC_HEALTHY, critic_explained_variance, critic_warning
    summary = train(TrainConfig("rbc", "ppo", 512, seed=0, n_steps=256), tmp_path / "ppo")
    explained = summary["critic_explained_variance"]
    assert isinstance(explained, float) and explained <= 1.0
    assert json.loads((tmp_path / "ppo" / "summary.json").read_text())["critic_explained_variance"] == explained
    assert train(TrainConfig("rbc", "sac", 200, seed=0), tmp_path / "sac")["critic_explained_variance"] is None
    # a sweep's summary reads it back; for runs older than the field, from the run's TensorBoard log, which holds
    # the rollout before the last: a run one rollout longer (same seed, no budget-dependent schedule) logs this one
    from rl.sweep.summary import critic_explained_variance as recorded
    assert recorded(tmp_path / "ppo", {"critic_explained_variance": explained}) == explained
    train(TrainConfig("rbc", "ppo", 768, seed=0, n_steps=256), tmp_path / "longer")
    assert recorded(tmp_path / "longer", {}) == pytest.approx(explained, rel=1e-6)  # TensorBoard stores float32
    assert recorded(tmp_path / "sac", {}) is None

    returns = np.linspace(-2.0, 2.0, 64).reshape(32, 2)

    def model(values, full=True):
        return SimpleNamespace(rollout_buffer=SimpleNamespace(values=values, returns=returns, full=full))

    assert critic_explained_variance(model(returns.copy())) == pytest.approx(1.0)
    assert critic_explained_variance(model(np.full_like(returns, -4.96))) == pytest.approx(0.0)  # a constant critic
    assert critic_explained_variance(model(returns, full=False)) is None
    assert critic_explained_variance(SimpleNamespace()) is None
    assert critic_warning(0.0).startswith("warning: the critic explains 0.000")
    assert critic_warning(-0.0004).startswith("warning: the critic explains 0.000")
    assert critic_warning(CRITIC_HEALTHY) is None and critic_warning(0.99) is None and critic_warning(None) is None


def test_a_critic_that_does_not_fit_is_warned_about_once_as_soon_as_it_shows(capsys):
    """CriticWatch: no warning while the critic is still fitting (the first rollouts) or once it fits; one line, with
    the agent-step, when the last `window` rollouts from `warmup` on all explain less than CRITIC_HEALTHY; never
    without a rollout buffer (off-policy)."""
    from types import SimpleNamespace

    from rl.callbacks import CRITIC_HEALTHY, CriticWatch
    returns = np.linspace(-2.0, 2.0, 64).reshape(32, 2)

    def run(shares, buffer=True):
        """Warnings printed by a watch over rollouts whose critics explain `shares` of the returns."""
        watch = CriticWatch(warmup=6, window=3)
        for step, share in enumerate(shares, start=1):
            values = share * returns  # explained variance 1 - (1 - share)^2 var / var
            rollouts = SimpleNamespace(values=values, returns=returns, full=True) if buffer else None
            watch.model = SimpleNamespace(rollout_buffer=rollouts)
            watch.num_timesteps = 100 * step
            watch.on_rollout_end()
        return [line for line in capsys.readouterr().out.splitlines() if line]

    fitting = [0.0, 0.0, 0.0, 0.0, 0.5, 0.9, 1.0, 1.0, 1.0]  # explained 0, ..., 0.75, 0.99, 1
    assert 1 - (1 - 0.5) ** 2 >= CRITIC_HEALTHY  # the first fitted rollout clears the bar
    assert run(fitting) == []
    saturated = run([0.0] * 12)
    assert len(saturated) == 1 and "explains 0.000" in saturated[0] and "at 600 agent-steps" in saturated[0]
    assert run([0.0] * 5 + [0.8] + [0.0] * 2) == []  # one fitted rollout among the last three: no warning yet
    assert run([0.0] * 12, buffer=False) == []
    with pytest.raises(ValueError, match="window <= warmup"):
        CriticWatch(warmup=2, window=3)


SNAPSHOT = {"learning_starts": 50, "action_noise_std": 0.1, "expected_next_value": True, "batch_size": 64}


def test_a_behaviour_snapshot_must_fall_on_every_checkpoint(tmp_path):
    config = TrainConfig("rbc", "td3", 1_200, checkpoint_every=300,
                         hyper_overrides={**SNAPSHOT, "behaviour_snapshot_every": 200})
    with pytest.raises(ValueError, match=r"behaviour_snapshot_every \(200\) must divide checkpoint_every \(300\)"):
        train(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("algo", ["sac", "td3"])
def test_rollouts_act_with_the_snapshot_and_evaluation_with_the_live_policy(algo):
    """After a refresh the live actor moves (a shifted output bias); the actions of the rollouts do not, those of
    predict (evaluation) do; the next refresh brings the rollouts to the live actor."""
    from rl.loading import build_model
    from rl.vec_env import EconomyVecEnv

    exp = make_experiment("ks", 4)
    env = EconomyVecEnv(exp, n_economies=2, seed=0)
    extra = {"expected_next_value": True, "learning_starts": 0, **({"action_noise_std": 0.1} if algo == "td3" else {})}
    model = build_model(algo, hyperparameters(algo, "tuned", exp.beta, extra=extra), exp, seed=1, env=env)
    model._last_obs = env.reset()
    actor = model.policy.actor

    def rollout_actions():
        torch.manual_seed(0)
        model.action_noise.reset() if model.action_noise is not None else None
        return model._sample_action(0, None, env.num_envs)[0]

    def live_actions():
        return model.predict(model._last_obs, deterministic=True)[0]

    model.refresh_behaviour()
    before, live_before = rollout_actions(), live_actions()
    output = actor.mu[-2] if algo == "td3" else actor.mu
    with torch.no_grad():
        output.bias += 0.3
    assert np.array_equal(rollout_actions(), before)
    assert not np.allclose(live_actions(), live_before)
    model.refresh_behaviour()
    assert not np.allclose(rollout_actions(), before)


def test_a_behaviour_snapshot_changes_the_run_and_is_deterministic(tmp_path):
    kwargs = dict(seed=5, preset="tuned", n_economies=2, checkpoint_every=1_200)
    plain = train(TrainConfig("rbc", "td3", 1_200, hyper_overrides=SNAPSHOT, **kwargs), tmp_path / "plain")
    runs = [train(TrainConfig("rbc", "td3", 1_200, hyper_overrides={**SNAPSHOT, "behaviour_snapshot_every": 400},
                              **kwargs), tmp_path / name) for name in ("a", "b")]
    assert runs[0]["final_return"] == runs[1]["final_return"] != plain["final_return"]
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert config["hyperparameters"]["behaviour_snapshot_every"] == 400
