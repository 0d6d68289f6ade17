"""Gymnasium registration of the one-household experiments: ``gymnasium.make("marl_bc/rbc-v0")``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import rl
from econ.experiments import make_experiment

ROOT = Path(__file__).resolve().parents[1]
IDS = {"rbc": "marl_bc/rbc-v0", "rbc-full-depreciation": "marl_bc/rbc-full-depreciation-v0"}


@pytest.mark.parametrize("name", sorted(IDS))
def test_registered_env_is_the_experiment_and_passes_check_env(name):
    assert rl.GYM_IDS[name] == IDS[name]
    env = gym.make(IDS[name])
    assert isinstance(env.unwrapped, rl.EconomyGymEnv)
    assert env.unwrapped.experiment == make_experiment(name)
    assert env.spec.max_episode_steps is None  # the env truncates itself at the episode length
    check_env(env.unwrapped, skip_render_check=True)


@pytest.mark.parametrize("name", sorted(IDS))
def test_made_env_steps_exactly_like_make_gym_env(name):
    """Same seed, same actions: gymnasium.make's env (with its checker wrappers) and rl.make_gym_env
    produce identical observations and rewards, and kwargs reach the experiment (truncation at 7)."""
    made = gym.make(IDS[name], episode_length=7)
    direct = rl.make_gym_env(name, episode_length=7)
    actions = np.random.default_rng(1).uniform(-1, 1, size=(7, 2)).astype(np.float32)
    obs_made, _ = made.reset(seed=11)
    obs_direct, _ = direct.reset(seed=11)
    np.testing.assert_array_equal(obs_made, obs_direct)
    for t, action in enumerate(actions):
        obs_made, reward_made, terminated, truncated, _ = made.step(action)
        obs_direct, reward_direct, *_ = direct.step(action)
        np.testing.assert_array_equal(obs_made, obs_direct)
        assert reward_made == reward_direct
        assert not terminated
        assert truncated == (t == len(actions) - 1)


def test_registration_is_idempotent_and_rejects_bad_kwargs():
    rl.gym_env.register_gym_envs()
    assert sum(env_id.startswith("marl_bc/") for env_id in gym.registry) == len(IDS)
    with pytest.raises(ValueError, match="beta"):
        gym.make(IDS["rbc"], beta=1.5)


def test_module_prefix_registers_in_a_fresh_interpreter():
    """gymnasium.make("rl:marl_bc/rbc-v0") imports rl, which registers the ids."""
    code = "import gymnasium; env = gymnasium.make('rl:marl_bc/rbc-v0'); env.reset(seed=0); print(env.spec.id)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "marl_bc/rbc-v0"
