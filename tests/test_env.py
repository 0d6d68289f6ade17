"""The MARL-BC environment: resource identity, finiteness, determinism, truncation, API contracts.

Layers (STYLE.md): closed-form identities first (income exhausts output), then
independent implementations against each other (native VecEnv vs PettingZoo
adapter), then the library contracts (SB3 VecEnv, Gymnasium, PettingZoo).
"""

import itertools

import numpy as np
import pytest

import rl
from econ.experiments import EXPERIMENTS, make_experiment
from rl import core

IDENTITY_RTOL = 1e-12
"""The resource identity is exact algebra; only rounding of a few flops per household separates the two sides."""

SHORT = 20
"""Episode length used where only the truncation mechanics matter."""


def _random_actions(env, rng):
    return rng.uniform(-1.0, 1.0, (env.num_envs,) + env.action_space.shape)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_resource_identity_every_step_random_actions(name):
    env = rl.make_vec_env(name, n_economies=2, seed=1)
    rng = np.random.default_rng(2)
    env.reset()
    delta = env.experiment.delta
    for _ in range(env.experiment.episode_length + 5):  # crosses one auto-reset
        capital = env.state.capital.copy()
        _, rewards, _, _ = env.step(_random_actions(env, rng))
        raw = env.raw()
        assert np.all(np.isfinite(rewards))
        lhs = np.mean(raw["consumption"] + raw["next_capital"], axis=1)
        rhs = raw["output"] + (1.0 - delta) * np.mean(capital, axis=1)
        np.testing.assert_allclose(lhs, rhs, rtol=IDENTITY_RTOL)


@pytest.mark.parametrize("name", ["rbc", "general", "rbc-full-depreciation"])
def test_resource_identity_log_leisure(name):
    env = rl.make_vec_env(name, utility="log_leisure", seed=3)
    rng = np.random.default_rng(3)
    env.reset()
    for _ in range(50):
        capital = env.state.capital.copy()
        env.step(_random_actions(env, rng))
        raw = env.raw()
        lhs = np.mean(raw["consumption"] + raw["next_capital"], axis=1)
        np.testing.assert_allclose(lhs, raw["output"] + (1 - env.experiment.delta) * capital.mean(axis=1), rtol=IDENTITY_RTOL)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_finite_outputs_at_every_corner_of_the_box(name):
    """Holding any corner of the action box for a whole episode (capital runs to its floor or piles up) stays finite."""
    exp = make_experiment(name)
    corners = list(itertools.product((-1.0, 1.0), repeat=exp.action_size)) + [(0.0,) * exp.action_size]
    for corner in corners:
        env = rl.make_vec_env(exp, seed=0)
        obs = env.reset()
        actions = np.tile(np.array(corner, dtype=np.float32), (env.num_envs, 1))
        for _ in range(exp.episode_length):
            obs, rewards, _, _ = env.step(actions)
            raw = env.raw()
            assert np.all(np.isfinite(obs)) and np.all(np.isfinite(rewards)), (name, corner)
            assert all(np.all(np.isfinite(v)) for v in raw.values()), (name, corner)
            assert np.all(raw["next_capital"] > 0)


def test_all_unemployed_limit_gives_no_output_and_finite_rewards():
    """N = 1 without exact unemployment counts: L = 0 happens; the limit is no output, no wage, zero return."""
    env = rl.make_vec_env("ks", n_agents=1, n_economies=50, seed=4, exact_unemployment=False)
    env.reset()
    seen = False
    for _ in range(30):
        unemployed = ~env.state.employed[:, 0]
        _, rewards, _, _ = env.step(np.zeros((env.num_envs, 1)))
        raw = env.raw()
        assert np.all(np.isfinite(rewards))
        if unemployed.any():
            seen = True
            assert np.all(raw["output"][unemployed] == 0) and np.all(raw["wage"][unemployed] == 0)
            assert np.all(raw["interest_rate"][unemployed] == 0)
    assert seen


@pytest.mark.parametrize("name, n", [("ks", 20), ("ks-het-marked", 20), ("ks", 7)])
def test_exact_unemployment_count_after_every_draw(name, n):
    env = rl.make_vec_env(name, n_agents=n, n_economies=3, seed=5)
    env.reset()
    exp = env.experiment
    for _ in range(100):
        target = np.floor(exp.ks.unemployment_rates[env.state.aggregate_state] * n + 0.5)
        np.testing.assert_array_equal((~env.state.employed).sum(axis=1), target)
        env.step(np.zeros((env.num_envs, 1)))


