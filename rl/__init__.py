"""The learning half of MARL-BC: the economy as a multi-agent environment (``rl`` learns, ``econ`` solves).

- :func:`make_vec_env`: SB3 ``VecEnv`` whose slots are all households of all economies;
- :func:`make_gym_env`: Gymnasium ``Env`` for N = 1 experiments, also registered as
  ``gymnasium.make("marl_bc/rbc-v0")`` and ``"marl_bc/rbc-full-depreciation-v0"`` (:data:`GYM_IDS`);
- :func:`make_parallel_env`: PettingZoo ``ParallelEnv`` (optional extra ``pettingzoo``, imported lazily).
"""

from rl.gym_env import GYM_IDS, EconomyGymEnv, make_gym_env
from rl.vec_env import EconomyVecEnv, make_vec_env


def make_parallel_env(experiment, n_agents=None, seed=0, **overrides):
    """PettingZoo adapter (see :mod:`rl.parallel_env`); needs ``pip install pettingzoo``."""
    try:  # lazy: PettingZoo is an optional extra
        from rl.parallel_env import make_parallel_env as _make
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("make_parallel_env needs PettingZoo: pip install 'marl-bc[pettingzoo]'") from err
    return _make(experiment, n_agents=n_agents, seed=seed, **overrides)


__all__ = ["GYM_IDS", "EconomyGymEnv", "EconomyVecEnv", "make_gym_env", "make_parallel_env", "make_vec_env"]
