"""The throughput benchmark's drivers simulate the same dynamics (benchmarks/bench_env.py).

The native VecEnv and the PettingZoo adapter vectorised by SuperSuit (the
original authors' stack) must give identical trajectories under the same seed
and actions, across a truncation and auto-reset, or the benchmark would
compare different things.
"""

import numpy as np
import pytest

pytest.importorskip("pettingzoo", reason="the PettingZoo adapter needs pettingzoo (extra 'bench' or 'test')")
pytest.importorskip("supersuit", reason="the SuperSuit comparison needs supersuit>=3.9 (extra 'bench')")

from benchmarks import bench_env  # noqa: E402
from econ.experiments import make_experiment  # noqa: E402

EPISODE = 12
"""A short episode so that the drivers cross a truncation and an auto-reset within a few steps."""


@pytest.mark.parametrize("experiment, n_agents", [("ks", 5), ("general", 4)])
def test_native_and_supersuit_give_identical_trajectories(experiment, n_agents):
    exp = make_experiment(experiment, n_agents, episode_length=EPISODE)
    native = bench_env.NativeDriver(exp, 1, seed=3)
    supersuit = bench_env.SuperSuitDriver(exp, seed=3)
    loop = bench_env.PettingZooDriver(exp, seed=3)
    pool = bench_env.action_pool(exp, n_agents, seed=3, size=7)
    native_obs = native.env.reset()
    supersuit_obs = supersuit.env.reset()
    loop.reset()
    np.testing.assert_array_equal(native_obs, supersuit_obs)
    for t in range(2 * EPISODE + 3):
        actions = pool[t % len(pool)]
        obs_n, rew_n, done_n, info_n = native.env.step(actions)
        obs_s, rew_s, done_s, info_s = supersuit.env.step(actions)
        loop.step(actions)
        np.testing.assert_array_equal(rew_n, rew_s, err_msg=f"rewards differ at step {t}")
        np.testing.assert_array_equal(rew_n, loop.rewards(), err_msg=f"dict loop differs at step {t}")
        np.testing.assert_array_equal(obs_n, obs_s, err_msg=f"observations differ at step {t}")
        np.testing.assert_array_equal(done_n, done_s)
        if done_n.any():
            for a, b in zip(info_n, info_s):
                np.testing.assert_array_equal(a["terminal_observation"], b["terminal_observation"])
    assert (t + 1) // EPISODE == 2  # two truncations crossed


def test_negative_control_a_different_seed_is_detected():
    exp = make_experiment("ks", 5)
    pool = bench_env.action_pool(exp, 5, seed=0, size=3)
    a, b = bench_env.NativeDriver(exp, 1, seed=0), bench_env.SuperSuitDriver(exp, seed=1)
    a.reset(), b.reset()
    a.step(pool[0]), b.step(pool[0])
    assert not np.array_equal(a.rewards(), b.rewards())


def test_quick_measurement_reports_positive_throughputs_and_identical_drivers():
    result = bench_env.measure(make_experiment("ks", 3), steps=5, repeats=2, warmup=2, seed=0)
    assert result["identical_trajectories"]
    assert set(result["drivers"]) == {"native", "pettingzoo", "supersuit", "native x8", "supersuit x8"}
    for name, d in result["drivers"].items():
        assert d["agent_steps_per_second"] > 0, name
        assert len(d["repeats"]) == 2
    assert result["drivers"]["native x8"]["slots"] == 24
    assert all(r > 0 for r in bench_env.ratios(result).values())