def test_unemployment_without_exact_counts_tracks_the_chain():
    """Negative control of the switch: counts vary, but the mean rate per z is the chain's u_z."""
    env = rl.make_vec_env("ks", n_agents=200, n_economies=4, seed=6, exact_unemployment=False)
    env.reset()
    rates = {0: [], 1: []}
    for _ in range(300):
        for z, emp in zip(env.state.aggregate_state, env.state.employed):
            rates[int(z)].append(1.0 - emp.mean())
        env.step(np.zeros((env.num_envs, 1)))
    assert np.std(rates[0]) > 0
    assert np.mean(rates[0]) == pytest.approx(0.10, abs=0.01)  # 0.01: a few thousand binomial draws
    assert np.mean(rates[1]) == pytest.approx(0.04, abs=0.01)


def test_labour_in_ks_is_endowment_times_employment():
    env = rl.make_vec_env("ks", seed=7)
    env.reset()
    employed = env.state.employed.copy()
    env.step(np.zeros((20, 1)))
    np.testing.assert_allclose(env.raw()["labour"], env.experiment.ks.labour_endowment * employed)


def test_observations_are_normalised_and_slots_map_agents_of_economies():
    env = rl.make_vec_env("general", n_agents=4, n_economies=3, seed=8)
    obs = env.reset()
    exp = env.experiment
    assert obs.shape == (12, 5) and obs.dtype == np.float32
    for e in range(3):
        for i in range(4):
            row = obs[env.slot(e, i)]
            assert row[0] == pytest.approx(env.state.capital[e, i] / exp.capital_scale, rel=1e-6)
            assert row[3] == pytest.approx(exp.capital_productivity[i]) and row[4] == pytest.approx(exp.labour_productivity[i])
    assert np.all((obs[:, 0] >= 0.5) & (obs[:, 0] <= 1.5)) and np.all(obs[:, 2] == 0.0)  # U(0.5, 1.5) k_ss; log A_0 = 0
    ks = rl.make_vec_env("ks", seed=8, observations=("employed", "aggregate_state", "capital"))
    o = ks.reset()
    np.testing.assert_array_equal(o[:, 0], ks.state.employed[0])
    assert set(np.unique(o[:, 1])) <= {0.0, 1.0}
    steady = rl.make_vec_env("rbc", start_at_steady_state=True).reset()
    np.testing.assert_allclose(steady, [[1.0, 0.0]])


@pytest.mark.parametrize("name", ["rbc", "ks", "general"])
def test_same_seed_same_trajectory_and_different_seed_differs(name):
    def run(seed):
        env = rl.make_vec_env(name, n_economies=2, seed=seed)
        rng = np.random.default_rng(0)
        out = [env.reset()]
        for _ in range(60):
            out.append(env.step(_random_actions(env, rng))[0])
        return np.array(out)

    np.testing.assert_array_equal(run(11), run(11))
    assert not np.array_equal(run(11), run(12))


def test_vecenv_seed_applies_at_next_reset():
    env = rl.make_vec_env("ks", seed=0)
    first = env.reset()
    env.step(np.zeros((20, 1)))
    assert len(env.seed(0)) == env.num_envs
    np.testing.assert_array_equal(env.reset(), first)


def test_truncation_at_time_limit_with_terminal_observation_and_auto_reset():
    env = rl.make_vec_env("ks", n_agents=5, n_economies=2, seed=9, episode_length=SHORT)
    env.reset()
    actions = np.zeros((10, 1))
    for t in range(SHORT - 1):
        _, _, dones, infos = env.step(actions)
        assert not dones.any() and all("terminal_observation" not in i for i in infos)
    pre = env.state
    expected_terminal = core.observe(env.experiment, core.step(env.experiment, pre, actions.reshape(2, 5, 1),
                                                               np.random.default_rng(0)).state)
    obs, _, dones, infos = env.step(actions)
    assert dones.all()
    for slot, info in enumerate(infos):
        assert info["TimeLimit.truncated"] is True
        # capital and K of the terminal state do not depend on the shocks drawn afterwards
        np.testing.assert_allclose(info["terminal_observation"][:2], expected_terminal.reshape(10, -1)[slot][:2], rtol=1e-6)
        assert not np.array_equal(info["terminal_observation"], obs[slot])
    assert np.all(env.state.time == 0)  # auto-reset: obs is the fresh episode's first observation
    np.testing.assert_allclose(obs[:, 0], env.state.capital.ravel() / env.experiment.capital_scale, rtol=1e-6)


