"""Stable-Baselines3 ``VecEnv`` over the agents of several economies (parameter sharing).

Slot ``j`` of the VecEnv is household ``j % N`` of economy ``j // N``: the
``num_envs = n_economies * N`` slots are every household of every economy, so
one SB3 policy (one network) acts for all of them.  An economy is one
:class:`rl.core.EconomyState` row; stepping and resetting go through the pure
functions of :mod:`rl.core`, with one ``numpy.random.Generator`` for all draws.

Finished episodes report ``info["episode"] = {"r": return, "l": length}``
(the undiscounted return of that household, SB3's Monitor convention), so
SB3 logs ``rollout/ep_rew_mean``.

Truncation: every economy starts at t = 0 and its episode ends at
t = ``episode_length``.  On that step each of its households' slots reports
``done = True`` with ``info["TimeLimit.truncated"] = True`` and
``info["terminal_observation"]`` (the observation of the final state, for SB3
to bootstrap from), and the returned observation is already that of the
economy's fresh initial state (SB3's auto-reset convention).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv

from econ.experiments import Experiment, make_experiment
from rl import core


class _NoInfo(dict):
    """The empty ``info`` of a slot whose episode goes on: one shared, read-only instance.

    Building N fresh empty dicts every step cost more than the economy itself
    at N = 500.  SB3 and its wrappers only read these, or copy them
    (``VecMonitor``), and write only into the infos of finished episodes,
    which are fresh dicts; writing into this one raises instead of leaking
    into other slots and steps.
    """

    __slots__ = ()

    def _read_only(self, *args, **kwargs):
        raise TypeError("this info dict is shared by every slot whose episode goes on and is read-only; "
                        "copy it (dict(info)) before adding keys")

    __setitem__ = setdefault = update = __ior__ = _read_only  # the methods that add keys (it is empty)

    def __reduce__(self):
        return (dict, ())  # a pickled (e.g. sent to another process) copy is an ordinary empty dict


_NO_INFO = _NoInfo()


def _spaces(exp: Experiment):
    observation_space = spaces.Box(-np.inf, np.inf, shape=(core.observation_size(exp),), dtype=np.float32)
    action_space = spaces.Box(-1.0, 1.0, shape=(exp.action_size,), dtype=np.float32)
    return observation_space, action_space


class EconomyVecEnv(VecEnv, core.RecordsLastTransition):
    """``n_economies`` economies of ``experiment.num_agents`` households as one SB3 ``VecEnv``.

    Raw economic quantities of the last step: :attr:`last_transition` (a
    :class:`rl.core.Transition` of (E, N) arrays) and :meth:`raw`; the current
    state: :attr:`state`.  ``get_attr``/``set_attr``/``env_method`` act on this
    shared object (one economy core behind all slots): ``env_method`` calls the
    method once and returns its result for every requested index.
    """

    def __init__(self, experiment: Experiment, n_economies: int = 1, seed: Optional[int] = 0):
        if not isinstance(experiment, Experiment):
            raise TypeError(f"experiment must be an econ.experiments.Experiment, got {type(experiment).__name__}")
        if isinstance(n_economies, bool) or not isinstance(n_economies, (int, np.integer)) or n_economies < 1:
            raise ValueError(f"n_economies must be an integer >= 1, got {n_economies!r}")
        self.experiment = experiment
        self.n_economies = int(n_economies)
        self.n_agents = experiment.num_agents
        self.render_mode = None
        self._rng = np.random.default_rng(seed)
        self.state: Optional[core.EconomyState] = None
        self.last_transition: Optional[core.Transition] = None
        self._actions = None
        observation_space, action_space = _spaces(experiment)
        super().__init__(self.n_economies * self.n_agents, observation_space, action_space)
        self._not_done = np.zeros(self.num_envs, dtype=bool)
        self._not_done.flags.writeable = False  # returned as ``dones`` by every step without a time limit: shared

    # ------------------------------------------------------------------ the VecEnv contract
    def reset(self) -> np.ndarray:
        if self._seeds[0] is not None:
            self._rng = np.random.default_rng(self._seeds[0])
        self._reset_seeds()
        self._reset_options()
        self.state = core.initial_state(self.experiment, self.n_economies, self._rng)
        self._episode_returns = np.zeros(self.num_envs)
        self.reset_infos = [{} for _ in range(self.num_envs)]
        return self._flat_observation()

    def seed(self, seed: Optional[int] = None) -> Sequence[Optional[int]]:
        """Seed the one generator of all economies; takes effect at the next ``reset`` (SB3 convention)."""
        return super().seed(seed)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        exp = self.experiment
        transition = core.step(exp, self.state, self._actions, self._rng)
        self.last_transition = transition
        reward = transition.outcome.reward.reshape(-1)
        rewards = reward.astype(np.float32)
        self._episode_returns += reward
        infos: list[dict[str, Any]] = [_NO_INFO] * self.num_envs
        state = transition.state
        truncated = transition.truncated
        if not truncated.any():
            dones = self._not_done
        else:
            dones = np.repeat(truncated, self.n_agents)
            finished = np.flatnonzero(dones)
            terminal = core.observe(exp, state).reshape(self.num_envs, -1)[finished]
            returns = self._episode_returns[finished].tolist()
            self._episode_returns[finished] = 0.0
            length = int(exp.episode_length)
            for slot, observation, episode_return in zip(finished.tolist(), terminal, returns):
                infos[slot] = {
                    "terminal_observation": observation,
                    "TimeLimit.truncated": True,
                    # SB3's Monitor convention: undiscounted return and length of the finished episode
                    "episode": {"r": episode_return, "l": length},
                }
            state = core.reset_where(exp, state, truncated, self._rng)
        self.state = state
        return self._flat_observation(), rewards, dones, infos

    def close(self) -> None:
        pass

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        return [getattr(self, attr_name)] * len(self._indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        self._indices(indices)
        setattr(self, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list[Any]:
        result = getattr(self, method_name)(*method_args, **method_kwargs)
        return [result] * len(self._indices(indices))

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False] * len(self._indices(indices))

    def get_images(self) -> Sequence[Optional[np.ndarray]]:
        return [None] * self.num_envs

    # ------------------------------------------------------------------ checkpoints
    def get_state(self) -> tuple[dict, dict]:
        """``(arrays, json)``: everything the next steps depend on (the state, running returns, the generator).

        Restoring it with :meth:`set_state` makes the following steps draw and
        return exactly what they would have (checkpoints, :mod:`rl.checkpoints`).
        """
        if self.state is None:
            raise RuntimeError("call reset() before get_state()")
        arrays = {name: np.array(value) for name, value in self.state._asdict().items()}
        arrays["episode_returns"] = np.array(self._episode_returns)
        return arrays, {"generator": self._rng.bit_generator.state}

    def set_state(self, arrays: dict, state: dict) -> None:
        """Restore what :meth:`get_state` returned (shapes checked against this environment)."""
        fields = {name: np.array(arrays[name]) for name in core.EconomyState._fields}
        shape = (self.n_economies, self.n_agents)
        if fields["capital"].shape != shape or np.shape(arrays["episode_returns"]) != (self.num_envs,):
            raise ValueError(f"environment state of shape {fields['capital'].shape} does not fit "
                             f"{self.n_economies} economies of {self.n_agents} households")
        rng = np.random.default_rng()
        rng.bit_generator.state = state["generator"]
        self._rng = rng
        self.state = core.EconomyState(**fields)
        self._episode_returns = np.array(arrays["episode_returns"], dtype=float)
        self.reset_infos = [{} for _ in range(self.num_envs)]
        self._reset_seeds()  # a pending seed would re-seed the restored generator at the next reset

    # ------------------------------------------------------------------ analysis helpers
    def slot(self, economy: int, agent: int) -> int:
        """VecEnv slot of household ``agent`` of economy ``economy``."""
        return economy * self.n_agents + agent

    # ------------------------------------------------------------------ internals
    def _flat_observation(self) -> np.ndarray:
        return core.observe(self.experiment, self.state).reshape(self.num_envs, -1)

    def _indices(self, indices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        if isinstance(indices, (int, np.integer)):
            return [int(indices)]
        return list(indices)


def make_vec_env(experiment, n_agents: Optional[int] = None, n_economies: int = 1, seed: Optional[int] = 0,
                 **overrides) -> EconomyVecEnv:
    """An SB3 ``VecEnv`` for ``experiment`` (an experiment name or an :class:`Experiment`).

    ``n_agents`` and ``overrides`` go to :func:`econ.experiments.make_experiment`
    when ``experiment`` is a name.  ``num_envs = n_agents * n_economies``.
    """
    return EconomyVecEnv(_resolve(experiment, n_agents, overrides), n_economies=n_economies, seed=seed)


def _resolve(experiment, n_agents, overrides) -> Experiment:
    if isinstance(experiment, Experiment):
        if n_agents is not None or overrides:
            raise ValueError("pass n_agents and overrides with an experiment name, not with an Experiment record")
        return experiment
    if not isinstance(experiment, str):
        raise ValueError(f"experiment must be a name or an Experiment, got {experiment!r}")
    if "name" in overrides:
        raise ValueError(f"name cannot be overridden: the experiment is named by its first argument ({experiment!r})")
    return make_experiment(experiment, n_agents, **overrides)
