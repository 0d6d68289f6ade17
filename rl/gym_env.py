"""A Gymnasium ``Env`` for one household (N = 1 experiments: ``rbc``, ``rbc-full-depreciation``).

Same core as the VecEnv (:mod:`rl.core`); draws come from Gymnasium's seeded
``self.np_random`` (a ``numpy.random.Generator``).  ``truncated`` is True when
the episode reaches the time limit; ``terminated`` is always False (an infinite
horizon cut by a time limit).  ``info`` holds the raw quantities of the step.

Registered with Gymnasium when :mod:`rl` is imported (ids in :data:`GYM_IDS`)::

    import gymnasium, rl
    env = gymnasium.make("marl_bc/rbc-v0")                      # or "marl_bc/rbc-full-depreciation-v0"
    env = gymnasium.make("rl:marl_bc/rbc-v0", episode_length=100)   # "rl:" imports rl first

Keyword arguments of ``gymnasium.make`` go to :func:`make_gym_env` (``seed``
and any field of the experiment).  The env truncates at the experiment's
episode length itself, so no ``TimeLimit`` wrapper is added
(``max_episode_steps`` is None); ``seed`` (default 0) seeds the first reset
unless ``reset(seed=...)`` is given.
"""

from __future__ import annotations

from typing import Optional

import gymnasium as gym
import numpy as np

from econ.experiments import Experiment
from rl import core
from rl.vec_env import _resolve, _spaces


class EconomyGymEnv(gym.Env):
    """One household in a one-household economy (the planner's problem when N = 1)."""

    metadata = {"render_modes": []}

    def __init__(self, experiment: Experiment, seed: Optional[int] = None):
        if experiment.num_agents != 1:
            raise ValueError(
                f"the single-agent Gymnasium env needs an experiment with N = 1, got N = {experiment.num_agents}; "
                "use rl.make_vec_env or rl.make_parallel_env for several households"
            )
        self.experiment = experiment
        self.observation_space, self.action_space = _spaces(experiment)
        self.state: Optional[core.EconomyState] = None
        self._seed = seed

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        if seed is None and self._seed is not None:
            seed, self._seed = self._seed, None
        super().reset(seed=seed)
        self.state = core.initial_state(self.experiment, 1, self.np_random)
        return core.observe(self.experiment, self.state)[0, 0], {}

    def step(self, action):
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        action = core.action_array(action)
        if action.size != self.experiment.action_size:
            raise ValueError(f"action must have {self.experiment.action_size} entries (consumption fraction, labour "
                             f"in [-1, 1]), got shape {action.shape}")
        action = action.reshape(1, 1, self.experiment.action_size)
        transition = core.step(self.experiment, self.state, action, self.np_random)
        self.state = transition.state
        info = {key: float(np.ravel(value)[0]) for key, value in core.raw_quantities(transition).items()}
        observation = core.observe(self.experiment, self.state)[0, 0]
        return observation, float(transition.outcome.reward[0, 0]), False, bool(transition.truncated[0]), info


def make_gym_env(experiment, seed: Optional[int] = 0, **overrides) -> EconomyGymEnv:
    """A Gymnasium env for an N = 1 experiment (name or :class:`Experiment`); ``seed`` applies at the first reset."""
    return EconomyGymEnv(_resolve(experiment, None, overrides), seed=seed)


GYM_NAMESPACE = "marl_bc"
GYM_IDS = {
    "rbc": f"{GYM_NAMESPACE}/rbc-v0",
    "rbc-full-depreciation": f"{GYM_NAMESPACE}/rbc-full-depreciation-v0",
}
"""Gymnasium id of each one-household experiment."""


def register_gym_envs() -> None:
    """Register :data:`GYM_IDS` with Gymnasium (idempotent: an id already registered is left alone)."""
    for experiment, env_id in GYM_IDS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point="rl.gym_env:make_gym_env", kwargs={"experiment": experiment},
                         max_episode_steps=None, disable_env_checker=False)


register_gym_envs()