def _collect_replay(env, steps):
    from stable_baselines3 import SAC

    model = SAC("MlpPolicy", env, learning_starts=10**9, buffer_size=1000, seed=0, device="cpu",
                policy_kwargs={"net_arch": [8]})
    model.learn(total_timesteps=steps)
    return model.replay_buffer


def test_sb3_bootstraps_through_the_time_limit_negative_control():
    """In the spirit of SB3's test_infinite_horizon: SB3 must treat our time limit as a truncation.

    With ``TimeLimit.truncated`` the replay buffer marks the last transition as a
    timeout, so the effective done (dones * (1 - timeouts)) that cuts the value
    target is zero everywhere, and the stored next observation is the terminal
    one, not the reset one.  Hiding the flag (negative control) turns the same
    transitions into terminal states.
    """
    from stable_baselines3.common.vec_env import VecEnvWrapper

    class DropTimeLimit(VecEnvWrapper):
        def reset(self):
            return self.venv.reset()

        def step_wait(self):
            obs, rewards, dones, infos = self.venv.step_wait()
            for info in infos:
                info.pop("TimeLimit.truncated", None)
            return obs, rewards, dones, infos

    steps = 3 * 8
    env = rl.make_vec_env("rbc", seed=0, episode_length=8)
    buffer = _collect_replay(env, steps)
    n = buffer.pos
    dones, timeouts = buffer.dones[:n, 0], buffer.timeouts[:n, 0]
    assert dones.sum() == 3 and np.array_equal(dones, timeouts)
    assert np.all(dones * (1 - timeouts) == 0)
    last = np.flatnonzero(dones)[0]
    assert not np.allclose(buffer.next_observations[last, 0], buffer.observations[last + 1, 0])

    control = _collect_replay(DropTimeLimit(rl.make_vec_env("rbc", seed=0, episode_length=8)), steps)
    effective = control.dones[:n, 0] * (1 - control.timeouts[:n, 0])
    assert effective.sum() == 3  # the same time limits now cut the bootstrap


def test_vecenv_attribute_and_method_contract():
    env = rl.make_vec_env("ks", n_agents=4, n_economies=2, seed=0)
    assert env.num_envs == 8
    assert env.get_attr("n_agents") == [4] * 8 and env.get_attr("n_agents", indices=[1, 2]) == [4, 4]
    env.set_attr("custom_flag", 3)
    assert env.get_attr("custom_flag", indices=0) == [3]
    env.reset()
    assert env.env_method("slot", 1, 2, indices=[0, 5]) == [6, 6]
    assert env.env_is_wrapped(object) == [False] * 8
    assert env.action_space.shape == (1,) and rl.make_vec_env("rbc").action_space.shape == (2,)
    assert np.all(env.action_space.low == -1) and np.all(env.action_space.high == 1)


def test_gymnasium_check_env_passes():
    from gymnasium.utils.env_checker import check_env

    for name in ("rbc", "rbc-full-depreciation"):
        check_env(rl.make_gym_env(name), skip_render_check=True)


def test_gym_env_truncates_and_matches_vecenv():
    gym_env = rl.make_gym_env("rbc", seed=3, episode_length=SHORT)
    obs, _ = gym_env.reset()
    truncated = False
    for t in range(SHORT):
        assert not truncated
        obs, reward, terminated, truncated, info = gym_env.step(np.array([0.1, -0.2], dtype=np.float32))
        assert not terminated and np.isfinite(reward) and "consumption" in info
    assert truncated
    with pytest.raises(ValueError, match="N = 1"):
        rl.make_gym_env(make_experiment("ks"))


def test_pettingzoo_parallel_api_test_passes():
    from pettingzoo.test import parallel_api_test

    parallel_api_test(rl.make_parallel_env("ks", n_agents=5, seed=0, episode_length=50), num_cycles=100)
    parallel_api_test(rl.make_parallel_env("general", n_agents=4, seed=0, episode_length=50), num_cycles=100)


