"""PettingZoo ``ParallelEnv`` adapter over the same core as the native VecEnv.

Agents are ``"household_0" ... "household_{N-1}"`` of one economy.  Under the
same seed and the same actions it reproduces the native
:class:`rl.vec_env.EconomyVecEnv` with ``n_economies = 1`` step for step: both
draw from one ``numpy.random.Generator`` seeded once, in the same order.  At the
time limit every agent is truncated (``truncations[a] = True``) and ``agents``
empties; there is no auto-reset (PettingZoo convention).

PettingZoo is an optional extra (``pip install marl-bc[pettingzoo]``); it is
imported when this module is.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from pettingzoo import ParallelEnv

from econ.experiments import Experiment
from rl import core
from rl.vec_env import _resolve, _spaces


class EconomyParallelEnv(ParallelEnv, core.RecordsLastTransition):
    """One economy of N households as a PettingZoo parallel environment."""

    metadata = {"name": "marl_bc_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(self, experiment: Experiment, seed: Optional[int] = 0):
        self.experiment = experiment
        self.possible_agents = [f"household_{i}" for i in range(experiment.num_agents)]
        self.agents: list[str] = []
        observation_space, action_space = _spaces(experiment)
        self._observation_spaces = {a: observation_space for a in self.possible_agents}
        self._action_spaces = {a: action_space for a in self.possible_agents}
        self.render_mode = None
        self._rng = np.random.default_rng(seed)
        self.state: Optional[core.EconomyState] = None
        self.last_transition: Optional[core.Transition] = None

    def observation_space(self, agent):
        return self._observation_spaces[agent]

    def action_space(self, agent):
        return self._action_spaces[agent]

    def reset(self, seed: Optional[int] = None, options: Optional[dict] = None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        self.state = core.initial_state(self.experiment, 1, self._rng)
        return self._observations(), {a: {} for a in self.agents}

    def step(self, actions: dict):
        if not self.agents:
            raise RuntimeError("the episode is over (all agents truncated): call reset()")
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise ValueError(f"actions missing for agents {missing[:5]}{'...' if len(missing) > 5 else ''}")
        unknown = [a for a in actions if a not in self.agents]
        if unknown:
            raise ValueError(f"actions for unknown agents {unknown[:5]}; agents are {self.agents[0]} .. {self.agents[-1]}")
        stacked = np.stack([core.action_array(actions[a]).reshape(-1) for a in self.possible_agents])
        transition = core.step(self.experiment, self.state, stacked[None], self._rng)
        self.last_transition = transition
        self.state = transition.state
        agents = self.agents
        observations = self._observations()
        rewards = {a: float(r) for a, r in zip(agents, transition.outcome.reward[0])}
        truncated = bool(transition.truncated[0])
        terminations = {a: False for a in agents}
        truncations = {a: truncated for a in agents}
        infos = {a: {} for a in agents}
        if truncated:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def render(self):
        return None

    def close(self):
        pass

    def _observations(self) -> dict:
        obs = core.observe(self.experiment, self.state)[0]
        return {a: obs[i] for i, a in enumerate(self.possible_agents)}


def make_parallel_env(experiment, n_agents: Optional[int] = None, seed: Optional[int] = 0,
                      **overrides) -> EconomyParallelEnv:
    """A PettingZoo ``ParallelEnv`` for ``experiment`` (name or :class:`Experiment`)."""
    return EconomyParallelEnv(_resolve(experiment, n_agents, overrides), seed=seed)