@pytest.mark.parametrize("name, n", [("ks", 6), ("ks-het-mild", 20), ("general", 4), ("rbc", None)])
def test_native_and_pettingzoo_agree_step_for_step(name, n):
    native = rl.make_vec_env(name, n_agents=n, seed=21, episode_length=60)
    pz = rl.make_parallel_env(name, n_agents=n, seed=21, episode_length=60)
    rng = np.random.default_rng(0)
    obs_native = native.reset()
    obs_pz, _ = pz.reset()
    agents = pz.possible_agents
    np.testing.assert_array_equal(obs_native, np.stack([obs_pz[a] for a in agents]))
    for t in range(60):
        actions = _random_actions(native, rng).astype(np.float32)
        obs_native, rewards_native, dones, infos = native.step(actions)
        obs_pz, rewards_pz, terms, truncs, _ = pz.step({a: actions[i] for i, a in enumerate(agents)})
        np.testing.assert_array_equal(rewards_native, np.array([rewards_pz[a] for a in agents], dtype=np.float32))
        np.testing.assert_array_equal(dones, [truncs[a] for a in agents])
        assert not any(terms.values())
        expected = np.stack([i["terminal_observation"] for i in infos]) if dones.any() else obs_native
        np.testing.assert_array_equal(expected, np.stack([obs_pz[a] for a in agents]))
    assert dones.all() and pz.agents == []


def test_bad_inputs_get_clear_errors():
    with pytest.raises(ValueError, match="unknown experiment"):
        rl.make_vec_env("rbc-typo")
    with pytest.raises(ValueError, match="unknown field 'gama'"):
        rl.make_vec_env("rbc", gama=0.9)
    with pytest.raises(ValueError, match="beta"):
        rl.make_parallel_env("ks", beta=1.5)
    with pytest.raises(ValueError, match="n_economies"):
        rl.make_vec_env("rbc", n_economies=0)
    env = rl.make_vec_env("general", seed=0)
    env.reset()
    for bad in (np.nan, np.inf, -np.inf):
        actions = np.zeros((9, 2))
        actions[4, 1] = bad
        with pytest.raises(ValueError, match="finite"):
            env.step(actions)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros((9, 1)))
    gym_env = rl.make_gym_env("rbc")
    gym_env.reset()
    with pytest.raises(ValueError, match="finite"):
        gym_env.step(np.array([np.nan, 0.0]))
    pz = rl.make_parallel_env("ks", n_agents=2)
    pz.reset()
    with pytest.raises(ValueError, match="finite"):
        pz.step({"household_0": np.array([np.nan]), "household_1": np.array([0.0])})


def test_train_cli_writes_run_dir_and_resumes(tmp_path):
    """Smoke test of python -m rl.train: gamma = beta, atomic config and model, checkpoints, --resume."""
    import json

    from rl.train import main

    args = ["rbc", "--algo", "sac", "--seed", "1", "--out", str(tmp_path), "--checkpoint-every", "20", "--no-progress"]
    assert main(args + ["--timesteps", "40"]) == 0
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["hyperparameters"]["gamma"] == config["experiment"]["beta"] == 0.95
    assert (tmp_path / "model.zip").exists() and (tmp_path / "checkpoints" / "step_000000000020" / "manifest.json").exists()
    assert main(args + ["--timesteps", "60", "--resume"]) == 0
    from stable_baselines3 import SAC

    assert SAC.load(tmp_path / "model.zip", device="cpu").num_timesteps == 60


# The saving action interface (action_interface "saving"): the first action of an AR(1) household is its saving as a
# share of full-time wealth.  Checked against the definition written out here with the factor prices by hand.

SAVING_RTOL = 1e-12
"""The saving map is a few flops per household on top of the period's; only rounding separates it from the
definition written out here."""

CONTROL_RESIDUAL = 1e-6
"""The benchmark's allocation played through the saving interface reads each household's capital back from float32
observations (relative error up to 6e-8), so its saving share, and the fixed point, are off by that much times the
residuals' sensitivity to capital (of order 10 at the steady state): well below 1e-6, and 1e-3 is the scorecard's
tolerance."""


def _saving_experiment(name="general"):
    return make_experiment(name)._replace(action_interface="saving")


def test_saving_interface_sets_next_capital_as_a_share_of_full_time_wealth():
    exp = _saving_experiment()
    rng = np.random.default_rng(3)
    state = core.initial_state(exp, 4, rng)
    actions = rng.uniform(-1.0, 1.0, (4, exp.num_agents, 2))
    share, labour = (0.005 + 0.99 * (actions[..., j] + 1.0) / 2.0 for j in (0, 1))
    tr = core.step(exp, state, actions, np.random.default_rng(4))
    kappa, lam = np.asarray(exp.capital_productivity), np.asarray(exp.labour_productivity)
    K = (kappa * state.capital).mean(axis=1, keepdims=True)
    L = (lam * labour).mean(axis=1, keepdims=True)
    A = np.exp(state.log_tfp)[:, None]
    r = kappa * exp.alpha * A * (K / L) ** (exp.alpha - 1.0)
    w = lam * (1.0 - exp.alpha) * A * (K / L) ** exp.alpha
    wealth = (1.0 - exp.delta + r) * state.capital + w * labour
    full_time = (1.0 - exp.delta + r) * state.capital + w * 0.995
    expected = np.minimum(share * full_time, 0.995 * wealth)  # consumption at least 0.005 of wealth
    np.testing.assert_allclose(tr.outcome.next_capital, expected, rtol=SAVING_RTOL)
    np.testing.assert_allclose(tr.outcome.consumption + tr.outcome.next_capital, wealth, rtol=SAVING_RTOL)
    assert np.any(expected < 0.995 * wealth) and np.any(expected == 0.995 * wealth)  # both branches were taken
    # the inverse map recovers the share wherever consumption is above its floor
    interior = tr.consumption_fraction > 0.005
    back = core.fraction_to_saving(exp, state.capital, A[:, 0], tr.consumption_fraction, labour)
    np.testing.assert_allclose(back[interior], share[interior], rtol=SAVING_RTOL)


def test_saving_interface_corners_stay_finite():
    exp = _saving_experiment()
    for corner in itertools.product((-1.0, 1.0), repeat=2):
        env = rl.make_vec_env(exp, seed=0)
        env.reset()
        actions = np.tile(np.array(corner, dtype=np.float32), (env.num_envs, 1))
        for _ in range(exp.episode_length):
            obs, rewards, _, _ = env.step(actions)
            raw = env.raw()
            assert np.all(np.isfinite(obs)) and np.all(np.isfinite(rewards)), corner
            assert np.all(raw["consumption"] >= 0.005 * raw["wealth"] * (1.0 - SAVING_RTOL)), corner
            assert np.all(raw["next_capital"] > 0)


def test_saving_interface_positive_control_and_refusals():
    from rl.rollout import actor_policy, constant_actor, simulate_agents
    from validation.general import general_scores, steady_state_actor
    from validation.welfare import scaled_actor

    exp = _saving_experiment()
    scores = general_scores(steady_state_actor(exp), exp)
    assert np.max(np.abs(scores.euler_residual)) < CONTROL_RESIDUAL
    assert np.max(np.abs(scores.intratemporal_residual)) < CONTROL_RESIDUAL
    # a constant-fraction actor plays its fractions through the interface
    panel = simulate_agents(constant_actor(exp, 0.2, 0.4), exp, 5, burn_in=0)
    np.testing.assert_allclose(panel.consumption_fraction, 0.2, rtol=1e-6)
    np.testing.assert_allclose(panel.labour, 0.4, rtol=1e-12)
    # the one-household benchmarks read the saving share as the environment does
    rbc = _saving_experiment("rbc")
    policy = actor_policy(lambda obs: np.tile([0.5, -0.2], (obs.shape[0], 1)), rbc)
    capital = np.array([0.8, 1.0, 1.3]) * rbc.capital_scale
    chat, labour = policy(capital, np.ones(3))
    state = core.EconomyState(capital[:, None], np.zeros(3), np.zeros(3, dtype=np.int64), np.ones((3, 1), bool),
                              np.zeros(3, dtype=np.int64))
    expected, _ = core.actions_to_choices(rbc, state, np.tile([0.5, -0.2], (3, 1, 1)))
    np.testing.assert_allclose(chat, expected[:, 0], rtol=SAVING_RTOL)
    with pytest.raises(ValueError, match="action_interface 'saving' needs chosen labour"):
        make_experiment("ks")._replace(action_interface="saving")
    with pytest.raises(ValueError, match="action_interface"):
        make_experiment("general")._replace(action_interface="consumption")
    with pytest.raises(ValueError, match="scaled_actor scales the consumption fraction"):
        scaled_actor(steady_state_actor(exp), exp, 0, 1.01)
    assert "action_interface" not in make_experiment("general")._asdict()  # earlier run records read unchanged
